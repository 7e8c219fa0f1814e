#ifndef HUB_TESTING_FAKE_STORE_H_
#define HUB_TESTING_FAKE_STORE_H_

#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "hub/filter.h"
#include "hub/lease_rules.h"
#include "hub/store.h"

namespace hub::testing {

// An in-memory Store with the semantics the engine relies on: positions per
// topic, a cursor and lease rows per subscription, decided by the engine's
// own rules (hub/lease_rules.h) as PgStore decides them.
class FakeStore final : public Store {
 public:
  absl::Status CreateTopic(const TopicConfig& topic) override {
    absl::MutexLock lock(&mu_);
    if (topics_.count(topic.name)) return absl::AlreadyExistsError(topic.name);
    topics_[topic.name] = Topic{next_id_++, topic, {}};
    return absl::OkStatus();
  }
  absl::StatusOr<TopicConfig> GetTopic(absl::string_view name) override {
    absl::MutexLock lock(&mu_);
    auto it = topics_.find(std::string(name));
    if (it == topics_.end()) return absl::NotFoundError("topic");
    return it->second.config;
  }
  absl::StatusOr<std::vector<TopicConfig>> ListTopics(const NameScope& scope,
                                                      absl::string_view after, int limit) override {
    absl::MutexLock lock(&mu_);
    std::vector<TopicConfig> out;
    for (auto it = topics_.upper_bound(std::string(after));
         it != topics_.end() && static_cast<int>(out.size()) < limit; ++it) {
      if (scope.Holds(it->first)) out.push_back(it->second.config);
    }
    return out;
  }
  absl::Status DeleteTopic(absl::string_view name) override {
    absl::MutexLock lock(&mu_);
    return topics_.erase(std::string(name)) ? absl::OkStatus() : absl::NotFoundError("topic");
  }
  absl::Status UpdateTopic(const TopicConfig& topic) override {
    absl::MutexLock lock(&mu_);
    auto it = topics_.find(topic.name);
    if (it == topics_.end()) return absl::NotFoundError("topic");
    it->second.config = topic;
    return absl::OkStatus();
  }
  absl::Status CreateSubscription(const SubscriptionConfig& sub) override {
    absl::MutexLock lock(&mu_);
    auto topic = topics_.find(sub.topic);
    if (topic == topics_.end()) return absl::NotFoundError("topic");
    subs_[sub.name] =
        Sub{SubscriptionRecord{next_id_++, topic->second.id, sub, std::make_shared<const Filter>()},
            static_cast<int64_t>(topic->second.messages.size()) + 1,
            {}};
    ++subscriptions_created;
    return absl::OkStatus();
  }
  absl::StatusOr<SubscriptionRecord> GetSubscription(absl::string_view name) override {
    ++subscription_reads;
    absl::MutexLock lock(&mu_);
    auto it = subs_.find(std::string(name));
    if (it == subs_.end()) return absl::NotFoundError("subscription");
    return it->second.record;
  }
  absl::StatusOr<std::vector<SubscriptionConfig>> ListSubscriptions(const NameScope&,
                                                                    absl::string_view,
                                                                    absl::string_view,
                                                                    int) override {
    return std::vector<SubscriptionConfig>{};
  }
  absl::Status DetachSubscription(absl::string_view name) override {
    absl::MutexLock lock(&mu_);
    auto it = subs_.find(std::string(name));
    if (it == subs_.end()) return absl::NotFoundError("subscription");
    it->second.record.config.detached = true;
    return absl::OkStatus();
  }
  // Snapshots are PgStore's alone; the engine only passes them through.
  absl::StatusOr<SnapshotConfig> CreateSnapshot(const SubscriptionRecord&, const SnapshotConfig&,
                                                absl::Duration, int) override {
    return NoSnapshots();
  }
  absl::StatusOr<SnapshotConfig> GetSnapshot(absl::string_view) override { return NoSnapshots(); }
  absl::StatusOr<std::vector<SnapshotConfig>> ListSnapshots(const NameScope&, absl::string_view,
                                                            int) override {
    return NoSnapshots();
  }
  absl::Status UpdateSnapshot(const SnapshotConfig&) override { return NoSnapshots(); }
  absl::Status DeleteSnapshot(absl::string_view) override { return NoSnapshots(); }
  absl::Status SeekToSnapshot(const SubscriptionRecord&, absl::string_view) override {
    return NoSnapshots();
  }
  static absl::Status NoSnapshots() {
    return absl::UnimplementedError("the fake store keeps no snapshots");
  }
  // Schemas too: the engine's unit tests publish to topics without one.
  absl::StatusOr<SchemaRevision> CreateSchema(const SchemaRevision&) override {
    return NoSchemas();
  }
  absl::StatusOr<SchemaRevision> GetSchema(absl::string_view, absl::string_view) override {
    return NoSchemas();
  }
  absl::StatusOr<std::vector<SchemaRevision>> ListSchemas(const NameScope&, absl::string_view,
                                                          int) override {
    return NoSchemas();
  }
  absl::StatusOr<std::vector<SchemaRevision>> ListSchemaRevisions(absl::string_view,
                                                                  absl::string_view, int) override {
    return NoSchemas();
  }
  absl::StatusOr<SchemaRevision> CommitSchema(const SchemaRevision&, absl::string_view) override {
    return NoSchemas();
  }
  absl::StatusOr<SchemaRevision> DeleteSchemaRevision(absl::string_view,
                                                      absl::string_view) override {
    return NoSchemas();
  }
  absl::Status DeleteSchema(absl::string_view) override { return NoSchemas(); }
  absl::StatusOr<std::vector<TopicConfig>> SchemaTopics(absl::string_view) override {
    return NoSchemas();
  }
  // Access policies too: the engine's unit tests run without them.
  absl::StatusOr<AccessPolicy> GetAccessPolicy(absl::string_view) override { return NoSchemas(); }
  absl::StatusOr<AccessPolicy> SetAccessPolicy(absl::string_view, absl::string_view,
                                               int64_t) override {
    return NoSchemas();
  }
  absl::StatusOr<int64_t> AccessPolicyGeneration() override { return NoSchemas(); }
  absl::StatusOr<std::vector<AccessPolicy>> ListAccessPolicies() override { return NoSchemas(); }
  static absl::Status NoSchemas() {
    return absl::UnimplementedError("the fake store keeps no schemas");
  }
  absl::Status DeleteSubscription(absl::string_view name) override {
    absl::MutexLock lock(&mu_);
    return subs_.erase(std::string(name)) ? absl::OkStatus() : absl::NotFoundError("subscription");
  }
  absl::Status UpdateSubscription(const SubscriptionConfig& sub) override {
    absl::MutexLock lock(&mu_);
    auto it = subs_.find(sub.name);
    if (it == subs_.end()) return absl::NotFoundError("subscription");
    it->second.record.config = sub;
    return absl::OkStatus();
  }

