#ifndef HUB_STORE_H_
#define HUB_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "hub/ack_id.h"
#include "hub/types.h"

// The storage interface the engine owns. PgStore (hub/pg) implements it on
// PostgreSQL; unit tests use a fake. Every method returns absl::Status and
// never throws. A method that returns OK has committed its effect.
namespace hub {

// One Publish request inside a group-commit batch.
struct PublishItem {
  std::string topic;
  std::vector<Message> messages;
  // Set by Store::Publish: NOT_FOUND when the topic does not exist,
  // FAILED_PRECONDITION for a producer batch the hub refuses (the item is
  // then left out of the transaction), otherwise OK with one result per
  // message.
  absl::Status status;
  int64_t topic_id = 0;
  std::vector<PublishResult> results;
  // The producer batch the messages are, if any.
  ProducerBatch batch;
};

// Housekeeping results worth counting.
struct MaintenanceReport {
  // Messages that left a subscription unacknowledged because they outlived
  // their topic's retention, by subscription name.
  std::vector<std::pair<std::string, int64_t>> expired;
  int partitions_dropped = 0;
  // Subscriptions deleted for going unused past their expiration ttl.
  std::vector<std::string> expired_subscriptions;
};

// What the store knows of one message on one subscription of its topic.
struct MessageOnSubscription {
  SubscriptionRecord sub;
  int64_t cursor = 0;
  std::optional<HeldLease> lease;
  std::optional<DeadLetterRecord> dead_letter;
};

struct StoredMessage {
  Message message;
  std::vector<MessageOnSubscription> subscriptions;  // in name order
};

// Messages of a subscription as browsing sees them, by position.
struct InspectedMessage {
  Message message;
  std::optional<HeldLease> lease;
  std::optional<DeadLetterRecord> dead_letter;
};

// How Settle ends deliveries.
enum class SettleKind {
  kAck,
  // To the dead-letter topic, or dropped without one.
  kReject,
};

struct TransactResult {
  std::vector<AckStatus> ack_statuses;
};

// One at-least-once acknowledgement.
struct AckRef {
  int64_t subscription_id = 0;
  AckId id;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual absl::Status CreateTopic(const TopicConfig& topic) = 0;
  virtual absl::StatusOr<TopicConfig> GetTopic(absl::string_view name) = 0;
  // Topics of `scope` with names after `after`, in name order.
  virtual absl::StatusOr<std::vector<TopicConfig>> ListTopics(const NameScope& scope,
                                                              absl::string_view after,
                                                              int limit) = 0;
  virtual absl::Status DeleteTopic(absl::string_view name) = 0;
  // Stores retention, dedup window and labels; NOT_FOUND when missing.
  virtual absl::Status UpdateTopic(const TopicConfig& topic) = 0;

  virtual absl::Status CreateSubscription(const SubscriptionConfig& sub) = 0;
  virtual absl::StatusOr<SubscriptionRecord> GetSubscription(absl::string_view name) = 0;
  // Subscriptions of `scope` (of `topic`, or of all topics when it is
  // empty) with names after `after`, in name order. NOT_FOUND when `topic`
  // does not exist.
  virtual absl::StatusOr<std::vector<SubscriptionConfig>> ListSubscriptions(const NameScope& scope,
                                                                            absl::string_view topic,
                                                                            absl::string_view after,
                                                                            int limit) = 0;
  virtual absl::Status DeleteSubscription(absl::string_view name) = 0;
  // Stores the mutable fields (docs/api.md, UpdateSubscription).
  virtual absl::Status UpdateSubscription(const SubscriptionConfig& sub) = 0;
  // Marks the subscription detached and drops its cursor's backlog and its
  // leases, in one transaction. NOT_FOUND when missing.
  virtual absl::Status DetachSubscription(absl::string_view name) = 0;

  // Stores the acknowledgement state of `sub` as `snapshot` (name and
  // labels) and answers it with its topic and expiry: the publish time of
  // the oldest message it holds (now when none) plus `retention`.
  // ALREADY_EXISTS for a taken name; RESOURCE_EXHAUSTED when its creator
  // has `max_per_creator` snapshots already (0: no bound).
  virtual absl::StatusOr<SnapshotConfig> CreateSnapshot(const SubscriptionRecord& sub,
                                                        const SnapshotConfig& snapshot,
                                                        absl::Duration retention,
                                                        int max_per_creator) = 0;
  virtual absl::StatusOr<SnapshotConfig> GetSnapshot(absl::string_view name) = 0;
  virtual absl::StatusOr<std::vector<SnapshotConfig>> ListSnapshots(const NameScope& scope,
                                                                    absl::string_view after,
                                                                    int limit) = 0;
  // Stores the labels; NOT_FOUND when missing.
  virtual absl::Status UpdateSnapshot(const SnapshotConfig& snapshot) = 0;
  virtual absl::Status DeleteSnapshot(absl::string_view name) = 0;
  // Puts the subscription's cursor and leases where the snapshot has them,
  // every held message due at once. NOT_FOUND for a missing snapshot,
  // FAILED_PRECONDITION when it is of another topic.
  virtual absl::Status SeekToSnapshot(const SubscriptionRecord& sub,
                                      absl::string_view snapshot) = 0;

