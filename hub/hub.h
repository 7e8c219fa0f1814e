#ifndef HUB_HUB_H_
#define HUB_HUB_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hub/access_policies.h"
#include "hub/admin.h"
#include "hub/dispatcher.h"
#include "hub/housekeeping.h"
#include "hub/hub_probe.h"
#include "hub/inspector.h"
#include "hub/pending_pull.h"
#include "hub/publish_committer.h"
#include "hub/settlement.h"
#include "hub/store.h"
#include "hub/stream_directory.h"
#include "hub/stream_session.h"
#include "hub/types.h"
#include "hub/used_subscriptions.h"
#include "hub/validation.h"
#include "hub/wake_up_board.h"
#include "hub/work_queue.h"

namespace hub {

struct HubOptions {
  Limits limits;
  // Publish transactions that may run at once; each takes every request
  // queued for the topics it commits.
  int publish_committers = 2;
  // Of those, how many may hold one topic's publishes at once (each writes
  // its rows while the one before it commits). One by default: on two
  // cores, two cost more CPU per message than they gained
  // (docs/benchmarks.md, "Several transactions per topic").
  int publish_transactions_per_topic = 1;
  // Bounds of one group-commit transaction.
  int64_t max_publish_batch_bytes = 32 * kMiB;
  int max_ack_batch = 10000;
  // Largest number of messages one claim leases (one lease row).
  int max_claim_batch = 100;
  // Data one Pull response or one claim of a stream carries at most (a
  // single larger message still goes out alone).
  int64_t max_claim_bytes = 4 * kMiB;
  // How often a subscription with waiting consumers is claimed for without
  // a wake-up: bounds the delay of redelivering expired leases and of a
  // missed notification. Also how often messages out of delivery attempts
  // are moved to their dead-letter topics when nobody claims.
  absl::Duration poll_interval = absl::Seconds(1);
  // Threads (and so database connections) that claim for every waiting Pull
  // and stream, and that apply the requests of streams.
  int claim_threads = 2;
  int stream_workers = 4;
  // Deliveries handed to stream writers and not yet taken by the transport,
  // across all streams: what clients that do not read can make hubd hold.
  int64_t max_unsent_stream_bytes = 64 * kMiB;
  // The namespace whose names are the plain ones: the Pub/Sub API's home
  // project (--pubsub_project). A new name may not spell it out.
  std::string home_namespace = "hub";
  // Snapshots one principal may have (docs/security.md, "Snapshots"); each
  // holds a copy of its subscription's unacknowledged positions.
  int max_snapshots_per_principal = 1000;
  absl::Duration maintenance_interval = absl::Minutes(1);
  // How often the backlog gauges of every subscription are read from the
  // store (one query over cursors, heads and lease rows).
  absl::Duration stats_interval = absl::Seconds(10);
  // How long a topic's schema settings are used before they are read
  // again: a change made through another replica applies within it.
  absl::Duration schema_refresh_interval = absl::Seconds(5);
  // How often each replica asks whether a stored access policy changed
  // (docs/security.md, "Stored bindings").
  absl::Duration access_policy_refresh = absl::Seconds(1);
  // StreamingPull flow control when the client sets none.
  int64_t default_max_outstanding_messages = 1000;
  int64_t default_max_outstanding_bytes = 10 * kMiB;
};

// The engine: validates requests, decides, and drives the store. Knows
// nothing of gRPC. The work is done by its parts: Admin (topics and
// subscriptions), PublishCommitter, Dispatcher (claims for waiting Pulls and
// streams), Settlement, StreamSession and Housekeeping; this class validates
// what each call carries and wires them together.
class Hub final {
 public:
  Hub(Store& store, HubOptions options, HubProbe& probe);
  ~Hub();

  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Stops handing out messages, wakes every waiter and commits what is
  // queued. Calls made afterwards fail with UNAVAILABLE.
  void Shutdown();

  absl::StatusOr<TopicConfig> CreateTopic(const TopicConfig& topic) {
    return admin_.CreateTopic(topic);
  }
  absl::StatusOr<TopicConfig> GetTopic(absl::string_view name) { return admin_.GetTopic(name); }
  absl::StatusOr<Page<TopicConfig>> ListTopics(const NameScope& scope, int page_size,
                                               absl::string_view page_token) {
    return admin_.ListTopics(scope, page_size, page_token);
  }
  absl::Status DeleteTopic(absl::string_view name) { return Changed(admin_.DeleteTopic(name)); }
  absl::StatusOr<TopicConfig> UpdateTopic(const TopicConfig& topic,
                                          const std::vector<std::string>& paths) {
    return admin_.UpdateTopic(topic, paths);
  }
  absl::StatusOr<SubscriptionConfig> CreateSubscription(const SubscriptionConfig& sub) {
    return Changed(admin_.CreateSubscription(sub));
  }
  absl::StatusOr<SubscriptionConfig> GetSubscription(absl::string_view name) {
    return admin_.GetSubscription(name);
  }
  absl::StatusOr<Page<SubscriptionConfig>> ListSubscriptions(const NameScope& scope,
                                                             absl::string_view topic, int page_size,
                                                             absl::string_view page_token) {
    return admin_.ListSubscriptions(scope, topic, page_size, page_token);
  }
  absl::Status DeleteSubscription(absl::string_view name) {
    return Changed(admin_.DeleteSubscription(name));
  }
  absl::StatusOr<SubscriptionConfig> UpdateSubscription(const SubscriptionConfig& sub,
                                                        const std::vector<std::string>& paths) {
    return Changed(admin_.UpdateSubscription(sub, paths));
  }
  absl::StatusOr<SubscriptionStats> GetSubscriptionStats(absl::string_view name) {
    return admin_.GetSubscriptionStats(name);
  }
  absl::Status DetachSubscription(absl::string_view name) {
    return Changed(admin_.DetachSubscription(name));
  }
  absl::StatusOr<SnapshotConfig> CreateSnapshot(const SnapshotConfig& snapshot,
                                                absl::string_view subscription) {
    return admin_.CreateSnapshot(snapshot, subscription);
  }
  absl::StatusOr<SnapshotConfig> GetSnapshot(absl::string_view name) {
    return admin_.GetSnapshot(name);
  }
  absl::StatusOr<Page<SnapshotConfig>> ListSnapshots(const NameScope& scope, int page_size,
                                                     absl::string_view page_token) {
    return admin_.ListSnapshots(scope, page_size, page_token);
  }
  absl::StatusOr<SnapshotConfig> UpdateSnapshot(const SnapshotConfig& snapshot,
                                                const std::vector<std::string>& paths) {
    return admin_.UpdateSnapshot(snapshot, paths);
  }
  absl::Status DeleteSnapshot(absl::string_view name) { return admin_.DeleteSnapshot(name); }

