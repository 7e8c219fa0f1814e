#include "hubctl/commands.h"

#include <algorithm>

#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/internal/message_convert.h"
#include "client/publisher.h"
#include "client/subscriber.h"
#include "common/proto_time.h"
#include "hubctl/args.h"
#include "hubctl/estate.h"

namespace hub::hubctl {
namespace {

// Parses a duration argument into the field `field` makes; an empty
// argument leaves the field unset (the hub's default).
absl::Status SetDuration(const std::string& text,
                         const std::function<google::protobuf::Duration*()>& field) {
  if (text.empty()) return absl::OkStatus();
  absl::StatusOr<absl::Duration> d = ParseDuration(text);
  if (!d.ok()) return d.status();
  ToProtoDuration(*d, field());
  return absl::OkStatus();
}

absl::Status Labels(const std::vector<std::string>& pairs, const std::string& what,
                    google::protobuf::Map<std::string, std::string>* out) {
  absl::StatusOr<std::map<std::string, std::string>> parsed = ParsePairs(pairs, what);
  if (!parsed.ok()) return parsed.status();
  out->insert(parsed->begin(), parsed->end());
  return absl::OkStatus();
}

// The messages of a publish: the arguments, or the lines of a file or of
// stdin (empty lines skipped).
absl::StatusOr<std::vector<std::string>> PublishData(const PublishArgs& args, std::istream& in) {
  if (!args.messages.empty()) {
    if (!args.file.empty()) {
      return absl::InvalidArgumentError("give messages as arguments or --file, not both");
    }
    return args.messages;
  }
  std::ifstream file;
  std::istream* source = &in;
  if (!args.file.empty() && args.file != "-") {
    file.open(args.file);
    if (!file) return absl::InvalidArgumentError(absl::StrCat("cannot read ", args.file));
    source = &file;
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(*source, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) return absl::InvalidArgumentError("no message to publish");
  return lines;
}

// The whole of a file, or of stdin for "-".
absl::StatusOr<std::string> ReadAll(const std::string& path, std::istream& in,
                                    const std::string& what) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is required"));
  std::ifstream file;
  std::istream* source = &in;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
    source = &file;
  }
  return std::string(std::istreambuf_iterator<char>(*source), std::istreambuf_iterator<char>());
}

// A schema revision from the arguments: the name, --type and the
// definition read from --definition_file.
absl::StatusOr<v1::Schema> SchemaOf(const SchemaArgs& args, std::istream& in) {
  v1::Schema schema;
  schema.set_name(args.name);
  absl::StatusOr<v1::SchemaType> type = ParseSchemaType(args.type);
  if (!type.ok()) return type.status();
  schema.set_type(*type);
  absl::StatusOr<std::string> definition = ReadAll(args.definition_file, in, "--definition_file");
  if (!definition.ok()) return definition.status();
  schema.set_definition(*std::move(definition));
  return schema;
}

v1::ReceivedMessage ToReceived(client::Message m, const std::string& ack_id, int attempt) {
  v1::ReceivedMessage out;
  out.set_ack_id(ack_id);
  out.set_delivery_attempt(attempt);
  v1::Message* proto = out.mutable_message();
  proto->set_message_id(m.message_id);
  ToProtoTime(m.publish_time, proto->mutable_publish_time());
  if (m.deliver_time != absl::InfinitePast()) {
    ToProtoTime(m.deliver_time, proto->mutable_deliver_time());
  }
  client::internal::MessageToProto(std::move(m), proto);
  return out;
}

}  // namespace

