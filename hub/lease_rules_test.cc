// The delivery rules, without a database: ack verdicts, redelivery, nacks,
// claims of new messages, retention of pending positions.
#include "hub/lease_rules.h"

#include <memory>

#include <gtest/gtest.h>

#include "hub/filter.h"
#include "hub/validation.h"

namespace hub {
namespace {

using ::std::vector;

SubscriptionRecord Sub(DeliveryGuarantee guarantee = DeliveryGuarantee::kAtLeastOnce,
                       bool ordered = false, std::string filter = "") {
  SubscriptionRecord sub;
  sub.id = 7;
  sub.topic_id = 3;
  sub.config.name = "billing";
  sub.config.delivery_guarantee = guarantee;
  sub.config.enable_message_ordering = ordered;
  sub.config.filter = filter;
  sub.filter = std::make_shared<const Filter>(Filter::Parse(filter).value());
  return sub;
}

SubscriptionRecord WithDeadLetters(SubscriptionRecord sub, int max_attempts) {
  sub.config.dead_letter_policy = {"dead", max_attempts};
  return sub;
}

LeaseRow Row(int64_t id, vector<int64_t> pending, int attempt, int generation, std::string key = "",
             bool valid = true) {
  LeaseRow row;
  row.lease_id = id;
  row.pending = std::move(pending);
  row.attempt = attempt;
  row.generation = generation;
  row.ordering_key = std::move(key);
  row.valid = valid;
  return row;
}

// A keyed row whose last delivery handed out its pending positions up to
// `run_end`.
LeaseRow KeyedRow(int64_t id, vector<int64_t> pending, int64_t run_end, int attempt, int generation,
                  std::string key = "k") {
  LeaseRow row = Row(id, std::move(pending), attempt, generation, std::move(key));
  row.run_end = run_end;
  return row;
}

struct VerdictCase {
  const char* name;
  DeliveryGuarantee guarantee;
  LeaseRow row;
  AckId id;
  AckStatus want;
};

TEST(PlanSettleTest, VerdictsFollowTheGuarantee) {
  const auto kEo = DeliveryGuarantee::kExactlyOnce;
  const auto kAlo = DeliveryGuarantee::kAtLeastOnce;
  const VerdictCase cases[] = {
      {"current delivery, lease runs", kEo, Row(1, {10, 11}, 1, 2), {1, 2, 10}, AckStatus::kOk},
      {"current delivery, lease ran out",
       kEo,
       Row(1, {10}, 1, 2, "", false),
       {1, 2, 10},
       AckStatus::kExpired},
      {"current delivery, lease ran out, at-least-once",
       kAlo,
       Row(1, {10}, 1, 2, "", false),
       {1, 2, 10},
       AckStatus::kOk},
      {"the delivery before", kEo, Row(1, {10}, 2, 3), {1, 2, 10}, AckStatus::kExpired},
      {"the delivery before, at-least-once", kAlo, Row(1, {10}, 2, 3), {1, 2, 10}, AckStatus::kOk},
      {"two deliveries before", kEo, Row(1, {10}, 3, 4), {1, 2, 10}, AckStatus::kInvalid},
      {"two deliveries before, at-least-once",
       kAlo,
       Row(1, {10}, 3, 4),
       {1, 2, 10},
       AckStatus::kOk},
      {"a later generation than the row's",
       kEo,
       Row(1, {10}, 1, 2),
       {1, 3, 10},
       AckStatus::kInvalid},
      {"a position the row does not hold",
       kEo,
       Row(1, {10}, 1, 2),
       {1, 2, 12},
       AckStatus::kInvalid},
      {"a keyed row's head", kEo, KeyedRow(1, {10, 11}, 10, 1, 1), {1, 1, 10}, AckStatus::kOk},
      {"a keyed row's run", kEo, KeyedRow(1, {10, 11, 12}, 11, 1, 1), {1, 1, 11}, AckStatus::kOk},
      {"a keyed row's queued message",
       kAlo,
       KeyedRow(1, {10, 11}, 10, 1, 1),
       {1, 1, 11},
       AckStatus::kInvalid},
      {"a keyed row not delivered since its run settled",
       kAlo,
       KeyedRow(1, {11}, 10, 0, 1),
       {1, 1, 11},
       AckStatus::kInvalid},
      {"another subscription's row", kAlo, Row(2, {10}, 1, 1), {1, 1, 10}, AckStatus::kInvalid},
  };
  for (const VerdictCase& c : cases) {
    const std::map<int64_t, LeaseRow> rows = {{c.row.lease_id, c.row}};
    const SettlePlan plan = PlanSettle(c.guarantee, rows, {c.id});
    ASSERT_EQ(plan.statuses.size(), 1u) << c.name;
    EXPECT_EQ(plan.statuses[0], c.want) << c.name;
    EXPECT_EQ(plan.settled.size(), c.want == AckStatus::kOk ? 1u : 0u) << c.name;
  }
}

TEST(PlanSettleTest, AnIdSettlesOnceAndRowsShrinkOrGo) {
  const std::map<int64_t, LeaseRow> rows = {{1, Row(1, {10, 11, 12}, 2, 1)},
                                            {2, Row(2, {20}, 1, 1)}};
  const SettlePlan plan =
      PlanSettle(DeliveryGuarantee::kExactlyOnce, rows, {{1, 1, 10}, {1, 1, 10}, {2, 1, 20}});
  EXPECT_EQ(plan.statuses,
            (vector<AckStatus>{AckStatus::kOk, AckStatus::kInvalid, AckStatus::kOk}));
  ASSERT_EQ(plan.settled.size(), 2u);
  EXPECT_EQ(plan.settled[0].attempts, 2);
  ASSERT_EQ(plan.changes.set_pending.size(), 1u);
  EXPECT_EQ(plan.changes.set_pending[0].lease_id, 1);
  EXPECT_EQ(plan.changes.set_pending[0].positions, (vector<int64_t>{11, 12}));
  EXPECT_EQ(plan.changes.deletes, (vector<int64_t>{2}));
  EXPECT_TRUE(plan.changes.rewrites.empty());
}

TEST(PlanSettleTest, SettlingAKeysWholeRunMakesTheNextOnesDueAtOnce) {
  const std::map<int64_t, LeaseRow> rows = {{1, KeyedRow(1, {10, 11, 12}, 11, 3, 4)}};
  // Part of the run, in any order: the row keeps its lease.
  SettlePlan plan = PlanSettle(DeliveryGuarantee::kAtLeastOnce, rows, {{1, 4, 11}});
  EXPECT_TRUE(plan.changes.rewrites.empty());
  ASSERT_EQ(plan.changes.set_pending.size(), 1u);
  EXPECT_EQ(plan.changes.set_pending[0].positions, (vector<int64_t>{10, 12}));
  // The whole run: the key's next message is due at once.
  plan = PlanSettle(DeliveryGuarantee::kAtLeastOnce, rows, {{1, 4, 11}, {1, 4, 10}});
  ASSERT_EQ(plan.changes.rewrites.size(), 1u);
  const LeaseRewrite& r = plan.changes.rewrites[0];
  EXPECT_EQ(r.pending, (vector<int64_t>{12}));
  EXPECT_EQ(r.attempt, 0);  // not yet delivered
  EXPECT_EQ(r.generation, 4);
  EXPECT_EQ(r.due, absl::ZeroDuration());
}

TEST(PlanSettleTest, RefusedIdsWriteNothing) {
  const std::map<int64_t, LeaseRow> rows = {{1, Row(1, {10}, 1, 3)}};
  const SettlePlan plan = PlanSettle(DeliveryGuarantee::kExactlyOnce, rows, {{1, 1, 10}});
  EXPECT_EQ(plan.statuses[0], AckStatus::kInvalid);
  EXPECT_TRUE(plan.changes.rewrites.empty());
  EXPECT_TRUE(plan.changes.set_pending.empty());
  EXPECT_TRUE(plan.changes.deletes.empty());
}

TEST(PlanRedeliveryTest, AWholeRowGoesOutUnderItsNextGeneration) {
  SubscriptionRecord sub = Sub();
  sub.config.retry_policy = {absl::Seconds(1), absl::Seconds(60)};
  const ClaimPlan plan =
      PlanRedelivery(sub, {Row(1, {10, 11}, 1, 1)}, 5, kMiB, absl::Seconds(30), NotDue{});
  ASSERT_EQ(plan.changes.rewrites.size(), 1u);
  const LeaseRewrite& r = plan.changes.rewrites[0];
  EXPECT_EQ(r.attempt, 2);
  EXPECT_EQ(r.generation, 2);
  EXPECT_EQ(r.hold, absl::Seconds(30));
  EXPECT_EQ(r.due, absl::Seconds(32));  // the backoff of attempt 2
  ASSERT_EQ(plan.leased.size(), 2u);
  EXPECT_EQ(plan.leased[0].lease_id, 1);
  EXPECT_EQ(plan.leased[0].generation, 2);
  EXPECT_EQ(plan.leased[1].attempt, 2);
}

TEST(PlanRedeliveryTest, ARowLargerThanTheRoomIsSplit) {
  const ClaimPlan plan = PlanRedelivery(Sub(), {Row(1, {10, 11, 12}, 1, 1), Row(2, {20}, 1, 1)}, 2,
                                        kMiB, absl::Seconds(30), NotDue{});
  ASSERT_EQ(plan.changes.set_pending.size(), 1u);
  EXPECT_EQ(plan.changes.set_pending[0].positions, (vector<int64_t>{12}));
  ASSERT_EQ(plan.changes.inserts.size(), 1u);
  EXPECT_EQ(plan.changes.inserts[0].pending, (vector<int64_t>{10, 11}));
  EXPECT_EQ(plan.changes.inserts[0].attempt, 2);
  ASSERT_EQ(plan.leased.size(), 2u);
  EXPECT_EQ(plan.leased[0].insert, 0);
  EXPECT_EQ(plan.leased[0].generation, 1);
  // No room is left for the second row, which stays as it is.
  EXPECT_TRUE(plan.changes.rewrites.empty());
}

TEST(PlanRedeliveryTest, RowsOutOfAttemptsGoToTheDeadLetterTopic) {
  const SubscriptionRecord sub = WithDeadLetters(Sub(), 3);
  LeaseRow row = Row(1, {10, 11}, 3, 3);
  row.last_end = kEndNacked;
  const ClaimPlan plan = PlanRedelivery(sub, {row}, 5, kMiB, absl::Seconds(30), NotDue{});
  ASSERT_EQ(plan.changes.dead_letters.size(), 2u);
  EXPECT_EQ(plan.changes.dead_letters[0].attempts, 3);
  EXPECT_EQ(plan.changes.dead_letters[0].reason, "nack");
  EXPECT_EQ(plan.changes.deletes, (vector<int64_t>{1}));
  EXPECT_TRUE(plan.leased.empty());
  // Without a dead-letter topic attempts never run out.
  EXPECT_EQ(PlanRedelivery(Sub(), {row}, 5, kMiB, absl::Seconds(30), NotDue{}).leased.size(), 2u);
}

TEST(PlanRedeliveryTest, AnExpiredRunGoesOutAgainAloneAndInOrder) {
  const ClaimPlan plan = PlanRedelivery(Sub(DeliveryGuarantee::kAtLeastOnce, true),
                                        {KeyedRow(1, {10, 12, 13, 14}, 12, 1, 1)}, 10, kMiB,
                                        absl::Seconds(30), NotDue{});
  // 11 was acked; 13 and 14 queued after the run: they wait for it.
  vector<int64_t> positions;
  for (const Leased& l : plan.leased) {
    positions.push_back(l.position);
    EXPECT_EQ(l.attempt, 2);
    EXPECT_EQ(l.generation, 2);
  }
  EXPECT_EQ(positions, (vector<int64_t>{10, 12}));
  ASSERT_EQ(plan.changes.rewrites.size(), 1u);
  EXPECT_EQ(plan.changes.rewrites[0].run_end, 12);
}

TEST(PlanRedeliveryTest, AKeyAfterASettledRunSendsItsNextMessagesUpToTheRoom) {
  const ClaimPlan plan = PlanRedelivery(Sub(DeliveryGuarantee::kAtLeastOnce, true),
                                        {KeyedRow(1, {20, 21, 22, 23}, 19, 0, 3)}, 3, kMiB,
                                        absl::Seconds(30), NotDue{});
  vector<int64_t> positions;
  for (const Leased& l : plan.leased) {
    positions.push_back(l.position);
    EXPECT_EQ(l.attempt, 1);
  }
  EXPECT_EQ(positions, (vector<int64_t>{20, 21, 22}));
  ASSERT_EQ(plan.changes.rewrites.size(), 1u);
  EXPECT_EQ(plan.changes.rewrites[0].run_end, 22);
  EXPECT_EQ(plan.changes.rewrites[0].pending, (vector<int64_t>{20, 21, 22, 23}));
}

TEST(PlanRedeliveryTest, AKeyLosesOnlyItsRunAndTheNextMessagesGoOut) {
  const SubscriptionRecord sub = WithDeadLetters(Sub(DeliveryGuarantee::kAtLeastOnce, true), 2);
  const ClaimPlan plan = PlanRedelivery(sub, {KeyedRow(1, {10, 11, 12}, 11, 2, 2)}, 5, kMiB,
                                        absl::Seconds(30), NotDue{});
  ASSERT_EQ(plan.changes.dead_letters.size(), 2u);
  EXPECT_EQ(plan.changes.dead_letters[0].position, 10);
  EXPECT_EQ(plan.changes.dead_letters[1].position, 11);
  ASSERT_EQ(plan.leased.size(), 1u);
  EXPECT_EQ(plan.leased[0].position, 12);
  EXPECT_EQ(plan.leased[0].attempt, 1);  // the new head's first delivery
  ASSERT_EQ(plan.changes.rewrites.size(), 1u);
  EXPECT_EQ(plan.changes.rewrites[0].pending, (vector<int64_t>{12}));
  EXPECT_EQ(plan.changes.rewrites[0].generation, 3);
}

TEST(PlanRedeliveryTest, AKeyWithoutRoomKeepsItsNewHeadUndelivered) {
  const SubscriptionRecord sub = WithDeadLetters(Sub(DeliveryGuarantee::kAtLeastOnce, true), 2);
  const ClaimPlan plan =
      PlanRedelivery(sub, {KeyedRow(1, {10, 11}, 10, 2, 2)}, 0, kMiB, absl::Seconds(30), NotDue{});
  EXPECT_TRUE(plan.leased.empty());
  ASSERT_EQ(plan.changes.rewrites.size(), 1u);
  EXPECT_EQ(plan.changes.rewrites[0].attempt, 0);
  EXPECT_EQ(plan.changes.rewrites[0].due, absl::ZeroDuration());
  EXPECT_EQ(plan.changes.dead_letters.size(), 1u);
}

TEST(PlanRedeliveryTest, RowsPastTheByteBudgetStayDueButTheFirstAlwaysGoes) {
  vector<LeaseRow> due = {Row(1, {10, 11, 12, 13}, 1, 1), Row(2, {20, 21, 22, 23}, 1, 1),
                          Row(3, {30}, 1, 1)};
  for (LeaseRow& row : due) row.bytes = 3 * kMiB;
  const ClaimPlan plan = PlanRedelivery(Sub(), due, 100, 4 * kMiB, absl::Seconds(30), NotDue{});
  ASSERT_EQ(plan.leased.size(), 4u);  // row 1 alone: row 2 would pass 4 MiB
  EXPECT_EQ(plan.leased.front().position, 10);
  ASSERT_EQ(plan.changes.rewrites.size(), 1u);
  EXPECT_EQ(plan.changes.rewrites[0].lease_id, 1);
  // One row larger than the budget still goes: it is what is due.
  EXPECT_EQ(PlanRedelivery(Sub(), due, 100, kMiB, absl::Seconds(30), NotDue{}).leased.size(), 4u);
}

// Delayed delivery: messages whose time has not come are never handed out.
TEST(PlanRedeliveryTest, MessagesNotDueMoveToARowOfTheirOwnWithTheirAttempts) {
  const ClaimPlan plan = PlanRedelivery(Sub(), {Row(1, {10, 11, 12}, 0, 1, "", false)}, 5, kMiB,
                                        absl::Seconds(30), NotDue{{11, absl::Seconds(2)}});
  vector<int64_t> delivered;
  for (const Leased& l : plan.leased) {
    delivered.push_back(l.position);
    EXPECT_EQ(l.attempt, 1);
  }
  EXPECT_EQ(delivered, (vector<int64_t>{10, 12}));
  ASSERT_EQ(plan.changes.inserts.size(), 1u);
  EXPECT_EQ(plan.changes.inserts[0].pending, (vector<int64_t>{11}));
  EXPECT_EQ(plan.changes.inserts[0].attempt, 0);
  EXPECT_EQ(plan.changes.inserts[0].hold, absl::ZeroDuration());
  EXPECT_EQ(plan.changes.inserts[0].due, absl::Seconds(2));
  ASSERT_EQ(plan.changes.rewrites.size(), 1u);
  EXPECT_EQ(plan.changes.rewrites[0].pending, (vector<int64_t>{10, 12}));

  // A row of which nothing is due waits for its earliest message.
  const ClaimPlan waits =
      PlanRedelivery(Sub(), {Row(2, {20, 21}, 0, 1, "", false)}, 5, kMiB, absl::Seconds(30),
                     NotDue{{20, absl::Seconds(9)}, {21, absl::Seconds(4)}});
  EXPECT_TRUE(waits.leased.empty());
  EXPECT_TRUE(waits.changes.inserts.empty());
  ASSERT_EQ(waits.changes.rewrites.size(), 1u);
  EXPECT_EQ(waits.changes.rewrites[0].pending, (vector<int64_t>{20, 21}));
  EXPECT_EQ(waits.changes.rewrites[0].attempt, 0);
  EXPECT_EQ(waits.changes.rewrites[0].generation, 1);
  EXPECT_EQ(waits.changes.rewrites[0].due, absl::Seconds(4));
}

TEST(PlanRedeliveryTest, AKeysNewRunEndsBeforeADelayedMessage) {
  const SubscriptionRecord sub = Sub(DeliveryGuarantee::kAtLeastOnce, true);
  const ClaimPlan plan = PlanRedelivery(sub, {KeyedRow(1, {20, 21, 22}, 19, 0, 3)}, 5, kMiB,
                                        absl::Seconds(30), NotDue{{21, absl::Seconds(4)}});
  ASSERT_EQ(plan.leased.size(), 1u);
  EXPECT_EQ(plan.leased[0].position, 20);
  ASSERT_EQ(plan.changes.rewrites.size(), 1u);
  EXPECT_EQ(plan.changes.rewrites[0].run_end, 20);

  // Its head not due, the key waits for it.
  const ClaimPlan waits = PlanRedelivery(sub, {KeyedRow(2, {30, 31}, 29, 0, 3)}, 5, kMiB,
                                         absl::Seconds(30), NotDue{{30, absl::Seconds(4)}});
  EXPECT_TRUE(waits.leased.empty());
  ASSERT_EQ(waits.changes.rewrites.size(), 1u);
  EXPECT_EQ(waits.changes.rewrites[0].pending, (vector<int64_t>{30, 31}));
  EXPECT_EQ(waits.changes.rewrites[0].attempt, 0);
  EXPECT_EQ(waits.changes.rewrites[0].due, absl::Seconds(4));

  // The unsettled rest of a run out before was delivered: it goes again.
  const ClaimPlan again = PlanRedelivery(sub, {KeyedRow(3, {40, 41}, 40, 1, 1)}, 5, kMiB,
                                         absl::Seconds(30), NotDue{{41, absl::Seconds(4)}});
  ASSERT_EQ(again.leased.size(), 1u);
  EXPECT_EQ(again.leased[0].position, 40);
  EXPECT_EQ(again.leased[0].attempt, 2);
}

TEST(PlanRedeliveryTest, AtMostOnceHandsOutDueRowsWithoutALease) {
  const ClaimPlan plan =
      PlanRedelivery(Sub(DeliveryGuarantee::kAtMostOnce), {Row(1, {5, 6}, 0, 1, "", false)}, 1,
                     kMiB, absl::Seconds(30), NotDue{});
  ASSERT_EQ(plan.leased.size(), 1u);
  EXPECT_EQ(plan.leased[0].position, 5);
  EXPECT_EQ(plan.leased[0].lease_id, 0);
  EXPECT_EQ(plan.leased[0].insert, -1);
  EXPECT_TRUE(plan.changes.rewrites.empty());
  ASSERT_EQ(plan.changes.set_pending.size(), 1u);
  EXPECT_EQ(plan.changes.set_pending[0].positions, (vector<int64_t>{6}));
  const ClaimPlan whole =
      PlanRedelivery(Sub(DeliveryGuarantee::kAtMostOnce), {Row(1, {5, 6}, 0, 1, "", false)}, 5,
                     kMiB, absl::Seconds(30), NotDue{});
  EXPECT_EQ(whole.leased.size(), 2u);
  EXPECT_EQ(whole.changes.deletes, (vector<int64_t>{1}));
}

TEST(PlanHoldBackTest, MessagesNotDueLeaveTheClaimsRowUndelivered) {
  LeaseChanges part = PlanHoldBack(9, {1, 2, 3}, NotDue{{2, absl::Seconds(1)}});
  ASSERT_EQ(part.set_pending.size(), 1u);
  EXPECT_EQ(part.set_pending[0].lease_id, 9);
  EXPECT_EQ(part.set_pending[0].positions, (vector<int64_t>{1, 3}));
  ASSERT_EQ(part.inserts.size(), 1u);
  EXPECT_EQ(part.inserts[0].pending, (vector<int64_t>{2}));
  EXPECT_EQ(part.inserts[0].attempt, 0);
  EXPECT_EQ(part.inserts[0].due, absl::Seconds(1));

  LeaseChanges all = PlanHoldBack(9, {1, 2}, NotDue{{1, absl::Seconds(3)}, {2, absl::Seconds(1)}});
  EXPECT_TRUE(all.inserts.empty());
  ASSERT_EQ(all.rewrites.size(), 1u);
  EXPECT_EQ(all.rewrites[0].lease_id, 9);
  EXPECT_EQ(all.rewrites[0].attempt, 0);
  EXPECT_EQ(all.rewrites[0].hold, absl::ZeroDuration());
  EXPECT_EQ(all.rewrites[0].due, absl::Seconds(1));

  LeaseChanges none = PlanHoldBack(9, {1, 2}, NotDue{});
  EXPECT_TRUE(none.rewrites.empty() && none.inserts.empty() && none.set_pending.empty());
}

TEST(PlanNackTest, OnlyTheCurrentDeliveryNacksAndTheNackedPartMoves) {
  SubscriptionRecord sub = Sub();
  sub.config.retry_policy = {absl::Seconds(2), absl::Seconds(60)};
  const LeaseChanges changes =
      PlanNack(sub, {Row(1, {10, 11, 12}, 2, 5), Row(2, {20}, 1, 1)},
               {{1, 5, 11}, {2, 0, 20}});  // row 2: an old generation's nack
  ASSERT_EQ(changes.set_pending.size(), 1u);
  EXPECT_EQ(changes.set_pending[0].positions, (vector<int64_t>{10, 12}));
  ASSERT_EQ(changes.inserts.size(), 1u);
  EXPECT_EQ(changes.inserts[0].pending, (vector<int64_t>{11}));
  EXPECT_EQ(changes.inserts[0].due, absl::Seconds(4));  // backoff of attempt 2
  EXPECT_EQ(changes.inserts[0].last_end, "nack");
  EXPECT_TRUE(changes.rewrites.empty());
}

TEST(PlanNackTest, AWholeRowOrAKeysRunIsDueAfterTheBackoff) {
  const SubscriptionRecord sub = Sub(DeliveryGuarantee::kAtLeastOnce, true);
  const LeaseChanges changes = PlanNack(
      sub,
      {Row(1, {10}, 1, 1), KeyedRow(2, {20, 21, 22}, 22, 1, 1, "k"),
       KeyedRow(3, {30, 31}, 30, 1, 1, "j")},
      {{1, 1, 10}, {2, 1, 21}, {3, 1, 31}});  // 21 is in k's run; 31 is queued, not delivered
  ASSERT_EQ(changes.rewrites.size(), 2u);
  EXPECT_EQ(changes.rewrites[0].lease_id, 1);
  EXPECT_EQ(changes.rewrites[1].lease_id, 2);
  EXPECT_EQ(changes.rewrites[1].pending, (vector<int64_t>{20, 21, 22}));
  EXPECT_EQ(changes.rewrites[1].run_end, 21);  // 20 and 21 go out again, 22 after them
  EXPECT_EQ(changes.rewrites[1].last_end, "nack");
  EXPECT_TRUE(changes.inserts.empty());
}

ScannedMessage Scanned(int64_t position, std::string key = "", int64_t bytes = 10,
                       Labels attributes = {}) {
  return ScannedMessage{position, std::move(attributes), std::move(key), bytes};
}

TEST(PlanNewClaimTest, TheFilterPassesMessagesOverWithoutAWrite) {
  const SubscriptionRecord sub =
      Sub(DeliveryGuarantee::kAtLeastOnce, false, "attributes.kind = \"order\"");
  const vector<ScannedMessage> scan = {Scanned(5, "", 10, {{"kind", "order"}}),
                                       Scanned(6, "", 10, {{"kind", "refund"}}),
                                       Scanned(7, "", 10, {{"kind", "order"}})};
  const NewClaimPlan plan = PlanNewClaim(sub, 5, scan, 1000, {}, 10, 1000, absl::Seconds(30));
  EXPECT_EQ(plan.next_cursor, 8);
  ASSERT_EQ(plan.claim.changes.inserts.size(), 1u);
  EXPECT_EQ(plan.claim.changes.inserts[0].pending, (vector<int64_t>{5, 7}));
  EXPECT_EQ(plan.claim.leased.size(), 2u);
  EXPECT_FALSE(plan.more);
}

TEST(PlanNewClaimTest, OrderedKeysQueueBehindTheirRowsAndNewKeysGoOutAsRuns) {
  const SubscriptionRecord sub = Sub(DeliveryGuarantee::kAtLeastOnce, true);
  const vector<ScannedMessage> scan = {Scanned(1, "a"), Scanned(2, "b"), Scanned(3, "a"),
                                       Scanned(4, ""), Scanned(5, "b")};
  const NewClaimPlan plan =
      PlanNewClaim(sub, 1, scan, 1000, {{"b", 42}}, 10, 1000, absl::Seconds(30));
  EXPECT_EQ(KeysToLock(sub, scan), (vector<std::string>{"a", "b"}));
  ASSERT_EQ(plan.claim.changes.append_pending.size(), 1u);
  EXPECT_EQ(plan.claim.changes.append_pending[0].lease_id, 42);
  EXPECT_EQ(plan.claim.changes.append_pending[0].positions, (vector<int64_t>{2, 5}));
  // One unkeyed row for 4, one keyed row for a holding its run 1 and 3.
  ASSERT_EQ(plan.claim.changes.inserts.size(), 2u);
  EXPECT_EQ(plan.claim.changes.inserts[0].pending, (vector<int64_t>{4}));
  EXPECT_EQ(plan.claim.changes.inserts[1].pending, (vector<int64_t>{1, 3}));
  EXPECT_EQ(plan.claim.changes.inserts[1].ordering_key, "a");
  EXPECT_EQ(plan.claim.changes.inserts[1].run_end, 3);
  vector<int64_t> delivered;
  for (const Leased& l : plan.claim.leased) delivered.push_back(l.position);
  EXPECT_EQ(delivered, (vector<int64_t>{4, 1, 3}));
  EXPECT_EQ(plan.next_cursor, 6);
}

TEST(PlanNewClaimTest, ARunEndsAtTheLimitsAndTheKeysLaterMessagesQueueInItsRow) {
  const SubscriptionRecord sub = Sub(DeliveryGuarantee::kAtLeastOnce, true);
  const vector<ScannedMessage> scan = {Scanned(1, "a"), Scanned(2, "a"), Scanned(3, "a"),
                                       Scanned(4, "a")};
  const NewClaimPlan plan = PlanNewClaim(sub, 1, scan, 1000, {}, 2, 1000, absl::Seconds(30));
  ASSERT_EQ(plan.claim.changes.inserts.size(), 1u);
  EXPECT_EQ(plan.claim.changes.inserts[0].pending, (vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(plan.claim.changes.inserts[0].run_end, 2);
  vector<int64_t> delivered;
  for (const Leased& l : plan.claim.leased) delivered.push_back(l.position);
  EXPECT_EQ(delivered, (vector<int64_t>{1, 2}));
  EXPECT_EQ(plan.next_cursor, 5);  // the queued ones are claimed, in the row
}

TEST(PlanNewClaimTest, LimitsStopTheClaimAndTheCursorStaysAtTheFirstLeftOut) {
  const SubscriptionRecord sub = Sub();
  const vector<ScannedMessage> scan = {Scanned(1, "", 600), Scanned(2, "", 600),
                                       Scanned(3, "", 10)};
  NewClaimPlan plan = PlanNewClaim(sub, 1, scan, 3, {}, 10, 1000, absl::Seconds(30));
  EXPECT_EQ(plan.claim.leased.size(), 1u);  // the second would pass 1000 bytes
  EXPECT_EQ(plan.next_cursor, 2);
  EXPECT_FALSE(plan.more);
  // The first message goes out whatever its size.
  plan = PlanNewClaim(sub, 1, scan, 3, {}, 10, 100, absl::Seconds(30));
  EXPECT_EQ(plan.claim.leased.size(), 1u);
  plan = PlanNewClaim(sub, 1, scan, 3, {}, 2, 100000, absl::Seconds(30));
  EXPECT_EQ(plan.claim.leased.size(), 2u);
  EXPECT_EQ(plan.next_cursor, 3);
}

TEST(PlanNewClaimTest, AFullScanFilteredOutAsksForMore) {
  const SubscriptionRecord sub = Sub(DeliveryGuarantee::kAtLeastOnce, false, "attributes:x");
  const NewClaimPlan plan =
      PlanNewClaim(sub, 1, {Scanned(1), Scanned(2)}, 2, {}, 10, 1000, absl::Seconds(30));
  EXPECT_TRUE(plan.claim.leased.empty());
  EXPECT_TRUE(plan.more);
  EXPECT_EQ(plan.next_cursor, 3);
}

TEST(PlanNewClaimTest, AtMostOnceKeepsNoLeaseAndIgnoresOrdering) {
  const SubscriptionRecord sub = Sub(DeliveryGuarantee::kAtMostOnce, true);
  const NewClaimPlan plan = PlanNewClaim(sub, 1, {Scanned(1, "a"), Scanned(2, "a")}, 1000, {}, 10,
                                         1000, absl::Seconds(30));
  EXPECT_TRUE(plan.claim.changes.inserts.empty());
  ASSERT_EQ(plan.claim.leased.size(), 2u);
  EXPECT_EQ(plan.claim.leased[0].lease_id, 0);
  EXPECT_EQ(plan.claim.leased[0].insert, -1);
  EXPECT_TRUE(KeysToLock(sub, {Scanned(1, "a")}).empty());
}

TEST(PlanNewClaimTest, NewLeasesAreDueAfterTheDeadlineAndTheFirstBackoff) {
  SubscriptionRecord sub = Sub();
  sub.config.retry_policy = {absl::Seconds(5), absl::Seconds(60)};
  const NewClaimPlan plan =
      PlanNewClaim(sub, 1, {Scanned(1)}, 1000, {}, 10, 1000, absl::Seconds(30));
  ASSERT_EQ(plan.claim.changes.inserts.size(), 1u);
  EXPECT_EQ(plan.claim.changes.inserts[0].hold, absl::Seconds(30));
  EXPECT_EQ(plan.claim.changes.inserts[0].due, absl::Seconds(35));
}

ScannedMessage Delayed(int64_t position, absl::Duration wait, std::string key = "") {
  ScannedMessage m = Scanned(position, std::move(key));
  m.wait = wait;
  return m;
}

TEST(PlanNewClaimTest, DelayedMessagesWaitInARowDueAtTheEarliestOfThem) {
  const vector<ScannedMessage> scan = {Scanned(1), Delayed(2, absl::Seconds(5)),
                                       Delayed(3, absl::Seconds(2)), Scanned(4)};
  const NewClaimPlan plan = PlanNewClaim(Sub(), 1, scan, 1000, {}, 10, 1000, absl::Seconds(30));
  vector<int64_t> delivered;
  for (const Leased& l : plan.claim.leased) delivered.push_back(l.position);
  EXPECT_EQ(delivered, (vector<int64_t>{1, 4}));
  ASSERT_EQ(plan.claim.changes.inserts.size(), 2u);
  EXPECT_EQ(plan.claim.changes.inserts[0].pending, (vector<int64_t>{1, 4}));
  EXPECT_EQ(plan.claim.changes.inserts[1].pending, (vector<int64_t>{2, 3}));
  EXPECT_EQ(plan.claim.changes.inserts[1].attempt, 0);
  EXPECT_EQ(plan.claim.changes.inserts[1].hold, absl::ZeroDuration());
  EXPECT_EQ(plan.claim.changes.inserts[1].due, absl::Seconds(2));
  EXPECT_EQ(plan.next_cursor, 5);
}

TEST(PlanNewClaimTest, ADelayedMessageHoldsBackItsKeysLaterMessages) {
  const SubscriptionRecord sub = Sub(DeliveryGuarantee::kAtLeastOnce, true);
  const vector<ScannedMessage> scan = {
      Delayed(1, absl::Seconds(3), "a"), Scanned(2, "a"), Scanned(3, "b"), Scanned(4, "c"),
      Delayed(5, absl::Seconds(1), "c"), Scanned(6, "c")};
  const NewClaimPlan plan = PlanNewClaim(sub, 1, scan, 1000, {}, 10, 1000, absl::Seconds(30));
  vector<int64_t> delivered;
  for (const Leased& l : plan.claim.leased) delivered.push_back(l.position);
  EXPECT_EQ(delivered, (vector<int64_t>{3, 4}));
  ASSERT_EQ(plan.claim.changes.inserts.size(), 3u);
  const LeaseInsert& a = plan.claim.changes.inserts[0];
  EXPECT_EQ(a.ordering_key, "a");
  EXPECT_EQ(a.pending, (vector<int64_t>{1, 2}));
  EXPECT_EQ(a.attempt, 0);
  EXPECT_EQ(a.run_end, 0);
  EXPECT_EQ(a.due, absl::Seconds(3));
  const LeaseInsert& c = plan.claim.changes.inserts[2];
  EXPECT_EQ(c.ordering_key, "c");
  EXPECT_EQ(c.pending, (vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(c.run_end, 4);
  EXPECT_EQ(plan.next_cursor, 7);
}

TEST(RetentionTest, PositionsBeforeTheFirstKeptAreDropped) {
  const RetainedPending r = ApplyRetentionToPending({3, 5, 8, 9}, 8);
  EXPECT_EQ(r.kept, (vector<int64_t>{8, 9}));
  EXPECT_EQ(r.dropped, 2);
}

}  // namespace
}  // namespace hub
