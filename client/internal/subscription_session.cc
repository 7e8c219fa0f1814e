#include "client/internal/subscription_session.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/internal/message_convert.h"
#include "client/internal/retry.h"

namespace hub::client::internal {
namespace {

// The hub takes at most 5000 ack ids per request, acks, nacks and deadline
// changes together (the API's limit: Limits::kMaxAckIdsPerRequest in
// hub/validation.h, README "Limits"); a stream request's share of each.
constexpr size_t kMaxAcksPerRequest = 1000;
constexpr size_t kMaxNacksPerRequest = 1000;
constexpr size_t kMaxExtensionsPerRequest = 500;
// Queued acks and nacks that are sent at once rather than after the delay.
constexpr size_t kFlushIds = 1000;
constexpr size_t kMaxIdsPerUnaryCall = 2500;
// After Stop, how long the hub gets to close the stream before it is cut.
constexpr absl::Duration kCloseTimeout = absl::Seconds(10);

absl::Status StoppedError() {
  return absl::FailedPreconditionError(
      "the subscriber session stopped and nacked this message; it is redelivered");
}

}  // namespace

absl::Status ValidateSubscriberOptions(const SubscriberOptions& o) {
  if (o.ack_deadline_seconds < 1 || o.ack_deadline_seconds > 600) {
    return absl::InvalidArgumentError("ack_deadline_seconds must be 1..600");
  }
  if (o.max_outstanding_messages < 1 || o.max_outstanding_bytes < 1 || o.max_concurrency < 1) {
    return absl::InvalidArgumentError(
        "max_outstanding_messages, max_outstanding_bytes and max_concurrency must be positive");
  }
  if (o.ack_batch_delay < absl::ZeroDuration() || o.shutdown_timeout < absl::ZeroDuration() ||
      o.max_lease_extension < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "ack_batch_delay, shutdown_timeout and max_lease_extension must not be negative");
  }
  if (o.reconnect_backoff.initial <= absl::ZeroDuration() ||
      o.reconnect_backoff.maximum < o.reconnect_backoff.initial ||
      o.reconnect_backoff.multiplier < 1) {
    return absl::InvalidArgumentError(
        "reconnect_backoff needs initial > 0, maximum >= initial and multiplier >= 1");
  }
  return absl::OkStatus();
}

std::shared_ptr<SubscriptionSession> SubscriptionSession::Start(std::shared_ptr<HubStub> stub,
                                                                std::string subscription,
                                                                SubscriberOptions options,
                                                                MessageHandler handler) {
  std::shared_ptr<SubscriptionSession> session(new SubscriptionSession(
      std::move(stub), std::move(subscription), std::move(options), std::move(handler)));
  const absl::Status valid = ValidateSubscriberOptions(session->options_);
  absl::MutexLock lock(&session->mu_);
  if (!valid.ok()) {
    session->result_ = valid;
    session->stopping_ = true;
    session->reader_done_ = true;
    return session;
  }
  SubscriptionSession* s = session.get();
  s->reader_ = std::thread([s] { s->ReadLoop(); });
  s->writer_ = std::thread([s] { s->WriteLoop(); });
  for (int i = 0; i < s->options_.max_concurrency; ++i) {
    s->handlers_.emplace_back([s] { s->HandlerLoop(); });
  }
  return session;
}

SubscriptionSession::SubscriptionSession(std::shared_ptr<HubStub> stub, std::string subscription,
                                         SubscriberOptions options, MessageHandler handler)
    : stub_(std::move(stub)),
      subscription_(std::move(subscription)),
      options_(std::move(options)),
      handler_(std::move(handler)),
      // A lease is renewed when half of it is left; looking four times per
      // lease (at least once a second) catches that in time.
      lease_check_interval_(
          std::min(absl::Seconds(1), absl::Seconds(options_.ack_deadline_seconds) / 4)) {}

SubscriptionSession::~SubscriptionSession() { Stop(); }

