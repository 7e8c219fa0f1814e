#include "hub/hub.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "hub/filter.h"
#include "hub/log.h"
#include "hub/status_macros.h"

namespace hub {
namespace {

// Page tokens are the last name of the previous page; a token that is not a
// name cannot have come from us.
absl::Status ValidatePageToken(absl::string_view token) {
  if (token.empty()) return absl::OkStatus();
  if (!ValidateName("page_token", token).ok()) {
    return absl::InvalidArgumentError("page_token is malformed");
  }
  return absl::OkStatus();
}

template <typename T>
Page<T> MakePage(std::vector<T> items, int limit,
                 const std::string& (*name_of)(const T&)) {
  Page<T> page;
  if (static_cast<int>(items.size()) > limit) {
    items.resize(limit);
    page.next_page_token = name_of(items.back());
  }
  page.items = std::move(items);
  return page;
}

const std::string& TopicName(const TopicConfig& t) { return t.name; }
const std::string& SubscriptionName(const SubscriptionConfig& s) {
  return s.name;
}

int EffectivePageSize(int page_size) {
  return page_size == 0 ? Limits::kDefaultPageSize : page_size;
}

bool IsPlainAtLeastOnce(const SubscriptionRecord& sub) {
  return sub.config.delivery_guarantee == DeliveryGuarantee::kAtLeastOnce &&
         !sub.config.enable_message_ordering;
}

absl::Status ValidateFilter(const SubscriptionConfig& sub) {
  return Filter::Parse(sub.filter).status();
}

absl::Status UnknownPath(absl::string_view path) {
  return absl::InvalidArgumentError(absl::StrCat("update_mask path ", path, " cannot be updated"));
}

}  // namespace

Hub::Hub(Store& store, HubOptions options, HubProbe& probe)
    : store_(store),
      options_(std::move(options)),
      probe_(probe),
      publisher_(
          options_.publish_committers,
          static_cast<size_t>(options_.max_publish_batch_bytes),
          [this](absl::Span<PublishItem* const> items) {
            absl::Status committed = store_.Publish(items);
            if (committed.ok()) {
              int64_t messages = 0;
              for (const PublishItem* item : items) messages += item->messages.size();
              probe_.PublishTransaction(static_cast<int>(items.size()), messages);
            }
            return committed;
          },
          // A topic's publishes share its head row lock (invariant P): one
          // transaction at a time per topic, with everything queued for it.
          [](const PublishItem& item) { return item.topic; }),
      acker_(1, static_cast<size_t>(options_.max_ack_batch),
             [this](absl::Span<AckItem* const> items) {
               std::vector<AckRef> refs;
               for (const AckItem* item : items) {
                 for (const AckId& id : item->ids) {
                   refs.push_back(AckRef{item->subscription_id, id});
                 }
               }
               absl::Status committed = store_.Acknowledge(refs);
               if (committed.ok()) probe_.AckTransaction(static_cast<int64_t>(refs.size()));
               return committed;
             }),
      maintenance_([this] { MaintenanceLoop(); }),
      stats_([this] { StatsLoop(); }) {
  store_.WatchPublishes([this](int64_t topic_id) { wake_ups_.Notify(topic_id); });
}

Hub::~Hub() { Shutdown(); }

void Hub::Shutdown() {
  if (shutting_down_.exchange(true)) return;
  wake_ups_.Close();
  publisher_.Stop();
  acker_.Stop();
  stop_maintenance_.Notify();
  maintenance_.join();
  stats_.join();
}

absl::Status Hub::CheckRunning() {
  if (shutting_down_.load()) {
    return absl::UnavailableError("the hub is shutting down");
  }
  return absl::OkStatus();
}

void Hub::MaintenanceLoop() {
  while (!stop_maintenance_.WaitForNotificationWithTimeout(
      options_.maintenance_interval)) {
    // A failure here is retried at the next interval; partitions are made
    // days ahead, so one missed round costs nothing.
    absl::StatusOr<MaintenanceReport> report = store_.Maintain();
    if (!report.ok()) {
      Log(LogLevel::kWarning, "maintenance_failed",
          {{"error", std::string(report.status().message())}});
      continue;
    }
    for (const auto& [subscription, count] : report->expired) {
      probe_.ExpiredUnacknowledged(subscription, count);
      Log(LogLevel::kWarning, "messages_expired_unacknowledged",
          {{"subscription", subscription}, {"count", absl::StrCat(count)}});
    }
    probe_.PartitionsDropped(report->partitions_dropped);
    if (report->partitions_dropped > 0) {
      Log(LogLevel::kInfo, "partitions_dropped",
          {{"count", absl::StrCat(report->partitions_dropped)}});
    }
  }
}

void Hub::StatsLoop() {
  do {
    // A failure leaves the gauges as they were; the database's absence shows
    // in readiness and in hub_database_errors_total.
    absl::StatusOr<std::vector<SubscriptionStats>> stats = store_.GetSubscriptionStats("");
    if (stats.ok()) probe_.SubscriptionStatsRefreshed(*stats, absl::Now());
  } while (!stop_maintenance_.WaitForNotificationWithTimeout(options_.stats_interval));
}

absl::StatusOr<TopicConfig> Hub::CreateTopic(const TopicConfig& topic) {
  RETURN_IF_ERROR(ValidateTopicConfig(topic));
  RETURN_IF_ERROR(store_.CreateTopic(topic));
  return topic;
}

absl::StatusOr<TopicConfig> Hub::GetTopic(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("topic", name));
  return store_.GetTopic(name);
}

