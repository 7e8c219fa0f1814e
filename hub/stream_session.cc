#include "hub/stream_session.h"

#include <algorithm>
#include <map>

#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "hub/validation.h"

namespace hub {

StreamSession::StreamSession(StreamParts parts, StreamLimits limits, std::string subscription,
                             absl::Duration ack_deadline, int64_t max_messages, int64_t max_bytes)
    : parts_(parts),
      limits_(limits),
      name_(std::move(subscription)),
      ack_deadline_(ack_deadline),
      max_messages_(max_messages),
      max_bytes_(max_bytes) {
  parts_.probe.StreamOpened(name_);
}

StreamSession::~StreamSession() {
  Close();
  parts_.probe.StreamClosed(name_);
}

absl::Status StreamSession::Start(StreamSink* sink) {
  sink_ = sink;
  // Set first: once added, the sink may hear of the end and the session go
  // before Add returns.
  started_ = true;
  parts_.directory.Add(name_, this);
  absl::Status added = parts_.dispatcher.Add(name_, this, Waiting::kUntilRemoved);
  if (!added.ok()) {
    parts_.directory.Remove(name_, this);
    started_ = false;
  }
  return added;
}

bool StreamSession::Close() {
  if (!started_) return false;
  parts_.directory.Remove(name_, this);
  return parts_.dispatcher.Remove(this);
}

void StreamSession::Heard() {
  last_heard_ = absl::Now();
  silent_ = false;
}

void StreamSession::AckedElsewhere(absl::Span<const AckResult> results) {
  {
    absl::MutexLock lock(&mu_);
    if (std::none_of(results.begin(), results.end(),
                     [&](const AckResult& r) { return held_.contains(r.ack_id); })) {
      return;
    }
    Heard();
  }
  ReleaseAcked(results);
}

void StreamSession::DeadlinesChangedElsewhere(absl::Span<const std::string> ack_ids, int seconds) {
  {
    absl::MutexLock lock(&mu_);
    if (std::none_of(ack_ids.begin(), ack_ids.end(),
                     [&](const std::string& id) { return held_.contains(id); })) {
      return;
    }
    Heard();
  }
  ChangeDeadlines(ack_ids, seconds);
}

void StreamSession::ChangeDeadlines(absl::Span<const std::string> ack_ids, int seconds) {
  if (seconds == 0) {
    Release(ack_ids);
  } else {
    Extend(ack_ids, seconds);
  }
}

// A lease that ran out still counts against flow control until the client
// settles the message (an ack, even a late one, or a nack): the room of a
// stream is what its client has actually dealt with. And a stream whose
// leases ran out with not a word from its client since they were delivered
// (no ack, nack or deadline change; client libraries extend leases well
// before they end) has stopped reading: it gets nothing more until it
// speaks, so what it held goes to others instead of to streams like it.
void StreamSession::CountExpired(absl::Time now) {
  int64_t expired = 0;
  for (auto& [id, held] : held_) {
    if (!held.expired && held.expires <= now) {
      held.expired = true;
      ++expired;
      if (held.delivered > last_heard_) silent_ = true;
    }
  }
  if (expired > 0) parts_.probe.LeasesExpired(name_, expired);
}

Room StreamSession::Wants() {
  absl::MutexLock lock(&mu_);
  CountExpired(absl::Now());
  int64_t messages = std::min<int64_t>(max_messages_ - static_cast<int64_t>(held_.size()),
                                       limits_.max_claim_batch);
  if (limits_.budget != nullptr) messages = std::min(messages, limits_.budget->Available());
  const int64_t bytes =
      std::min({max_bytes_ - held_bytes_, limits_.max_claim_bytes, parts_.unsent.Room()});
  // Until its client first speaks a stream gets one response: a client that
  // never reads costs the messages of one response, not of its window. One
  // that spoke reads; should it stop, its leases run out unheard (silent_).
  const bool unproven = last_heard_ == absl::InfinitePast() && responses_ >= 1;
  if (silent_ || unproven || messages <= 0 || bytes <= 0 ||
      unsent_responses_ >= limits_.max_unsent_responses) {
    starved_ = true;
    return Room{};
  }
  return Room{static_cast<int>(messages), bytes, ack_deadline_};
}

void StreamSession::Take(const SubscriptionRecord& sub, std::vector<Delivery> deliveries) {
  const absl::Duration deadline = ack_deadline_ > absl::ZeroDuration()
                                      ? ack_deadline_
                                      : absl::Seconds(sub.config.ack_deadline_seconds);
  int64_t total = 0;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    const absl::Time expires = now + deadline;
    for (const Delivery& d : deliveries) {
      const int64_t bytes = MessageBytes(d.message);
      held_[d.ack_id] = Held{bytes, now, expires, d.message.publish_time, false};
      held_bytes_ += bytes;
      total += bytes;
    }
    ++unsent_responses_;
    ++responses_;
    starved_ = false;
  }
  if (limits_.budget != nullptr) limits_.budget->Spent(static_cast<int64_t>(deliveries.size()));
  parts_.unsent.Add(total);
  sink_->Send(Claimed{sub.config, std::move(deliveries)}, total);
}

