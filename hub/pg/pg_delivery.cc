// PgStore's claims: new messages and due redeliveries leased to a consumer.
// docs/design.md explains the lease rows and their invariants; the decisions
// are the rules of hub/lease_rules.h.
#include <map>

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "hub/backoff.h"
#include "hub/filter.h"
#include "hub/pg/lease_writes.h"
#include "hub/pg/pg_store.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/statements.h"

namespace hub::pg {
namespace {

// Due lease rows looked at per claim of redeliveries.
constexpr int kAvailableLeaseRows = 16;
// Lease rows out of attempts one sweep moves per subscription; the rest
// move in the next sweep, a poll interval later.
constexpr int kDeadLetterSweepRows = 1000;
// How long claims that find new messages skip looking for due lease rows
// after a look found none: the most a lease that ran out meanwhile waits
// beyond its time (a nack on this replica looks again at once).
constexpr absl::Duration kDueLookInterval = absl::Milliseconds(100);
// New messages one checked claim looks at (filters, ordering).
constexpr int kScanLimit = 1000;
// Checked claims in a row when whole scans were filtered out or parked.
constexpr int kMaxScans = 10;

bool AtMostOnce(const SubscriptionRecord& sub) {
  return sub.config.delivery_guarantee == DeliveryGuarantee::kAtMostOnce;
}

// Plain subscriptions take the one-statement claim.
bool IsPlain(const SubscriptionRecord& sub) {
  return !sub.config.enable_message_ordering && sub.filter->MatchesEverything() && !AtMostOnce(sub);
}

std::vector<ScannedMessage> ScanFromRows(const pqxx::result& rows) {
  std::vector<ScannedMessage> scan;
  scan.reserve(rows.size());
  for (const auto& row : rows) {
    scan.push_back(ScannedMessage{row[0].as<int64_t>(),
                                  row[1].is_null() ? Labels{} : LabelsFromJson(row[1].c_str()),
                                  row[2].as<std::string>(), row[3].as<int64_t>()});
  }
  return scan;
}

}  // namespace

bool PgStore::ShouldLookForDue(int64_t subscription_id) {
  absl::MutexLock lock(&due_mu_);
  auto it = none_due_until_.find(subscription_id);
  return it == none_due_until_.end() || absl::Now() >= it->second;
}

void PgStore::FoundDue(int64_t subscription_id, bool due) {
  absl::MutexLock lock(&due_mu_);
  if (due) {
    none_due_until_.erase(subscription_id);
  } else {
    none_due_until_[subscription_id] = absl::Now() + kDueLookInterval;
  }
}

void PgStore::ClaimDue(pqxx::connection& conn, const SubscriptionRecord& sub, int room,
                       int64_t max_bytes, absl::Duration ack_deadline, std::vector<Delivery>& out) {
  bool due;
  {
    pqxx::nontransaction check(conn);
    due = Exec1(check, sql::kHasAvailableLeases, sub.id)[0].as<bool>();
  }
  FoundDue(sub.id, due);
  if (!due) return;
  for (Delivery& d :
       ClaimAvailable(conn, sub, room, max_bytes, ack_deadline, kAvailableLeaseRows, 0)) {
    out.push_back(std::move(d));
  }
}

absl::StatusOr<std::vector<Delivery>> PgStore::Claim(const SubscriptionRecord& sub,
                                                     int max_messages, int64_t max_bytes,
                                                     absl::Duration ack_deadline) {
  std::vector<Delivery> deliveries;
  auto claim = [&](pqxx::connection& conn) -> absl::Status {
    deliveries.clear();
    // Due redeliveries go first. Looking for them reads the lease index
    // past the rows of acked leases that are dead but not yet vacuumed,
    // thousands while a long transaction holds vacuum back, so after a look
    // found none, claims that find new messages skip it for a moment.
    const bool redelivers = !AtMostOnce(sub);
    const bool looked = redelivers && ShouldLookForDue(sub.id);
    if (looked) ClaimDue(conn, sub, max_messages, max_bytes, ack_deadline, deliveries);
    const int room = max_messages - static_cast<int>(deliveries.size());
    int64_t bytes_left = max_bytes;
    for (const Delivery& d : deliveries) bytes_left -= static_cast<int64_t>(d.message.data.size());
    if (room <= 0 || (!deliveries.empty() && bytes_left <= 0)) return absl::OkStatus();

    bool exists = true;
    if (IsPlain(sub)) {
      pqxx::nontransaction tx(conn);
      for (const auto& row :
           Exec(tx, sql::kClaimNew, sub.id, sub.topic_id, room, Millis(ack_deadline),
                Millis(RetryBackoff(sub.config.retry_policy, 1)), bytes_left)) {
        const int64_t lease_id = row[0].as<int64_t>();
        auto [position, message] = MessageFromRow(row, 1);
        deliveries.push_back(
            Delivery{EncodeAckId(AckId{lease_id, 1, position}), std::move(message), 1});
      }
      if (deliveries.empty()) exists = !Exec(tx, sql::kSubscriptionExists, sub.id).empty();
    } else if (deliveries.empty()) {
      // A claim that redelivered returns what it has: a checked claim may
      // scan up to kMaxScans times.
      CheckedClaim checked = ClaimNewChecked(conn, sub, room, bytes_left, ack_deadline);
      exists = checked.subscription_exists;
      for (Delivery& d : checked.deliveries) deliveries.push_back(std::move(d));
    }
    if (redelivers && !looked && deliveries.empty()) {
      ClaimDue(conn, sub, max_messages, max_bytes, ack_deadline, deliveries);
    }
    if (!exists && deliveries.empty()) {
      return absl::NotFoundError(absl::StrCat("subscription ", sub.config.name, " was deleted"));
    }
    return absl::OkStatus();
  };
  // At-most-once: a claim is the delivery's end, so it is made durable
  // before anything is sent.
  RETURN_IF_ERROR(Run(claim, AtMostOnce(sub) ? Commit::kDurable : Commit::kRelaxed));
  return deliveries;
}

absl::Status PgStore::MoveDeadLetters() {
  auto sweep = [&](pqxx::connection& conn) -> absl::Status {
    std::vector<SubscriptionRecord> subs;
    {
      pqxx::nontransaction tx(conn);
      for (const auto& row : Exec(tx, sql::kSubscriptionsWithDeadLetters)) {
        subs.push_back(SubscriptionFromRow(row));
      }
    }
    // Room for no delivery: PlanRedelivery then only sends what is out of
    // attempts to the dead-letter topic, as a claim would have.
    for (const SubscriptionRecord& sub : subs) {
      ClaimAvailable(conn, sub, 0, 0, absl::ZeroDuration(), kDeadLetterSweepRows,
                     sub.config.dead_letter_policy.max_delivery_attempts);
    }
    return absl::OkStatus();
  };
  return Run(sweep);
}

std::vector<Delivery> PgStore::ClaimAvailable(pqxx::connection& conn, const SubscriptionRecord& sub,
                                              int max_messages, int64_t max_bytes,
                                              absl::Duration ack_deadline, int row_limit,
                                              int min_attempt) {
  pqxx::work tx(conn);
  std::vector<LeaseRow> due;
  std::vector<int64_t> ids;
  for (const auto& row : Exec(tx, sql::kLockAvailableLeases, sub.id, row_limit, min_attempt)) {
    due.push_back(LeaseFromRow(row));
    ids.push_back(due.back().lease_id);
  }
  if (due.empty()) return {};
  if (max_messages > 0) {
    std::map<int64_t, int64_t> bytes;
    for (const auto& row :
         Exec(tx, sql::kDueRowBytes, IntArray(ids), sub.topic_id, max_messages, sub.id)) {
      bytes[row[0].as<int64_t>()] = row[1].as<int64_t>();
    }
    for (LeaseRow& row : due) row.bytes = bytes[row.lease_id];
  }
  ClaimPlan plan = PlanRedelivery(sub, due, max_messages, max_bytes, ack_deadline);
  // Messages out of attempts wait for a dead-letter topic that was deleted
  // (they are redelivered meanwhile) rather than being dropped. Looked up
  // only when the plan has letters to send.
  if (!plan.changes.dead_letters.empty() &&
      Exec(tx, sql::kTopicExists, sub.config.dead_letter_policy.topic).empty()) {
    SubscriptionRecord without = sub;
    without.config.dead_letter_policy = DeadLetterPolicy{};
    plan = PlanRedelivery(without, due, max_messages, max_bytes, ack_deadline);
  }
  const std::vector<int64_t> inserted = WriteLeaseChanges(tx, sub.id, plan.changes);
  // A topic deleted since the look above: roll back; the next claim plans
  // without it.
  const absl::StatusOr<int64_t> dead_letter_topic =
      SendToDeadLetterTopic(tx, sub, plan.changes.dead_letters);
  if (!dead_letter_topic.ok()) return {};
  std::vector<Delivery> out = Deliver(tx, sub.topic_id, std::move(plan.leased), inserted);
  tx.commit();
  if (*dead_letter_topic != 0) announcer_.Committed({*dead_letter_topic});
  if (!plan.changes.dead_letters.empty()) {
    probe_.DeadLettered(sub.config.name, "max_delivery_attempts",
                        static_cast<int64_t>(plan.changes.dead_letters.size()));
  }
  return out;
}

PgStore::CheckedClaim PgStore::ClaimNewChecked(pqxx::connection& conn,
                                               const SubscriptionRecord& sub, int max_messages,
                                               int64_t max_bytes, absl::Duration ack_deadline) {
  CheckedClaim claim;
  for (int scan = 0; scan < kMaxScans; ++scan) {
    std::optional<ScanOutcome> outcome =
        ClaimNewScan(conn, sub, max_messages, max_bytes, ack_deadline);
    if (!outcome) {
      claim.subscription_exists = false;
      break;
    }
    claim.deliveries = std::move(outcome->deliveries);
    if (!claim.deliveries.empty() || !outcome->more) break;
  }
  return claim;
}

std::optional<PgStore::ScanOutcome> PgStore::ClaimNewScan(pqxx::connection& conn,
                                                          const SubscriptionRecord& sub,
                                                          int max_messages, int64_t max_bytes,
                                                          absl::Duration ack_deadline) {
  pqxx::work tx(conn);
  const pqxx::result cursor_row = Exec(tx, sql::kLockCursor, sub.id);
  if (cursor_row.empty()) return std::nullopt;
  const int64_t cursor = cursor_row[0][0].as<int64_t>();
  const std::vector<ScannedMessage> scan =
      ScanFromRows(Exec(tx, sql::kScanMessages, sub.topic_id, cursor, kScanLimit));
  // Keys with a row already: their new messages queue behind it.
  std::map<std::string, int64_t> keyed_rows;
  if (const std::vector<std::string> keys = KeysToLock(sub, scan); !keys.empty()) {
    for (const auto& row : Exec(tx, sql::kLockKeyedLeases, sub.id, TextArray(keys))) {
      keyed_rows[row[0].as<std::string>()] = row[1].as<int64_t>();
    }
  }
  NewClaimPlan plan = PlanNewClaim(sub, cursor, scan, kScanLimit, keyed_rows, max_messages,
                                   max_bytes, ack_deadline);
  if (plan.next_cursor != cursor) Exec(tx, sql::kSetCursor, sub.id, plan.next_cursor);
  const std::vector<int64_t> inserted = WriteLeaseChanges(tx, sub.id, plan.claim.changes);
  ScanOutcome outcome{Deliver(tx, sub.topic_id, std::move(plan.claim.leased), inserted), plan.more};
  tx.commit();
  return outcome;
}

}  // namespace hub::pg
