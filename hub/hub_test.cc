// The engine's decisions against a fake store: validation before any write,
// group commit, wake-ups, flow control, shutdown.
#include "hub/hub.h"

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "hub/filter.h"
#include "hub/lease_rules.h"

namespace hub {
namespace {

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
  absl::StatusOr<std::vector<TopicConfig>> ListTopics(absl::string_view after, int limit) override {
    absl::MutexLock lock(&mu_);
    std::vector<TopicConfig> out;
    for (auto it = topics_.upper_bound(std::string(after));
         it != topics_.end() && static_cast<int>(out.size()) < limit; ++it) {
      out.push_back(it->second.config);
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
    absl::MutexLock lock(&mu_);
    auto it = subs_.find(std::string(name));
    if (it == subs_.end()) return absl::NotFoundError("subscription");
    return it->second.record;
  }
  absl::StatusOr<std::vector<SubscriptionConfig>> ListSubscriptions(absl::string_view,
                                                                    absl::string_view,
                                                                    int) override {
    return std::vector<SubscriptionConfig>{};
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
    absl::MutexLock lock(&mu_);
    ++publish_calls;
    for (PublishItem* item : items) Store(*item);
    return absl::OkStatus();
  }

  // New messages, by the engine's claim rule over every message from the
  // cursor; due rows (see ExpireLeases) first, by its redelivery rule.
  absl::StatusOr<std::vector<Delivery>> Claim(const SubscriptionRecord& sub, int max_messages,
                                              int64_t max_bytes,
                                              absl::Duration ack_deadline) override {
    absl::MutexLock lock(&mu_);
    Sub* s = FindSub(sub.id);
    if (s == nullptr) return absl::NotFoundError("subscription");
    std::vector<LeaseRow> due;
    for (auto& [id, row] : s->rows) {
      if (!row.valid) due.push_back(row);
    }
    std::vector<Delivery> out = Apply(*s, PlanRedelivery(sub, due, max_messages, ack_deadline));
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
  void WatchPublishes(std::function<void(int64_t)>) override {}
  absl::StatusOr<MaintenanceReport> Maintain() override { return MaintenanceReport{}; }
  absl::Status Ping() override { return absl::OkStatus(); }

  absl::Duration publish_delay = absl::ZeroDuration();
  std::atomic<int> publish_calls{0};
  std::atomic<int> acked{0};
  std::atomic<int> nacked{0};
  std::atomic<int> subscriptions_created{0};
  std::atomic<int> settled_acks{0};
  std::atomic<int> rejected{0};
  std::atomic<int> transactions{0};

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
          id, i.pending, i.attempt, 1, i.ordering_key, i.last_end, i.hold > absl::ZeroDuration()};
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
};

class HubTest : public ::testing::Test {
 protected:
  HubOptions Options() {
    HubOptions o;
    o.publish_committers = 1;
    // Long enough that a test passing on time proves a wake-up, not a poll.
    o.poll_interval = absl::Seconds(10);
    return o;
  }

  void SetUp() override {
    hub_ = std::make_unique<Hub>(store_, Options(), probe_);
    TopicConfig topic;
    topic.name = "orders";
    ASSERT_TRUE(hub_->CreateTopic(topic).ok());
    SubscriptionConfig sub;
    sub.name = "billing";
    sub.topic = "orders";
    ASSERT_TRUE(hub_->CreateSubscription(sub).ok());
  }

  // The ack id of the one message a Pull of `subscription` gets.
  std::string PullOne(absl::string_view subscription) {
    absl::StatusOr<std::vector<Delivery>> got = hub_->Pull(subscription, 1, absl::ZeroDuration());
    EXPECT_TRUE(got.ok() && got->size() == 1u);
    return got.ok() && !got->empty() ? got->front().ack_id : "";
  }

  absl::Status PublishData(const std::string& data) {
    Message m;
    m.data = data;
    return hub_->Publish("orders", {m}).status();
  }

