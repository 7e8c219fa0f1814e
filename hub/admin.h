#ifndef HUB_ADMIN_H_
#define HUB_ADMIN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hub/schemas.h"
#include "hub/store.h"
#include "hub/types.h"

namespace hub {

// Fills what a subscription left unset: the ack deadline, and the delivery
// attempts of a dead-letter policy. The one place these defaults live.
void ApplySubscriptionDefaults(SubscriptionConfig& sub);

// Topics and subscriptions: validated, defaulted, stored.
class Admin {
 public:
  // `home_namespace`: the namespace of the plain names (ValidateNewName);
  // `max_snapshots_per_creator`: 0 for no bound.
  Admin(Store& store, Schemas& schemas, std::string home_namespace, int max_snapshots_per_creator)
      : store_(store),
        schemas_(schemas),
        home_namespace_(std::move(home_namespace)),
        max_snapshots_per_creator_(max_snapshots_per_creator) {}

  absl::StatusOr<TopicConfig> CreateTopic(const TopicConfig& topic);
  absl::StatusOr<TopicConfig> GetTopic(absl::string_view name);
  absl::StatusOr<Page<TopicConfig>> ListTopics(const NameScope& scope, int page_size,
                                               absl::string_view page_token);
  absl::Status DeleteTopic(absl::string_view name);
  // Changes the fields named in `paths` (message_retention, dedup_window,
  // labels, schema_settings); any other path is INVALID_ARGUMENT.
  absl::StatusOr<TopicConfig> UpdateTopic(const TopicConfig& topic,
                                          const std::vector<std::string>& paths);

  absl::StatusOr<SubscriptionConfig> CreateSubscription(const SubscriptionConfig& sub);
  absl::StatusOr<SubscriptionConfig> GetSubscription(absl::string_view name);
  absl::StatusOr<Page<SubscriptionConfig>> ListSubscriptions(const NameScope& scope,
                                                             absl::string_view topic, int page_size,
                                                             absl::string_view page_token);
  absl::Status DeleteSubscription(absl::string_view name);
  // Changes ack_deadline_seconds, filter, dead_letter_policy, retry_policy
  // or labels; topic, delivery_guarantee and enable_message_ordering are
  // fixed at creation.
  absl::StatusOr<SubscriptionConfig> UpdateSubscription(const SubscriptionConfig& sub,
                                                        const std::vector<std::string>& paths);
  absl::StatusOr<SubscriptionStats> GetSubscriptionStats(absl::string_view name);
  // Drops the subscription's messages for good; it stays, detached.
  absl::Status DetachSubscription(absl::string_view name);

  // Snapshots: `subscription`'s acknowledgement state under a name of its
  // own; only labels change later. Each creator (snapshot.creator) has at
  // most max_snapshots_per_creator: RESOURCE_EXHAUSTED past it.
  absl::StatusOr<SnapshotConfig> CreateSnapshot(const SnapshotConfig& snapshot,
                                                absl::string_view subscription);
  absl::StatusOr<SnapshotConfig> GetSnapshot(absl::string_view name);
  absl::StatusOr<Page<SnapshotConfig>> ListSnapshots(const NameScope& scope, int page_size,
                                                     absl::string_view page_token);
  absl::StatusOr<SnapshotConfig> UpdateSnapshot(const SnapshotConfig& snapshot,
                                                const std::vector<std::string>& paths);
  absl::Status DeleteSnapshot(absl::string_view name);

 private:
  // What a stored subscription must satisfy beyond its own fields: a filter
  // that parses, a dead-letter topic that exists.
  absl::Status ValidateForStore(const SubscriptionConfig& sub);
  // A created or changed subscription as a call answers it: with the
  // retention in effect.
  SubscriptionConfig AsAnswered(SubscriptionConfig sub);

  Store& store_;
  Schemas& schemas_;
  const std::string home_namespace_;
  const int max_snapshots_per_creator_;
};

}  // namespace hub

#endif  // HUB_ADMIN_H_