absl::StatusOr<v1::Topic> TopicOf(const TopicArgs& args) {
  v1::Topic topic;
  topic.set_name(args.name);
  if (absl::Status s =
          SetDuration(args.retention, [&] { return topic.mutable_message_retention(); });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = SetDuration(args.dedup_window, [&] { return topic.mutable_dedup_window(); });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Labels(args.labels, "label", topic.mutable_labels()); !s.ok()) return s;
  if (!args.schema.empty() && !args.no_schema) {
    v1::SchemaSettings* settings = topic.mutable_schema_settings();
    settings->set_schema(args.schema);
    absl::StatusOr<v1::SchemaEncoding> encoding = ParseSchemaEncoding(args.encoding);
    if (!encoding.ok()) return encoding.status();
    settings->set_encoding(*encoding);
    settings->set_first_revision_id(args.first_revision);
    settings->set_last_revision_id(args.last_revision);
  }
  return topic;
}

absl::Status CreateTopic(client::AdminClient& admin, const TopicArgs& args, Printer& out) {
  absl::StatusOr<v1::Topic> topic = TopicOf(args);
  if (!topic.ok()) return topic.status();
  absl::StatusOr<v1::Topic> created = admin.CreateTopic(*topic);
  if (!created.ok()) return created.status();
  out.Topics({*created}, true);
  return absl::OkStatus();
}

absl::Status UpdateTopic(client::AdminClient& admin, const TopicArgs& args,
                         const std::vector<std::string>& paths, Printer& out) {
  if (paths.empty()) return absl::InvalidArgumentError("name at least one field to change");
  absl::StatusOr<v1::Topic> topic = TopicOf(args);
  if (!topic.ok()) return topic.status();
  absl::StatusOr<v1::Topic> updated = admin.UpdateTopic(*topic, paths);
  if (!updated.ok()) return updated.status();
  out.Topics({*updated}, true);
  return absl::OkStatus();
}

absl::Status GetTopic(client::AdminClient& admin, const std::string& name, Printer& out) {
  absl::StatusOr<v1::Topic> topic = admin.GetTopic(name);
  if (!topic.ok()) return topic.status();
  out.Topics({*topic}, true);
  return absl::OkStatus();
}

absl::Status ListTopics(client::AdminClient& admin, Printer& out) {
  absl::StatusOr<std::vector<v1::Topic>> topics = admin.ListTopics();
  if (!topics.ok()) return topics.status();
  out.Topics(*topics, false);
  return absl::OkStatus();
}

absl::Status DeleteTopic(client::AdminClient& admin, const std::string& name, Printer& out) {
  if (absl::Status s = admin.DeleteTopic(name); !s.ok()) return s;
  out.Done(absl::StrCat("deleted topic ", name));
  return absl::OkStatus();
}

absl::Status CreateSchema(client::AdminClient& admin, const SchemaArgs& args, std::istream& in,
                          Printer& out) {
  absl::StatusOr<v1::Schema> schema = SchemaOf(args, in);
  if (!schema.ok()) return schema.status();
  absl::StatusOr<v1::Schema> created = admin.CreateSchema(*schema);
  if (!created.ok()) return created.status();
  out.Schemas({*created}, true);
  return absl::OkStatus();
}

absl::Status GetSchema(client::AdminClient& admin, const SchemaArgs& args, Printer& out) {
  absl::StatusOr<v1::Schema> schema = admin.GetSchema(args.name, args.revision);
  if (!schema.ok()) return schema.status();
  out.Definition(*schema);
  return absl::OkStatus();
}

absl::Status ListSchemas(client::AdminClient& admin, Printer& out) {
  absl::StatusOr<std::vector<v1::Schema>> schemas = admin.ListSchemas();
  if (!schemas.ok()) return schemas.status();
  out.Schemas(*schemas, false);
  return absl::OkStatus();
}

absl::Status CommitSchema(client::AdminClient& admin, const SchemaArgs& args, std::istream& in,
                          Printer& out) {
  absl::StatusOr<v1::Schema> schema = SchemaOf(args, in);
  if (!schema.ok()) return schema.status();
  absl::StatusOr<v1::Schema> committed = admin.CommitSchema(*schema, args.allow_breaking);
  if (!committed.ok()) return committed.status();
  out.Schemas({*committed}, true);
  return absl::OkStatus();
}