  // Schemas (docs/schemas.md). CreateSchema stores the first revision, its
  // id given by the caller, and answers it with its time; ALREADY_EXISTS
  // for a taken name.
  virtual absl::StatusOr<SchemaRevision> CreateSchema(const SchemaRevision& first) = 0;
  // One revision, the newest when `revision_id` is empty; NOT_FOUND.
  virtual absl::StatusOr<SchemaRevision> GetSchema(absl::string_view name,
                                                   absl::string_view revision_id) = 0;
  // The newest revision of each schema of `scope` named after `after`.
  virtual absl::StatusOr<std::vector<SchemaRevision>> ListSchemas(const NameScope& scope,
                                                                  absl::string_view after,
                                                                  int limit) = 0;
  // A schema's revisions, newest first, from the one after `after` ('':
  // from the newest).
  virtual absl::StatusOr<std::vector<SchemaRevision>> ListSchemaRevisions(absl::string_view name,
                                                                          absl::string_view after,
                                                                          int limit) = 0;
  // Adds `revision` to its schema while the newest revision is still
  // `newest` (what the caller checked it against): ABORTED when another
  // came first, NOT_FOUND when the schema is gone.
  virtual absl::StatusOr<SchemaRevision> CommitSchema(const SchemaRevision& revision,
                                                      absl::string_view newest) = 0;
  // Deletes one revision and answers it; FAILED_PRECONDITION for a
  // schema's only one, NOT_FOUND.
  virtual absl::StatusOr<SchemaRevision> DeleteSchemaRevision(absl::string_view name,
                                                              absl::string_view revision_id) = 0;
  // Deletes the schema and its revisions; its topics then name
  // kDeletedSchema. NOT_FOUND when missing.
  virtual absl::Status DeleteSchema(absl::string_view name) = 0;
  // The topics whose schema is `name`.
  virtual absl::StatusOr<std::vector<TopicConfig>> SchemaTopics(absl::string_view name) = 0;

  // Access policies (docs/security.md, "Stored bindings"). A resource
  // without one answers version 0 and no bindings.
  virtual absl::StatusOr<AccessPolicy> GetAccessPolicy(absl::string_view resource) = 0;
  // Stores `bindings` while the version is still `expected` (-1: whatever
  // it is), else ABORTED; answers the new policy.
  virtual absl::StatusOr<AccessPolicy> SetAccessPolicy(absl::string_view resource,
                                                       absl::string_view bindings,
                                                       int64_t expected) = 0;
  // A number every change of any policy moves, and all of them.
  virtual absl::StatusOr<int64_t> AccessPolicyGeneration() = 0;
  virtual absl::StatusOr<std::vector<AccessPolicy>> ListAccessPolicies() = 0;

  // Stores every item's messages in one transaction. A non-OK return means
  // nothing was stored for any item.
  virtual absl::Status Publish(absl::Span<PublishItem* const> items) = 0;

  // Leases up to `max_messages` messages of the subscription, redeliveries
  // first, for `ack_deadline`. New messages also stop at `max_bytes` of data
  // (at least one is taken). NOT_FOUND when the subscription is gone.
  virtual absl::StatusOr<std::vector<Delivery>> Claim(const SubscriptionRecord& sub,
                                                      int max_messages, int64_t max_bytes,
                                                      absl::Duration ack_deadline) = 0;