bool SubscriptionSession::SleepUnlessStopping(absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
}

absl::Status SubscriptionSession::LearnGuarantee(Backoff& backoff) {
  v1::GetSubscriptionRequest request;
  request.set_name(subscription_);
  for (;;) {
    absl::StatusOr<v1::Subscription> sub = stub_->GetSubscription(request);
    if (sub.ok()) {
      absl::MutexLock lock(&mu_);
      exactly_once_ = sub->delivery_guarantee() == v1::EXACTLY_ONCE;
      ordered_ = sub->enable_message_ordering();
      return absl::OkStatus();
    }
    if (IsPermanentStreamError(sub.status().code())) return sub.status();
    if (options_.on_retry) options_.on_retry(sub.status());
    if (SleepUnlessStopping(backoff.Next())) return absl::CancelledError("stopped");
  }
}

void SubscriptionSession::ReadLoop() {
  Backoff backoff(options_.reconnect_backoff);
  // Per-id verdicts come only on exactly-once subscriptions, so the reader
  // learns the guarantee before the first stream.
  absl::Status end = LearnGuarantee(backoff);
  if (end.code() == absl::StatusCode::kCancelled) end = absl::OkStatus();
  while (end.ok() && !SleepUnlessStopping(absl::ZeroDuration())) {
    std::shared_ptr<PullStream> stream = stub_->StreamingPull();
    v1::StreamingPullRequest first;
    first.set_subscription(subscription_);
    first.set_stream_ack_deadline_seconds(options_.ack_deadline_seconds);
    first.set_max_outstanding_messages(options_.max_outstanding_messages);
    first.set_max_outstanding_bytes(options_.max_outstanding_bytes);
    if (stream->Write(first)) {
      {
        absl::MutexLock lock(&mu_);
        stream_ = stream;
        writes_done_ = false;
      }
      v1::StreamingPullResponse response;
      while (stream->Read(&response)) {
        backoff.Reset();
        TakeResponse(response);
      }
    }
    {
      absl::MutexLock write_lock(&write_mu_);
      absl::MutexLock lock(&mu_);
      stream_ = nullptr;
    }
    const absl::Status status = stream->Finish();
    FailAwaitingVerdicts();
    if (SleepUnlessStopping(absl::ZeroDuration())) break;
    if (IsPermanentStreamError(status.code())) {
      end = status;
      break;
    }
    if (options_.on_retry) options_.on_retry(status);
    if (SleepUnlessStopping(backoff.Next())) break;
  }
  {
    absl::MutexLock lock(&mu_);
    // An error that ends the session also ends handing out: queued
    // deliveries are given back.
    stopping_ = true;
    for (Delivery& d : queue_) QueueNack(d.ack_id);
    queue_.clear();
  }
  SendLeftovers();
  absl::MutexLock lock(&mu_);
  result_ = end;
  reader_done_ = true;
}

void SubscriptionSession::TakeResponse(v1::StreamingPullResponse& response) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  for (v1::ReceivedMessage& m : *response.mutable_received_messages()) {
    if (stopping_) {
      // Arrived while stopping: back to the hub once the stream ended.
      closing_nacks_.push_back(m.ack_id());
      continue;
    }
    held_[m.ack_id()] =
        Held{now, now + absl::Seconds(options_.ack_deadline_seconds), m.message().ordering_key()};
    queue_.push_back(Delivery{m.ack_id(), MessageFromProto(std::move(*m.mutable_message())),
                              m.delivery_attempt()});
  }
  for (const v1::AckResult& r : response.ack_results()) {
    auto it = awaiting_.find(r.ack_id());
    if (it == awaiting_.end()) continue;
    it->second.set_value(AckStatusToStatus(r.status()));
    awaiting_.erase(it);
  }
}