  absl::Status Publish(absl::Span<PublishItem* const> items) override {
    absl::SleepFor(publish_delay);
    {
      absl::MutexLock lock(&mu_);
      ++publish_calls;
      for (PublishItem* item : items) Store(*item);
    }
    Announce(items);
    return absl::OkStatus();
  }

  // New messages, by the engine's claim rule over every message from the
  // cursor; due rows (see ExpireLeases) first, by its redelivery rule.
  absl::StatusOr<std::vector<Delivery>> Claim(const SubscriptionRecord& sub, int max_messages,
                                              int64_t max_bytes,
                                              absl::Duration ack_deadline) override {
    ++claims;
    absl::SleepFor(claim_delay);
    absl::MutexLock lock(&mu_);
    Sub* s = FindSub(sub.id);
    if (s == nullptr) return absl::NotFoundError("subscription");
    std::vector<LeaseRow> due;
    for (auto& [id, row] : s->rows) {
      if (!row.valid) due.push_back(row);
    }
    // No clock here: every message is due (delayed delivery is tested
    // against PgStore).
    std::vector<Delivery> out =
        Apply(*s, PlanRedelivery(sub, due, max_messages, max_bytes, ack_deadline, NotDue{}));
    const std::vector<Message>& messages = TopicById(sub.topic_id).messages;
    std::vector<ScannedMessage> scan;
    for (int64_t p = s->cursor; p <= static_cast<int64_t>(messages.size()); ++p) {
      const Message& m = messages[p - 1];
      scan.push_back({p, m.attributes, m.ordering_key, static_cast<int64_t>(m.data.size())});
    }
    std::map<std::string, int64_t> keyed_rows;
    for (const auto& [id, row] : s->rows) {
      if (!row.ordering_key.empty()) keyed_rows[row.ordering_key] = id;
    }
    const int room = max_messages - static_cast<int>(out.size());
    if (room <= 0) return out;
    NewClaimPlan plan = PlanNewClaim(sub, s->cursor, scan, static_cast<int>(scan.size()) + 1,
                                     keyed_rows, room, max_bytes, ack_deadline);
    s->cursor = plan.next_cursor;
    for (Delivery& d : Apply(*s, std::move(plan.claim))) out.push_back(std::move(d));
    return out;
  }
  // As the store's acknowledge statement: positions leave their rows.
  absl::Status Acknowledge(absl::Span<const AckRef> acks) override {
    absl::MutexLock lock(&mu_);
    for (const AckRef& a : acks) {
      if (Sub* s = FindSub(a.subscription_id)) {
        auto row = s->rows.find(a.id.lease_id);
        if (row != s->rows.end()) {
          std::erase(row->second.pending, a.id.position);
          if (row->second.pending.empty()) s->rows.erase(row);
        }
        ++acked;
      }
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<AckStatus>> Settle(const SubscriptionRecord& sub,
                                                absl::Span<const AckId> ids, SettleKind kind,
                                                absl::string_view) override {
    absl::MutexLock lock(&mu_);
    (kind == SettleKind::kAck ? settled_acks : rejected) += static_cast<int>(ids.size());
    Sub* s = FindSub(sub.id);
    if (s == nullptr) return absl::NotFoundError("subscription");
    SettlePlan plan = PlanSettle(sub.config.delivery_guarantee, s->rows, ids);
    Write(*s, plan.changes);
    return plan.statuses;
  }
  absl::StatusOr<TransactResult> Transact(const SubscriptionRecord& sub,
                                          absl::Span<const AckId> ids,
                                          absl::Span<PublishItem* const> publishes) override {
    absl::StatusOr<TransactResult> result = Commit(sub, ids, publishes);
    if (result.ok()) Announce(publishes);
    return result;
  }
  absl::StatusOr<TransactResult> Commit(const SubscriptionRecord& sub, absl::Span<const AckId> ids,
                                        absl::Span<PublishItem* const> publishes) {
    absl::MutexLock lock(&mu_);
    ++transactions;
    Sub* s = FindSub(sub.id);
    if (s == nullptr) return absl::NotFoundError("subscription");
    SettlePlan plan = PlanSettle(sub.config.delivery_guarantee, s->rows, ids);
    if (sub.config.delivery_guarantee == DeliveryGuarantee::kExactlyOnce) {
      for (AckStatus status : plan.statuses) {
        if (status != AckStatus::kOk) return absl::AbortedError("an ack id is not OK");
      }
    }
    Write(*s, plan.changes);
    for (PublishItem* item : publishes) Store(*item);
    return TransactResult{std::move(plan.statuses)};
  }
  absl::Status Seek(const SubscriptionRecord&, absl::Time) override { return absl::OkStatus(); }
  absl::Status Nack(const SubscriptionRecord& sub, absl::Span<const AckId> ids) override {
    absl::MutexLock lock(&mu_);
    nacked += static_cast<int>(ids.size());
    Sub* s = FindSub(sub.id);
    if (s == nullptr) return absl::OkStatus();
    std::vector<LeaseRow> rows;
    for (const auto& [id, row] : s->rows) rows.push_back(row);
    Write(*s, PlanNack(sub, rows, ids));
    return absl::OkStatus();
  }
  absl::Status ExtendLeases(const SubscriptionRecord&, absl::Span<const AckId>,
                            absl::Duration) override {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<Replica>> ListReplicas() override {
    return std::vector<Replica>{{"hubd fake 1", 1, 0, absl::UnixEpoch()}};
  }

  absl::StatusOr<std::vector<SubscriptionStats>> GetSubscriptionStats(
      absl::string_view name) override {
    absl::MutexLock lock(&mu_);
    auto it = subs_.find(std::string(name));
    if (it == subs_.end()) return absl::NotFoundError("subscription");
    const Sub& s = it->second;
    SubscriptionStats stats{s.record.config.name, s.record.config.topic, 0, 0, std::nullopt};
    stats.backlog_messages =
        static_cast<int64_t>(TopicById(s.record.topic_id).messages.size()) - (s.cursor - 1);
    for (const auto& [lease, row] : s.rows) {
      stats.unacked_messages += static_cast<int64_t>(row.pending.size());
    }
    return std::vector<SubscriptionStats>{stats};
  }
  // As the store does: this store's commits are announced after them.
  void WatchPublishes(std::function<void(int64_t)> on_publish) override {
    on_publish_ = std::move(on_publish);
  }
  absl::StatusOr<MaintenanceReport> Maintain() override { return MaintenanceReport{}; }
  absl::Status MarkActive(const std::vector<std::string>&) override { return absl::OkStatus(); }
  // Inspection is PgStore's alone; the engine's tests of it run against
  // PostgreSQL (tests/integration/inspection_test.cc).
  absl::StatusOr<StoredMessage> GetMessage(absl::string_view, int64_t) override {
    return absl::UnimplementedError("FakeStore does not inspect");
  }
  absl::StatusOr<TopicWindow> ReadTopic(absl::string_view, int64_t, int64_t) override {
    return absl::UnimplementedError("FakeStore does not inspect");
  }
  absl::StatusOr<int64_t> PositionAt(absl::string_view, absl::Time) override {
    return absl::UnimplementedError("FakeStore does not inspect");
  }
  absl::StatusOr<InspectPage> InspectSubscription(const SubscriptionRecord&, MessageState, int64_t,
                                                  int) override {
    return absl::UnimplementedError("FakeStore does not inspect");
  }
  absl::StatusOr<RedriveResult> Redrive(const SubscriptionRecord&, const RedriveSelection&,
                                        int) override {
    return absl::UnimplementedError("FakeStore does not redrive");
  }
  // Due rows out of attempts leave by the redelivery rule with room for no
  // delivery, as PgStore's sweep does; the letters are counted.
  absl::Status MoveDeadLetters() override {
    absl::MutexLock lock(&mu_);
    for (auto& [name, s] : subs_) {
      if (s.record.config.dead_letter_policy.topic.empty()) continue;
      std::vector<LeaseRow> due;
      for (const auto& [id, row] : s.rows) {
        if (!row.valid && row.attempt >= s.record.config.dead_letter_policy.max_delivery_attempts) {
          due.push_back(row);
        }
      }
      const ClaimPlan plan = PlanRedelivery(s.record, due, 0, 0, absl::ZeroDuration(), NotDue{});
      dead_lettered += static_cast<int>(plan.changes.dead_letters.size());
      Write(s, plan.changes);
    }
    return absl::OkStatus();
  }
  absl::Status Ping() override { return absl::OkStatus(); }

  absl::Duration publish_delay = absl::ZeroDuration();
  absl::Duration claim_delay = absl::ZeroDuration();
  std::atomic<int> claims{0};
  std::atomic<int> subscription_reads{0};
  std::atomic<int> publish_calls{0};
  std::atomic<int> acked{0};
  std::atomic<int> nacked{0};
  std::atomic<int> subscriptions_created{0};
  std::atomic<int> settled_acks{0};
  std::atomic<int> rejected{0};
  std::atomic<int> transactions{0};
  std::atomic<int> dead_lettered{0};

  // Every lease runs out: acks of their deliveries are EXPIRED on
  // exactly-once, and the next claim redelivers them.
  void ExpireLeases() {
    absl::MutexLock lock(&mu_);
    for (auto& [name, s] : subs_) {
      for (auto& [id, row] : s.rows) row.valid = false;
    }
  }

 private:
  struct Topic {
    int64_t id;
    TopicConfig config;
    std::vector<Message> messages;
  };
  struct Sub {
    SubscriptionRecord record;
    int64_t cursor;                    // the next position to claim; positions count from 1
    std::map<int64_t, LeaseRow> rows;  // valid: the lease runs
  };
  void Announce(absl::Span<PublishItem* const> items) {
    for (const PublishItem* item : items) {
      if (item->status.ok() && on_publish_) on_publish_(item->topic_id);
    }
  }
  void Store(PublishItem& item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto topic = topics_.find(item.topic);
    if (topic == topics_.end()) {
      item.status = absl::NotFoundError("topic");
      return;
    }
    item.topic_id = topic->second.id;
    for (const Message& m : item.messages) {
      topic->second.messages.push_back(m);
      item.results.push_back({absl::StrCat(topic->second.messages.size()), false});
    }
  }
  // Writes lease changes as the store would; returns the new rows' ids.
  std::vector<int64_t> Write(Sub& s, const LeaseChanges& changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const LeaseRewrite& r : changes.rewrites) {
      LeaseRow& row = s.rows[r.lease_id];
      row.pending = r.pending;
      row.attempt = r.attempt;
      row.generation = r.generation;
      row.last_end = r.last_end;
      row.valid = r.hold > absl::ZeroDuration();
      row.run_end = r.run_end;
    }
    for (const PendingChange& c : changes.set_pending) s.rows[c.lease_id].pending = c.positions;
    for (const PendingChange& c : changes.append_pending) {
      std::vector<int64_t>& pending = s.rows[c.lease_id].pending;
      pending.insert(pending.end(), c.positions.begin(), c.positions.end());
    }
    std::vector<int64_t> inserted;
    for (const LeaseInsert& i : changes.inserts) {
      const int64_t id = next_id_++;
      s.rows[id] = LeaseRow{
          id, i.pending, i.attempt, 1, i.ordering_key, i.last_end, i.hold > absl::ZeroDuration(),
          0,  i.run_end};
      inserted.push_back(id);
    }
    for (int64_t id : changes.deletes) s.rows.erase(id);
    return inserted;
  }
  std::vector<Delivery> Apply(Sub& s, ClaimPlan plan) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::vector<int64_t> inserted = Write(s, plan.changes);
    const std::vector<Message>& messages = TopicById(s.record.topic_id).messages;
    std::vector<Delivery> out;
    for (const Leased& l : plan.leased) {
      const int64_t lease_id = l.insert >= 0 ? inserted[l.insert] : l.lease_id;
      out.push_back(Delivery{EncodeAckId({lease_id, l.generation, l.position}),
                             messages[l.position - 1], l.attempt});
    }
    return out;
  }
  Sub* FindSub(int64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto& [name, s] : subs_) {
      if (s.record.id == id) return &s;
    }
    return nullptr;
  }
  Topic& TopicById(int64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto& [name, t] : topics_) {
      if (t.id == id) return t;
    }
    std::abort();
  }

  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<std::string, Topic> topics_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Sub> subs_ ABSL_GUARDED_BY(mu_);
  std::function<void(int64_t)> on_publish_;  // set before any publish
};

}  // namespace hub::testing

#endif  // HUB_TESTING_FAKE_STORE_H_