absl::StatusOr<Page<TopicConfig>> Hub::ListTopics(int page_size,
                                                  absl::string_view page_token) {
  RETURN_IF_ERROR(ValidatePageSize(page_size));
  RETURN_IF_ERROR(ValidatePageToken(page_token));
  const int limit = EffectivePageSize(page_size);
  ASSIGN_OR_RETURN(std::vector<TopicConfig> topics,
                   store_.ListTopics(page_token, limit + 1));
  return MakePage(std::move(topics), limit, &TopicName);
}

absl::Status Hub::DeleteTopic(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("topic", name));
  return store_.DeleteTopic(name);
}

absl::StatusOr<SubscriptionConfig> Hub::CreateSubscription(
    const SubscriptionConfig& requested) {
  SubscriptionConfig sub = requested;
  if (sub.ack_deadline_seconds == 0) sub.ack_deadline_seconds = 30;
  if (!sub.dead_letter_policy.topic.empty() &&
      sub.dead_letter_policy.max_delivery_attempts == 0) {
    sub.dead_letter_policy.max_delivery_attempts =
        Limits::kDefaultDeliveryAttempts;
  }
  RETURN_IF_ERROR(ValidateSubscriptionConfig(sub));
  RETURN_IF_ERROR(ValidateFilter(sub));
  RETURN_IF_ERROR(ValidateDeadLetterTopic(sub));
  RETURN_IF_ERROR(store_.CreateSubscription(sub));
  return sub;
}

absl::Status Hub::ValidateDeadLetterTopic(const SubscriptionConfig& sub) {
  const std::string& topic = sub.dead_letter_policy.topic;
  if (topic.empty()) return absl::OkStatus();
  absl::StatusOr<TopicConfig> found = store_.GetTopic(topic);
  if (found.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat("dead_letter_topic ", topic, " not found"));
  }
  return found.status();
}

absl::StatusOr<TopicConfig> Hub::UpdateTopic(const TopicConfig& update,
                                             const std::vector<std::string>& paths) {
  RETURN_IF_ERROR(ValidateName("topic", update.name));
  if (paths.empty()) return absl::InvalidArgumentError("update_mask names no field");
  ASSIGN_OR_RETURN(TopicConfig topic, store_.GetTopic(update.name));
  for (const std::string& path : paths) {
    if (path == "message_retention") {
      topic.message_retention = update.message_retention;
    } else if (path == "dedup_window") {
      topic.dedup_window = update.dedup_window;
    } else if (path == "labels") {
      topic.labels = update.labels;
    } else {
      return UnknownPath(path);
    }
  }
  RETURN_IF_ERROR(ValidateTopicConfig(topic));
  RETURN_IF_ERROR(store_.UpdateTopic(topic));
  return topic;
}