void StreamSession::End(absl::Status status) { sink_->End(std::move(status)); }

void StreamSession::Sent(int64_t bytes) {
  parts_.unsent.Sent(bytes);
  {
    absl::MutexLock lock(&mu_);
    --unsent_responses_;
  }
  RoomFreed();
}

void StreamSession::RoomFreed() {
  {
    absl::MutexLock lock(&mu_);
    if (!starved_) return;
    starved_ = false;
  }
  parts_.dispatcher.Ready(this);
}

void StreamSession::ReleaseAcked(absl::Span<const AckResult> results) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    for (const AckResult& r : results) {
      auto it = held_.find(r.ack_id);
      if (it == held_.end()) continue;
      if (r.status == AckStatus::kOk) parts_.probe.EndToEnd(now - it->second.published);
      held_bytes_ -= it->second.bytes;
      held_.erase(it);
    }
  }
  RoomFreed();
}

void StreamSession::Release(absl::Span<const std::string> ack_ids) {
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : ack_ids) {
      auto it = held_.find(id);
      if (it == held_.end()) continue;
      held_bytes_ -= it->second.bytes;
      held_.erase(it);
    }
  }
  RoomFreed();
}

void StreamSession::Extend(absl::Span<const std::string> ack_ids, int seconds) {
  absl::MutexLock lock(&mu_);
  const absl::Time expires = absl::Now() + absl::Seconds(seconds);
  for (const std::string& id : ack_ids) {
    auto it = held_.find(id);
    if (it != held_.end() && !it->second.expired) it->second.expires = expires;
  }
}

void StreamSession::Handle(StreamRequest request, Handled done) {
  parts_.work.Post(
      [this, request = std::move(request), done = std::move(done)] { done(Apply(request)); });
}

absl::StatusOr<StreamOutcome> StreamSession::Apply(const StreamRequest& request) {
  RETURN_IF_ERROR(ValidateStreamRequest(request));
  // Deadline changes grouped by their seconds, so each group is one
  // statement; nacks are changes to 0.
  std::map<int, std::vector<std::string>> modify;
  for (size_t i = 0; i < request.modify_deadline_ack_ids.size(); ++i) {
    modify[request.modify_deadline_seconds[i]].push_back(request.modify_deadline_ack_ids[i]);
  }
  if (!request.nack_ids.empty()) {
    modify[0].insert(modify[0].end(), request.nack_ids.begin(), request.nack_ids.end());
  }
  if (request.ack_ids.empty() && modify.empty()) return StreamOutcome();
  {
    absl::MutexLock lock(&mu_);
    Heard();
  }
  RoomFreed();

  ASSIGN_OR_RETURN(SubscriptionRecord sub, parts_.dispatcher.Current(name_));
  StreamOutcome outcome;
  ASSIGN_OR_RETURN(outcome.acks,
                   parts_.settlement.Settle(sub, request.ack_ids, SettleKind::kAck, ""));
  ReleaseAcked(outcome.acks);
  for (const auto& [seconds, ids] : modify) {
    ASSIGN_OR_RETURN(std::vector<AckResult> changed,
                     parts_.settlement.ModifyDeadline(sub, ids, seconds));
    ChangeDeadlines(ids, seconds);
    outcome.deadline_changes.insert(outcome.deadline_changes.end(), changed.begin(), changed.end());
  }
  // Per-id results on the stream are the exactly-once guarantee's; other
  // streams report none.
  if (sub.config.delivery_guarantee != DeliveryGuarantee::kExactlyOnce) outcome = StreamOutcome();
  return outcome;
}

}  // namespace hub
