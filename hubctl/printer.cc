#include "hubctl/printer.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "hubctl/args.h"
#include "hubctl/estate.h"

namespace hub::hubctl {
namespace {

std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  // Our own messages always convert; a failure would leave the text empty.
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  return text;
}

std::string Duration(const google::protobuf::Duration& d) {
  return absl::FormatDuration(FromProtoDuration(d));
}

std::string Time(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", FromProtoTime(t), absl::UTCTimeZone());
}

std::string Pairs(const google::protobuf::Map<std::string, std::string>& map) {
  std::map<std::string, std::string> sorted(map.begin(), map.end());
  return absl::StrJoin(sorted, ",", absl::PairFormatter("="));
}

}  // namespace

template <typename Proto>
void Printer::JsonList(const std::vector<Proto>& items, bool one) {
  if (one && items.size() == 1) {
    out_ << Json(items[0]) << "\n";
    return;
  }
  std::vector<std::string> parts;
  for (const Proto& p : items) parts.push_back(Json(p));
  out_ << "[" << absl::StrJoin(parts, ",") << "]\n";
}

namespace {

// A topic's schema settings in one word: "orders:BINARY", with the
// revision range when it has one ("orders@a1..b2:JSON"); "-" for none.
std::string SchemaColumn(const v1::Topic& t) {
  if (!t.has_schema_settings()) return "-";
  const v1::SchemaSettings& s = t.schema_settings();
  std::string range;
  if (!s.first_revision_id().empty() || !s.last_revision_id().empty()) {
    range = absl::StrCat("@", s.first_revision_id(), "..", s.last_revision_id());
  }
  return absl::StrCat(s.schema(), range, ":", v1::SchemaEncoding_Name(s.encoding()));
}

}  // namespace

void Printer::Topics(const std::vector<v1::Topic>& topics, bool one) {
  if (format_ == OutputFormat::kJson) return JsonList(topics, one);
  out_ << absl::StrFormat("%-32s %-12s %-12s %-24s %s\n", "TOPIC", "RETENTION", "DEDUP_WINDOW",
                          "SCHEMA", "LABELS");
  for (const v1::Topic& t : topics) {
    out_ << absl::StrFormat("%-32s %-12s %-12s %-24s %s\n", t.name(),
                            Duration(t.message_retention()), Duration(t.dedup_window()),
                            SchemaColumn(t), Pairs(t.labels()));
  }
}

void Printer::Snapshots(const std::vector<v1::Snapshot>& snapshots, bool one) {
  if (format_ == OutputFormat::kJson) return JsonList(snapshots, one);
  out_ << absl::StrFormat("%-32s %-24s %-26s %s\n", "SNAPSHOT", "TOPIC", "EXPIRES", "LABELS");
  for (const v1::Snapshot& s : snapshots) {
    out_ << absl::StrFormat("%-32s %-24s %-26s %s\n", s.name(), s.topic(), Time(s.expire_time()),
                            Pairs(s.labels()));
  }
}

void Printer::Schemas(const std::vector<v1::Schema>& schemas, bool one) {
  if (format_ == OutputFormat::kJson) return JsonList(schemas, one);
  out_ << absl::StrFormat("%-32s %-16s %-10s %s\n", "SCHEMA", "TYPE", "REVISION", "COMMITTED");
  for (const v1::Schema& s : schemas) {
    out_ << absl::StrFormat("%-32s %-16s %-10s %s\n", s.name(), v1::SchemaType_Name(s.type()),
                            s.revision_id(), Time(s.revision_create_time()));
  }
}

void Printer::Definition(const v1::Schema& schema) {
  if (format_ == OutputFormat::kJson) return JsonList(std::vector<v1::Schema>{schema}, true);
  out_ << schema.definition();
}