void SubscriptionSession::FailAwaitingVerdicts() {
  absl::MutexLock lock(&mu_);
  for (auto& [id, verdict] : awaiting_) {
    verdict.set_value(absl::UnavailableError(
        "the stream ended before the hub answered the ack; the message may be redelivered"));
  }
  awaiting_.clear();
}

void SubscriptionSession::QueueNack(const std::string& ack_id) {
  if (acks_.empty() && nacks_.empty()) {
    oldest_unsent_ = absl::Now();
    wake_writer_ = true;
  }
  nacks_.push_back(ack_id);
}

bool SubscriptionSession::AwaitWritableWork() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    if (reader_done_) return false;
    // Nothing may be written on a stream that is gone or closed for writes.
    if (stream_ == nullptr || writes_done_) {
      auto live = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return reader_done_ || (stream_ != nullptr && !writes_done_);
      };
      mu_.Await(absl::Condition(&live));
      continue;
    }
    auto must_send = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return (draining_ && !writes_done_) || acks_.size() + nacks_.size() >= kFlushIds;
    };
    const absl::Time now = absl::Now();
    if (must_send() || now >= oldest_unsent_ + options_.ack_batch_delay ||
        now >= next_lease_check_) {
      return true;
    }
    // Woken by new work (to shorten the wait), by a due flush, or by the
    // stream going away.
    wake_writer_ = false;
    auto wake = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return reader_done_ || stream_ == nullptr || writes_done_ || wake_writer_ || must_send();
    };
    mu_.AwaitWithDeadline(absl::Condition(&wake),
                          std::min(oldest_unsent_ + options_.ack_batch_delay, next_lease_check_));
  }
}

v1::StreamingPullRequest SubscriptionSession::TakeWork(std::vector<QueuedAck>& acks, bool& finish) {
  v1::StreamingPullRequest request;
  const size_t ack_count = std::min(acks_.size(), kMaxAcksPerRequest);
  for (size_t i = 0; i < ack_count; ++i) {
    request.add_ack_ids(acks_[i].ack_id);
    // An exactly-once verdict may come back before Write returns, so it is
    // awaited from before the request goes out.
    if (exactly_once_) {
      awaiting_[acks_[i].ack_id] = std::move(acks_[i].verdict);
    } else {
      acks.push_back(std::move(acks_[i]));
    }
  }
  acks_.erase(acks_.begin(), acks_.begin() + static_cast<std::ptrdiff_t>(ack_count));
  const size_t nack_count = std::min(nacks_.size(), kMaxNacksPerRequest);
  for (size_t i = 0; i < nack_count; ++i) request.add_nack_ids(nacks_[i]);
  nacks_.erase(nacks_.begin(), nacks_.begin() + static_cast<std::ptrdiff_t>(nack_count));

  const absl::Time now = absl::Now();
  if (now >= next_lease_check_) {
    const absl::Duration deadline = absl::Seconds(options_.ack_deadline_seconds);
    next_lease_check_ = now + lease_check_interval_;
    for (auto& [id, held] : held_) {
      if (held.lease_expires - now > deadline / 2) continue;
      // Past the longest extension the lease runs out and the hub
      // redelivers, whatever the handler still does.
      if (now - held.received > options_.max_lease_extension) continue;
      if (static_cast<size_t>(request.modify_deadline_ack_ids_size()) >= kMaxExtensionsPerRequest) {
        next_lease_check_ = now;  // the rest in the next request
        break;
      }
      request.add_modify_deadline_ack_ids(id);
      request.add_modify_deadline_seconds(options_.ack_deadline_seconds);
      held.lease_expires = now + deadline;
    }
  }
  // Leftovers beyond one request's share go out without waiting again.
  oldest_unsent_ = acks_.empty() && nacks_.empty() ? absl::InfiniteFuture() : absl::InfinitePast();
  finish = draining_ && !writes_done_ && acks_.empty() && nacks_.empty();
  return request;
}