absl::Status RollbackSchema(client::AdminClient& admin, const SchemaArgs& args, Printer& out) {
  absl::StatusOr<v1::Schema> committed =
      admin.RollbackSchema(args.name, args.revision, args.allow_breaking);
  if (!committed.ok()) return committed.status();
  out.Schemas({*committed}, true);
  return absl::OkStatus();
}

absl::Status ValidateSchema(client::AdminClient& admin, const SchemaArgs& args, std::istream& in,
                            Printer& out) {
  if (args.name.empty()) {
    absl::StatusOr<v1::Schema> schema = SchemaOf(args, in);
    if (!schema.ok()) return schema.status();
    if (absl::Status s = admin.ValidateSchema(*schema); !s.ok()) return s;
    out.Done("the definition is valid");
    return absl::OkStatus();
  }
  absl::StatusOr<v1::SchemaEncoding> encoding = ParseSchemaEncoding(args.encoding);
  if (!encoding.ok()) return encoding.status();
  absl::StatusOr<std::string> message = args.message_file.empty()
                                            ? absl::StatusOr<std::string>(args.message)
                                            : ReadAll(args.message_file, in, "--message_file");
  if (!message.ok()) return message.status();
  if (absl::Status s = admin.ValidateMessage(args.name, args.revision, *message, *encoding);
      !s.ok()) {
    return s;
  }
  out.Done(absl::StrCat("the message matches schema ", args.name));
  return absl::OkStatus();
}

absl::Status DeleteSchema(client::AdminClient& admin, const std::string& name, Printer& out) {
  if (absl::Status s = admin.DeleteSchema(name); !s.ok()) return s;
  out.Done(absl::StrCat("deleted schema ", name));
  return absl::OkStatus();
}

absl::StatusOr<v1::Subscription> SubscriptionOf(const SubscriptionArgs& args) {
  v1::Subscription sub;
  sub.set_name(args.name);
  sub.set_topic(args.topic);
  sub.set_ack_deadline_seconds(args.ack_deadline_seconds);
  absl::StatusOr<v1::DeliveryGuarantee> guarantee = ParseGuarantee(args.guarantee);
  if (!guarantee.ok()) return guarantee.status();
  sub.set_delivery_guarantee(*guarantee);
  sub.set_enable_message_ordering(args.ordering);
  sub.set_filter(args.filter);
  if (!args.dead_letter_topic.empty() || args.max_delivery_attempts != 0) {
    sub.mutable_dead_letter_policy()->set_dead_letter_topic(args.dead_letter_topic);
    sub.mutable_dead_letter_policy()->set_max_delivery_attempts(args.max_delivery_attempts);
  }
  if (!args.min_backoff.empty() || !args.max_backoff.empty()) {
    v1::RetryPolicy* retry = sub.mutable_retry_policy();
    if (absl::Status s =
            SetDuration(args.min_backoff, [&] { return retry->mutable_minimum_backoff(); });
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            SetDuration(args.max_backoff, [&] { return retry->mutable_maximum_backoff(); });
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = Labels(args.labels, "label", sub.mutable_labels()); !s.ok()) return s;
  if (absl::Status s = SetDuration(args.retention, [&] { return sub.mutable_message_retention(); });
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          SetDuration(args.expiration_ttl, [&] { return sub.mutable_expiration_ttl(); });
      !s.ok()) {
    return s;
  }
  absl::StatusOr<v1::SubscriptionStart> start = ParseStart(args.start);
  if (!start.ok()) return start.status();
  *sub.mutable_start() = *std::move(start);
  return sub;
}

absl::Status CreateSubscription(client::AdminClient& admin, const SubscriptionArgs& args,
                                Printer& out) {
  absl::StatusOr<v1::Subscription> sub = SubscriptionOf(args);
  if (!sub.ok()) return sub.status();
  absl::StatusOr<v1::Subscription> created = admin.CreateSubscription(*sub);
  if (!created.ok()) return created.status();
  out.Subscriptions({*created}, true);
  return absl::OkStatus();
}

absl::Status UpdateSubscription(client::AdminClient& admin, const SubscriptionArgs& args,
                                const std::vector<std::string>& paths, Printer& out) {
  if (paths.empty()) return absl::InvalidArgumentError("name at least one field to change");
  absl::StatusOr<v1::Subscription> sub = SubscriptionOf(args);
  if (!sub.ok()) return sub.status();
  absl::StatusOr<v1::Subscription> updated = admin.UpdateSubscription(*sub, paths);
  if (!updated.ok()) return updated.status();
  out.Subscriptions({*updated}, true);
  return absl::OkStatus();
}

absl::Status Seek(client::AdminClient& admin, const SeekArgs& args, Printer& out) {
  v1::SeekRequest request;
  request.set_subscription(args.subscription);
  request.set_snapshot(args.snapshot);
  if (!args.time.empty()) {
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, args.time, &t, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--time must be an RFC 3339 time, got \"", args.time, "\""));
    }
    ToProtoTime(t, request.mutable_time());
  }
  if (absl::Status s = admin.Seek(request); !s.ok()) return s;
  out.Done(absl::StrCat("sought subscription ", args.subscription, " to ",
                        args.time.empty() ? "snapshot " + args.snapshot : args.time));
  return absl::OkStatus();
}