absl::StatusOr<SubscriptionConfig> Hub::UpdateSubscription(
    const SubscriptionConfig& update, const std::vector<std::string>& paths) {
  RETURN_IF_ERROR(ValidateName("subscription", update.name));
  if (paths.empty()) return absl::InvalidArgumentError("update_mask names no field");
  ASSIGN_OR_RETURN(SubscriptionRecord record, store_.GetSubscription(update.name));
  SubscriptionConfig sub = record.config;
  for (const std::string& path : paths) {
    if (path == "ack_deadline_seconds") {
      sub.ack_deadline_seconds = update.ack_deadline_seconds == 0 ? 30 : update.ack_deadline_seconds;
    } else if (path == "filter") {
      sub.filter = update.filter;
    } else if (path == "dead_letter_policy") {
      sub.dead_letter_policy = update.dead_letter_policy;
      if (!sub.dead_letter_policy.topic.empty() &&
          sub.dead_letter_policy.max_delivery_attempts == 0) {
        sub.dead_letter_policy.max_delivery_attempts = Limits::kDefaultDeliveryAttempts;
      }
    } else if (path == "retry_policy") {
      sub.retry_policy = update.retry_policy;
    } else if (path == "labels") {
      sub.labels = update.labels;
    } else if (path == "topic" || path == "delivery_guarantee" ||
               path == "enable_message_ordering") {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is fixed when the subscription is created"));
    } else {
      return UnknownPath(path);
    }
  }
  RETURN_IF_ERROR(ValidateSubscriptionConfig(sub));
  RETURN_IF_ERROR(ValidateFilter(sub));
  RETURN_IF_ERROR(ValidateDeadLetterTopic(sub));
  RETURN_IF_ERROR(store_.UpdateSubscription(sub));
  return sub;
}

absl::StatusOr<SubscriptionConfig> Hub::GetSubscription(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("subscription", name));
  ASSIGN_OR_RETURN(SubscriptionRecord record, store_.GetSubscription(name));
  return record.config;
}

absl::StatusOr<Page<SubscriptionConfig>> Hub::ListSubscriptions(
    absl::string_view topic, int page_size, absl::string_view page_token) {
  if (!topic.empty()) RETURN_IF_ERROR(ValidateName("topic", topic));
  RETURN_IF_ERROR(ValidatePageSize(page_size));
  RETURN_IF_ERROR(ValidatePageToken(page_token));
  const int limit = EffectivePageSize(page_size);
  ASSIGN_OR_RETURN(std::vector<SubscriptionConfig> subs,
                   store_.ListSubscriptions(topic, page_token, limit + 1));
  return MakePage(std::move(subs), limit, &SubscriptionName);
}

absl::StatusOr<SubscriptionStats> Hub::GetSubscriptionStats(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("subscription", name));
  ASSIGN_OR_RETURN(std::vector<SubscriptionStats> stats, store_.GetSubscriptionStats(name));
  if (stats.empty()) return absl::NotFoundError(absl::StrCat("subscription ", name, " not found"));
  return std::move(stats.front());
}

absl::Status Hub::DeleteSubscription(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("subscription", name));
  return store_.DeleteSubscription(name);
}

absl::StatusOr<std::vector<PublishResult>> Hub::Publish(
    std::string topic, std::vector<Message> messages) {
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(ValidatePublish(topic, messages, options_.limits));
  RETURN_IF_ERROR(CheckRunning());
  int64_t bytes = 0;
  for (const Message& m : messages) bytes += MessageBytes(m);
  PublishItem item{std::move(topic), std::move(messages), {}, 0, {}};
  RETURN_IF_ERROR(publisher_.Submit(item, static_cast<size_t>(bytes)));
  RETURN_IF_ERROR(item.status);
  wake_ups_.Notify(item.topic_id);
  probe_.Published(item.topic, item.results, bytes);
  probe_.PublishLatency(absl::Now() - start);
  return std::move(item.results);
}

