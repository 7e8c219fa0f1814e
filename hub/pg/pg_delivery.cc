// PgStore's claims: new messages and due redeliveries leased to a consumer.
// docs/design.md explains the lease rows and their invariants; the decisions
// are the rules of hub/lease_rules.h.
#include <algorithm>
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
// Claims of new messages in a row when whole scans were filtered out,
// parked or held back (delayed delivery).
constexpr int kMaxScans = 10;

bool AtMostOnce(const SubscriptionRecord& sub) {
  return sub.config.delivery_guarantee == DeliveryGuarantee::kAtMostOnce;
}

// Plain subscriptions take the one-statement claim.
bool IsPlain(const SubscriptionRecord& sub) {
  return !sub.config.enable_message_ordering && sub.filter->MatchesEverything() && !AtMostOnce(sub);
}

bool AnyDelayed(const MessagesAt& messages) {
  return std::any_of(messages.begin(), messages.end(),
                     [](const auto& m) { return m.second.delivery_delay > absl::ZeroDuration(); });
}

// The messages read whose delivery time has not come by the transaction's
// now(), with the wait rounded up so that no row is due before its time.
// The database's clock, which stamped publish_time, is read only when a
// message read is delayed.
NotDue NotDueAt(pqxx::transaction_base& tx, const MessagesAt& messages) {
  NotDue not_due;
  if (!AnyDelayed(messages)) return not_due;
  const absl::Time now = absl::FromUnixMicros(Exec1(tx, sql::kNow)[0].as<int64_t>());
  for (const auto& [position, m] : messages) {
    const absl::Duration wait = DeliverTime(m) - now;
    if (wait > absl::ZeroDuration()) not_due[position] = absl::Ceil(wait, absl::Milliseconds(1));
  }
  return not_due;
}

// What PlanNewClaim needs of each message read, in position order.
std::vector<ScannedMessage> ScanOf(const MessagesAt& messages, const NotDue& not_due) {
  std::vector<ScannedMessage> scan;
  scan.reserve(messages.size());
  for (const auto& [position, m] : messages) {
    auto wait = not_due.find(position);
    scan.push_back(ScannedMessage{position, m.attributes, m.ordering_key,
                                  static_cast<int64_t>(m.data.size()),
                                  wait == not_due.end() ? absl::ZeroDuration() : wait->second});
  }
  return scan;
}