absl::Status CreateSnapshot(client::AdminClient& admin, const SnapshotArgs& args, Printer& out) {
  v1::CreateSnapshotRequest request;
  request.set_name(args.name);
  request.set_subscription(args.subscription);
  if (absl::Status s = Labels(args.labels, "label", request.mutable_labels()); !s.ok()) return s;
  absl::StatusOr<v1::Snapshot> made = admin.CreateSnapshot(request);
  if (!made.ok()) return made.status();
  out.Snapshots({*made}, true);
  return absl::OkStatus();
}

absl::Status ListSnapshots(client::AdminClient& admin, Printer& out) {
  absl::StatusOr<std::vector<v1::Snapshot>> snapshots = admin.ListSnapshots();
  if (!snapshots.ok()) return snapshots.status();
  out.Snapshots(*snapshots, false);
  return absl::OkStatus();
}

absl::Status DeleteSnapshot(client::AdminClient& admin, const std::string& name, Printer& out) {
  if (absl::Status s = admin.DeleteSnapshot(name); !s.ok()) return s;
  out.Done(absl::StrCat("deleted snapshot ", name));
  return absl::OkStatus();
}

absl::Status Reject(client::AdminClient& admin, const RejectArgs& args, Printer& out) {
  absl::StatusOr<std::vector<v1::AckResult>> results =
      admin.Reject(args.subscription, args.ack_ids, args.reason);
  if (!results.ok()) return results.status();
  out.AckResults(*results);
  return absl::OkStatus();
}

absl::Status GetSubscription(client::AdminClient& admin, const std::string& name, Printer& out) {
  absl::StatusOr<v1::Subscription> sub = admin.GetSubscription(name);
  if (!sub.ok()) return sub.status();
  out.Subscriptions({*sub}, true);
  return absl::OkStatus();
}

absl::Status ListSubscriptions(client::AdminClient& admin, const std::string& topic, Printer& out) {
  absl::StatusOr<std::vector<v1::Subscription>> subs = admin.ListSubscriptions(topic);
  if (!subs.ok()) return subs.status();
  out.Subscriptions(*subs, false);
  return absl::OkStatus();
}

absl::Status DeleteSubscription(client::AdminClient& admin, const std::string& name, Printer& out) {
  if (absl::Status s = admin.DeleteSubscription(name); !s.ok()) return s;
  out.Done(absl::StrCat("deleted subscription ", name));
  return absl::OkStatus();
}