absl::StatusOr<std::vector<Delivery>> Hub::ClaimOrWait(
    const SubscriptionRecord& sub, int max_messages, int64_t max_bytes,
    absl::Duration ack_deadline, absl::Time deadline) {
  for (;;) {
    RETURN_IF_ERROR(CheckRunning());
    // The ticket is taken before the claim: a publish committed after the
    // claim's snapshot changes it, so the wait below returns at once.
    const uint64_t ticket = wake_ups_.Ticket(sub.topic_id);
    std::vector<Delivery> deliveries;
    if (claims_.TryEnter(sub.id)) {
      absl::StatusOr<std::vector<Delivery>> claimed =
          store_.Claim(sub, max_messages, max_bytes, ack_deadline);
      claims_.Leave(sub.id);
      RETURN_IF_ERROR(claimed.status());
      deliveries = *std::move(claimed);
      probe_.Delivered(sub.config.name, deliveries);
      // A full claim may have left more behind: the next waiter's turn.
      if (static_cast<int>(deliveries.size()) == max_messages) {
        wake_ups_.Notify(sub.topic_id);
      }
    }
    // Otherwise another stream of this subscription is claiming what there
    // is; it wakes the waiters if it leaves anything.
    const absl::Time now = absl::Now();
    if (!deliveries.empty() || now >= deadline) return deliveries;
    wake_ups_.Wait(sub.topic_id, ticket,
                   std::min(deadline, now + options_.poll_interval));
  }
}

absl::StatusOr<std::vector<Delivery>> Hub::Pull(absl::string_view subscription,
                                                int max_messages,
                                                absl::Duration max_wait) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  if (max_messages < 1 || max_messages > Limits::kMaxPullMessages) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_messages must be 1..", Limits::kMaxPullMessages));
  }
  if (max_wait < absl::ZeroDuration() || max_wait > kMaxBackoff) {
    return absl::InvalidArgumentError("max_wait must be 0..600s");
  }
  ASSIGN_OR_RETURN(SubscriptionRecord sub, store_.GetSubscription(subscription));
  return ClaimOrWait(sub, max_messages, options_.max_claim_bytes,
                     absl::Seconds(sub.config.ack_deadline_seconds),
                     absl::Now() + max_wait);
}

void Hub::CountRefusals(absl::string_view subscription,
                        absl::Span<const AckResult> results) {
  int64_t expired = 0, invalid = 0;
  for (const AckResult& r : results) {
    expired += r.status == AckStatus::kExpired;
    invalid += r.status == AckStatus::kInvalid;
  }
  if (expired > 0) probe_.AckRefused(subscription, AckStatus::kExpired, expired);
  if (invalid > 0) probe_.AckRefused(subscription, AckStatus::kInvalid, invalid);
}

std::vector<AckResult> Hub::ParseAckIds(const std::vector<std::string>& ack_ids,
                                        std::vector<AckId>& parsed) {
  std::vector<AckResult> results;
  results.reserve(ack_ids.size());
  for (const std::string& text : ack_ids) {
    std::optional<AckId> id = ParseAckId(text);
    results.push_back(
        AckResult{text, id ? AckStatus::kOk : AckStatus::kInvalid});
    if (id) parsed.push_back(*id);
  }
  return results;
}

absl::StatusOr<std::vector<AckResult>> Hub::SettleIds(
    const SubscriptionRecord& sub, const std::vector<std::string>& ack_ids,
    SettleKind kind, absl::string_view reason) {
  std::vector<AckId> parsed;
  std::vector<AckResult> results = ParseAckIds(ack_ids, parsed);
  if (parsed.empty()) {
    if (kind == SettleKind::kAck) CountRefusals(sub.config.name, results);
    return results;
  }
  if (sub.config.delivery_guarantee == DeliveryGuarantee::kAtMostOnce) {
    // Delivered means done; there is nothing left to ack or reject.
    return results;
  }
  if (kind == SettleKind::kAck && IsPlainAtLeastOnce(sub)) {
    const size_t count = parsed.size();
    AckItem item{sub.id, std::move(parsed)};
    RETURN_IF_ERROR(acker_.Submit(item, count));
    probe_.Acked(sub.config.name, static_cast<int64_t>(count));
    CountRefusals(sub.config.name, results);
    return results;
  }
  ASSIGN_OR_RETURN(std::vector<AckStatus> statuses,
                   store_.Settle(sub, parsed, kind, reason));
  size_t next = 0;
  for (AckResult& r : results) {
    if (r.status == AckStatus::kOk) r.status = statuses[next++];
  }
  if (kind == SettleKind::kAck) {
    probe_.Acked(sub.config.name, static_cast<int64_t>(std::count(
                                      statuses.begin(), statuses.end(), AckStatus::kOk)));
    CountRefusals(sub.config.name, results);
  }
  // On an ordered subscription a settled message releases the next one of
  // its key.
  if (sub.config.enable_message_ordering) wake_ups_.Notify(sub.topic_id);
  return results;
}