void SubscriptionSession::WriteLoop() {
  while (AwaitWritableWork()) {
    absl::MutexLock write_lock(&write_mu_);
    std::vector<QueuedAck> acks;
    bool finish = false;
    std::shared_ptr<PullStream> stream;
    v1::StreamingPullRequest request;
    {
      absl::MutexLock lock(&mu_);
      // The reader may have retired the stream since the wait.
      if (stream_ == nullptr || writes_done_) continue;
      stream = stream_;
      request = TakeWork(acks, finish);
    }
    const bool empty = request.ack_ids_size() == 0 && request.nack_ids_size() == 0 &&
                       request.modify_deadline_ack_ids_size() == 0;
    bool written = empty || stream->Write(request);
    if (written && finish) written = stream->WritesDone();
    absl::MutexLock lock(&mu_);
    if (finish && written) writes_done_ = true;
    if (!written) {
      // The stream broke: the next one carries them.
      for (QueuedAck& a : acks) acks_.push_back(std::move(a));
      for (const std::string& id : request.ack_ids()) {
        auto it = awaiting_.find(id);
        if (it == awaiting_.end()) continue;
        acks_.push_back(QueuedAck{id, std::move(it->second)});
        awaiting_.erase(it);
      }
      nacks_.insert(nacks_.end(), request.nack_ids().begin(), request.nack_ids().end());
      if (!acks_.empty() || !nacks_.empty()) oldest_unsent_ = absl::InfinitePast();
      continue;
    }
    for (QueuedAck& a : acks) a.verdict.set_value(absl::OkStatus());
  }
}

void SubscriptionSession::SendLeftovers() {
  std::vector<QueuedAck> acks;
  std::vector<std::string> nacks;
  bool exactly_once;
  {
    absl::MutexLock lock(&mu_);
    acks = std::move(acks_);
    nacks = std::move(nacks_);
    nacks.insert(nacks.end(), closing_nacks_.begin(), closing_nacks_.end());
    acks_.clear();
    nacks_.clear();
    closing_nacks_.clear();
    exactly_once = exactly_once_;
  }
  for (size_t start = 0; start < acks.size(); start += kMaxIdsPerUnaryCall) {
    const size_t end = std::min(acks.size(), start + kMaxIdsPerUnaryCall);
    v1::AcknowledgeRequest request;
    request.set_subscription(subscription_);
    for (size_t i = start; i < end; ++i) request.add_ack_ids(acks[i].ack_id);
    absl::StatusOr<v1::AcknowledgeResponse> response = stub_->Acknowledge(request);
    for (size_t i = start; i < end; ++i) {
      absl::Status verdict = response.status();
      if (response.ok() && exactly_once &&
          static_cast<size_t>(response->results_size()) == end - start) {
        verdict = AckStatusToStatus(response->results(static_cast<int>(i - start)).status());
      }
      acks[i].verdict.set_value(verdict);
    }
  }
  // Best effort: a nack that does not arrive lets the lease run out, which
  // redelivers the message all the same, only later.
  for (size_t start = 0; start < nacks.size(); start += kMaxIdsPerUnaryCall) {
    v1::ModifyAckDeadlineRequest request;
    request.set_subscription(subscription_);
    request.set_ack_deadline_seconds(0);
    for (size_t i = start; i < std::min(nacks.size(), start + kMaxIdsPerUnaryCall); ++i) {
      request.add_ack_ids(nacks[i]);
    }
    (void)stub_->ModifyAckDeadline(request);
  }
}

std::deque<SubscriptionSession::Delivery>::iterator SubscriptionSession::NextRunnable() {
  if (!ordered_) return queue_.begin();
  return std::find_if(queue_.begin(), queue_.end(), [this](const Delivery& d) {
    return d.message.ordering_key.empty() || !running_keys_.contains(d.message.ordering_key);
  });
}

