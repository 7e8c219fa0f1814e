#include "hub/admin.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "hub/filter.h"
#include "hub/paging.h"
#include "hub/validation.h"

namespace hub {
namespace {

absl::Status UnknownPath(absl::string_view path) {
  return absl::InvalidArgumentError(
      absl::StrCat("update_mask path ", Quoted(path), " cannot be updated"));
}

absl::Status ApplyTopicPath(absl::string_view path, const TopicConfig& update, TopicConfig& topic) {
  if (path == "message_retention") {
    topic.message_retention = update.message_retention;
  } else if (path == "dedup_window") {
    topic.dedup_window = update.dedup_window;
  } else if (path == "labels") {
    topic.labels = update.labels;
  } else if (path == "schema_settings") {
    topic.schema_settings = update.schema_settings;
  } else {
    return UnknownPath(path);
  }
  return absl::OkStatus();
}

absl::Status ApplySubscriptionPath(absl::string_view path, const SubscriptionConfig& update,
                                   SubscriptionConfig& sub) {
  if (path == "ack_deadline_seconds") {
    sub.ack_deadline_seconds = update.ack_deadline_seconds;
  } else if (path == "filter") {
    sub.filter = update.filter;
  } else if (path == "dead_letter_policy") {
    sub.dead_letter_policy = update.dead_letter_policy;
  } else if (path == "retry_policy") {
    sub.retry_policy = update.retry_policy;
  } else if (path == "labels") {
    sub.labels = update.labels;
  } else if (path == "message_retention") {
    sub.message_retention = update.message_retention;
  } else if (path == "expiration_ttl") {
    sub.expiration_ttl = update.expiration_ttl;
  } else if (path == "start") {
    return absl::InvalidArgumentError("\"start\" applies at creation; Seek moves a subscription");
  } else if (path == "topic" || path == "delivery_guarantee" || path == "enable_message_ordering") {
    return absl::InvalidArgumentError(
        absl::StrCat(Quoted(path), " is fixed when the subscription is created"));
  } else {
    return UnknownPath(path);
  }
  return absl::OkStatus();
}

// Durations are stored in whole milliseconds; what a call answers is what
// was stored, so the request's are cut to that before anything else.
absl::Duration Stored(absl::Duration d) { return absl::Trunc(d, absl::Milliseconds(1)); }

TopicConfig AsStored(TopicConfig topic) {
  topic.message_retention = Stored(topic.message_retention);
  topic.dedup_window = Stored(topic.dedup_window);
  return topic;
}

SubscriptionConfig AsStored(SubscriptionConfig sub) {
  sub.message_retention = Stored(sub.message_retention);
  sub.expiration_ttl = Stored(sub.expiration_ttl);
  sub.retry_policy.minimum_backoff = Stored(sub.retry_policy.minimum_backoff);
  sub.retry_policy.maximum_backoff = Stored(sub.retry_policy.maximum_backoff);
  return sub;
}

}  // namespace

void ApplySubscriptionDefaults(SubscriptionConfig& sub) {
  if (sub.ack_deadline_seconds == 0) sub.ack_deadline_seconds = Limits::kDefaultAckDeadlineSeconds;
  if (!sub.dead_letter_policy.topic.empty() && sub.dead_letter_policy.max_delivery_attempts == 0) {
    sub.dead_letter_policy.max_delivery_attempts = Limits::kDefaultDeliveryAttempts;
  }
}

absl::StatusOr<TopicConfig> Admin::CreateTopic(const TopicConfig& requested) {
  const TopicConfig topic = AsStored(requested);
  RETURN_IF_ERROR(ValidateNewName("topic", topic.name, home_namespace_));
  RETURN_IF_ERROR(ValidateTopicConfig(topic));
  RETURN_IF_ERROR(schemas_.CheckSettings(topic.schema_settings));
  RETURN_IF_ERROR(store_.CreateTopic(topic));
  // A publish to the name before it existed left "no schema" in the cache.
  schemas_.Forget(topic.name);
  return topic;
}

absl::StatusOr<TopicConfig> Admin::GetTopic(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("topic", name));
  return store_.GetTopic(name);
}

