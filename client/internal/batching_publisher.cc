#include "client/internal/batching_publisher.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/internal/message_convert.h"
#include "client/internal/retry.h"

namespace hub::client::internal {
namespace {

// The most one Publish may carry (the API's limits: Limits::
// kMaxMessagesPerPublish and kMaxPublishRequestBytes in hub/validation.h,
// README "Limits"); a batch is never larger.
constexpr int kMaxRequestMessages = 1000;
constexpr int64_t kMaxRequestBytes = 10 * 1024 * 1024;

std::string NewSessionId() {
  absl::BitGen random;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(random),
                         absl::Uniform<uint64_t>(random));
}

}  // namespace

absl::Status ValidatePublisherOptions(const PublisherOptions& o) {
  if (o.max_batch_messages < 1 || o.max_batch_messages > kMaxRequestMessages) {
    return absl::InvalidArgumentError("max_batch_messages must be 1..1000");
  }
  if (o.max_batch_bytes < 1 || o.max_batch_bytes > kMaxRequestBytes) {
    return absl::InvalidArgumentError("max_batch_bytes must be 1..10485760");
  }
  if (o.max_hold_time < absl::ZeroDuration() || o.retry_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_hold_time and retry_timeout must not be negative");
  }
  if (o.max_concurrent_batches < 1 || o.max_pending_messages < 1 || o.max_pending_bytes < 1) {
    return absl::InvalidArgumentError(
        "max_concurrent_batches, max_pending_messages and max_pending_bytes must be positive");
  }
  if (o.retry_backoff.initial <= absl::ZeroDuration() ||
      o.retry_backoff.maximum < o.retry_backoff.initial || o.retry_backoff.multiplier < 1) {
    return absl::InvalidArgumentError(
        "retry_backoff needs initial > 0, maximum >= initial and multiplier >= 1");
  }
  return absl::OkStatus();
}

BatchingPublisher::BatchingPublisher(std::shared_ptr<HubStub> stub, std::string topic,
                                     PublisherOptions options)
    : stub_(std::move(stub)),
      topic_(std::move(topic)),
      options_(std::move(options)),
      options_status_(ValidatePublisherOptions(options_)),
      session_(NewSessionId()) {
  // With bad options every Publish fails with their error; nothing runs.
  if (!options_status_.ok()) return;
  for (int i = 0; i < options_.max_concurrent_batches; ++i) {
    senders_.emplace_back([this, i] { SenderLoop(i); });
  }
  timer_ = std::thread([this] { TimerLoop(); });
}

BatchingPublisher::~BatchingPublisher() {
  if (!options_status_.ok()) return;
  Flush();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : senders_) t.join();
  timer_.join();
}

bool BatchingPublisher::HasRoom(int64_t bytes) const {
  // A message larger than the byte bound still goes out, alone.
  if (pending_messages_ == 0) return true;
  return pending_messages_ < options_.max_pending_messages &&
         pending_bytes_ + bytes <= options_.max_pending_bytes;
}

void BatchingPublisher::Publish(Message message, Callback done) {
  if (!options_status_.ok()) {
    done(options_status_);
    return;
  }
  v1::Message proto;
  MessageToProto(std::move(message), &proto);
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    const std::string& key = proto.ordering_key();
    const int64_t bytes = MessageBytes(proto);
    auto admitted = [&]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || HasRoom(bytes); };
    if (!admitted() && !options_.reject_when_full) mu_.Await(absl::Condition(&admitted));
    auto lane_it = lanes_.find(key);
    if (stopping_) {
      refused = absl::FailedPreconditionError("the publisher is shut down");
    } else if (cancelled_) {
      refused = absl::CancelledError("the publisher was cancelled");
    } else if (lane_it != lanes_.end() && !lane_it->second.paused.ok()) {
      refused = lane_it->second.paused;
    } else if (!HasRoom(bytes)) {
      refused = absl::ResourceExhaustedError(
          absl::StrCat("publisher flow control: ", pending_messages_, " messages and ",
                       pending_bytes_, " bytes await their answer"));
    } else {
      const uint64_t seq = next_seq_++;
      unanswered_.insert(seq);
      ++pending_messages_;
      pending_bytes_ += bytes;
      Lane& lane = lanes_[key];
      if (lane.open && lane.open->bytes + bytes > options_.max_batch_bytes) Seal(lane);
      if (!lane.open) {
        lane.open = Batch{next_batch_id_++, key, {}, 0};
        timers_.emplace_back(absl::Now() + options_.max_hold_time, key, lane.open->id);
      }
      lane.open->items.push_back(Item{std::move(proto), bytes, seq, std::move(done)});
      lane.open->bytes += bytes;
      if (static_cast<int>(lane.open->items.size()) >= options_.max_batch_messages ||
          lane.open->bytes >= options_.max_batch_bytes ||
          options_.max_hold_time == absl::ZeroDuration()) {
        Seal(lane);
      }
      return;
    }
  }
  done(refused);
}

void BatchingPublisher::Seal(Lane& lane) {
  Batch batch = std::move(*lane.open);
  lane.open.reset();
  Dispatch(std::move(batch), lane);
}

void BatchingPublisher::Dispatch(Batch batch, Lane& lane) {
  if (!batch.ordering_key.empty()) {
    if (lane.in_flight) {
      lane.waiting.push_back(std::move(batch));
      return;
    }
    lane.in_flight = true;
  }
  ready_.push_back(std::move(batch));
}

