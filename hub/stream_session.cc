#include "hub/stream_session.h"

#include <algorithm>
#include <map>

#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "hub/validation.h"

namespace hub {

StreamSession::StreamSession(StreamBackend& backend, HubProbe& probe, StreamLimits limits,
                             SubscriptionRecord sub, absl::Duration ack_deadline,
                             int64_t max_messages, int64_t max_bytes)
    : backend_(backend),
      probe_(probe),
      limits_(limits),
      name_(sub.config.name),
      ack_deadline_(ack_deadline),
      max_messages_(max_messages),
      max_bytes_(max_bytes),
      sub_(std::move(sub)),
      refreshed_(absl::Now()) {
  probe_.StreamOpened(name_);
}

StreamSession::~StreamSession() { probe_.StreamClosed(name_); }

absl::StatusOr<SubscriptionRecord> StreamSession::CurrentSubscription() {
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Now() - refreshed_ < limits_.poll_interval) return sub_;
    name = sub_.config.name;
  }
  ASSIGN_OR_RETURN(SubscriptionRecord fresh, backend_.LoadSubscription(name));
  absl::MutexLock lock(&mu_);
  sub_ = std::move(fresh);
  refreshed_ = absl::Now();
  return sub_;
}

bool StreamSession::HasRoom() {
  return static_cast<int64_t>(held_.size()) < max_messages_ && held_bytes_ < max_bytes_;
}

// A lease that ran out no longer counts against flow control: the message is
// the hub's to redeliver, whatever this client still does with it.
void StreamSession::DropExpired(absl::Time now) {
  int64_t expired = 0;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.expires <= now) {
      held_bytes_ -= it->second.bytes;
      held_.erase(it++);
      ++expired;
    } else {
      ++it;
    }
  }
  if (expired > 0) probe_.LeasesExpired(name_, expired);
}

absl::StatusOr<std::optional<StreamSession::Room>> StreamSession::WaitForRoom() {
  absl::MutexLock lock(&mu_);
  DropExpired(absl::Now());
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || HasRoom(); };
  mu_.AwaitWithTimeout(absl::Condition(&ready), limits_.poll_interval);
  if (closed_) return absl::UnavailableError("the stream was closed");
  if (!HasRoom()) return std::nullopt;
  return Room{static_cast<int>(std::min<int64_t>(max_messages_ - static_cast<int64_t>(held_.size()),
                                                 limits_.max_claim_batch)),
              std::min(max_bytes_ - held_bytes_, limits_.max_claim_bytes)};
}

void StreamSession::Hold(const std::vector<Delivery>& deliveries) {
  absl::MutexLock lock(&mu_);
  const absl::Time expires = absl::Now() + ack_deadline_;
  for (const Delivery& d : deliveries) {
    const int64_t bytes = MessageBytes(d.message);
    held_[d.ack_id] = Held{bytes, expires, d.message.publish_time};
    held_bytes_ += bytes;
  }
}

absl::StatusOr<std::vector<Delivery>> StreamSession::Next() {
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<Room> room, WaitForRoom());
    if (!room) continue;
    ASSIGN_OR_RETURN(SubscriptionRecord sub, CurrentSubscription());
    ASSIGN_OR_RETURN(std::vector<Delivery> deliveries,
                     backend_.ClaimOrWait(sub, room->messages, room->bytes, ack_deadline_,
                                          absl::Now() + limits_.poll_interval));
    if (deliveries.empty()) continue;
    Hold(deliveries);
    return deliveries;
  }
}

void StreamSession::ReleaseAcked(absl::Span<const AckResult> results) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  for (const AckResult& r : results) {
    auto it = held_.find(r.ack_id);
    if (it == held_.end()) continue;
    if (r.status == AckStatus::kOk) probe_.EndToEnd(now - it->second.published);
    held_bytes_ -= it->second.bytes;
    held_.erase(it);
  }
}

void StreamSession::Release(absl::Span<const std::string> ack_ids) {
  absl::MutexLock lock(&mu_);
  for (const std::string& id : ack_ids) {
    auto it = held_.find(id);
    if (it == held_.end()) continue;
    held_bytes_ -= it->second.bytes;
    held_.erase(it);
  }
}

void StreamSession::Extend(absl::Span<const std::string> ack_ids, int seconds) {
  absl::MutexLock lock(&mu_);
  const absl::Time expires = absl::Now() + absl::Seconds(seconds);
  for (const std::string& id : ack_ids) {
    auto it = held_.find(id);
    if (it != held_.end()) it->second.expires = expires;
  }
}

absl::StatusOr<std::vector<AckResult>> StreamSession::Handle(const StreamRequest& request) {
  RETURN_IF_ERROR(ValidateStreamRequest(request));
  // Deadline changes grouped by their seconds, so each group is one
  // statement; nacks are changes to 0.
  std::map<int, std::vector<std::string>> modify;
  for (size_t i = 0; i < request.modify_deadline_ack_ids.size(); ++i) {
    modify[request.modify_deadline_seconds[i]].push_back(request.modify_deadline_ack_ids[i]);
  }
  modify[0].insert(modify[0].end(), request.nack_ids.begin(), request.nack_ids.end());

  ASSIGN_OR_RETURN(SubscriptionRecord sub, CurrentSubscription());
  ASSIGN_OR_RETURN(std::vector<AckResult> results, backend_.Ack(sub, request.ack_ids));
  ReleaseAcked(results);
  for (const auto& [seconds, ids] : modify) {
    RETURN_IF_ERROR(backend_.ModifyDeadline(sub, ids, seconds));
    if (seconds == 0) {
      Release(ids);
    } else {
      Extend(ids, seconds);
    }
  }
  // Per-id results on the stream are the exactly-once guarantee's; other
  // streams report none.
  if (sub.config.delivery_guarantee != DeliveryGuarantee::kExactlyOnce) results.clear();
  return results;
}

void StreamSession::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

}  // namespace hub