absl::StatusOr<Page<TopicConfig>> Admin::ListTopics(const NameScope& scope, int page_size,
                                                    absl::string_view page_token) {
  return ListPage(page_size, page_token, [&](absl::string_view after, int limit) {
    return store_.ListTopics(scope, after, limit);
  });
}

absl::Status Admin::DeleteTopic(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("topic", name));
  RETURN_IF_ERROR(store_.DeleteTopic(name));
  schemas_.Forget(name);
  return absl::OkStatus();
}

absl::StatusOr<TopicConfig> Admin::UpdateTopic(const TopicConfig& update,
                                               const std::vector<std::string>& paths) {
  RETURN_IF_ERROR(ValidateName("topic", update.name));
  if (paths.empty()) return absl::InvalidArgumentError("update_mask names no field");
  ASSIGN_OR_RETURN(TopicConfig topic, store_.GetTopic(update.name));
  for (const std::string& path : paths) {
    RETURN_IF_ERROR(ApplyTopicPath(path, AsStored(update), topic));
  }
  RETURN_IF_ERROR(ValidateTopicConfig(topic));
  RETURN_IF_ERROR(schemas_.CheckSettings(topic.schema_settings));
  RETURN_IF_ERROR(store_.UpdateTopic(topic));
  schemas_.Forget(topic.name);
  return topic;
}

absl::Status Admin::ValidateForStore(const SubscriptionConfig& sub) {
  RETURN_IF_ERROR(ValidateSubscriptionConfig(sub));
  RETURN_IF_ERROR(Filter::Parse(sub.filter).status());
  const std::string& topic = sub.dead_letter_policy.topic;
  if (topic.empty()) return absl::OkStatus();
  if (topic == sub.topic) {
    return absl::InvalidArgumentError(
        absl::StrCat("dead_letter_topic ", topic,
                     " is the subscription's own topic: its dead letters would "
                     "come back to it"));
  }
  absl::StatusOr<TopicConfig> found = store_.GetTopic(topic);
  if (found.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat("dead_letter_topic ", topic, " not found"));
  }
  return found.status();
}

absl::StatusOr<SubscriptionConfig> Admin::CreateSubscription(const SubscriptionConfig& requested) {
  SubscriptionConfig sub = AsStored(requested);
  ApplySubscriptionDefaults(sub);
  RETURN_IF_ERROR(ValidateNewName("subscription", sub.name, home_namespace_));
  RETURN_IF_ERROR(ValidateForStore(sub));
  RETURN_IF_ERROR(ValidateSubscriptionStart(sub.start, absl::Now()));
  RETURN_IF_ERROR(store_.CreateSubscription(sub));
  sub.start = {};  // not a property the subscription keeps
  return AsAnswered(std::move(sub));
}

absl::StatusOr<SubscriptionConfig> Admin::UpdateSubscription(
    const SubscriptionConfig& update, const std::vector<std::string>& paths) {
  RETURN_IF_ERROR(ValidateName("subscription", update.name));
  if (paths.empty()) return absl::InvalidArgumentError("update_mask names no field");
  ASSIGN_OR_RETURN(SubscriptionRecord record, store_.GetSubscription(update.name));
  SubscriptionConfig sub = record.config;
  for (const std::string& path : paths) {
    RETURN_IF_ERROR(ApplySubscriptionPath(path, AsStored(update), sub));
  }
  ApplySubscriptionDefaults(sub);
  RETURN_IF_ERROR(ValidateForStore(sub));
  RETURN_IF_ERROR(store_.UpdateSubscription(sub));
  return AsAnswered(std::move(sub));
}