void BatchingPublisher::Flush() {
  if (!options_status_.ok()) return;
  absl::MutexLock lock(&mu_);
  for (auto& [key, lane] : lanes_) {
    if (lane.open) Seal(lane);
  }
  const uint64_t target = next_seq_;
  auto answered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return unanswered_.empty() || *unanswered_.begin() >= target;
  };
  mu_.Await(absl::Condition(&answered));
}

void BatchingPublisher::ResumePublish(const std::string& ordering_key) {
  absl::MutexLock lock(&mu_);
  auto it = lanes_.find(ordering_key);
  if (it == lanes_.end()) return;
  it->second.paused = absl::OkStatus();
  DropLaneIfIdle(ordering_key);
}

void BatchingPublisher::TimerLoop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || !timers_.empty();
    };
    mu_.Await(absl::Condition(&has_work));
    // The destructor flushed before stopping: no open batch is left behind.
    if (stopping_) return;
    const auto [deadline, key, id] = timers_.front();
    if (absl::Now() < deadline) {
      mu_.AwaitWithDeadline(absl::Condition(&stopping_), deadline);
      continue;
    }
    timers_.pop_front();
    auto it = lanes_.find(key);
    if (it != lanes_.end() && it->second.open && it->second.open->id == id) Seal(it->second);
  }
}

void BatchingPublisher::SenderLoop(int index) {
  // One batch in flight per producer: a retry is always of its last batch,
  // which the hub recognises whether or not the first attempt committed.
  const std::string producer = absl::StrCat(session_, "-", index);
  int64_t sequence = 0;
  for (;;) {
    Batch batch;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !ready_.empty();
      };
      mu_.Await(absl::Condition(&has_work));
      if (ready_.empty()) return;
      batch = std::move(ready_.front());
      ready_.pop_front();
    }
    v1::PublishRequest request;
    request.set_topic(topic_);
    for (Item& item : batch.items) request.add_messages()->Swap(&item.message);
    if (options_.deduplicate_retries) {
      request.set_producer(producer);
      request.set_first_sequence(sequence);
      sequence += request.messages_size();
    }
    Complete(std::move(batch), SendWithRetries(request));
  }
}

absl::StatusOr<v1::PublishResponse> BatchingPublisher::SendWithRetries(
    const v1::PublishRequest& request) {
  Backoff backoff(options_.retry_backoff);
  const absl::Time give_up = absl::Now() + options_.retry_timeout;
  const absl::Status cancelled = absl::CancelledError(
      "the publisher was cancelled before the hub answered; the message may or may not be "
      "stored");
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return cancelled;
    }
    absl::StatusOr<v1::PublishResponse> response = stub_->Publish(request);
    if (response.ok()) {
      if (response->results_size() != request.messages_size()) {
        return absl::InternalError(absl::StrCat("the hub answered ", response->results_size(),
                                                " results for ", request.messages_size(),
                                                " messages"));
      }
      return response;
    }
    if (!IsRetryablePublishError(response.status().code())) return response;
    const absl::Duration wait = backoff.Next();
    if (absl::Now() + wait > give_up) {
      return absl::Status(response.status().code(),
                          absl::StrCat(response.status().message(), " (retried for ",
                                       absl::FormatDuration(options_.retry_timeout), ")"));
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&cancelled_), wait)) return cancelled;
  }
}

void BatchingPublisher::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
}

void BatchingPublisher::Finish(Item& item, absl::StatusOr<PublishAck> result, Completions& out) {
  --pending_messages_;
  pending_bytes_ -= item.bytes;
  unanswered_.erase(item.seq);
  out.emplace_back(std::move(item.done), std::move(result));
}

void BatchingPublisher::FailQueued(Lane& lane, Completions& out) {
  for (Batch& batch : lane.waiting) {
    for (Item& item : batch.items) Finish(item, lane.paused, out);
  }
  lane.waiting.clear();
  if (lane.open) {
    for (Item& item : lane.open->items) Finish(item, lane.paused, out);
    lane.open.reset();
  }
}

void BatchingPublisher::DropLaneIfIdle(const std::string& key) {
  auto it = lanes_.find(key);
  if (it == lanes_.end()) return;
  const Lane& lane = it->second;
  if (!lane.open && lane.waiting.empty() && !lane.in_flight && lane.paused.ok()) {
    lanes_.erase(it);
  }
}

void BatchingPublisher::Complete(Batch batch, const absl::StatusOr<v1::PublishResponse>& response) {
  Completions out;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < batch.items.size(); ++i) {
      absl::StatusOr<PublishAck> result =
          response.ok() ? absl::StatusOr<PublishAck>(
                              PublishAck{response->results(static_cast<int>(i)).message_id(),
                                         response->results(static_cast<int>(i)).duplicate()})
                        : absl::StatusOr<PublishAck>(response.status());
      Finish(batch.items[i], std::move(result), out);
    }
    if (!batch.ordering_key.empty()) {
      Lane& lane = lanes_[batch.ordering_key];
      lane.in_flight = false;
      if (!response.ok()) {
        lane.paused = absl::FailedPreconditionError(
            absl::StrCat("ordering key ", batch.ordering_key, " is paused after a failed publish (",
                         response.status().ToString(), "); call ResumePublish to go on"));
        FailQueued(lane, out);
      } else if (!lane.waiting.empty()) {
        Batch next = std::move(lane.waiting.front());
        lane.waiting.pop_front();
        Dispatch(std::move(next), lane);
      }
    }
    DropLaneIfIdle(batch.ordering_key);
  }
  for (auto& [done, result] : out) done(std::move(result));
}

}  // namespace hub::client::internal
