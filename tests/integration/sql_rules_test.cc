// Rules of the engine that SQL repeats for speed (STYLE.md, 12), each run
// both ways over one table of cases: the retry backoff (RetryBackoff and
// hub_retry_backoff_ms), the plain claim (PlanNewClaim and kClaimNew) and
// the plain at-least-once ack (PlanSettle and kAcknowledge). Also the
// poison message whose attempt count once overflowed the extension
// statement.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "hub/backoff.h"
#include "hub/filter.h"
#include "hub/lease_rules.h"
#include "hub/pg/connection.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/statements.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

using pg::IntArray;
using pg::Millis;
using pg::ParseIntArray;

class SqlRulesTest : public HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    conn_ = std::make_unique<pg::Connection>(url_);
    for (const pg::Statement* s : {&pg::sql::kClaimNew, &pg::sql::kAcknowledge}) {
      conn_->prepare(s->name, s->text);
    }
    ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  }

  int64_t Id(const std::string& sql) {
    pqxx::nontransaction tx(*conn_);
    return tx.exec1(sql)[0].as<int64_t>();
  }

  // The lease rows of a subscription: lease id -> pending positions.
  std::map<int64_t, std::vector<int64_t>> Rows(int64_t sub_id) {
    pqxx::nontransaction tx(*conn_);
    std::map<int64_t, std::vector<int64_t>> rows;
    for (const auto& row : tx.exec(absl::StrCat(
             "SELECT lease_id, pending::text FROM leases WHERE subscription_id = ", sub_id))) {
      rows[row[0].as<int64_t>()] = ParseIntArray(row[1].c_str());
    }
    return rows;
  }

  std::unique_ptr<pg::Connection> conn_;
};

// The table of the issue: attempts 0, 1, 2, 31, 1,025 and 1,000,000 under
// a zero policy, an equal one, and an ordinary one (and Pub/Sub's default).
TEST_F(SqlRulesTest, RetryBackoffSqlAndCppAgree) {
  const std::vector<RetryPolicy> policies = {
      {absl::ZeroDuration(), absl::ZeroDuration()}, {absl::Seconds(10), absl::Seconds(10)},
      {absl::Milliseconds(100), absl::Seconds(60)}, {absl::Seconds(10), absl::Seconds(600)},
      {absl::Seconds(600), absl::Seconds(600)},
  };
  pqxx::nontransaction tx(*conn_);
  for (const RetryPolicy& policy : policies) {
    for (int attempt : {0, 1, 2, 3, 31, 1025, 1000000}) {
      const int64_t sql =
          tx.exec_params1("SELECT hub_retry_backoff_ms($1, $2, $3)", Millis(policy.minimum_backoff),
                          Millis(policy.maximum_backoff), attempt)[0]
              .as<int64_t>();
      EXPECT_EQ(sql, Millis(RetryBackoff(policy, attempt)))
          << policy.minimum_backoff << ".." << policy.maximum_backoff << " attempt " << attempt;
    }
  }
}

// A message delivered past 1,025 times (the attempt set in its row) has its
// lease extended with the others of the same call, and so do they.
TEST_F(SqlRulesTest, APoisonMessagePastAThousandAttemptsIsExtendedWithTheOthers) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders", 10).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(PublishOne(*publisher_, "orders", "m", "").ok());
  std::vector<std::string> ack_ids;
  for (int max : {1, 2}) {  // two lease rows: the poison's and the others'
    v1::PullResponse resp;
    ASSERT_TRUE(Pull(*subscriber_, "billing", max, absl::Seconds(2), &resp).ok());
    ASSERT_EQ(resp.received_messages_size(), max);
    for (const auto& m : resp.received_messages()) ack_ids.push_back(m.ack_id());
  }
  ASSERT_EQ(CountRows("SELECT count(*) FROM leases"), 2);
  for (int attempt : {1025, 1000000}) {
    {
      pqxx::nontransaction tx(*conn_);
      tx.exec(absl::StrCat("UPDATE leases SET attempt = ", attempt,
                           " WHERE lease_id = (SELECT min(lease_id) FROM leases)"));
    }
    grpc::ClientContext ctx;
    v1::ModifyAckDeadlineRequest req;
    req.set_subscription("billing");
    for (const std::string& id : ack_ids) req.add_ack_ids(id);
    req.set_ack_deadline_seconds(300);
    v1::ModifyAckDeadlineResponse resp;
    const grpc::Status s = subscriber_->ModifyAckDeadline(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    EXPECT_EQ(CountRows("SELECT count(*) FROM leases WHERE expires_at > now() + interval '250 s'"),
              2)
        << attempt;
  }
}

