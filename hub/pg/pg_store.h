#ifndef HUB_PG_PG_STORE_H_
#define HUB_PG_PG_STORE_H_

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/connection>
#include <pqxx/transaction>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hub/lease_rules.h"
#include "hub/pg/connection_pool.h"
#include "hub/pg/pg_probe.h"
#include "hub/pg/publish_announcer.h"
#include "hub/pg/statements.h"
#include "hub/store.h"

namespace hub::pg {

struct PgStoreOptions {
  std::string database_url;
  // A pooler in transaction mode in front of that database (PgBouncer), for
  // the two request pools; empty: they connect directly.
  std::string pooler_url;
  int pool_size = 16;
  // Days of message partitions made ahead of today.
  int partitions_ahead_days = 7;
};

// Prepares the store's statements on `conn` and sets what its plans rely
// on; every direct connection of the store gets this once.
void PrepareSession(Connection& conn);

// The PostgreSQL implementation of Store. SQL lives in statements.h; the
// delivery rules in the engine (hub/lease_rules.h): this class locks and
// reads rows, hands them to the rules, writes what they plan, converts rows,
// and turns every pqxx exception into an absl::Status. Connections,
// publishing and notifications are in pg_store.cc, administration in
// pg_admin.cc, partitions and retention in pg_maintenance.cc, claims in
// pg_delivery.cc, settling (acks, nacks, rejects, Transact, Seek) in
// pg_settle.cc.
class PgStore final : public Store {
 public:
  PgStore(PgStoreOptions options, PgProbe& probe);
  ~PgStore() override;

  // Applies the migrations built into the binary (advisory-locked, so
  // replicas starting together do not race) and makes partitions.
  absl::Status Migrate();

  absl::Status CreateTopic(const TopicConfig& topic) override;
  absl::StatusOr<TopicConfig> GetTopic(absl::string_view name) override;
  absl::StatusOr<std::vector<TopicConfig>> ListTopics(const NameScope& scope,
                                                      absl::string_view after, int limit) override;
  absl::Status DeleteTopic(absl::string_view name) override;
  absl::Status UpdateTopic(const TopicConfig& topic) override;

  absl::Status CreateSubscription(const SubscriptionConfig& sub) override;
  absl::StatusOr<SubscriptionRecord> GetSubscription(absl::string_view name) override;
  absl::StatusOr<std::vector<SubscriptionConfig>> ListSubscriptions(const NameScope& scope,
                                                                    absl::string_view topic,
                                                                    absl::string_view after,
                                                                    int limit) override;
  absl::Status DeleteSubscription(absl::string_view name) override;
  absl::Status UpdateSubscription(const SubscriptionConfig& sub) override;
  absl::Status DetachSubscription(absl::string_view name) override;

  absl::StatusOr<SnapshotConfig> CreateSnapshot(const SubscriptionRecord& sub,
                                                const SnapshotConfig& snapshot,
                                                absl::Duration retention,
                                                int max_per_creator) override;
  absl::StatusOr<SnapshotConfig> GetSnapshot(absl::string_view name) override;
  absl::StatusOr<std::vector<SnapshotConfig>> ListSnapshots(const NameScope& scope,
                                                            absl::string_view after,
                                                            int limit) override;
  absl::Status UpdateSnapshot(const SnapshotConfig& snapshot) override;
  absl::Status DeleteSnapshot(absl::string_view name) override;
  absl::Status SeekToSnapshot(const SubscriptionRecord& sub, absl::string_view snapshot) override;

  absl::StatusOr<SchemaRevision> CreateSchema(const SchemaRevision& first) override;
  absl::StatusOr<SchemaRevision> GetSchema(absl::string_view name,
                                           absl::string_view revision_id) override;
  absl::StatusOr<std::vector<SchemaRevision>> ListSchemas(const NameScope& scope,
                                                          absl::string_view after,
                                                          int limit) override;
  absl::StatusOr<std::vector<SchemaRevision>> ListSchemaRevisions(absl::string_view name,
                                                                  absl::string_view after,
                                                                  int limit) override;
  absl::StatusOr<SchemaRevision> CommitSchema(const SchemaRevision& revision,
                                              absl::string_view newest) override;
  absl::StatusOr<SchemaRevision> DeleteSchemaRevision(absl::string_view name,
                                                      absl::string_view revision_id) override;
  absl::Status DeleteSchema(absl::string_view name) override;
  absl::StatusOr<std::vector<TopicConfig>> SchemaTopics(absl::string_view name) override;