absl::Status Publish(const client::Connection& connection, const PublishArgs& args,
                     std::istream& in, Printer& out) {
  absl::StatusOr<std::vector<std::string>> data = PublishData(args, in);
  if (!data.ok()) return data.status();
  absl::StatusOr<std::map<std::string, std::string>> attributes =
      ParsePairs(args.attributes, "attribute");
  if (!attributes.ok()) return attributes.status();
  absl::Duration delay;
  if (!args.delay.empty()) {
    absl::StatusOr<absl::Duration> parsed = ParseDelay(args.delay, absl::Now());
    if (!parsed.ok()) return parsed.status();
    delay = *parsed;
  }
  std::vector<std::future<absl::StatusOr<client::PublishAck>>> pending;
  {
    client::Publisher publisher(connection, args.topic);
    for (size_t i = 0; i < data->size(); ++i) {
      client::Message m;
      m.data = (*data)[i];
      m.attributes = *attributes;
      m.ordering_key = args.ordering_key;
      m.delivery_delay = delay;
      if (!args.idempotency_key.empty()) {
        m.idempotency_key = data->size() == 1 ? args.idempotency_key
                                              : absl::StrCat(args.idempotency_key, "-", i + 1);
      }
      pending.push_back(publisher.Publish(std::move(m)));
    }
  }
  std::vector<absl::StatusOr<client::PublishAck>> results;
  absl::Status first_error;
  for (auto& p : pending) {
    results.push_back(p.get());
    if (first_error.ok()) first_error = results.back().status();
  }
  out.Published(results);
  return first_error;
}

absl::Status Pull(client::AdminClient& admin, const PullArgs& args, Printer& out) {
  absl::StatusOr<absl::Duration> wait = ParseDuration(args.wait);
  if (!wait.ok()) return wait.status();
  absl::StatusOr<std::vector<v1::ReceivedMessage>> messages =
      admin.Pull(args.subscription, args.max_messages, *wait);
  if (!messages.ok()) return messages.status();
  out.Received(*messages);
  if (!args.ack || messages->empty()) return absl::OkStatus();
  std::vector<std::string> ids;
  for (const v1::ReceivedMessage& m : *messages) ids.push_back(m.ack_id());
  return admin.Acknowledge(args.subscription, ids).status();
}

namespace {

// A message id (digits) or an RFC 3339 time, into the id or the time
// field (made only when set: a message field exists once asked for).
absl::Status SetBound(const std::string& text, const std::string& flag, std::string* id,
                      const std::function<google::protobuf::Timestamp*()>& time) {
  if (text.empty()) return absl::OkStatus();
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    *id = text;
    return absl::OkStatus();
  }
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " must be a message id or an RFC 3339 time, got \"", text, "\""));
  }
  ToProtoTime(t, time());
  return absl::OkStatus();
}

absl::StatusOr<v1::MessageState> ParseState(const std::string& text) {
  if (text == "waiting") return v1::MESSAGE_STATE_WAITING;
  if (text == "in-flight") return v1::MESSAGE_STATE_IN_FLIGHT;
  if (text == "dead-lettered") return v1::MESSAGE_STATE_DEAD_LETTERED;
  return absl::InvalidArgumentError(
      absl::StrCat("--state must be waiting, in-flight or dead-lettered, got \"", text, "\""));
}

// Pages of `request` until `max` items or the last page; `items(page)`
// appends a page's items and says how many.
template <typename Request, typename Fetch, typename Take>
absl::Status Pages(Request request, int64_t max, Fetch fetch, Take take) {
  int64_t taken = 0;
  do {
    request.set_page_size(static_cast<int>(std::min<int64_t>(max - taken, 1000)));
    auto page = fetch(request);
    if (!page.ok()) return page.status();
    taken += take(*page);
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty() && taken < max);
  return absl::OkStatus();
}