// kClaimNew against PlanNewClaim for plain subscriptions: one subscription
// per case, all made before the messages of mixed sizes are published (as
// two segments, so that claims cut segments and span them), then claimed
// once by the statement; the leased positions, the lease row and the cursor
// are what the plan says.
TEST_F(SqlRulesTest, PlainClaimSqlAndPlanNewClaimAgree) {
  struct Case {
    int max_messages;
    int64_t max_bytes;
  };
  const std::vector<Case> cases = {{1, 0},     {1, 1000000}, {3, 1000000}, {50, 1000000},
                                   {10, 0},    {10, 104},    {10, 105},    {10, 1100},
                                   {10, 1109}, {10, 1110},   {20, 2000}};
  const std::vector<int> sizes = {5, 100, 3, 0, 1000, 7, 2, 500, 1, 1, 60, 9};
  for (size_t i = 0; i < cases.size(); ++i) {
    ASSERT_TRUE(CreateSubscription(*subscriber_, absl::StrCat("case-", i), "orders").ok());
  }
  for (const auto& [from, to] : {std::pair<size_t, size_t>{0, 5}, {5, sizes.size()}}) {
    v1::PublishRequest req;
    req.set_topic("orders");
    for (size_t k = from; k < to; ++k) {
      auto* m = req.add_messages();
      m->set_data(std::string(static_cast<size_t>(sizes[k]), 'x'));
      if (sizes[k] == 0) (*m->mutable_attributes())["empty"] = "yes";
    }
    grpc::ClientContext ctx;
    v1::PublishResponse resp;
    ASSERT_TRUE(publisher_->Publish(&ctx, req, &resp).ok());
  }
  const int64_t topic_id = Id("SELECT id FROM topics WHERE name = 'orders'");
  const absl::Duration deadline = absl::Seconds(10);
  const RetryPolicy retry{absl::Seconds(1), absl::Seconds(4)};
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const int64_t sub_id =
        Id(absl::StrCat("SELECT id FROM subscriptions WHERE name = 'case-", i, "'"));
    const int64_t cursor = Id(absl::StrCat(
        "SELECT next_position FROM subscription_cursors WHERE subscription_id = ", sub_id));
    std::vector<ScannedMessage> scan;
    for (size_t k = 0; k < sizes.size(); ++k) {
      scan.push_back({cursor + static_cast<int64_t>(k), {}, "", sizes[k]});
    }
    SubscriptionRecord sub{sub_id, topic_id, SubscriptionConfig{},
                           std::make_shared<const Filter>()};
    sub.config.retry_policy = retry;
    const NewClaimPlan plan = PlanNewClaim(sub, cursor, scan, static_cast<int>(sizes.size()) + 1,
                                           {}, c.max_messages, c.max_bytes, deadline);
    std::vector<int64_t> planned;
    for (const Leased& l : plan.claim.leased) planned.push_back(l.position);

    std::vector<int64_t> claimed;
    {
      // One row per segment the claim took from, each with the run taken.
      pqxx::work tx(*conn_);
      const pqxx::result rows =
          pg::Exec(tx, pg::sql::kClaimNew, sub_id, topic_id, c.max_messages, Millis(deadline),
                   Millis(RetryBackoff(retry, 1)), c.max_bytes);
      if (!rows.empty()) {
        for (int64_t p = rows[0][1].as<int64_t>(); p <= rows[0][2].as<int64_t>(); ++p) {
          claimed.push_back(p);
        }
      }
      tx.commit();
    }
    const std::string label = absl::StrCat("max ", c.max_messages, " bytes ", c.max_bytes);
    EXPECT_EQ(claimed, planned) << label;
    EXPECT_EQ(Id(absl::StrCat("SELECT next_position FROM subscription_cursors "
                              "WHERE subscription_id = ",
                              sub_id)),
              plan.next_cursor)
        << label;
    ASSERT_EQ(plan.claim.changes.inserts.size(), 1u) << label;
    const LeaseInsert& insert = plan.claim.changes.inserts[0];
    pqxx::nontransaction tx(*conn_);
    const pqxx::row row =
        tx.exec1(absl::StrCat("SELECT pending::text, attempt, generation, "
                              "(extract(epoch FROM available_at - expires_at) * 1000)::bigint "
                              "FROM leases WHERE subscription_id = ",
                              sub_id));
    EXPECT_EQ(ParseIntArray(row[0].c_str()), insert.pending) << label;
    EXPECT_EQ(row[1].as<int>(), insert.attempt) << label;
    EXPECT_EQ(row[2].as<int>(), 1) << label;
    EXPECT_EQ(row[3].as<int64_t>(), Millis(insert.due - insert.hold)) << label;
  }
}