  FakeStore store_;
  prometheus::Registry registry_;
  HubProbe probe_{registry_};
  std::unique_ptr<Hub> hub_;
};

TEST_F(HubTest, InvalidPublishNeverReachesTheStore) {
  Message empty;
  EXPECT_EQ(hub_->Publish("orders", {empty}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hub_->Publish("bad name", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.publish_calls.load(), 0);
}

TEST_F(HubTest, StatsCountBacklogAndUnacked) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(PublishData(absl::StrCat(i)).ok());
  ASSERT_TRUE(hub_->Pull("billing", 2, absl::ZeroDuration()).ok());
  absl::StatusOr<SubscriptionStats> stats = hub_->GetSubscriptionStats("billing");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->backlog_messages, 3);
  EXPECT_EQ(stats->unacked_messages, 2);
  EXPECT_EQ(hub_->GetSubscriptionStats("x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hub_->GetSubscriptionStats("missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(HubTest, ConcurrentPublishesShareTransactions) {
  store_.publish_delay = absl::Milliseconds(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([this, i] { EXPECT_TRUE(PublishData(absl::StrCat(i)).ok()); });
  }
  for (auto& t : threads) t.join();
  // One committer: the first call commits alone, the other 19 queue behind
  // it and share one or two more transactions.
  EXPECT_LE(store_.publish_calls.load(), 4);
}

TEST_F(HubTest, PublishToMissingTopicIsNotFound) {
  Message m;
  m.data = "x";
  EXPECT_EQ(hub_->Publish("missing", {m}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(HubTest, WaitingPullWakesOnPublishNotOnPoll) {
  std::thread publisher([this] {
    absl::SleepFor(absl::Milliseconds(200));
    EXPECT_TRUE(PublishData("late").ok());
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<Delivery>> got = hub_->Pull("billing", 10, absl::Seconds(5));
  publisher.join();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].message.data, "late");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(HubTest, PullWithoutWaitReturnsEmptyAtOnce) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<Delivery>> got = hub_->Pull("billing", 10, absl::ZeroDuration());
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(HubTest, StreamHoldsAtItsOutstandingLimitUntilAcked) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(PublishData(absl::StrCat(i)).ok());
  StreamSettings settings;
  settings.subscription = "billing";
  settings.max_outstanding_messages = 3;
  auto session = hub_->OpenStream(settings);
  ASSERT_TRUE(session.ok());
  absl::StatusOr<std::vector<Delivery>> first = (*session)->Next();
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 3u);

  std::atomic<bool> returned{false};
  std::thread next([&] {
    absl::StatusOr<std::vector<Delivery>> more = (*session)->Next();
    ASSERT_TRUE(more.ok());
    EXPECT_EQ(more->size(), 1u);  // room for exactly the one acked
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(returned.load());
  StreamRequest ack;
  ack.ack_ids = {(*first)[0].ack_id};
  ASSERT_TRUE((*session)->Handle(ack).ok());
  next.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(store_.acked.load(), 1);
}

TEST_F(HubTest, StreamRejectsMismatchedModifyArrays) {
  auto session = hub_->OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_TRUE(session.ok());
  StreamRequest bad;
  bad.modify_deadline_ack_ids = {"1-1-1", "1-1-2"};
  bad.modify_deadline_seconds = {10};
  EXPECT_EQ((*session)->Handle(bad).status().code(), absl::StatusCode::kInvalidArgument);
  StreamRequest too_long;
  too_long.modify_deadline_ack_ids = {"1-1-1"};
  too_long.modify_deadline_seconds = {601};
  EXPECT_EQ((*session)->Handle(too_long).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HubTest, NackIdsReachTheStore) {
  auto session = hub_->OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_TRUE(session.ok());
  StreamRequest nack;
  nack.nack_ids = {"1-1-1", "garbage"};
  nack.modify_deadline_ack_ids = {"1-1-2"};
  nack.modify_deadline_seconds = {0};
  ASSERT_TRUE((*session)->Handle(nack).ok());
  EXPECT_EQ(store_.nacked.load(), 2);  // the malformed id is dropped
}

TEST_F(HubTest, ShutdownEndsWaitingStreamsWithUnavailable) {
  auto session = hub_->OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_TRUE(session.ok());
  absl::StatusCode code = absl::StatusCode::kOk;
  std::thread next([&] { code = (*session)->Next().status().code(); });
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time start = absl::Now();
  hub_->Shutdown();
  next.join();
  EXPECT_EQ(code, absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(PublishData("after").code(), absl::StatusCode::kUnavailable);
}

TEST_F(HubTest, DeletedSubscriptionEndsTheStreamWithNotFound) {
  auto session = hub_->OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE(hub_->DeleteSubscription("billing").ok());
  EXPECT_EQ((*session)->Next().status().code(), absl::StatusCode::kNotFound);
}

TEST_F(HubTest, AcknowledgeReportsMalformedIdsInvalid) {
  absl::StatusOr<std::vector<AckResult>> results = hub_->Acknowledge("billing", {"1-1-1", "nope"});
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0].status, AckStatus::kOk);
  EXPECT_EQ((*results)[1].status, AckStatus::kInvalid);
}

TEST_F(HubTest, MalformedFilterAndMissingDeadLetterTopicAreRefusedBeforeStoring) {
  const int before = store_.subscriptions_created.load();
  SubscriptionConfig sub;
  sub.name = "filtered";
  sub.topic = "orders";
  sub.filter = "attributes.kind = order";
  EXPECT_EQ(hub_->CreateSubscription(sub).status().code(), absl::StatusCode::kInvalidArgument);
  sub.filter = "";
  sub.dead_letter_policy.topic = "nowhere";
  EXPECT_EQ(hub_->CreateSubscription(sub).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.subscriptions_created.load(), before);
}

SubscriptionConfig NewSubscription(const std::string& name, DeliveryGuarantee g) {
  SubscriptionConfig sub;
  sub.name = name;
  sub.topic = "orders";
  sub.delivery_guarantee = g;
  return sub;
}

TEST_F(HubTest, AcksAreRoutedByGuarantee) {
  ASSERT_TRUE(
      hub_->CreateSubscription(NewSubscription("most", DeliveryGuarantee::kAtMostOnce)).ok());
  ASSERT_TRUE(
      hub_->CreateSubscription(NewSubscription("exact", DeliveryGuarantee::kExactlyOnce)).ok());
  ASSERT_TRUE(hub_->Acknowledge("billing", {"1-1-1"}).ok());
  EXPECT_EQ(store_.acked.load(), 1);  // the batched path
  ASSERT_TRUE(hub_->Acknowledge("most", {"1-1-2"}).ok());
  EXPECT_EQ(store_.acked.load() + store_.settled_acks.load(), 1);  // nothing to do
  ASSERT_TRUE(PublishData("due").ok());
  const std::string held = PullOne("exact");
  store_.ExpireLeases();
  absl::StatusOr<std::vector<AckResult>> results = hub_->Acknowledge("exact", {held, "bad"});
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(store_.settled_acks.load(), 1);
  EXPECT_EQ((*results)[0].status, AckStatus::kExpired);  // the store's word
  EXPECT_EQ((*results)[1].status, AckStatus::kInvalid);
}

TEST_F(HubTest, ExactlyOnceStreamReportsAckResults) {
  ASSERT_TRUE(
      hub_->CreateSubscription(NewSubscription("exact", DeliveryGuarantee::kExactlyOnce)).ok());
  auto exact = hub_->OpenStream(StreamSettings{"exact", 0, 0, 0});
  auto plain = hub_->OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_TRUE(exact.ok() && plain.ok());
  ASSERT_TRUE(PublishData("once").ok());
  absl::StatusOr<std::vector<Delivery>> delivered = (*exact)->Next();
  ASSERT_TRUE(delivered.ok() && delivered->size() == 1u);
  StreamRequest ack;
  ack.ack_ids = {delivered->front().ack_id};
  absl::StatusOr<std::vector<AckResult>> reported = (*exact)->Handle(ack);
  ASSERT_TRUE(reported.ok());
  ASSERT_EQ(reported->size(), 1u);
  EXPECT_EQ((*reported)[0].status, AckStatus::kOk);
  reported = (*plain)->Handle(ack);
  ASSERT_TRUE(reported.ok());
  EXPECT_TRUE(reported->empty());
}

TEST_F(HubTest, TransactOnExactlyOnceAbortsOnAMalformedAckIdWithoutCallingTheStore) {
  ASSERT_TRUE(
      hub_->CreateSubscription(NewSubscription("exact", DeliveryGuarantee::kExactlyOnce)).ok());
  Message m;
  m.data = "out";
  std::vector<TransactPublish> publishes = {{"orders", {m}}};
  EXPECT_EQ(hub_->Transact("exact", {"garbage"}, publishes).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store_.transactions.load(), 0);
  ASSERT_TRUE(PublishData("in").ok());
  absl::StatusOr<TransactOutcome> ok = hub_->Transact("exact", {PullOne("exact")}, publishes);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->publish_results.size(), 1u);
  EXPECT_EQ(store_.transactions.load(), 1);
  Message empty;
  EXPECT_EQ(hub_->Transact("exact", {"1-1-1"}, {{"orders", {empty}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HubTest, UpdateSubscriptionRefusesFixedAndUnknownFields) {
  SubscriptionConfig update;
  update.name = "billing";
  update.ack_deadline_seconds = 45;
  absl::StatusOr<SubscriptionConfig> updated =
      hub_->UpdateSubscription(update, {"ack_deadline_seconds"});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->ack_deadline_seconds, 45);
  EXPECT_EQ(updated->topic, "orders");  // untouched
  for (const char* path : {"topic", "delivery_guarantee", "enable_message_ordering", "nope"}) {
    EXPECT_EQ(hub_->UpdateSubscription(update, {path}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << path;
  }
  EXPECT_EQ(hub_->UpdateSubscription(update, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HubTest, UpdateTopicChangesOnlyTheNamedFields) {
  TopicConfig update;
  update.name = "orders";
  update.dedup_window = absl::Minutes(5);
  update.labels = {{"team", "sales"}};
  absl::StatusOr<TopicConfig> updated = hub_->UpdateTopic(update, {"dedup_window"});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->dedup_window, absl::Minutes(5));
  EXPECT_TRUE(updated->labels.empty());
  EXPECT_EQ(hub_->UpdateTopic(update, {"name"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HubTest, SubscriptionDefaultsAreApplied) {
  SubscriptionConfig sub;
  sub.name = "defaults";
  sub.topic = "orders";
  sub.ack_deadline_seconds = 0;
  absl::StatusOr<SubscriptionConfig> created = hub_->CreateSubscription(sub);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->ack_deadline_seconds, 30);
}

TEST_F(HubTest, ListTopicsPages) {
  for (const char* name : {"alpha", "bravo", "charlie"}) {
    TopicConfig t;
    t.name = name;
    ASSERT_TRUE(hub_->CreateTopic(t).ok());
  }
  absl::StatusOr<Page<TopicConfig>> page = hub_->ListTopics(2, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->next_page_token, "bravo");
  page = hub_->ListTopics(2, page->next_page_token);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);  // charlie, orders
  EXPECT_EQ(page->next_page_token, "");
}

}  // namespace
}  // namespace hub