absl::Status Hub::ModifyParsed(const SubscriptionRecord& sub,
                               absl::Span<const AckId> ids, int seconds) {
  if (ids.empty()) return absl::OkStatus();
  if (seconds == 0) {
    RETURN_IF_ERROR(store_.Nack(sub, ids));
    probe_.Nacked(sub.config.name, static_cast<int64_t>(ids.size()));
    // Nacked messages may be due at once; local waiters look again.
    wake_ups_.Notify(sub.topic_id);
    return absl::OkStatus();
  }
  return store_.ExtendLeases(sub, ids, absl::Seconds(seconds));
}

namespace {

absl::Status ValidateAckIdCount(size_t count) {
  if (count > static_cast<size_t>(Limits::kMaxAckIdsPerRequest)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "at most ", Limits::kMaxAckIdsPerRequest, " ack ids per request"));
  }
  return absl::OkStatus();
}

absl::Status ValidateModifySeconds(int seconds) {
  if (seconds < 0 || seconds > Limits::kMaxAckDeadlineSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ack_deadline_seconds must be 0..", Limits::kMaxAckDeadlineSeconds));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<AckResult>> Hub::Acknowledge(
    absl::string_view subscription, const std::vector<std::string>& ack_ids) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  RETURN_IF_ERROR(CheckRunning());
  ASSIGN_OR_RETURN(SubscriptionRecord sub, store_.GetSubscription(subscription));
  return SettleIds(sub, ack_ids, SettleKind::kAck, "");
}

absl::StatusOr<std::vector<AckResult>> Hub::Reject(absl::string_view subscription,
                                                   const std::vector<std::string>& ack_ids,
                                                   absl::string_view reason) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  if (reason.size() > static_cast<size_t>(Limits::kMaxRejectReasonBytes) ||
      reason.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reason must be at most ", Limits::kMaxRejectReasonBytes, " bytes without NUL"));
  }
  RETURN_IF_ERROR(CheckRunning());
  ASSIGN_OR_RETURN(SubscriptionRecord sub, store_.GetSubscription(subscription));
  return SettleIds(sub, ack_ids, SettleKind::kReject, reason);
}

absl::Status Hub::Seek(absl::string_view subscription, absl::Time time) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(CheckRunning());
  ASSIGN_OR_RETURN(SubscriptionRecord sub, store_.GetSubscription(subscription));
  RETURN_IF_ERROR(store_.Seek(sub, time));
  wake_ups_.Notify(sub.topic_id);
  return absl::OkStatus();
}

absl::StatusOr<TransactOutcome> Hub::Transact(absl::string_view subscription,
                                              const std::vector<std::string>& ack_ids,
                                              std::vector<TransactPublish> publishes) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  if (ack_ids.empty() && publishes.empty()) {
    return absl::InvalidArgumentError("a transaction needs ack ids or publishes");
  }
  int64_t total = 0;
  for (const TransactPublish& p : publishes) {
    RETURN_IF_ERROR(ValidatePublish(p.topic, p.messages, options_.limits));
    for (const Message& m : p.messages) total += MessageBytes(m);
  }
  if (total > Limits::kMaxPublishRequestBytes) {
    return absl::InvalidArgumentError("the publishes of a transaction hold more than 10 MiB");
  }
  RETURN_IF_ERROR(CheckRunning());
  ASSIGN_OR_RETURN(SubscriptionRecord sub, store_.GetSubscription(subscription));
  std::vector<AckId> parsed;
  std::vector<AckResult> ack_results = ParseAckIds(ack_ids, parsed);
  const bool exactly_once =
      sub.config.delivery_guarantee == DeliveryGuarantee::kExactlyOnce;
  if (exactly_once && parsed.size() != ack_ids.size()) {
    return absl::AbortedError("a malformed ack id; nothing was applied");
  }
  std::vector<PublishItem> items;
  items.reserve(publishes.size());
  for (TransactPublish& p : publishes) {
    items.push_back(PublishItem{std::move(p.topic), std::move(p.messages), {}, 0, {}});
  }
  std::vector<PublishItem*> item_ptrs;
  for (PublishItem& item : items) item_ptrs.push_back(&item);
  ASSIGN_OR_RETURN(TransactResult result, store_.Transact(sub, parsed, item_ptrs));
  size_t next = 0;
  for (AckResult& r : ack_results) {
    if (r.status == AckStatus::kOk) r.status = result.ack_statuses[next++];
  }
  probe_.Acked(subscription, static_cast<int64_t>(std::count(result.ack_statuses.begin(),
                                                             result.ack_statuses.end(),
                                                             AckStatus::kOk)));
  CountRefusals(subscription, ack_results);
  TransactOutcome outcome{std::move(ack_results), {}};
  for (PublishItem& item : items) {
    wake_ups_.Notify(item.topic_id);
    int64_t bytes = 0;
    for (const Message& m : item.messages) bytes += MessageBytes(m);
    probe_.Published(item.topic, item.results, bytes);
    outcome.publish_results.push_back(std::move(item.results));
  }
  if (sub.config.enable_message_ordering) wake_ups_.Notify(sub.topic_id);
  return outcome;
}

