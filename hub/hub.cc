#include "hub/hub.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace hub {

Hub::Hub(Store& store, HubOptions options, HubProbe& probe)
    : store_(store),
      options_(std::move(options)),
      probe_(probe),
      admin_(store_),
      publishing_(store_, probe_, wake_ups_, options_.publish_committers,
                  options_.max_publish_batch_bytes),
      claims_(store_, probe_, wake_ups_, options_.poll_interval),
      settlement_(store_, probe_, wake_ups_, options_.max_ack_batch),
      housekeeping_(store_, probe_, options_.maintenance_interval, options_.stats_interval) {
  store_.WatchPublishes([this](int64_t topic_id) { wake_ups_.Notify(topic_id); });
}

Hub::~Hub() { Shutdown(); }

void Hub::Shutdown() {
  if (shutting_down_.exchange(true)) return;
  claims_.Stop();
  publishing_.Stop();
  settlement_.Stop();
  housekeeping_.Stop();
}

absl::Status Hub::CheckRunning() {
  if (shutting_down_.load()) return absl::UnavailableError("the hub is shutting down");
  return absl::OkStatus();
}

absl::StatusOr<SubscriptionRecord> Hub::RunningSubscription(absl::string_view name) {
  RETURN_IF_ERROR(CheckRunning());
  return store_.GetSubscription(name);
}

absl::StatusOr<std::vector<PublishResult>> Hub::Publish(std::string topic,
                                                        std::vector<Message> messages) {
  RETURN_IF_ERROR(ValidatePublish(topic, messages, options_.limits));
  RETURN_IF_ERROR(CheckRunning());
  return publishing_.Publish(std::move(topic), std::move(messages));
}

absl::StatusOr<std::vector<Delivery>> Hub::Pull(absl::string_view subscription, int max_messages,
                                                absl::Duration max_wait) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidatePull(max_messages, max_wait));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, store_.GetSubscription(subscription));
  return claims_.ClaimOrWait(sub, max_messages, options_.max_claim_bytes,
                             absl::Seconds(sub.config.ack_deadline_seconds),
                             absl::Now() + max_wait);
}

absl::StatusOr<std::vector<AckResult>> Hub::Acknowledge(absl::string_view subscription,
                                                        const std::vector<std::string>& ack_ids) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, RunningSubscription(subscription));
  return settlement_.Settle(sub, ack_ids, SettleKind::kAck, "");
}

absl::StatusOr<std::vector<AckResult>> Hub::Reject(absl::string_view subscription,
                                                   const std::vector<std::string>& ack_ids,
                                                   absl::string_view reason) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  RETURN_IF_ERROR(ValidateRejectReason(reason));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, RunningSubscription(subscription));
  return settlement_.Settle(sub, ack_ids, SettleKind::kReject, reason);
}

absl::StatusOr<std::vector<AckResult>> Hub::ModifyAckDeadline(
    absl::string_view subscription, const std::vector<std::string>& ack_ids,
    int ack_deadline_seconds) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  RETURN_IF_ERROR(ValidateModifyDeadline(ack_deadline_seconds));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, RunningSubscription(subscription));
  return settlement_.ModifyDeadline(sub, ack_ids, ack_deadline_seconds);
}

absl::Status Hub::Seek(absl::string_view subscription, absl::Time time) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, RunningSubscription(subscription));
  ASSIGN_OR_RETURN(TopicConfig topic, store_.GetTopic(sub.config.topic));
  // Retention has removed, or is about to remove, what is older.
  const absl::Time retained_from = absl::Now() - topic.message_retention;
  RETURN_IF_ERROR(store_.Seek(sub, std::max(time, retained_from)));
  wake_ups_.Notify(sub.topic_id);
  return absl::OkStatus();
}

absl::StatusOr<TransactOutcome> Hub::Transact(absl::string_view subscription,
                                              const std::vector<std::string>& ack_ids,
                                              std::vector<TransactPublish> publishes) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateTransact(ack_ids, publishes, options_.limits));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, RunningSubscription(subscription));
  ParsedAckIds parsed = ParseAckIds(ack_ids);
  if (sub.config.delivery_guarantee == DeliveryGuarantee::kExactlyOnce &&
      parsed.ids.size() != ack_ids.size()) {
    return absl::AbortedError("a malformed ack id; nothing was applied");
  }
  std::vector<PublishItem> items;
  items.reserve(publishes.size());
  for (TransactPublish& p : publishes) {
    items.push_back(PublishItem{std::move(p.topic), std::move(p.messages), {}, 0, {}});
  }
  std::vector<PublishItem*> item_ptrs;
  for (PublishItem& item : items) item_ptrs.push_back(&item);
  ASSIGN_OR_RETURN(TransactResult result, store_.Transact(sub, parsed.ids, item_ptrs));
  ApplyVerdicts(result.ack_statuses, parsed.results);
  settlement_.CountAcks(subscription, parsed.results);
  publishing_.Committed(items);
  TransactOutcome outcome{std::move(parsed.results), {}};
  for (PublishItem& item : items) outcome.publish_results.push_back(std::move(item.results));
  if (sub.config.enable_message_ordering) wake_ups_.Notify(sub.topic_id);
  return outcome;
}

absl::StatusOr<std::unique_ptr<StreamSession>> Hub::OpenStream(const StreamSettings& settings) {
  RETURN_IF_ERROR(ValidateStreamSettings(settings));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, RunningSubscription(settings.subscription));
  const int deadline = settings.ack_deadline_seconds != 0 ? settings.ack_deadline_seconds
                                                          : sub.config.ack_deadline_seconds;
  const int64_t max_messages = settings.max_outstanding_messages != 0
                                   ? settings.max_outstanding_messages
                                   : options_.default_max_outstanding_messages;
  const int64_t max_bytes = settings.max_outstanding_bytes != 0
                                ? settings.max_outstanding_bytes
                                : options_.default_max_outstanding_bytes;
  const StreamLimits limits{options_.poll_interval, options_.max_claim_batch,
                            options_.max_claim_bytes};
  StreamBackend& backend = *this;
  return std::make_unique<StreamSession>(backend, probe_, limits, std::move(sub),
                                         absl::Seconds(deadline), max_messages, max_bytes);
}

absl::StatusOr<SubscriptionRecord> Hub::LoadSubscription(absl::string_view name) {
  return store_.GetSubscription(name);
}

absl::StatusOr<std::vector<Delivery>> Hub::ClaimOrWait(const SubscriptionRecord& sub,
                                                       int max_messages, int64_t max_bytes,
                                                       absl::Duration ack_deadline,
                                                       absl::Time deadline) {
  return claims_.ClaimOrWait(sub, max_messages, max_bytes, ack_deadline, deadline);
}

absl::StatusOr<std::vector<AckResult>> Hub::Ack(const SubscriptionRecord& sub,
                                                const std::vector<std::string>& ack_ids) {
  return settlement_.Settle(sub, ack_ids, SettleKind::kAck, "");
}

absl::Status Hub::ModifyDeadline(const SubscriptionRecord& sub,
                                 const std::vector<std::string>& ack_ids, int seconds) {
  return settlement_.ModifyDeadline(sub, ack_ids, seconds).status();
}

}  // namespace hub
