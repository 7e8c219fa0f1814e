#include "hub/settlement.h"

#include <algorithm>

#include "common/status_macros.h"

namespace hub {
namespace {

bool IsPlainAtLeastOnce(const SubscriptionRecord& sub) {
  return sub.config.delivery_guarantee == DeliveryGuarantee::kAtLeastOnce &&
         !sub.config.enable_message_ordering;
}

}  // namespace

ParsedAckIds ParseAckIds(const std::vector<std::string>& ack_ids) {
  ParsedAckIds parsed;
  parsed.results.reserve(ack_ids.size());
  for (const std::string& text : ack_ids) {
    std::optional<AckId> id = ParseAckId(text);
    parsed.results.push_back(AckResult{text, id ? AckStatus::kOk : AckStatus::kInvalid});
    if (id) parsed.ids.push_back(*id);
  }
  return parsed;
}

void ApplyVerdicts(absl::Span<const AckStatus> statuses, std::vector<AckResult>& results) {
  size_t next = 0;
  for (AckResult& r : results) {
    if (r.status == AckStatus::kOk) r.status = statuses[next++];
  }
}

Settlement::Settlement(Store& store, HubProbe& probe, WakeUpBoard& wake_ups, int max_ack_batch)
    : store_(store),
      probe_(probe),
      wake_ups_(wake_ups),
      acker_(1, static_cast<size_t>(max_ack_batch), [this](absl::Span<AckItem* const> items) {
        std::vector<AckRef> refs;
        for (const AckItem* item : items) {
          for (const AckId& id : item->ids) refs.push_back(AckRef{item->subscription_id, id});
        }
        absl::Status committed = store_.Acknowledge(refs);
        if (committed.ok()) probe_.AckTransaction(static_cast<int64_t>(refs.size()));
        return committed;
      }) {}

void Settlement::CountRefusals(absl::string_view subscription,
                               absl::Span<const AckResult> results) {
  int64_t expired = 0, invalid = 0;
  for (const AckResult& r : results) {
    expired += r.status == AckStatus::kExpired;
    invalid += r.status == AckStatus::kInvalid;
  }
  if (expired > 0) probe_.AckRefused(subscription, AckStatus::kExpired, expired);
  if (invalid > 0) probe_.AckRefused(subscription, AckStatus::kInvalid, invalid);
}

void Settlement::CountAcks(absl::string_view subscription, absl::Span<const AckResult> results) {
  probe_.Acked(subscription, std::count_if(results.begin(), results.end(), [](const AckResult& r) {
                 return r.status == AckStatus::kOk;
               }));
  CountRefusals(subscription, results);
}

absl::StatusOr<std::vector<AckResult>> Settlement::Settle(const SubscriptionRecord& sub,
                                                          const std::vector<std::string>& ack_ids,
                                                          SettleKind kind,
                                                          absl::string_view reason) {
  ParsedAckIds parsed = ParseAckIds(ack_ids);
  if (parsed.ids.empty()) {
    if (kind == SettleKind::kAck) CountRefusals(sub.config.name, parsed.results);
    return std::move(parsed.results);
  }
  if (sub.config.delivery_guarantee == DeliveryGuarantee::kAtMostOnce) {
    // Delivered means done; there is nothing left to ack or reject.
    return std::move(parsed.results);
  }
  if (kind == SettleKind::kAck && IsPlainAtLeastOnce(sub)) {
    const size_t count = parsed.ids.size();
    AckItem item{sub.id, std::move(parsed.ids)};
    RETURN_IF_ERROR(acker_.Submit(item, count));
    CountAcks(sub.config.name, parsed.results);
    return std::move(parsed.results);
  }
  ASSIGN_OR_RETURN(std::vector<AckStatus> statuses, store_.Settle(sub, parsed.ids, kind, reason));
  ApplyVerdicts(statuses, parsed.results);
  if (kind == SettleKind::kAck) CountAcks(sub.config.name, parsed.results);
  // On an ordered subscription a settled message releases the next one of
  // its key.
  if (sub.config.enable_message_ordering) wake_ups_.Notify(sub.topic_id);
  return std::move(parsed.results);
}

absl::StatusOr<std::vector<AckResult>> Settlement::ModifyDeadline(
    const SubscriptionRecord& sub, const std::vector<std::string>& ack_ids, int seconds) {
  ParsedAckIds parsed = ParseAckIds(ack_ids);
  if (parsed.ids.empty()) return std::move(parsed.results);
  if (seconds != 0) {
    RETURN_IF_ERROR(store_.ExtendLeases(sub, parsed.ids, absl::Seconds(seconds)));
    return std::move(parsed.results);
  }
  RETURN_IF_ERROR(store_.Nack(sub, parsed.ids));
  probe_.Nacked(sub.config.name, static_cast<int64_t>(parsed.ids.size()));
  // Nacked messages may be due at once; local waiters look again.
  wake_ups_.Notify(sub.topic_id);
  return std::move(parsed.results);
}

}  // namespace hub