  absl::StatusOr<std::vector<Replica>> ListReplicas() { return store_.ListReplicas(); }

  // Schemas (docs/schemas.md).
  Schemas& schemas() { return schemas_; }
  // Access policies set through the IAM calls (docs/security.md).
  AccessPolicies& access_policies() { return access_policies_; }

  // Looking at messages without consuming them (docs/operations.md).
  absl::StatusOr<MessageFate> GetMessageFate(absl::string_view topic,
                                             absl::string_view message_id) {
    return inspector_.GetMessageFate(topic, message_id);
  }
  absl::StatusOr<Page<Message>> ListMessages(const TopicBrowse& browse) {
    return inspector_.ListMessages(browse);
  }
  absl::StatusOr<Page<SubscriptionMessage>> ListSubscriptionMessages(absl::string_view subscription,
                                                                     MessageState state,
                                                                     int page_size,
                                                                     absl::string_view page_token);
  absl::StatusOr<RedriveResult> Redrive(absl::string_view subscription,
                                        const std::vector<std::string>& message_ids,
                                        absl::string_view filter, bool all);

  absl::StatusOr<std::vector<PublishResult>> Publish(std::string topic,
                                                     std::vector<Message> messages,
                                                     ProducerBatch batch = {});

  // A Pull that waits up to `max_wait` for messages; the caller starts it.
  absl::StatusOr<std::unique_ptr<PendingPull>> Pull(absl::string_view subscription,
                                                    int max_messages, absl::Duration max_wait,
                                                    PendingPull::Answer answer);
  absl::StatusOr<std::vector<AckResult>> Acknowledge(absl::string_view subscription,
                                                     const std::vector<std::string>& ack_ids);
  absl::StatusOr<std::vector<AckResult>> ModifyAckDeadline(absl::string_view subscription,
                                                           const std::vector<std::string>& ack_ids,
                                                           int ack_deadline_seconds);
  absl::StatusOr<std::vector<AckResult>> Reject(absl::string_view subscription,
                                                const std::vector<std::string>& ack_ids,
                                                absl::string_view reason);
  // Messages published before `time` count as acknowledged, those at or
  // after it are delivered again; nothing older than the topic's retention
  // comes back.
  absl::Status Seek(absl::string_view subscription, absl::Time time);
  // The subscription's acknowledgement state becomes the snapshot's: what
  // it held unacknowledged then is delivered again, what it had acked is not.
  absl::Status SeekToSnapshot(absl::string_view subscription, absl::string_view snapshot);
  absl::StatusOr<TransactOutcome> Transact(absl::string_view subscription,
                                           const std::vector<std::string>& ack_ids,
                                           std::vector<TransactPublish> publishes);

  // A stream's session; the caller starts it with its sink.
  absl::StatusOr<std::unique_ptr<StreamSession>> OpenStream(const StreamSettings& settings);

  const HubOptions& options() const { return options_; }

 private:
  void GiveBack(const SubscriptionRecord& sub, const std::vector<Delivery>& deliveries);
  absl::Status CheckRunning();
  // The running subscription named by a request, after the name's check.
  absl::StatusOr<SubscriptionRecord> RunningSubscription(absl::string_view name);
  // Passes `result` through after a change of subscriptions made here: the
  // dispatcher reads them again (other replicas' changes arrive within a
  // poll interval).
  template <typename T>
  T Changed(T result) {
    dispatcher_.ForgetRecords();
    return result;
  }
  // The same from the dispatcher's record, at most a poll interval old: for
  // the calls that settle, which Pub/Sub clients make for every batch.
  absl::StatusOr<SubscriptionRecord> SettlingSubscription(absl::string_view name);

  Store& store_;
  const HubOptions options_;
  HubProbe& probe_;
  WakeUpBoard wake_ups_;
  std::atomic<bool> shutting_down_{false};
  Inspector inspector_{store_, wake_ups_};
  Schemas schemas_;
  AccessPolicies access_policies_;
  Admin admin_;
  PublishCommitter publishing_;
  Settlement settlement_;
  UnsentBytes unsent_;
  StreamDirectory streams_;
  Dispatcher dispatcher_;
  // After the dispatcher: its tasks use it, and it goes first.
  WorkQueue stream_work_;
  UsedSubscriptions used_;
  Housekeeping housekeeping_;
};

}  // namespace hub

#endif  // HUB_HUB_H_