void Printer::Subscriptions(const std::vector<v1::Subscription>& subscriptions, bool one) {
  if (format_ == OutputFormat::kJson) return JsonList(subscriptions, one);
  out_ << absl::StrFormat("%-32s %-24s %-14s %-8s %-8s %s\n", "SUBSCRIPTION", "TOPIC", "GUARANTEE",
                          "DEADLINE", "ORDERED", "OPTIONS");
  for (const v1::Subscription& s : subscriptions) {
    std::vector<std::string> extra;
    if (!s.filter().empty()) extra.push_back(absl::StrCat("filter=", s.filter()));
    if (!s.dead_letter_policy().dead_letter_topic().empty()) {
      extra.push_back(absl::StrCat("dead_letter=", s.dead_letter_policy().dead_letter_topic(), "/",
                                   s.dead_letter_policy().max_delivery_attempts()));
    }
    if (s.has_retry_policy()) {
      extra.push_back(absl::StrCat("backoff=", Duration(s.retry_policy().minimum_backoff()), "..",
                                   Duration(s.retry_policy().maximum_backoff())));
    }
    if (!s.labels().empty()) extra.push_back(absl::StrCat("labels=", Pairs(s.labels())));
    if (s.has_message_retention()) {
      extra.push_back(absl::StrCat("retention=", Duration(s.message_retention())));
    }
    if (s.has_expiration_ttl()) {
      extra.push_back(absl::StrCat("expires_unused=", Duration(s.expiration_ttl())));
    }
    out_ << absl::StrFormat("%-32s %-24s %-14s %-8s %-8s %s\n", s.name(), s.topic(),
                            GuaranteeName(s.delivery_guarantee()),
                            absl::StrCat(s.ack_deadline_seconds(), "s"),
                            s.enable_message_ordering() ? "yes" : "no", absl::StrJoin(extra, " "));
  }
}

void Printer::Published(const std::vector<absl::StatusOr<client::PublishAck>>& acks) {
  if (format_ == OutputFormat::kJson) {
    std::vector<std::string> parts;
    for (const absl::StatusOr<client::PublishAck>& a : acks) {
      if (!a.ok()) {
        parts.push_back(
            absl::StrCat("{\"error\":{\"code\":\"", absl::StatusCodeToString(a.status().code()),
                         "\",\"message\":\"", absl::CEscape(a.status().message()), "\"}}"));
        continue;
      }
      parts.push_back(absl::StrCat("{\"message_id\":\"", a->message_id,
                                   "\",\"duplicate\":", a->duplicate ? "true" : "false", "}"));
    }
    out_ << "[" << absl::StrJoin(parts, ",") << "]\n";
    return;
  }
  for (const absl::StatusOr<client::PublishAck>& a : acks) {
    if (!a.ok()) {
      out_ << "error: " << a.status() << "\n";
      continue;
    }
    out_ << a->message_id << (a->duplicate ? " (duplicate)" : "") << "\n";
  }
}

void Printer::Received(const std::vector<v1::ReceivedMessage>& messages) {
  if (format_ == OutputFormat::kJson) return JsonList(messages, false);
  for (const v1::ReceivedMessage& m : messages) ReceivedLine(m);
}

void Printer::ReceivedLine(const v1::ReceivedMessage& m) {
  if (format_ == OutputFormat::kJson) {
    out_ << Json(m) << std::endl;
    return;
  }
  // Tab-separated: id, attempt, publish time, attributes, data (escaped so
  // that one message stays one line).
  out_ << m.message().message_id() << "\t" << m.delivery_attempt() << "\t"
       << Time(m.message().publish_time()) << "\t" << Pairs(m.message().attributes()) << "\t"
       << absl::CHexEscape(m.message().data()) << std::endl;
}

void Printer::Stats(const std::vector<v1::SubscriptionStats>& stats) {
  if (format_ == OutputFormat::kJson) return JsonList(stats, false);
  out_ << absl::StrFormat("%-32s %-24s %10s %10s %s\n", "SUBSCRIPTION", "TOPIC", "BACKLOG",
                          "UNACKED", "OLDEST_UNACKED_AGE");
  for (const v1::SubscriptionStats& s : stats) {
    out_ << absl::StrFormat(
        "%-32s %-24s %10d %10d %s\n", s.subscription(), s.topic(), s.backlog_messages(),
        s.unacked_messages(),
        s.has_oldest_unacked_publish_time() ? Duration(s.oldest_unacked_age()) : std::string("-"));
  }
}

namespace {

std::string StateName(v1::MessageState state) {
  std::string name = v1::MessageState_Name(state);
  name = name.substr(std::string("MESSAGE_STATE_").size());
  absl::AsciiStrToLower(&name);
  absl::StrReplaceAll({{"_", "-"}}, &name);
  return name;
}

// What a state adds: attempts, lease or due time, dead letter.
std::string FateDetail(const v1::SubscriptionFate& f) {
  std::vector<std::string> parts;
  if (f.delivery_attempt() > 0) parts.push_back(absl::StrCat("attempts=", f.delivery_attempt()));
  if (f.has_lease_expire_time()) {
    parts.push_back(absl::StrCat("lease_until=", Time(f.lease_expire_time())));
  }
  if (f.has_next_delivery_time()) {
    parts.push_back(absl::StrCat("due=", Time(f.next_delivery_time())));
  }
  if (f.has_dead_letter()) {
    const v1::DeadLetter& d = f.dead_letter();
    parts.push_back(absl::StrCat("to=", d.topic(), "/", d.message_id(), " reason=",
                                 absl::CHexEscape(d.reason()), " at=", Time(d.dead_letter_time())));
  }
  return absl::StrJoin(parts, " ");
}

}  // namespace