absl::StatusOr<std::vector<AckResult>> Hub::ModifyAckDeadline(
    absl::string_view subscription, const std::vector<std::string>& ack_ids,
    int ack_deadline_seconds) {
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  RETURN_IF_ERROR(ValidateModifySeconds(ack_deadline_seconds));
  RETURN_IF_ERROR(CheckRunning());
  ASSIGN_OR_RETURN(SubscriptionRecord sub, store_.GetSubscription(subscription));
  std::vector<AckId> parsed;
  std::vector<AckResult> results = ParseAckIds(ack_ids, parsed);
  RETURN_IF_ERROR(ModifyParsed(sub, parsed, ack_deadline_seconds));
  return results;
}

absl::StatusOr<std::unique_ptr<StreamSession>> Hub::OpenStream(
    const StreamSettings& settings) {
  RETURN_IF_ERROR(ValidateName("subscription", settings.subscription));
  if (settings.ack_deadline_seconds != 0) {
    RETURN_IF_ERROR(ValidateAckDeadline(settings.ack_deadline_seconds));
  }
  if (settings.max_outstanding_messages < 0 ||
      settings.max_outstanding_bytes < 0) {
    return absl::InvalidArgumentError(
        "max_outstanding_messages and max_outstanding_bytes must not be "
        "negative");
  }
  RETURN_IF_ERROR(CheckRunning());
  ASSIGN_OR_RETURN(SubscriptionRecord sub,
                   store_.GetSubscription(settings.subscription));
  const int deadline = settings.ack_deadline_seconds != 0
                           ? settings.ack_deadline_seconds
                           : sub.config.ack_deadline_seconds;
  const int64_t max_messages =
      settings.max_outstanding_messages != 0
          ? settings.max_outstanding_messages
          : options_.default_max_outstanding_messages;
  const int64_t max_bytes = settings.max_outstanding_bytes != 0
                                ? settings.max_outstanding_bytes
                                : options_.default_max_outstanding_bytes;
  return std::make_unique<StreamSession>(*this, std::move(sub),
                                         absl::Seconds(deadline), max_messages,
                                         max_bytes);
}

StreamSession::StreamSession(Hub& hub, SubscriptionRecord sub,
                             absl::Duration ack_deadline, int64_t max_messages,
                             int64_t max_bytes)
    : hub_(hub),
      name_(sub.config.name),
      ack_deadline_(ack_deadline),
      max_messages_(max_messages),
      max_bytes_(max_bytes),
      sub_(std::move(sub)),
      refreshed_(absl::Now()) {
  hub_.probe_.StreamOpened(name_);
}

StreamSession::~StreamSession() { hub_.probe_.StreamClosed(name_); }

absl::StatusOr<SubscriptionRecord> StreamSession::CurrentSubscription() {
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Now() - refreshed_ < hub_.options().poll_interval) return sub_;
    name = sub_.config.name;
  }
  ASSIGN_OR_RETURN(SubscriptionRecord fresh, hub_.store_.GetSubscription(name));
  absl::MutexLock lock(&mu_);
  sub_ = std::move(fresh);
  refreshed_ = absl::Now();
  return sub_;
}