  absl::StatusOr<AccessPolicy> GetAccessPolicy(absl::string_view resource) override;
  absl::StatusOr<AccessPolicy> SetAccessPolicy(absl::string_view resource,
                                               absl::string_view bindings,
                                               int64_t expected) override;
  absl::StatusOr<int64_t> AccessPolicyGeneration() override;
  absl::StatusOr<std::vector<AccessPolicy>> ListAccessPolicies() override;

  absl::Status Publish(absl::Span<PublishItem* const> items) override;

  absl::StatusOr<std::vector<Delivery>> Claim(const SubscriptionRecord& sub, int max_messages,
                                              int64_t max_bytes,
                                              absl::Duration ack_deadline) override;
  absl::Status Acknowledge(absl::Span<const AckRef> acks) override;
  absl::StatusOr<std::vector<AckStatus>> Settle(const SubscriptionRecord& sub,
                                                absl::Span<const AckId> ids, SettleKind kind,
                                                absl::string_view reason) override;
  absl::StatusOr<TransactResult> Transact(const SubscriptionRecord& sub,
                                          absl::Span<const AckId> ids,
                                          absl::Span<PublishItem* const> publishes) override;
  absl::Status Seek(const SubscriptionRecord& sub, absl::Time time) override;
  absl::Status Nack(const SubscriptionRecord& sub, absl::Span<const AckId> ids) override;
  absl::Status ExtendLeases(const SubscriptionRecord& sub, absl::Span<const AckId> ids,
                            absl::Duration deadline) override;

  absl::StatusOr<std::vector<Replica>> ListReplicas() override;
  absl::StatusOr<std::vector<SubscriptionStats>> GetSubscriptionStats(
      absl::string_view name) override;

  void WatchPublishes(std::function<void(int64_t)> on_publish) override;
  absl::StatusOr<MaintenanceReport> Maintain() override;
  absl::Status MarkActive(const std::vector<std::string>& subscriptions) override;
  // Inspection (pg_inspect.cc).
  absl::StatusOr<StoredMessage> GetMessage(absl::string_view topic, int64_t position) override;
  absl::StatusOr<TopicWindow> ReadTopic(absl::string_view topic, int64_t from,
                                        int64_t span) override;
  absl::StatusOr<int64_t> PositionAt(absl::string_view topic, absl::Time time) override;
  absl::StatusOr<InspectPage> InspectSubscription(const SubscriptionRecord& sub, MessageState state,
                                                  int64_t after, int limit) override;
  absl::StatusOr<RedriveResult> Redrive(const SubscriptionRecord& sub,
                                        const RedriveSelection& selection, int limit) override;
  absl::Status MoveDeadLetters() override;
  absl::Status Ping() override;

 private:
  // How durable the commits of a piece of work must be.
  enum class Commit {
    // Flushed to disk before the statement or COMMIT returns.
    kDurable,
    // Asynchronous commit: a PostgreSQL crash (not a hubd one) can undo the
    // last fraction of a second of it. Only for work whose loss means a
    // redelivery the guarantee allows: claims of at-least-once and
    // exactly-once subscriptions, at-least-once acks, nacks, extensions
    // (docs/design.md, "Commits").
    kRelaxed,
  };

  // Runs `fn` on a pooled connection; converts exceptions, drops broken
  // connections and retries transaction conflicts a few times.
  absl::Status Run(const std::function<absl::Status(Connection&)>& fn,
                   Commit commit = Commit::kDurable);
  // The same on a connection straight to the database, for work that holds
  // session state across transactions (session advisory locks): migrations
  // and maintenance.
  absl::Status RunDirect(const std::function<absl::Status(Connection&)>& fn);
  absl::Status RunOn(ConnectionPool& pool, const std::function<absl::Status(Connection&)>& fn);

  // The row `statement` finds by name, converted; NOT_FOUND ("<kind> <name>
  // not found") when there is none.
  template <typename T>
  absl::StatusOr<T> ReadNamed(absl::string_view kind, absl::string_view name,
                              const Statement& statement, T (*from_row)(const pqxx::row&));
  // A list statement's rows of `scope` after `after` ($1 after, $2 limit,
  // $3/$4 the scope), converted.
  template <typename T>
  absl::StatusOr<std::vector<T>> ListScoped(const Statement& statement, const NameScope& scope,
                                            absl::string_view after, int limit,
                                            T (*from_row)(const pqxx::row&));
  // Runs `statement` on one named row in a transaction of its own;
  // NOT_FOUND ("<kind> <name> not found") when it changed no row.
  template <typename... Args>
  absl::Status ChangeNamed(absl::string_view kind, absl::string_view name,
                           const Statement& statement, const Args&... args);

