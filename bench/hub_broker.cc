#include "bench/hub_broker.h"

#include <future>
#include <thread>

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

class HubProducer final : public Producer {
 public:
  HubProducer(const client::Connection& connection, const std::string& topic, bool keyed,
              int ordering_keys)
      : publisher_(connection, topic, Options()), keyed_(keyed), ordering_keys_(ordering_keys) {}

  absl::Status Publish(const std::vector<std::string>& payloads) override {
    std::vector<std::future<absl::StatusOr<client::PublishAck>>> results;
    results.reserve(payloads.size());
    // One key per batch, the keys in turn: the client library batches per
    // key, so a batch of many keys would go out as one request per message.
    const std::string key =
        ordering_keys_ > 0 ? absl::StrCat("k", batches_++ % ordering_keys_) : "";
    for (const std::string& p : payloads) {
      results.push_back(publisher_.Publish(
          {.data = p,
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
  return std::make_unique<HubProducer>(connection_, topic_, variant_.keyed, variant_.ordering_keys);
}

std::unique_ptr<Consumer> HubBroker::NewConsumer(int index) {
  return std::make_unique<HubConsumer>(connection_, SubscriptionName(topic_, index));
}

}  // namespace hub::bench