// kAcknowledge against PlanSettle for at-least-once: the same lease rows
// written for both, the same acks applied by the statement and by the
// plan's changes; the rows left must be equal. The ids are the ones a hub
// can have issued: a row's current generation or an earlier one (at
// least-once takes an ack of any earlier delivery; the statement does not
// read generations because no later one exists).
TEST_F(SqlRulesTest, PlainAckSqlAndPlanSettleAgree) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "sub-a", "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "sub-b", "orders").ok());
  const int64_t a = Id("SELECT id FROM subscriptions WHERE name = 'sub-a'");
  const int64_t b = Id("SELECT id FROM subscriptions WHERE name = 'sub-b'");
  struct Row {
    int64_t sub;
    std::vector<int64_t> pending;
    int generation;
  };
  // Acks name rows by their index in `rows`, or -1 for a lease id that
  // does not exist.
  struct Ack {
    int64_t sub;
    int row;
    int generation;
    int64_t position;
  };
  struct Case {
    std::string name;
    std::vector<Row> rows;
    std::vector<Ack> acks;
  };
  const std::vector<Case> cases = {
      {"one of three", {{a, {1, 2, 3}, 1}}, {{a, 0, 1, 2}}},
      {"all of a row", {{a, {1, 2, 3}, 1}}, {{a, 0, 1, 1}, {a, 0, 1, 2}, {a, 0, 1, 3}}},
      {"earlier delivery", {{a, {4, 5}, 3}}, {{a, 0, 2, 4}, {a, 0, 1, 5}}},
      {"twice in one batch", {{a, {1, 2}, 1}}, {{a, 0, 1, 1}, {a, 0, 1, 1}}},
      {"not pending", {{a, {1, 2}, 1}}, {{a, 0, 1, 9}}},
      {"unknown lease", {{a, {1, 2}, 1}}, {{a, -1, 1, 1}}},
      {"another subscription's row", {{a, {1, 2}, 1}}, {{b, 0, 1, 1}}},
      {"two rows, two subscriptions",
       {{a, {1, 2, 3}, 1}, {a, {4, 5}, 2}, {b, {1, 2, 3}, 1}},
       {{a, 0, 1, 3}, {a, 1, 2, 4}, {a, 1, 1, 5}, {b, 2, 1, 1}, {b, 2, 1, 2}, {b, 2, 1, 3}}},
  };
  for (const Case& c : cases) {
    std::vector<int64_t> lease_ids;
    {
      pqxx::work tx(*conn_);
      tx.exec("DELETE FROM leases");
      for (const Row& r : c.rows) {
        lease_ids.push_back(
            tx.exec_params1("INSERT INTO leases (subscription_id, pending, attempt, generation, "
                            "expires_at, available_at) VALUES ($1, $2::bigint[], $3, $3, "
                            "now() + interval '1 minute', now() + interval '1 minute') "
                            "RETURNING lease_id",
                            r.sub, IntArray(r.pending), r.generation)[0]
                .as<int64_t>());
      }
      tx.commit();
    }
    // The plan, per subscription, over the rows as written.
    std::map<int64_t, std::map<int64_t, LeaseRow>> rows;  // sub -> lease id -> row
    for (size_t i = 0; i < c.rows.size(); ++i) {
      LeaseRow row;
      row.lease_id = lease_ids[i];
      row.pending = c.rows[i].pending;
      row.attempt = c.rows[i].generation;
      row.generation = c.rows[i].generation;
      row.valid = true;
      rows[c.rows[i].sub][lease_ids[i]] = row;
    }
    std::map<int64_t, std::vector<AckId>> ids;
    std::vector<int64_t> subs, leases, positions;
    for (const Ack& ack : c.acks) {
      const int64_t lease = ack.row < 0 ? 999999 : lease_ids[ack.row];
      ids[ack.sub].push_back(AckId{lease, ack.generation, ack.position});
      subs.push_back(ack.sub);
      leases.push_back(lease);
      positions.push_back(ack.position);
    }
    std::map<int64_t, std::vector<int64_t>> expected;  // lease id -> pending
    for (auto& [sub, sub_rows] : rows) {
      const SettlePlan plan = PlanSettle(DeliveryGuarantee::kAtLeastOnce, sub_rows, ids[sub]);
      for (const auto& [id, row] : sub_rows) expected[id] = row.pending;
      for (const PendingChange& change : plan.changes.set_pending) {
        expected[change.lease_id] = change.positions;
      }
      for (int64_t id : plan.changes.deletes) expected.erase(id);
      EXPECT_TRUE(plan.changes.rewrites.empty()) << c.name;
    }
    {
      pqxx::nontransaction tx(*conn_);
      pg::Exec(tx, pg::sql::kAcknowledge, IntArray(subs), IntArray(leases), IntArray(positions));
    }
    std::map<int64_t, std::vector<int64_t>> actual = Rows(a);
    for (auto& [id, pending] : Rows(b)) actual[id] = pending;
    EXPECT_EQ(actual, expected) << c.name;
  }
}

}  // namespace
}  // namespace hub::testing