void Printer::AckResults(const std::vector<v1::AckResult>& results) {
  if (format_ == OutputFormat::kJson) return JsonList(results, false);
  for (const v1::AckResult& r : results) {
    out_ << r.ack_id() << "\t" << v1::AckStatus_Name(r.status()) << "\n";
  }
}

void Printer::Fate(const v1::MessageFate& fate) {
  if (format_ == OutputFormat::kJson) {
    out_ << Json(fate) << "\n";
    return;
  }
  const v1::Message& m = fate.message();
  out_ << m.message_id() << "\t" << Time(m.publish_time()) << "\t" << Pairs(m.attributes()) << "\t"
       << absl::CHexEscape(m.data()) << "\n";
  out_ << absl::StrFormat("%-32s %-14s %s\n", "SUBSCRIPTION", "STATE", "DETAIL");
  for (const v1::SubscriptionFate& f : fate.subscriptions()) {
    out_ << absl::StrFormat("%-32s %-14s %s\n", f.subscription(), StateName(f.state()),
                            FateDetail(f));
  }
}

void Printer::Messages(const std::vector<v1::Message>& messages) {
  if (format_ == OutputFormat::kJson) return JsonList(messages, false);
  for (const v1::Message& m : messages) {
    out_ << m.message_id() << "\t" << Time(m.publish_time()) << "\t" << Pairs(m.attributes())
         << "\t" << absl::CHexEscape(m.data()) << "\n";
  }
}

void Printer::SubscriptionMessages(const std::vector<v1::SubscriptionMessage>& messages) {
  if (format_ == OutputFormat::kJson) return JsonList(messages, false);
  for (const v1::SubscriptionMessage& sm : messages) {
    const v1::Message& m = sm.message();
    out_ << m.message_id() << "\t" << StateName(sm.fate().state()) << "\t" << FateDetail(sm.fate())
         << "\t" << Pairs(m.attributes()) << "\t" << absl::CHexEscape(m.data()) << "\n";
  }
}

void Printer::Redriven(const v1::RedriveResponse& redriven) {
  if (format_ == OutputFormat::kJson) {
    out_ << Json(redriven) << "\n";
    return;
  }
  out_ << "redrove " << redriven.message_ids_size() << " message"
       << (redriven.message_ids_size() == 1 ? "" : "s")
       << (redriven.message_ids().empty() ? "" : ": ") << absl::StrJoin(redriven.message_ids(), " ")
       << "\n";
}

void Printer::Plan(const EstatePlan& plan, bool applied) {
  auto action = [](EstateChange::Action a) {
    switch (a) {
      case EstateChange::Action::kCreate:
        return "create";
      case EstateChange::Action::kUpdate:
        return "update";
      case EstateChange::Action::kCommit:
        return "commit";
      case EstateChange::Action::kDelete:
        return "delete";
    }
    return "?";
  };
  if (format_ == OutputFormat::kJson) {
    std::vector<std::string> changes;
    for (const EstateChange& c : plan.changes) {
      std::vector<std::string> fields;
      for (const std::string& f : c.fields) fields.push_back(absl::StrCat("\"", f, "\""));
      changes.push_back(absl::StrCat("{\"action\":\"", action(c.action), "\",\"kind\":\"", c.kind,
                                     "\",\"name\":\"", absl::CEscape(c.name), "\",\"fields\":[",
                                     absl::StrJoin(fields, ","), "]}"));
    }
    out_ << "{\"changes\":[" << absl::StrJoin(changes, ",") << "],\"unchanged\":" << plan.unchanged
         << ",\"applied\":" << (applied ? "true" : "false") << "}\n";
    return;
  }
  for (const EstateChange& c : plan.changes) {
    out_ << action(c.action) << " " << c.kind << " " << c.name
         << (c.fields.empty() ? "" : ": " + absl::StrJoin(c.fields, ", ")) << "\n";
  }
  if (plan.changes.empty()) {
    out_ << "no changes: " << plan.unchanged << " resources match the file\n";
  } else {
    out_ << plan.changes.size() << (plan.changes.size() == 1 ? " change" : " changes")
         << (applied ? " applied, " : " to make, ") << plan.unchanged << " unchanged\n";
  }
}

void Printer::Done(const std::string& text) {
  if (format_ == OutputFormat::kJson) {
    out_ << "{}\n";
  } else {
    out_ << text << "\n";
  }
}

}  // namespace hub::hubctl