bool StreamSession::HasRoom() {
  return static_cast<int64_t>(held_.size()) < max_messages_ &&
         held_bytes_ < max_bytes_;
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
  if (expired > 0) hub_.probe_.LeasesExpired(name_, expired);
}

absl::StatusOr<std::vector<Delivery>> StreamSession::Next() {
  const HubOptions& options = hub_.options();
  for (;;) {
    int room = 0;
    int64_t room_bytes = 0;
    {
      absl::MutexLock lock(&mu_);
      DropExpired(absl::Now());
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return closed_ || HasRoom();
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options.poll_interval);
      if (closed_) return absl::UnavailableError("the stream was closed");
      if (!HasRoom()) continue;
      room = static_cast<int>(std::min<int64_t>(
          max_messages_ - static_cast<int64_t>(held_.size()),
          options.max_claim_batch));
      room_bytes = std::min(max_bytes_ - held_bytes_, options.max_claim_bytes);
    }
    ASSIGN_OR_RETURN(SubscriptionRecord sub, CurrentSubscription());
    ASSIGN_OR_RETURN(
        std::vector<Delivery> deliveries,
        hub_.ClaimOrWait(sub, room, room_bytes, ack_deadline_,
                         absl::Now() + options.poll_interval));
    if (deliveries.empty()) continue;
    absl::MutexLock lock(&mu_);
    const absl::Time expires = absl::Now() + ack_deadline_;
    for (const Delivery& d : deliveries) {
      const int64_t bytes = MessageBytes(d.message);
      held_[d.ack_id] = Held{bytes, expires, d.message.publish_time};
      held_bytes_ += bytes;
    }
    return deliveries;
  }
}

void StreamSession::ReleaseAcked(absl::Span<const AckResult> results) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  for (const AckResult& r : results) {
    auto it = held_.find(r.ack_id);
    if (it == held_.end()) continue;
    if (r.status == AckStatus::kOk) hub_.probe_.EndToEnd(now - it->second.published);
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

absl::StatusOr<std::vector<AckResult>> StreamSession::Handle(
    const StreamRequest& request) {
  if (request.modify_deadline_ack_ids.size() !=
      request.modify_deadline_seconds.size()) {
    return absl::InvalidArgumentError(
        "modify_deadline_ack_ids and modify_deadline_seconds must have the "
        "same length");
  }
  RETURN_IF_ERROR(ValidateAckIdCount(request.ack_ids.size() +
                                     request.nack_ids.size() +
                                     request.modify_deadline_ack_ids.size()));
  // Group deadline changes by their seconds so each group is one statement.
  std::map<int, std::vector<std::string>> modify;
  for (size_t i = 0; i < request.modify_deadline_ack_ids.size(); ++i) {
    RETURN_IF_ERROR(ValidateModifySeconds(request.modify_deadline_seconds[i]));
    modify[request.modify_deadline_seconds[i]].push_back(
        request.modify_deadline_ack_ids[i]);
  }
  modify[0].insert(modify[0].end(), request.nack_ids.begin(),
                   request.nack_ids.end());

  ASSIGN_OR_RETURN(SubscriptionRecord sub, CurrentSubscription());
  ASSIGN_OR_RETURN(std::vector<AckResult> results,
                   hub_.SettleIds(sub, request.ack_ids, SettleKind::kAck, ""));
  ReleaseAcked(results);

  for (const auto& [seconds, ids] : modify) {
    std::vector<AckId> modify_parsed;
    Hub::ParseAckIds(ids, modify_parsed);
    RETURN_IF_ERROR(hub_.ModifyParsed(sub, modify_parsed, seconds));
    if (seconds == 0) {
      Release(ids);
      continue;
    }
    absl::MutexLock lock(&mu_);
    const absl::Time expires = absl::Now() + absl::Seconds(seconds);
    for (const std::string& id : ids) {
      auto it = held_.find(id);
      if (it != held_.end()) it->second.expires = expires;
    }
  }
  // Per-id results on the stream are the exactly-once guarantee's; other
  // streams report none.
  if (sub.config.delivery_guarantee != DeliveryGuarantee::kExactlyOnce) {
    results.clear();
  }
  return results;
}

void StreamSession::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

}  // namespace hub
