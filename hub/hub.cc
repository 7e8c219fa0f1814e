#include "hub/hub.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace hub {

Hub::Hub(Store& store, HubOptions options, HubProbe& probe)
    : store_(store),
      options_(std::move(options)),
      probe_(probe),
      schemas_(store_, options_.home_namespace, options_.schema_refresh_interval),
      access_policies_(store_, options_.access_policy_refresh),
      admin_(store_, schemas_, options_.home_namespace, options_.max_snapshots_per_principal),
      publishing_(store_, probe_, options_.publish_committers,
                  options_.publish_transactions_per_topic, options_.max_publish_batch_bytes),
      settlement_(store_, probe_, wake_ups_, options_.max_ack_batch),
      unsent_(options_.max_unsent_stream_bytes),
      dispatcher_(
          store_, probe_, wake_ups_,
          [this](const SubscriptionRecord& sub, const std::vector<Delivery>& deliveries) {
            GiveBack(sub, deliveries);
          },
          DispatcherOptions{options_.claim_threads, options_.poll_interval}),
      stream_work_(options_.stream_workers),
      housekeeping_(store_, probe_, options_.maintenance_interval, options_.stats_interval,
                    options_.poll_interval, [this] {
                      // Called between calls and after waiters: a consumer
                      // that waits all interval long is using it too.
                      std::vector<std::string> used = used_.Take();
                      for (std::string& name : dispatcher_.Waited())
                        used.push_back(std::move(name));
                      return used;
                    }) {
  store_.WatchPublishes([this](int64_t topic_id) { wake_ups_.Notify(topic_id); });
}

Hub::~Hub() { Shutdown(); }

void Hub::Shutdown() {
  if (shutting_down_.exchange(true)) return;
  access_policies_.Stop();
  dispatcher_.Stop();
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
  used_.Saw(name);
  ASSIGN_OR_RETURN(SubscriptionRecord sub, store_.GetSubscription(name));
  RETURN_IF_ERROR(ValidateAttached(sub));
  return sub;
}

absl::StatusOr<SubscriptionRecord> Hub::SettlingSubscription(absl::string_view name) {
  RETURN_IF_ERROR(CheckRunning());
  used_.Saw(name);
  return dispatcher_.Current(name);
}

absl::StatusOr<std::vector<PublishResult>> Hub::Publish(std::string topic,
                                                        std::vector<Message> messages,
                                                        ProducerBatch batch) {
  RETURN_IF_ERROR(ValidatePublish(topic, messages, options_.limits));
  RETURN_IF_ERROR(ValidateProducerBatch(batch, messages.size()));
  RETURN_IF_ERROR(CheckRunning());
  RETURN_IF_ERROR(schemas_.CheckPublish(topic, messages));
  return publishing_.Publish(std::move(topic), std::move(messages), std::move(batch));
}

absl::StatusOr<std::unique_ptr<PendingPull>> Hub::Pull(absl::string_view subscription,
                                                       int max_messages, absl::Duration max_wait,
                                                       PendingPull::Answer answer) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidatePull(max_messages, max_wait));
  RETURN_IF_ERROR(CheckRunning());
  used_.Saw(subscription);
  return std::make_unique<PendingPull>(dispatcher_, std::string(subscription), max_messages,
                                       options_.max_claim_bytes, absl::Now() + max_wait,
                                       std::move(answer));
}

absl::StatusOr<std::vector<AckResult>> Hub::Acknowledge(absl::string_view subscription,
                                                        const std::vector<std::string>& ack_ids) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, SettlingSubscription(subscription));
  ASSIGN_OR_RETURN(std::vector<AckResult> results,
                   settlement_.Settle(sub, ack_ids, SettleKind::kAck, ""));
  streams_.Acked(sub.config.name, results);
  return results;
}

absl::StatusOr<std::vector<AckResult>> Hub::Reject(absl::string_view subscription,
                                                   const std::vector<std::string>& ack_ids,
                                                   absl::string_view reason) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  RETURN_IF_ERROR(ValidateRejectReason(reason));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, SettlingSubscription(subscription));
  ASSIGN_OR_RETURN(std::vector<AckResult> results,
                   settlement_.Settle(sub, ack_ids, SettleKind::kReject, reason));
  streams_.Acked(sub.config.name, results);
  return results;
}