  // Stores `items` on `conn`: inside the transaction open on it, or else
  // as one statement that commits by itself (a second one only where the
  // first found keys or batches committed before). Sets each item's status
  // and results (pg_publish.cc).
  void WriteMessages(Connection& conn, absl::Span<PublishItem* const> items);
  // After the commit that stored `items`: announces the topics that gained
  // messages.
  void AnnounceStored(absl::Span<PublishItem* const> items);
  absl::Status EnsurePartitions(Connection& conn);
  void ApplyRetention(Connection& conn, MaintenanceReport& report);

  // Whether to look for due lease rows of a subscription now (see Claim),
  // and what a look found.
  bool ShouldLookForDue(int64_t subscription_id);
  void FoundDue(int64_t subscription_id, bool due);
  // Looks for due lease rows and claims them into `out` (at most `room`
  // messages and, but for the first row, `max_bytes` of data).
  void ClaimDue(Connection& conn, const SubscriptionRecord& sub, int room, int64_t max_bytes,
                absl::Duration ack_deadline, std::vector<Delivery>& out);
  // Locks up to `row_limit` due lease rows of at least `min_attempt`
  // attempts and applies PlanRedelivery to them: deliveries of at most
  // `max_messages` (none: only dead letters move), dead letters sent.
  std::vector<Delivery> ClaimAvailable(Connection& conn, const SubscriptionRecord& sub,
                                       int max_messages, int64_t max_bytes,
                                       absl::Duration ack_deadline, int row_limit, int min_attempt);
  // New messages of a plain subscription, leased in one statement
  // (kClaimNew) into `out`; delayed ones whose time has not come are held
  // back (PlanHoldBack).
  enum class PlainClaim {
    kNone,     // there were no new messages
    kTaken,    // some were delivered
    kAllHeld,  // every message taken was held back: the next ones may be due
  };
  PlainClaim ClaimNewPlain(Connection& conn, const SubscriptionRecord& sub, int max_messages,
                           int64_t max_bytes, absl::Duration ack_deadline,
                           std::vector<Delivery>& out);
  // New messages of a subscription with a filter, ordering or at-most-once:
  // up to kMaxScans scans, each decided by PlanNewClaim.
  struct CheckedClaim {
    std::vector<Delivery> deliveries;
    bool subscription_exists = true;
  };
  CheckedClaim ClaimNewChecked(Connection& conn, const SubscriptionRecord& sub, int max_messages,
                               int64_t max_bytes, absl::Duration ack_deadline);
  // One scan of ClaimNewChecked; nullopt when the subscription is gone.
  struct ScanOutcome {
    std::vector<Delivery> deliveries;
    bool more = false;
  };
  std::optional<ScanOutcome> ClaimNewScan(Connection& conn, const SubscriptionRecord& sub,
                                          int max_messages, int64_t max_bytes,
                                          absl::Duration ack_deadline);
  // Locks the rows `ids` name and decides their settling (PlanSettle);
  // writes the lease changes.
  SettlePlan SettleInTransaction(pqxx::work& tx, const SubscriptionRecord& sub,
                                 absl::Span<const AckId> ids);
  // The dead-letter topic's id when letters were written to it, 0 when there
  // were none; FAILED_PRECONDITION when the topic is gone.
  absl::StatusOr<int64_t> SendToDeadLetterTopic(Connection& conn, const SubscriptionRecord& sub,
                                                const std::vector<DeadLetter>& letters);
  // Moves cursors and lease rows past messages older than `retention_ms`,
  // for the topic's subscriptions whose retention in effect it is (the
  // topic's is `topic_retention_ms`), counting what left each unacked.
  void ApplyRetentionToTopic(Connection& conn, int64_t topic_id, int64_t retention_ms,
                             int64_t topic_retention_ms, std::map<std::string, int64_t>& expired);
  // Drops the partitions whose whole day is older than their table's
  // horizon.
  int DropPartitionsBefore(Connection& conn, const std::map<std::string, absl::Time>& horizons);

  const PgStoreOptions options_;
  PgProbe& probe_;
  ConnectionPool pool_;
  // Its connections run with synchronous_commit off (unless they go
  // through a pooler, which cannot keep a session setting).
  ConnectionPool relaxed_pool_;
  // With a pooler, a small pool of direct connections for RunDirect;
  // without one, RunDirect uses pool_.
  std::unique_ptr<ConnectionPool> direct_pool_;
  PublishAnnouncer announcer_;
  absl::Mutex due_mu_;
  // Subscriptions whose last look found no due lease row, with when to look
  // again.
  absl::flat_hash_map<int64_t, absl::Time> none_due_until_ ABSL_GUARDED_BY(due_mu_);
};

}  // namespace hub::pg

#endif  // HUB_PG_PG_STORE_H_
