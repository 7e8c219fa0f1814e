#include "tests/chaos/workload.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace hub::chaos {
namespace {

client::Connection Connect(const WorkloadOptions& o) {
  client::ConnectionOptions c;
  c.endpoint = o.endpoint;
  c.call_timeout = o.call_timeout;
  // Only a file that cannot be read fails here, and none is given.
  return *client::Connection::Open(c);
}

}  // namespace

Workload::Workload(WorkloadOptions options, History& history)
    : options_(std::move(options)), history_(history), connection_(Connect(options_)) {}

Workload::~Workload() {
  StopPublishing();
  Stop();
}

void Workload::Start() {
  if (!options_.consumers_later) StartConsumers();
  for (int i = 0; i < options_.publishers; ++i) {
    publishers_.emplace_back([this, i] { Publish(i); });
  }
}

void Workload::StartConsumers() {
  for (int i = 0; i < options_.consumers; ++i) {
    client::SubscriberOptions o;
    o.ack_deadline_seconds = 5;
    o.reconnect_backoff.maximum = absl::Seconds(1);
    client::Subscriber subscriber(connection_, options_.subscription, o);
    consumers_.push_back(subscriber.Subscribe([this](client::Message m, client::AckHandler h) {
      history_.Delivered(m.data);
      std::move(h).Ack();
    }));
  }
}

void Workload::Publish(int index) {
  for (int64_t n = 0; !stop_publishing_.load(); ++n) {
    v1::PublishRequest request;
    request.set_topic(options_.topic);
    const std::string key =
        options_.ordering_keys > 0 ? absl::StrCat("k", index, "-", n % options_.ordering_keys) : "";
    for (int j = 0; j < options_.batch; ++j) {
      // The value says where it stands in its key's order: publisher,
      // batch number, place in the batch.
      const std::string value = absl::StrCat(key.empty() ? "v" : key, "/", index, "/", n, "/", j);
      v1::Message* m = request.add_messages();
      m->set_data(value);
      m->set_idempotency_key(value);
      m->set_ordering_key(key);
      history_.Sent(value);
    }
    // Until answered: a batch whose answer never came would leave its
    // values unknown, and with an ordering key the next batch must not go
    // before it.
    const absl::Time give_up = absl::Now() + options_.give_up;
    while (absl::Now() < give_up) {
      absl::StatusOr<v1::PublishResponse> response = connection_.stub()->Publish(request);
      if (response.ok()) {
        const absl::Time now = absl::Now();
        for (int j = 0; j < request.messages_size(); ++j) {
          history_.Answered(request.messages(j).data(), response->results(j).message_id(), now);
        }
        ++batches_answered_;
        break;
      }
      history_.CallFailed(absl::StatusCodeToString(response.status().code()));
      absl::SleepFor(absl::Milliseconds(100));
    }
    absl::SleepFor(options_.batch_interval);
  }
}

void Workload::StopPublishing() {
  stop_publishing_ = true;
  for (std::thread& t : publishers_) t.join();
  publishers_.clear();
}

bool Workload::Drain(absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (history_.Missing() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  return history_.Missing() == 0;
}

void Workload::Stop() {
  for (client::SubscriberSession& s : consumers_) s.Stop();
  consumers_.clear();
}

}  // namespace hub::chaos