absl::StatusOr<std::vector<AckResult>> Hub::ModifyAckDeadline(
    absl::string_view subscription, const std::vector<std::string>& ack_ids,
    int ack_deadline_seconds) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  RETURN_IF_ERROR(ValidateModifyDeadline(ack_deadline_seconds));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, SettlingSubscription(subscription));
  ASSIGN_OR_RETURN(std::vector<AckResult> results,
                   settlement_.ModifyDeadline(sub, ack_ids, ack_deadline_seconds));
  streams_.DeadlinesChanged(sub.config.name, ack_ids, ack_deadline_seconds);
  return results;
}

absl::Status Hub::Seek(absl::string_view subscription, absl::Time time) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, RunningSubscription(subscription));
  // Retention has removed, or is about to remove, what is older: the
  // subscription's own when it is shorter than its topic's.
  const absl::Time retained_from = absl::Now() - sub.config.retention_in_effect;
  RETURN_IF_ERROR(store_.Seek(sub, std::max(time, retained_from)));
  wake_ups_.Notify(sub.topic_id);
  return absl::OkStatus();
}

absl::Status Hub::SeekToSnapshot(absl::string_view subscription, absl::string_view snapshot) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateName("snapshot", snapshot));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, RunningSubscription(subscription));
  RETURN_IF_ERROR(store_.SeekToSnapshot(sub, snapshot));
  wake_ups_.Notify(sub.topic_id);
  return absl::OkStatus();
}

absl::StatusOr<Page<SubscriptionMessage>> Hub::ListSubscriptionMessages(
    absl::string_view subscription, MessageState state, int page_size,
    absl::string_view page_token) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  // A detached subscription's dead letters and leases are gone with it;
  // what is left may still be looked at.
  ASSIGN_OR_RETURN(SubscriptionRecord sub, store_.GetSubscription(subscription));
  return inspector_.ListSubscriptionMessages(sub, state, page_size, page_token);
}

absl::StatusOr<RedriveResult> Hub::Redrive(absl::string_view subscription,
                                           const std::vector<std::string>& message_ids,
                                           absl::string_view filter, bool all) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, RunningSubscription(subscription));
  return inspector_.Redrive(sub, message_ids, filter, all);
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
  for (TransactPublish& p : publishes) {
    RETURN_IF_ERROR(schemas_.CheckPublish(p.topic, p.messages));
  }
  std::vector<PublishItem> items;
  items.reserve(publishes.size());
  for (TransactPublish& p : publishes) {
    items.push_back(
        PublishItem{std::move(p.topic), std::move(p.messages), {}, 0, {}, std::move(p.batch)});
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
  RETURN_IF_ERROR(CheckRunning());
  used_.Saw(settings.subscription);
  const int64_t max_messages = settings.max_outstanding_messages != 0
                                   ? settings.max_outstanding_messages
                                   : options_.default_max_outstanding_messages;
  const int64_t max_bytes = settings.max_outstanding_bytes != 0
                                ? settings.max_outstanding_bytes
                                : options_.default_max_outstanding_bytes;
  StreamLimits limits{options_.max_claim_batch, options_.max_claim_bytes};
  limits.budget = settings.budget;
  // Zero: the subscription's own deadline, read when the dispatcher claims.
  return std::make_unique<StreamSession>(
      StreamParts{dispatcher_, settlement_, stream_work_, probe_, unsent_, streams_}, limits,
      settings.subscription, absl::Seconds(settings.ack_deadline_seconds), max_messages, max_bytes);
}

// Messages claimed for a consumer that left before it got them: due again at
// once (at-most-once has none to give back: delivered is done).
void Hub::GiveBack(const SubscriptionRecord& sub, const std::vector<Delivery>& deliveries) {
  if (sub.config.delivery_guarantee == DeliveryGuarantee::kAtMostOnce) return;
  std::vector<std::string> ids;
  ids.reserve(deliveries.size());
  for (const Delivery& d : deliveries) ids.push_back(d.ack_id);
  if (absl::Status s = settlement_.ModifyDeadline(sub, ids, 0).status(); !s.ok()) {
    // The leases expire by themselves; only the redelivery is later.
    Log(LogLevel::kWarning, "give_back_failed",
        {{"subscription", sub.config.name}, {"error", std::string(s.message())}});
  }
}

}  // namespace hub