  // At-least-once acks of plain (unordered) subscriptions, any number of
  // subscriptions in one statement. Idempotent; no per-id outcome.
  virtual absl::Status Acknowledge(absl::Span<const AckRef> acks) = 0;
  // Acks or rejects deliveries with a checked outcome per id, in order (the
  // exactly-once rules of docs/api.md; ordered subscriptions release the next
  // message of a key). Rejected messages go to the dead-letter topic with
  // `reason` in the same transaction.
  virtual absl::StatusOr<std::vector<AckStatus>> Settle(const SubscriptionRecord& sub,
                                                        absl::Span<const AckId> ids,
                                                        SettleKind kind,
                                                        absl::string_view reason) = 0;
  // Acks `ids` and stores `publishes` in one transaction. On an
  // exactly-once subscription any outcome but OK aborts it all (ABORTED).
  // A publish to a missing topic fails it all (NOT_FOUND).
  virtual absl::StatusOr<TransactResult> Transact(const SubscriptionRecord& sub,
                                                  absl::Span<const AckId> ids,
                                                  absl::Span<PublishItem* const> publishes) = 0;
  // Messages published before `time` count as acknowledged, those at or
  // after it are delivered again.
  virtual absl::Status Seek(const SubscriptionRecord& sub, absl::Time time) = 0;
  // Ends the named deliveries; the messages are redelivered after backoff.
  virtual absl::Status Nack(const SubscriptionRecord& sub, absl::Span<const AckId> ids) = 0;
  // Extends the leases of the named deliveries to now + `deadline`.
  virtual absl::Status ExtendLeases(const SubscriptionRecord& sub, absl::Span<const AckId> ids,
                                    absl::Duration deadline) = 0;

  // Backlog and lag of the named subscription, or of every subscription
  // when `name` is empty, in name order. Reads cursors, topic heads, lease
  // and dead-letter rows; for a named subscription also the sizes of its
  // unacknowledged messages. NOT_FOUND when a named subscription does not
  // exist.
  virtual absl::StatusOr<std::vector<SubscriptionStats>> GetSubscriptionStats(
      absl::string_view name) = 0;

  // The hubd replicas connected to the database now, by the application
  // name each gives its connections.
  virtual absl::StatusOr<std::vector<Replica>> ListReplicas() = 0;

  // Calls `on_publish(topic_id)` once messages were committed to the topic:
  // by this store (publishes, Transact, dead letters), on the committing
  // thread right after the commit, or by another replica. It must not block.
  virtual void WatchPublishes(std::function<void(int64_t)> on_publish) = 0;

  // Housekeeping: partitions ahead of time (any replica), and retention
  // (one replica at a time): cursors and leases moved past expired messages,
  // whole partitions dropped (with the idempotency keys their messages hold).
  // ... and subscriptions unused past their expiration ttl deleted (one
  // replica at a time).
  virtual absl::StatusOr<MaintenanceReport> Maintain() = 0;

  // Records that the named subscriptions were used now (served a consumer
  // or a call): what their expiration counts from. Names that do not exist
  // are skipped.
  virtual absl::Status MarkActive(const std::vector<std::string>& subscriptions) = 0;

  // Sends every message whose last allowed delivery attempt ended (a due
  // lease out of attempts) to its subscription's dead-letter topic, as a
  // claim would, whether or not any consumer claims: a poison message that
  // kills its consumer still leaves. Any replica may run it at any time;
  // each message moves once.
  virtual absl::Status MoveDeadLetters() = 0;

  // Inspection, taking no lease and counting no attempt. The message at
  // `position` of `topic`, with its state on every subscription; NOT_FOUND
  // for a missing topic or a position not stored.
  virtual absl::StatusOr<StoredMessage> GetMessage(absl::string_view topic, int64_t position) = 0;
  // The topic's stored messages at positions [from, from + span), in
  // order, and the topic's next position. `from` below the oldest stored
  // message starts there.
  struct TopicWindow {
    std::vector<Message> messages;
    int64_t end = 0;   // the position after the window
    int64_t head = 0;  // the topic's next position
  };
  virtual absl::StatusOr<TopicWindow> ReadTopic(absl::string_view topic, int64_t from,
                                                int64_t span) = 0;
  // The first position of `topic` published at or after `time` (its next
  // position when none was).
  virtual absl::StatusOr<int64_t> PositionAt(absl::string_view topic, absl::Time time) = 0;
  // At most `limit` messages of the subscription in `state` (kWaiting,
  // kInFlight or kDeadLettered) at positions after `after`, in order;
  // waiting messages are those its filter matches. `next_after` is where
  // the next page starts, when one may follow.
  struct InspectPage {
    std::vector<InspectedMessage> messages;
    std::optional<int64_t> next_after;
  };
  virtual absl::StatusOr<InspectPage> InspectSubscription(const SubscriptionRecord& sub,
                                                          MessageState state, int64_t after,
                                                          int limit) = 0;
  // Takes at most `limit` dead letters back to `sub` alone, oldest first,
  // in one transaction: their rows go, and the messages are leased to the
  // subscription again, due now, with their attempts counted from 0.
  // Messages retention removed stay dead letters until retention forgets
  // them.
  virtual absl::StatusOr<RedriveResult> Redrive(const SubscriptionRecord& sub,
                                                const RedriveSelection& selection, int limit) = 0;

  // OK while the database answers.
  virtual absl::Status Ping() = 0;
};

}  // namespace hub

#endif  // HUB_STORE_H_
