#include "bench/hub_broker.h"

#include <future>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/admin_client.h"
#include "client/publisher.h"
#include "client/subscriber.h"

namespace hub::bench {
namespace {

std::string SubscriptionName(const std::string& topic, int index) {
  return absl::StrCat(topic, "-sub", index);
}

// The schema of the schema variants: an event as a service would publish
// one, its payload carried whole in `body`.
constexpr char kEventSchema[] = R"(syntax = "proto3";
message Event {
  string id = 1;
  int64 time_us = 2;
  bytes body = 3;
})";

void AppendVarint(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// A payload as an Event in `encoding`, written by hand as a service's
// generated code would write it.
std::string AsEvent(const std::string& payload, int64_t seq, v1::SchemaEncoding encoding) {
  const std::string id = absl::StrCat("e", seq);
  const int64_t time_us = absl::ToUnixMicros(absl::Now());
  std::string out;
  if (encoding == v1::BINARY) {
    out.reserve(payload.size() + id.size() + 20);
    out.push_back(0x0a);
    AppendVarint(id.size(), out);
    out += id;
    out.push_back(0x10);
    AppendVarint(static_cast<uint64_t>(time_us), out);
    out.push_back(0x1a);
    AppendVarint(payload.size(), out);
    out += payload;
    return out;
  }
  return absl::StrCat(R"({"id":")", id, R"(","timeUs":")", time_us, R"(","body":")",
                      absl::Base64Escape(payload), R"("})");
}

class HubProducer final : public Producer {
 public:
  HubProducer(const client::Connection& connection, const std::string& topic, bool keyed,
              int ordering_keys, v1::SchemaEncoding schema)
      : publisher_(connection, topic, Options()),
        keyed_(keyed),
        ordering_keys_(ordering_keys),
        schema_(schema) {}

  absl::Status Publish(const std::vector<std::string>& payloads) override {
    std::vector<std::future<absl::StatusOr<client::PublishAck>>> results;
    results.reserve(payloads.size());
    // One key per batch, the keys in turn: the client library batches per
    // key, so a batch of many keys would go out as one request per message.
    const std::string key =
        ordering_keys_ > 0 ? absl::StrCat("k", batches_++ % ordering_keys_) : "";
    for (const std::string& p : payloads) {
      results.push_back(publisher_.Publish(
          {.data = schema_ == v1::SCHEMA_ENCODING_UNSPECIFIED ? p : AsEvent(p, seq_++, schema_),
           .ordering_key = key,
           .idempotency_key = keyed_ ? absl::StrCat(key_prefix_, next_key_++) : std::string()}));
    }
    // The batch goes out now, as one request.
    publisher_.Flush();
    for (auto& r : results) {
      absl::StatusOr<client::PublishAck> ack = r.get();
      if (!ack.ok()) return ack.status();
    }
    return absl::OkStatus();
  }

 private:
  static client::PublisherOptions Options() {
    client::PublisherOptions o;
    // Batches are cut by Flush, one per call, never by the timer.
    o.max_batch_messages = 1000;
    o.max_batch_bytes = 10 * 1024 * 1024;
    o.max_hold_time = absl::Hours(1);
    return o;
  }

  client::Publisher publisher_;
  const bool keyed_;
  // Keys unique to this producer, as an application's own would be.
  const std::string key_prefix_ =
      absl::StrCat(absl::ToUnixNanos(absl::Now()), "-", reinterpret_cast<uintptr_t>(this), "-");
  int64_t next_key_ = 0;
  const int ordering_keys_;
  int64_t batches_ = 0;
  const v1::SchemaEncoding schema_;
  int64_t seq_ = 0;
};

class HubConsumer final : public Consumer {
 public:
  HubConsumer(const client::Connection& connection, std::string subscription)
      : connection_(connection), subscription_(std::move(subscription)) {}

  absl::Status Run(const std::atomic<bool>& stop,
                   const std::function<void(absl::string_view)>& on_message) override {
    client::SubscriberOptions o;
    o.max_concurrency = 1;
    client::Subscriber subscriber(connection_, subscription_, o);
    client::SubscriberSession session =
        subscriber.Subscribe([&](client::Message m, client::AckHandler h) {
          on_message(m.data);
          std::move(h).Ack();
        });
    while (!stop.load()) absl::SleepFor(absl::Milliseconds(20));
    session.Stop();
    return session.Wait();
  }

 private:
  client::Connection connection_;
  std::string subscription_;
};

}  // namespace

std::string HubBroker::name() const {
  if (variant_.exactly_once) return "hub exactly-once";
  if (variant_.ordering_keys > 0)
    return absl::StrCat("hub ordered, ", variant_.ordering_keys, " keys");
  if (variant_.schema != v1::SCHEMA_ENCODING_UNSPECIFIED) {
    return absl::StrCat("hub, protobuf schema, ", v1::SchemaEncoding_Name(variant_.schema));
  }
  return variant_.keyed ? "hub, a key per message" : "hub";
}

std::string HubBroker::durability() const {
  return variant_.keyed
             ? "PostgreSQL commit (fsync) before the ack; idempotency key per message"
             : "PostgreSQL commit (fsync) before the ack; deduplicated per producer batch";
}

absl::Status HubBroker::Prepare(const std::string& name, int subscriptions) {
  client::AdminClient admin(connection_);
  topic_ = name;
  absl::Status deleted = admin.DeleteTopic(name);
  if (!deleted.ok() && deleted.code() != absl::StatusCode::kNotFound) return deleted;
  v1::Topic topic;
  topic.set_name(name);
  if (variant_.schema != v1::SCHEMA_ENCODING_UNSPECIFIED) {
    absl::Status gone = admin.DeleteSchema(name);
    if (!gone.ok() && gone.code() != absl::StatusCode::kNotFound) return gone;
    v1::Schema schema;
    schema.set_name(name);
    schema.set_type(v1::PROTOCOL_BUFFER);
    schema.set_definition(kEventSchema);
    if (absl::Status s = admin.CreateSchema(schema).status(); !s.ok()) return s;
    topic.mutable_schema_settings()->set_schema(name);
    topic.mutable_schema_settings()->set_encoding(variant_.schema);
  }
  if (absl::Status s = admin.CreateTopic(topic).status(); !s.ok()) return s;
  for (int i = 0; i < subscriptions; ++i) {
    v1::Subscription sub;
    sub.set_name(SubscriptionName(name, i));
    sub.set_topic(name);
    sub.set_delivery_guarantee(variant_.exactly_once ? v1::EXACTLY_ONCE : v1::AT_LEAST_ONCE);
    sub.set_enable_message_ordering(variant_.ordering_keys > 0);
    if (absl::Status s = admin.CreateSubscription(sub).status(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::unique_ptr<Producer> HubBroker::NewProducer() {
  return std::make_unique<HubProducer>(connection_, topic_, variant_.keyed, variant_.ordering_keys,
                                       variant_.schema);
}

std::unique_ptr<Consumer> HubBroker::NewConsumer(int index) {
  return std::make_unique<HubConsumer>(connection_, SubscriptionName(topic_, index));
}

}  // namespace hub::bench