SubscriptionConfig Admin::AsAnswered(SubscriptionConfig sub) {
  // The retention in effect depends on the topic's, which the store knows;
  // should the read fail, the answer leaves it out rather than fail a
  // change that was made.
  absl::StatusOr<SubscriptionRecord> stored = store_.GetSubscription(sub.name);
  if (stored.ok()) sub.retention_in_effect = stored->config.retention_in_effect;
  return sub;
}

absl::StatusOr<SubscriptionConfig> Admin::GetSubscription(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("subscription", name));
  ASSIGN_OR_RETURN(SubscriptionRecord record, store_.GetSubscription(name));
  return record.config;
}

absl::StatusOr<Page<SubscriptionConfig>> Admin::ListSubscriptions(const NameScope& scope,
                                                                  absl::string_view topic,
                                                                  int page_size,
                                                                  absl::string_view page_token) {
  if (!topic.empty()) RETURN_IF_ERROR(ValidateName("topic", topic));
  return ListPage(page_size, page_token, [&](absl::string_view after, int limit) {
    return store_.ListSubscriptions(scope, topic, after, limit);
  });
}

absl::Status Admin::DeleteSubscription(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("subscription", name));
  return store_.DeleteSubscription(name);
}

absl::Status Admin::DetachSubscription(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("subscription", name));
  return store_.DetachSubscription(name);
}

absl::StatusOr<SnapshotConfig> Admin::CreateSnapshot(const SnapshotConfig& snapshot,
                                                     absl::string_view subscription) {
  RETURN_IF_ERROR(ValidateNewName("snapshot", snapshot.name, home_namespace_));
  RETURN_IF_ERROR(ValidateName("subscription", subscription));
  RETURN_IF_ERROR(ValidateLabels(snapshot.labels));
  ASSIGN_OR_RETURN(SubscriptionRecord sub, store_.GetSubscription(subscription));
  RETURN_IF_ERROR(ValidateAttached(sub));
  ASSIGN_OR_RETURN(TopicConfig topic, store_.GetTopic(sub.config.topic));
  return store_.CreateSnapshot(sub, snapshot, topic.message_retention, max_snapshots_per_creator_);
}

absl::StatusOr<SnapshotConfig> Admin::GetSnapshot(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("snapshot", name));
  return store_.GetSnapshot(name);
}

absl::StatusOr<Page<SnapshotConfig>> Admin::ListSnapshots(const NameScope& scope, int page_size,
                                                          absl::string_view page_token) {
  return ListPage(page_size, page_token, [&](absl::string_view after, int limit) {
    return store_.ListSnapshots(scope, after, limit);
  });
}

absl::StatusOr<SnapshotConfig> Admin::UpdateSnapshot(const SnapshotConfig& update,
                                                     const std::vector<std::string>& paths) {
  RETURN_IF_ERROR(ValidateName("snapshot", update.name));
  if (paths.empty()) return absl::InvalidArgumentError("update_mask names no field");
  ASSIGN_OR_RETURN(SnapshotConfig snapshot, store_.GetSnapshot(update.name));
  for (const std::string& path : paths) {
    if (path != "labels") return UnknownPath(path);
    snapshot.labels = update.labels;
  }
  RETURN_IF_ERROR(ValidateLabels(snapshot.labels));
  RETURN_IF_ERROR(store_.UpdateSnapshot(snapshot));
  return snapshot;
}

absl::Status Admin::DeleteSnapshot(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("snapshot", name));
  return store_.DeleteSnapshot(name);
}

absl::StatusOr<SubscriptionStats> Admin::GetSubscriptionStats(absl::string_view name) {
  RETURN_IF_ERROR(ValidateName("subscription", name));
  ASSIGN_OR_RETURN(std::vector<SubscriptionStats> stats, store_.GetSubscriptionStats(name));
  if (stats.empty()) return absl::NotFoundError(absl::StrCat("subscription ", name, " not found"));
  return std::move(stats.front());
}

}  // namespace hub