// The look of Tail: the subscription's waiting messages from the first,
// then each as it arrives, until `count` or an interrupt.
absl::Status Look(client::AdminClient& admin, const TailArgs& args,
                  const std::atomic<bool>& interrupted, Printer& out) {
  v1::ListSubscriptionMessagesRequest request;
  request.set_subscription(args.subscription);
  request.set_state(v1::MESSAGE_STATE_WAITING);
  int64_t printed = 0;
  bool away = false;
  while (!interrupted.load() && (args.count == 0 || printed < args.count)) {
    absl::StatusOr<v1::ListSubscriptionMessagesResponse> page =
        admin.ListSubscriptionMessages(request);
    if (!page.ok()) {
      if (!absl::IsUnavailable(page.status())) return page.status();
      if (!away) std::cerr << "hubctl: the hub is away (" << page.status() << "); reconnecting\n";
      away = true;
      absl::SleepFor(absl::Seconds(1));
      continue;
    }
    if (away) std::cerr << "hubctl: the hub is back\n";
    away = false;
    for (const v1::SubscriptionMessage& m : page->messages()) {
      if (args.count > 0 && printed >= args.count) break;
      v1::ReceivedMessage shown;
      *shown.mutable_message() = m.message();
      shown.set_delivery_attempt(m.fate().delivery_attempt());
      out.ReceivedLine(shown);
      ++printed;
      // Later pages start after what was shown: what arrives next.
      request.set_page_token(m.message().message_id());
    }
    if (!page->next_page_token().empty()) {
      request.set_page_token(page->next_page_token());
    } else if (page->messages().empty()) {
      absl::SleepFor(absl::Milliseconds(500));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ShowMessage(client::AdminClient& admin, const std::string& topic,
                         const std::string& message_id, Printer& out) {
  absl::StatusOr<v1::MessageFate> fate = admin.GetMessageFate(topic, message_id);
  if (!fate.ok()) return fate.status();
  out.Fate(*fate);
  return absl::OkStatus();
}

absl::Status ListMessages(client::AdminClient& admin, const BrowseArgs& args, Printer& out) {
  v1::ListMessagesRequest request;
  request.set_topic(args.name);
  request.set_filter(args.filter);
  if (absl::Status s = SetBound(args.start, "--start", request.mutable_start_message_id(),
                                [&] { return request.mutable_start_time(); });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = SetBound(args.end, "--end", request.mutable_end_message_id(),
                                [&] { return request.mutable_end_time(); });
      !s.ok()) {
    return s;
  }
  std::vector<v1::Message> messages;
  if (absl::Status s = Pages(
          request, args.max, [&](const auto& r) { return admin.ListMessages(r); },
          [&](const v1::ListMessagesResponse& page) {
            messages.insert(messages.end(), page.messages().begin(), page.messages().end());
            return page.messages_size();
          });
      !s.ok()) {
    return s;
  }
  out.Messages(messages);
  return absl::OkStatus();
}

absl::Status ListSubscriptionMessages(client::AdminClient& admin, const BrowseArgs& args,
                                      Printer& out) {
  absl::StatusOr<v1::MessageState> state = ParseState(args.state);
  if (!state.ok()) return state.status();
  v1::ListSubscriptionMessagesRequest request;
  request.set_subscription(args.name);
  request.set_state(*state);
  std::vector<v1::SubscriptionMessage> messages;
  if (absl::Status s = Pages(
          request, args.max, [&](const auto& r) { return admin.ListSubscriptionMessages(r); },
          [&](const v1::ListSubscriptionMessagesResponse& page) {
            messages.insert(messages.end(), page.messages().begin(), page.messages().end());
            return page.messages_size();
          });
      !s.ok()) {
    return s;
  }
  out.SubscriptionMessages(messages);
  return absl::OkStatus();
}

absl::Status Redrive(client::AdminClient& admin, const RedriveArgs& args, Printer& out) {
  v1::RedriveRequest request;
  request.set_subscription(args.subscription);
  for (const std::string& id : args.message_ids) request.add_message_ids(id);
  request.set_filter(args.filter);
  request.set_all(args.all);
  v1::RedriveResponse total;
  absl::StatusOr<v1::RedriveResponse> done;
  do {
    done = admin.Redrive(request);
    if (!done.ok()) return done.status();
    for (const std::string& id : done->message_ids()) total.add_message_ids(id);
  } while (done->more() && !done->message_ids().empty());
  total.set_more(done->more());
  out.Redriven(total);
  return absl::OkStatus();
}

absl::Status Apply(client::AdminClient& admin, const ApplyArgs& args, std::istream& in,
                   Printer& out, bool& pending) {
  std::string text;
  if (args.file == "-") {
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    std::ifstream file(args.file);
    if (!file) return absl::InvalidArgumentError(absl::StrCat("cannot read ", args.file));
    text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }
  absl::StatusOr<Estate> estate = ParseEstate(text);
  if (!estate.ok()) return estate.status();
  absl::StatusOr<EstatePlan> plan = PlanEstate(admin, *estate, args.prune);
  if (!plan.ok()) return plan.status();
  absl::Status applied;
  if (!args.dry_run) applied = ApplyEstate(admin, *plan);
  pending = args.dry_run && !plan->changes.empty();
  out.Plan(*plan, !args.dry_run && applied.ok());
  return applied;
}

absl::Status Tail(const client::Connection& connection, const TailArgs& args,
                  const std::atomic<bool>& interrupted, Printer& out) {
  if (!args.consume && !args.ack) {
    client::AdminClient admin(connection);
    return Look(admin, args, interrupted, out);
  }
  client::SubscriberOptions options;
  options.max_outstanding_messages = args.max_outstanding;
  // The session reconnects by itself; tail says so rather than fall silent.
  options.on_retry = [](const absl::Status& status) {
    std::cerr << "hubctl: the hub is away (" << status << "); reconnecting\n";
  };
  client::Subscriber subscriber(connection, args.subscription, options);
  absl::Mutex mu;
  int64_t printed = 0;
  bool ended = false;
  absl::Status ended_with;
  // Without --ack the messages are held (their leases renewed) until tail
  // exits, then nacked: each shown message has had a delivery attempt
  // (docs/client.md, hubctl).
  std::vector<client::AckHandler> held;
  client::SubscriberSession session =
      subscriber.Subscribe([&](client::Message m, client::AckHandler h) {
        absl::MutexLock lock(&mu);
        if (args.count > 0 && printed >= args.count) return;  // dropping h nacks it
        out.ReceivedLine(ToReceived(std::move(m), h.ack_id(), h.delivery_attempt()));
        ++printed;
        if (args.ack) {
          std::move(h).Ack();
        } else {
          held.push_back(std::move(h));
        }
      });
  std::thread watcher([&] {
    absl::Status status = session.Wait();
    absl::MutexLock lock(&mu);
    ended = true;
    ended_with = status;
  });
  {
    absl::MutexLock lock(&mu);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return ended || (args.count > 0 && printed >= args.count);
    };
    while (!mu.AwaitWithTimeout(absl::Condition(&done), absl::Milliseconds(100)) &&
           !interrupted.load()) {
    }
  }
  session.Stop();
  watcher.join();
  absl::MutexLock lock(&mu);
  return ended_with;
}

absl::Status Stats(client::AdminClient& admin, const std::vector<std::string>& names,
                   Printer& out) {
  std::vector<std::string> subscriptions = names;
  if (subscriptions.empty()) {
    absl::StatusOr<std::vector<v1::Subscription>> all = admin.ListSubscriptions();
    if (!all.ok()) return all.status();
    for (const v1::Subscription& s : *all) subscriptions.push_back(s.name());
  }
  std::vector<v1::SubscriptionStats> stats;
  for (const std::string& name : subscriptions) {
    absl::StatusOr<v1::SubscriptionStats> s = admin.GetSubscriptionStats(name);
    if (!s.ok()) return s.status();
    stats.push_back(*std::move(s));
  }
  out.Stats(stats);
  return absl::OkStatus();
}

}  // namespace hub::hubctl