// The positions a claim of `max_messages` can take from the due rows, in
// the order it takes them: the rows in claim order, each row's pending
// positions in order.
std::vector<int64_t> FirstPending(const std::vector<LeaseRow>& due, int max_messages) {
  std::vector<int64_t> positions;
  for (const LeaseRow& row : due) {
    for (int64_t p : row.pending) {
      if (static_cast<int>(positions.size()) >= max_messages) return positions;
      positions.push_back(p);
    }
  }
  return positions;
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

void PgStore::ClaimDue(Connection& conn, const SubscriptionRecord& sub, int room, int64_t max_bytes,
                       absl::Duration ack_deadline, std::vector<Delivery>& out) {
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
  auto claim = [&](Connection& conn) -> absl::Status {
    deliveries.clear();
    // Due redeliveries go first. Looking for them reads the lease index
    // past the rows of acked leases that are dead but not yet vacuumed,
    // thousands while a long transaction holds vacuum back, so after a look
    // found none, claims that find new messages skip it for a moment.
    // (At-most-once subscriptions have rows only of delayed messages.)
    const bool looked = ShouldLookForDue(sub.id);
    if (looked) ClaimDue(conn, sub, max_messages, max_bytes, ack_deadline, deliveries);
    const int room = max_messages - static_cast<int>(deliveries.size());
    int64_t bytes_left = max_bytes;
    for (const Delivery& d : deliveries) bytes_left -= static_cast<int64_t>(d.message.data.size());
    if (room <= 0 || (!deliveries.empty() && bytes_left <= 0)) return absl::OkStatus();

    bool exists = true;
    if (IsPlain(sub)) {
      // A claim whose every message was held back claims again: the
      // messages behind the delayed ones may be due.
      for (int scan = 0; scan < kMaxScans; ++scan) {
        const PlainClaim plain =
            ClaimNewPlain(conn, sub, room, bytes_left, ack_deadline, deliveries);
        if (plain == PlainClaim::kNone) {
          pqxx::nontransaction tx(conn);
          exists = !Exec(tx, sql::kSubscriptionExists, sub.id).empty();
        }
        if (plain != PlainClaim::kAllHeld) break;
      }
    } else if (deliveries.empty()) {
      // A claim that redelivered returns what it has: a checked claim may
      // scan up to kMaxScans times.
      CheckedClaim checked = ClaimNewChecked(conn, sub, room, bytes_left, ack_deadline);
      exists = checked.subscription_exists;
      for (Delivery& d : checked.deliveries) deliveries.push_back(std::move(d));
    }
    if (!looked && deliveries.empty()) {
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

PgStore::PlainClaim PgStore::ClaimNewPlain(Connection& conn, const SubscriptionRecord& sub,
                                           int max_messages, int64_t max_bytes,
                                           absl::Duration ack_deadline,
                                           std::vector<Delivery>& out) {
  const std::string id = absl::StrCat(sub.id), topic = absl::StrCat(sub.topic_id),
                    room = absl::StrCat(max_messages),
                    deadline = absl::StrCat(Millis(ack_deadline)),
                    backoff = absl::StrCat(Millis(RetryBackoff(sub.config.retry_policy, 1))),
                    bytes = absl::StrCat(max_bytes);
  // One statement in its own implicit transaction, committed when it
  // returns.
  const BinaryResult rows =
      ExecBinary(conn, sql::kClaimNew,
                 {Param::Text(id), Param::Text(topic), Param::Text(room), Param::Text(deadline),
                  Param::Text(backoff), Param::Text(bytes)});
  if (rows.empty()) return PlainClaim::kNone;
  const int64_t lease_id = rows.Int64(0, 0);
  const int64_t low = rows.Int64(0, 1), high = rows.Int64(0, 2);
  MessagesAt messages;
  for (int row = 0; row < rows.size(); ++row) {
    DecodeSegmentRow(rows, row, 3, low, high + 1, messages);
  }
  // The statement cannot see delivery times inside the records: delayed
  // messages whose time has not come leave its row now. Were hubd to die
  // before this commits, the row's expiry would hold them back instead
  // (PlanRedelivery), one attempt counted.
  if (AnyDelayed(messages)) {
    pqxx::work tx(conn);
    const NotDue not_due = NotDueAt(tx, messages);
    std::vector<int64_t> claimed;
    for (const auto& [position, message] : messages) claimed.push_back(position);
    WriteLeaseChanges(tx, sub.id, PlanHoldBack(lease_id, claimed, not_due));
    tx.commit();
    for (const auto& [position, wait] : not_due) messages.erase(position);
    if (messages.empty()) return PlainClaim::kAllHeld;
  }
  for (auto& [position, message] : messages) {
    out.push_back(Delivery{EncodeAckId(AckId{lease_id, 1, position}), std::move(message), 1});
  }
  return PlainClaim::kTaken;
}

absl::Status PgStore::MoveDeadLetters() {
  auto sweep = [&](Connection& conn) -> absl::Status {
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

std::vector<Delivery> PgStore::ClaimAvailable(Connection& conn, const SubscriptionRecord& sub,
                                              int max_messages, int64_t max_bytes,
                                              absl::Duration ack_deadline, int row_limit,
                                              int min_attempt) {
  pqxx::work tx(conn);
  std::vector<LeaseRow> due;
  for (const auto& row : Exec(tx, sql::kLockAvailableLeases, sub.id, row_limit, min_attempt)) {
    due.push_back(LeaseFromRow(row));
  }
  if (due.empty()) return {};
  // The messages a claim of max_messages can take, read once: their sizes
  // keep the claim to its byte budget, and they are what it delivers.
  MessagesAt read;
  NotDue not_due;
  if (max_messages > 0) {
    ReadMessages(conn, sub.topic_id, FirstPending(due, max_messages), read);
    not_due = NotDueAt(tx, read);
    int taken = 0;
    for (LeaseRow& row : due) {
      for (int64_t p : row.pending) {
        if (taken++ >= max_messages) break;
        auto it = read.find(p);
        if (it != read.end()) row.bytes += static_cast<int64_t>(it->second.data.size());
      }
    }
  }
  ClaimPlan plan = PlanRedelivery(sub, due, max_messages, max_bytes, ack_deadline, not_due);
  // Messages out of attempts wait for a dead-letter topic that was deleted
  // (they are redelivered meanwhile) rather than being dropped. Looked up
  // only when the plan has letters to send.
  if (!plan.changes.dead_letters.empty() &&
      Exec(tx, sql::kTopicExists, sub.config.dead_letter_policy.topic).empty()) {
    SubscriptionRecord without = sub;
    without.config.dead_letter_policy = DeadLetterPolicy{};
    plan = PlanRedelivery(without, due, max_messages, max_bytes, ack_deadline, not_due);
  }
  const std::vector<int64_t> inserted = WriteLeaseChanges(tx, sub.id, plan.changes);
  // A topic deleted since the look above: roll back; the next claim plans
  // without it.
  const absl::StatusOr<int64_t> dead_letter_topic =
      SendToDeadLetterTopic(conn, sub, plan.changes.dead_letters);
  if (!dead_letter_topic.ok()) return {};
  std::vector<Delivery> out =
      Deliver(conn, sub.topic_id, std::move(plan.leased), inserted, std::move(read));
  tx.commit();
  if (*dead_letter_topic != 0) announcer_.Committed({*dead_letter_topic});
  if (!plan.changes.dead_letters.empty()) {
    probe_.DeadLettered(sub.config.name, "max_delivery_attempts",
                        static_cast<int64_t>(plan.changes.dead_letters.size()));
  }
  return out;
}

PgStore::CheckedClaim PgStore::ClaimNewChecked(Connection& conn, const SubscriptionRecord& sub,
                                               int max_messages, int64_t max_bytes,
                                               absl::Duration ack_deadline) {
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

std::optional<PgStore::ScanOutcome> PgStore::ClaimNewScan(Connection& conn,
                                                          const SubscriptionRecord& sub,
                                                          int max_messages, int64_t max_bytes,
                                                          absl::Duration ack_deadline) {
  pqxx::work tx(conn);
  const pqxx::result cursor_row = Exec(tx, sql::kLockCursor, sub.id);
  if (cursor_row.empty()) return std::nullopt;
  const int64_t cursor = cursor_row[0][0].as<int64_t>();
  MessagesAt read;
  ReadRange(conn, sub.topic_id, cursor, cursor + kScanLimit, read);
  const std::vector<ScannedMessage> scan = ScanOf(read, NotDueAt(tx, read));
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
  ScanOutcome outcome{
      Deliver(conn, sub.topic_id, std::move(plan.claim.leased), inserted, std::move(read)),
      plan.more};
  tx.commit();
  return outcome;
}

}  // namespace hub::pg