void SubscriptionSession::HandlerLoop() {
  for (;;) {
    Delivery delivery;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || NextRunnable() != queue_.end();
      };
      mu_.Await(absl::Condition(&has_work));
      if (stopping_) return;
      auto next = NextRunnable();
      delivery = std::move(*next);
      queue_.erase(next);
      if (ordered_ && !delivery.message.ordering_key.empty()) {
        running_keys_.insert(delivery.message.ordering_key);
      }
      ++running_handlers_;
    }
    const std::string key = delivery.message.ordering_key;
    AckHandler ack_handler(shared_from_this(), delivery.ack_id, delivery.attempt);
    try {
      handler_(std::move(delivery.message), std::move(ack_handler));
    } catch (...) {
      // The handler's AckHandler was destroyed unused on the way out, which
      // nacked the message; the exception must not end the thread.
    }
    absl::MutexLock lock(&mu_);
    running_keys_.erase(key);
    --running_handlers_;
  }
}

std::future<absl::Status> SubscriptionSession::Ack(const std::string& ack_id) {
  std::promise<absl::Status> verdict;
  std::future<absl::Status> result = verdict.get_future();
  absl::MutexLock lock(&mu_);
  if (held_.erase(ack_id) == 0) {
    verdict.set_value(StoppedError());
    return result;
  }
  if (acks_.empty() && nacks_.empty()) {
    oldest_unsent_ = absl::Now();
    wake_writer_ = true;
  }
  acks_.push_back(QueuedAck{ack_id, std::move(verdict)});
  if (acks_.size() + nacks_.size() >= kFlushIds) wake_writer_ = true;
  return result;
}

void SubscriptionSession::Nack(const std::string& ack_id) {
  absl::MutexLock lock(&mu_);
  auto held = held_.find(ack_id);
  if (held == held_.end()) return;
  const std::string key = held->second.ordering_key;
  held_.erase(held);
  QueueNack(ack_id);
  if (!ordered_ || key.empty()) return;
  // The hub delivers the key's later messages of the run again after the
  // nacked one and refuses their acks: they go back unhandled.
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->message.ordering_key != key) {
      ++it;
      continue;
    }
    held_.erase(it->ack_id);
    QueueNack(it->ack_id);
    it = queue_.erase(it);
  }
}

absl::Status SubscriptionSession::Reject(const std::string& ack_id, const std::string& reason) {
  {
    absl::MutexLock lock(&mu_);
    if (held_.erase(ack_id) == 0) return StoppedError();
  }
  v1::RejectRequest request;
  request.set_subscription(subscription_);
  request.add_ack_ids(ack_id);
  request.set_reason(reason);
  absl::StatusOr<v1::RejectResponse> response = stub_->Reject(request);
  if (!response.ok()) return response.status();
  if (response->results_size() != 1) {
    return absl::InternalError("the hub answered a reject without a result");
  }
  return AckStatusToStatus(response->results(0).status());
}

void SubscriptionSession::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  if (joined_) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (Delivery& d : queue_) {
      held_.erase(d.ack_id);
      closing_nacks_.push_back(d.ack_id);
    }
    queue_.clear();
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return running_handlers_ == 0; };
    mu_.AwaitWithTimeout(absl::Condition(&idle), options_.shutdown_timeout);
    for (const auto& [id, held] : held_) closing_nacks_.push_back(id);
    held_.clear();
    draining_ = true;
    wake_writer_ = true;
    // The writer closes the stream after the last acks; if the hub does not
    // end it in time, it is cut.
    if (!mu_.AwaitWithTimeout(absl::Condition(&reader_done_), kCloseTimeout) &&
        stream_ != nullptr) {
      stream_->Cancel();
    }
  }
  if (reader_.joinable()) reader_.join();
  if (writer_.joinable()) writer_.join();
  for (std::thread& t : handlers_) t.join();
  joined_ = true;
}

absl::Status SubscriptionSession::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&reader_done_));
  return result_;
}

}  // namespace hub::client::internal
