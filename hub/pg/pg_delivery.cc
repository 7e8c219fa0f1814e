// PgStore's delivery half: claims, lease rows, settling, dead letters, Seek
// and Transact. docs/design.md explains the lease rows and their invariants.
#include <algorithm>
#include <map>
#include <set>

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "hub/backoff.h"
#include "hub/filter.h"
#include "hub/log.h"
#include "hub/pg/pg_errors.h"
#include "hub/pg/pg_store.h"
#include "hub/pg/pg_values.h"
#include "hub/status_macros.h"

namespace hub::pg {
namespace {

// Due lease rows looked at per claim of redeliveries.
constexpr int kAvailableLeaseRows = 16;
// How long claims that find new messages skip looking for due lease rows
// after a look found none: the most a lease that ran out meanwhile waits
// beyond its time (a nack on this replica looks again at once).
constexpr absl::Duration kDueLookInterval = absl::Milliseconds(100);
// New messages one checked claim looks at (filters, ordering).
constexpr int kScanLimit = 1000;
// Checked claims in a row when whole scans were filtered out or parked.
constexpr int kMaxScans = 10;
constexpr char kLeaseExpired[] = "lease_expired";
constexpr char kNacked[] = "nack";
constexpr char kRejected[] = "rejected";

// Attributes a dead letter carries besides its own.
constexpr char kDeadLetterSubscription[] = "hub.dead_letter.subscription";
constexpr char kDeadLetterAttempts[] = "hub.dead_letter.delivery_attempts";
constexpr char kDeadLetterReason[] = "hub.dead_letter.reason";
constexpr char kDeadLetterMessageId[] = "hub.dead_letter.message_id";

struct LeaseRow {
  int64_t lease_id;
  std::vector<int64_t> pending;
  int attempt;
  int generation;
  std::string ordering_key;  // empty: not a keyed row
  std::string last_end;
  bool valid = false;  // kLockLeases only: the lease has not run out
};

// Columns of kLockAvailableLeases, and of kLockLeases with `valid` last.
LeaseRow LeaseFromRow(const pqxx::row& row) {
  LeaseRow l{row[0].as<int64_t>(),    ParseIntArray(row[1].c_str()),
             row[2].as<int>(),        row[3].as<int>(),
             row[4].as<std::string>(), row[5].as<std::string>()};
  if (row.size() > 6) l.valid = row[6].as<bool>();
  return l;
}

bool Contains(const std::vector<int64_t>& v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool ReachedMaxAttempts(const SubscriptionRecord& sub, int attempt) {
  const DeadLetterPolicy& dlq = sub.config.dead_letter_policy;
  return !dlq.topic.empty() && attempt >= dlq.max_delivery_attempts;
}

bool AtMostOnce(const SubscriptionRecord& sub) {
  return sub.config.delivery_guarantee == DeliveryGuarantee::kAtMostOnce;
}

// Plain subscriptions take the one-statement claim.
bool IsPlain(const SubscriptionRecord& sub) {
  return !sub.config.enable_message_ordering && sub.filter->MatchesEverything() &&
         !AtMostOnce(sub);
}

int64_t BackoffMs(const SubscriptionRecord& sub, int attempt) {
  return Millis(RetryBackoff(sub.config.retry_policy, attempt));
}

// Sets a row's state: held for `hold_ms`, due again `due_ms` from now.
void RewriteLease(pqxx::work& tx, int64_t sub_id, int64_t lease_id,
                  const std::vector<int64_t>& pending, int attempt, int generation,
                  int64_t hold_ms, int64_t due_ms, const std::string& last_end) {
  tx.exec_prepared("rewrite_lease", sub_id, lease_id, IntArray(pending), attempt,
                   generation, hold_ms, due_ms, last_end);
}

int64_t InsertLease(pqxx::work& tx, int64_t sub_id, const std::vector<int64_t>& pending,
                    int attempt, const std::string& ordering_key, int64_t hold_ms,
                    int64_t due_ms, const std::string& last_end) {
  return tx
      .exec_prepared1("insert_lease", sub_id, IntArray(pending), attempt, ordering_key,
                      hold_ms, due_ms, last_end)[0]
      .as<int64_t>();
}

void DeleteLeases(pqxx::work& tx, int64_t sub_id, const std::vector<int64_t>& ids) {
  if (!ids.empty()) tx.exec_prepared("delete_leases", sub_id, IntArray(ids));
}

std::map<int64_t, Message> FetchMessages(pqxx::work& tx, int64_t topic_id,
                                         const std::vector<int64_t>& positions) {
  std::map<int64_t, Message> messages;
  if (positions.empty()) return messages;
  for (const auto& row : tx.exec_prepared("fetch_messages", topic_id, IntArray(positions))) {
    messages.insert(MessageFromRow(row, 0));
  }
  return messages;
}

// One delivery per leased position, in position order, skipping messages
// that retention already removed.
struct Leased {
  int64_t position;
  int64_t lease_id;
  int generation;
  int attempt;
};

std::vector<Delivery> MakeDeliveries(std::vector<Leased> leased,
                                     std::map<int64_t, Message>& messages) {
  std::sort(leased.begin(), leased.end(),
            [](const Leased& a, const Leased& b) { return a.position < b.position; });
  std::vector<Delivery> out;
  for (const Leased& l : leased) {
    auto it = messages.find(l.position);
    if (it == messages.end()) continue;
    out.push_back(Delivery{EncodeAckId(AckId{l.lease_id, l.generation, l.position}),
                           std::move(it->second), l.attempt});
  }
  return out;
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
                       absl::Duration ack_deadline, std::vector<Delivery>& out) {
  bool due;
  {
    pqxx::nontransaction check(conn);
    due = check.exec_prepared1("has_available_leases", sub.id)[0].as<bool>();
  }
  FoundDue(sub.id, due);
  if (!due) return;
  for (Delivery& d : ClaimAvailable(conn, sub, room, ack_deadline)) out.push_back(std::move(d));
}

absl::StatusOr<std::vector<Delivery>> PgStore::Claim(const SubscriptionRecord& sub,
                                                     int max_messages, int64_t max_bytes,
                                                     absl::Duration ack_deadline) {
  std::vector<Delivery> deliveries;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) -> absl::Status {
    deliveries.clear();
    // Due redeliveries go first. Looking for them reads the lease index
    // past the rows of acked leases that are dead but not yet vacuumed,
    // thousands while a long transaction holds vacuum back, so after a look
    // found none, claims that find new messages skip it for a moment.
    const bool redelivers = !AtMostOnce(sub);
    const bool looked = redelivers && ShouldLookForDue(sub.id);
    if (looked) ClaimDue(conn, sub, max_messages, ack_deadline, deliveries);
    const int room = max_messages - static_cast<int>(deliveries.size());
    if (room <= 0) return absl::OkStatus();

    bool exists = true;
    if (IsPlain(sub)) {
      pqxx::nontransaction tx(conn);
      for (const auto& row :
           tx.exec_prepared("claim_new", sub.id, sub.topic_id, room, Millis(ack_deadline),
                            BackoffMs(sub, 1), max_bytes)) {
        const int64_t lease_id = row[0].as<int64_t>();
        auto [position, message] = MessageFromRow(row, 1);
        deliveries.push_back(Delivery{EncodeAckId(AckId{lease_id, 1, position}),
                                      std::move(message), 1});
      }
      if (deliveries.empty()) {
        exists = !tx.exec_prepared("subscription_exists", sub.id).empty();
      }
    } else {
      for (int scan = 0; scan < kMaxScans && deliveries.empty() && exists; ++scan) {
        bool more = false;
        exists = ClaimNewChecked(conn, sub, room, max_bytes, ack_deadline, deliveries, more);
        if (!more) break;
      }
    }
    if (redelivers && !looked && deliveries.empty()) {
      ClaimDue(conn, sub, max_messages, ack_deadline, deliveries);
    }
    if (!exists && deliveries.empty()) {
      return absl::NotFoundError(absl::StrCat("subscription ", sub.config.name, " was deleted"));
    }
    return absl::OkStatus();
  }, AtMostOnce(sub) ? Commit::kDurable : Commit::kRelaxed));  // at-most-once: done before sent
  return deliveries;
}

std::vector<Delivery> PgStore::ClaimAvailable(pqxx::connection& conn,
                                              const SubscriptionRecord& sub,
                                              int max_messages, absl::Duration ack_deadline) {
  const int64_t hold = Millis(ack_deadline);
  pqxx::work tx(conn);
  std::vector<Leased> leased;
  std::vector<DeadLetter> letters;
  std::vector<int64_t> deletes;
  int room = max_messages;
  for (const auto& row : tx.exec_prepared("lock_available_leases", sub.id, kAvailableLeaseRows)) {
    LeaseRow l = LeaseFromRow(row);
    if (!l.ordering_key.empty()) {
      // A keyed row delivers its head only. A head out of attempts leaves
      // for the dead-letter topic, and the next message of the key is the
      // head from now on (attempt 0: not yet delivered).
      bool changed = false;
      while (!l.pending.empty() && ReachedMaxAttempts(sub, l.attempt)) {
        letters.push_back({l.pending.front(), l.attempt, l.last_end});
        l.pending.erase(l.pending.begin());
        l.attempt = 0;
        l.last_end = kLeaseExpired;
        changed = true;
      }
      if (l.pending.empty()) {
        deletes.push_back(l.lease_id);
      } else if (room > 0) {
        RewriteLease(tx, sub.id, l.lease_id, l.pending, l.attempt + 1, l.generation + 1, hold,
                     hold + BackoffMs(sub, l.attempt + 1), kLeaseExpired);
        leased.push_back({l.pending.front(), l.lease_id, l.generation + 1, l.attempt + 1});
        --room;
      } else if (changed) {
        RewriteLease(tx, sub.id, l.lease_id, l.pending, 0, l.generation, 0, 0, kLeaseExpired);
      }
      continue;
    }
    if (l.pending.empty()) {
      // Left empty by concurrent acks of two replicas; nothing to deliver.
      deletes.push_back(l.lease_id);
      continue;
    }
    if (ReachedMaxAttempts(sub, l.attempt)) {
      for (int64_t p : l.pending) letters.push_back({p, l.attempt, l.last_end});
      deletes.push_back(l.lease_id);
      continue;
    }
    if (room == 0) continue;
    if (static_cast<int>(l.pending.size()) <= room) {
      RewriteLease(tx, sub.id, l.lease_id, l.pending, l.attempt + 1, l.generation + 1, hold,
                   hold + BackoffMs(sub, l.attempt + 1), kLeaseExpired);
      for (int64_t p : l.pending) {
        leased.push_back({p, l.lease_id, l.generation + 1, l.attempt + 1});
      }
      room -= static_cast<int>(l.pending.size());
      continue;
    }
    // Split: the head goes out now under a new row, the rest stays due.
    std::vector<int64_t> head(l.pending.begin(), l.pending.begin() + room);
    std::vector<int64_t> rest(l.pending.begin() + room, l.pending.end());
    tx.exec_prepared("set_pending", sub.id, l.lease_id, IntArray(rest));
    const int64_t id = InsertLease(tx, sub.id, head, l.attempt + 1, "", hold,
                                   hold + BackoffMs(sub, l.attempt + 1), kLeaseExpired);
    for (int64_t p : head) leased.push_back({p, id, 1, l.attempt + 1});
    room = 0;
  }
  DeleteLeases(tx, sub.id, deletes);
  SendToDeadLetterTopic(tx, sub, letters);

  std::vector<int64_t> positions;
  for (const Leased& l : leased) positions.push_back(l.position);
  std::map<int64_t, Message> messages = FetchMessages(tx, sub.topic_id, positions);
  tx.commit();
  if (!letters.empty()) {
    probe_.DeadLettered(sub.config.name, "max_delivery_attempts",
                        static_cast<int64_t>(letters.size()));
  }
  return MakeDeliveries(std::move(leased), messages);
}

bool PgStore::ClaimNewChecked(pqxx::connection& conn, const SubscriptionRecord& sub,
                              int max_messages, int64_t max_bytes,
                              absl::Duration ack_deadline, std::vector<Delivery>& out,
                              bool& more) {
  more = false;
  pqxx::work tx(conn);
  pqxx::result cursor_row = tx.exec_prepared("lock_cursor", sub.id);
  if (cursor_row.empty()) return false;
  const int64_t cursor = cursor_row[0][0].as<int64_t>();
  const pqxx::result scan =
      tx.exec_prepared("scan_messages", sub.topic_id, cursor, kScanLimit);
  const bool ordered = sub.config.enable_message_ordering && !AtMostOnce(sub);

  // Keys with a row already: their new messages queue behind it.
  std::map<std::string, int64_t> keyed_rows;
  if (ordered) {
    std::set<std::string> keys;
    for (const auto& row : scan) {
      if (!row[2].as<std::string>().empty()) keys.insert(row[2].as<std::string>());
    }
    if (!keys.empty()) {
      for (const auto& row : tx.exec_prepared(
               "lock_keyed_leases", sub.id,
               TextArray(std::vector<std::string>(keys.begin(), keys.end())))) {
        keyed_rows[row[0].as<std::string>()] = row[1].as<int64_t>();
      }
    }
  }

  std::vector<int64_t> unkeyed;
  std::map<std::string, std::vector<int64_t>> new_keyed;  // front() is delivered
  std::map<int64_t, std::vector<int64_t>> appends;
  int delivered = 0;
  int64_t bytes = 0;
  int64_t last = cursor - 1;
  bool stopped = false;
  for (const auto& row : scan) {
    const int64_t position = row[0].as<int64_t>();
    const std::string key = row[2].as<std::string>();
    const int64_t size = row[3].as<int64_t>();
    // Non-matching messages are passed over: no write for them at all.
    const Labels attributes =
        row[1].is_null() ? Labels{} : LabelsFromJson(row[1].c_str());
    if (!sub.filter->Matches(attributes)) {
      last = position;
      continue;
    }
    if (ordered && !key.empty()) {
      if (auto it = keyed_rows.find(key); it != keyed_rows.end()) {
        appends[it->second].push_back(position);
        last = position;
        continue;
      }
      if (auto it = new_keyed.find(key); it != new_keyed.end()) {
        it->second.push_back(position);
        last = position;
        continue;
      }
    }
    if (delivered >= max_messages || (delivered > 0 && bytes + size > max_bytes)) {
      stopped = true;
      break;
    }
    ++delivered;
    bytes += size;
    last = position;
    if (ordered && !key.empty()) {
      new_keyed[key] = {position};
    } else {
      unkeyed.push_back(position);
    }
  }
  more = !stopped && scan.size() == static_cast<size_t>(kScanLimit);
  if (last >= cursor) tx.exec_prepared("set_cursor", sub.id, last + 1);

  const int64_t hold = Millis(ack_deadline);
  const int64_t due = hold + BackoffMs(sub, 1);
  std::vector<Leased> leased;
  if (AtMostOnce(sub)) {
    // Done before it is sent: the cursor moved, no lease is kept.
    for (int64_t p : unkeyed) leased.push_back({p, 0, 0, 1});
  } else if (!unkeyed.empty()) {
    const int64_t id = InsertLease(tx, sub.id, unkeyed, 1, "", hold, due, kLeaseExpired);
    for (int64_t p : unkeyed) leased.push_back({p, id, 1, 1});
  }
  for (const auto& [key, positions] : new_keyed) {
    const int64_t id = InsertLease(tx, sub.id, positions, 1, key, hold, due, kLeaseExpired);
    leased.push_back({positions.front(), id, 1, 1});
  }
  for (const auto& [lease_id, positions] : appends) {
    tx.exec_prepared("append_pending", sub.id, lease_id, IntArray(positions));
  }
  std::vector<int64_t> positions;
  for (const Leased& l : leased) positions.push_back(l.position);
  std::map<int64_t, Message> messages = FetchMessages(tx, sub.topic_id, positions);
  tx.commit();
  std::vector<Delivery> fresh = MakeDeliveries(std::move(leased), messages);
  std::move(fresh.begin(), fresh.end(), std::back_inserter(out));
  return true;
}

absl::Status PgStore::Acknowledge(absl::Span<const AckRef> acks) {
  if (acks.empty()) return absl::OkStatus();
  std::vector<int64_t> subs, leases, positions;
  for (const AckRef& a : acks) {
    subs.push_back(a.subscription_id);
    leases.push_back(a.id.lease_id);
    positions.push_back(a.id.position);
  }
  return Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec_prepared("acknowledge", IntArray(subs), IntArray(leases), IntArray(positions));
    return absl::OkStatus();
  }, Commit::kRelaxed);
}

std::vector<AckStatus> PgStore::SettleInTransaction(pqxx::work& tx,
                                                    const SubscriptionRecord& sub,
                                                    absl::Span<const AckId> ids,
                                                    std::vector<DeadLetter>* settled) {
  std::set<int64_t> lease_ids;
  for (const AckId& id : ids) lease_ids.insert(id.lease_id);
  std::map<int64_t, LeaseRow> rows;
  for (const auto& row : tx.exec_prepared(
           "lock_leases", sub.id,
           IntArray(std::vector<int64_t>(lease_ids.begin(), lease_ids.end())))) {
    LeaseRow l = LeaseFromRow(row);
    rows.emplace(l.lease_id, std::move(l));
  }
  const bool exactly_once =
      sub.config.delivery_guarantee == DeliveryGuarantee::kExactlyOnce;
  std::map<int64_t, std::set<int64_t>> removed;
  std::vector<AckStatus> statuses;
  for (const AckId& id : ids) {
    AckStatus status = AckStatus::kInvalid;
    auto it = rows.find(id.lease_id);
    if (it != rows.end()) {
      const LeaseRow& l = it->second;
      const bool pending = Contains(l.pending, id.position) &&
                           removed[l.lease_id].count(id.position) == 0;
      // On a keyed row only the head was ever delivered.
      const bool deliverable = l.ordering_key.empty() ||
                               (!l.pending.empty() && l.pending.front() == id.position);
      if (pending && deliverable) {
        if (id.generation == l.generation) {
          status = !exactly_once || l.valid ? AckStatus::kOk : AckStatus::kExpired;
        } else if (id.generation < l.generation) {
          // An earlier delivery whose lease ran out: at-least-once takes the
          // ack; exactly-once says the message went out again (EXPIRED),
          // or, for anything older, that the id is stale (INVALID).
          status = !exactly_once ? AckStatus::kOk
                   : id.generation == l.generation - 1 ? AckStatus::kExpired
                                                       : AckStatus::kInvalid;
        }
      }
      if (status == AckStatus::kOk) {
        removed[l.lease_id].insert(id.position);
        if (settled != nullptr) settled->push_back({id.position, l.attempt, ""});
      }
    }
    statuses.push_back(status);
  }

  std::vector<int64_t> deletes;
  for (const auto& [lease_id, gone] : removed) {
    const LeaseRow& l = rows.at(lease_id);
    std::vector<int64_t> rest;
    for (int64_t p : l.pending) {
      if (gone.count(p) == 0) rest.push_back(p);
    }
    if (rest.empty()) {
      deletes.push_back(lease_id);
    } else if (!l.ordering_key.empty() && rest.front() != l.pending.front()) {
      // The key's next message is due at once.
      RewriteLease(tx, sub.id, lease_id, rest, 0, l.generation, 0, 0, kLeaseExpired);
    } else {
      tx.exec_prepared("set_pending", sub.id, lease_id, IntArray(rest));
    }
  }
  DeleteLeases(tx, sub.id, deletes);
  return statuses;
}

void PgStore::SendToDeadLetterTopic(pqxx::work& tx, const SubscriptionRecord& sub,
                                    const std::vector<DeadLetter>& letters) {
  const std::string& topic = sub.config.dead_letter_policy.topic;
  if (letters.empty() || topic.empty()) return;
  std::vector<int64_t> positions;
  for (const DeadLetter& l : letters) positions.push_back(l.position);
  std::map<int64_t, Message> messages = FetchMessages(tx, sub.topic_id, positions);
  PublishItem item{topic, {}, {}, 0, {}};
  for (const DeadLetter& l : letters) {
    auto it = messages.find(l.position);
    if (it == messages.end()) continue;
    Message m = it->second;
    m.attributes[kDeadLetterSubscription] = sub.config.name;
    m.attributes[kDeadLetterAttempts] = absl::StrCat(l.attempts);
    m.attributes[kDeadLetterReason] = l.reason;
    m.attributes[kDeadLetterMessageId] = m.message_id;
    // Its key belonged to the source topic; it must not deduplicate here.
    m.idempotency_key.clear();
    m.message_id.clear();
    item.messages.push_back(std::move(m));
  }
  if (item.messages.empty()) return;
  PublishItem* items[] = {&item};
  WriteMessages(tx, items);
  if (!item.status.ok()) {
    Log(LogLevel::kWarning, "dead_letter_topic_missing",
        {{"subscription", sub.config.name}, {"topic", topic},
         {"dropped", absl::StrCat(item.messages.size())}});
  }
}

absl::StatusOr<std::vector<AckStatus>> PgStore::Settle(const SubscriptionRecord& sub,
                                                       absl::Span<const AckId> ids,
                                                       SettleKind kind,
                                                       absl::string_view reason) {
  std::vector<AckStatus> statuses;
  int64_t rejected = 0;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    std::vector<DeadLetter> letters;
    statuses = SettleInTransaction(tx, sub, ids, &letters);
    rejected = 0;
    if (kind == SettleKind::kReject) {
      for (DeadLetter& l : letters) l.reason = reason.empty() ? kRejected : std::string(reason);
      SendToDeadLetterTopic(tx, sub, letters);
      rejected = static_cast<int64_t>(letters.size());
    }
    tx.commit();
    return absl::OkStatus();
  }));
  if (rejected > 0) probe_.DeadLettered(sub.config.name, "rejected", rejected);
  return statuses;
}

absl::StatusOr<TransactResult> PgStore::Transact(const SubscriptionRecord& sub,
                                                 absl::Span<const AckId> ids,
                                                 absl::Span<PublishItem* const> publishes) {
  TransactResult result;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) -> absl::Status {
    pqxx::work tx(conn);
    result.ack_statuses = SettleInTransaction(tx, sub, ids, nullptr);
    if (sub.config.delivery_guarantee == DeliveryGuarantee::kExactlyOnce) {
      for (AckStatus s : result.ack_statuses) {
        if (s != AckStatus::kOk) {
          return absl::AbortedError(
              "an ack id is expired or invalid; nothing was applied");
        }
      }
    }
    WriteMessages(tx, publishes);
    for (const PublishItem* item : publishes) RETURN_IF_ERROR(item->status);
    tx.commit();
    return absl::OkStatus();
  }));
  return result;
}

absl::Status PgStore::Seek(const SubscriptionRecord& sub, absl::Time time) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    if (tx.exec_prepared("lock_cursor", sub.id).empty()) {
      return absl::NotFoundError(absl::StrCat("subscription ", sub.config.name, " not found"));
    }
    const int64_t position =
        tx.exec_prepared1("first_position_since", sub.topic_id, absl::ToUnixMicros(time))[0]
            .as<int64_t>();
    // Everything in flight is either before the time (acknowledged now) or
    // at or after it (delivered again from the cursor).
    tx.exec_prepared("delete_all_leases", sub.id);
    tx.exec_prepared("set_cursor", sub.id, position);
    tx.commit();
    return absl::OkStatus();
  });
}

absl::Status PgStore::Nack(const SubscriptionRecord& sub, absl::Span<const AckId> ids) {
  std::map<int64_t, std::map<int, std::set<int64_t>>> named;  // lease -> gen -> positions
  for (const AckId& id : ids) named[id.lease_id][id.generation].insert(id.position);
  std::vector<int64_t> lease_ids;
  for (const auto& [lease_id, unused] : named) lease_ids.push_back(lease_id);

  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    for (const auto& row : tx.exec_prepared("lock_leases", sub.id, IntArray(lease_ids))) {
      const LeaseRow l = LeaseFromRow(row);
      // Only the current delivery of a row may nack it; an older one's nack
      // would take the message from its new holder.
      const auto& by_generation = named[l.lease_id];
      auto current = by_generation.find(l.generation);
      if (current == by_generation.end()) continue;
      std::vector<int64_t> nacked, rest;
      for (int64_t p : l.pending) {
        (current->second.count(p) != 0 ? nacked : rest).push_back(p);
      }
      if (nacked.empty()) continue;
      const int64_t due = BackoffMs(sub, l.attempt);
      if (!l.ordering_key.empty() || rest.empty()) {
        // The whole row (or a key's head, which holds the rest back) is due
        // again after the backoff.
        if (!l.ordering_key.empty() && nacked.front() != l.pending.front()) continue;
        RewriteLease(tx, sub.id, l.lease_id, l.pending, l.attempt, l.generation, 0, due,
                     kNacked);
        continue;
      }
      tx.exec_prepared("set_pending", sub.id, l.lease_id, IntArray(rest));
      InsertLease(tx, sub.id, nacked, l.attempt, "", 0, due, kNacked);
    }
    tx.commit();
    FoundDue(sub.id, true);  // the next claim looks
    return absl::OkStatus();
  }, Commit::kRelaxed);  // a nack lost in a crash: the lease runs out instead
}

absl::Status PgStore::ExtendLeases(const SubscriptionRecord& sub, absl::Span<const AckId> ids,
                                   absl::Duration deadline) {
  std::set<std::pair<int64_t, int>> rows;
  for (const AckId& id : ids) rows.insert({id.lease_id, id.generation});
  std::vector<int64_t> lease_ids;
  std::vector<int32_t> generations;
  for (const auto& [lease_id, generation] : rows) {
    lease_ids.push_back(lease_id);
    generations.push_back(generation);
  }
  return Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec_prepared("extend_leases", sub.id, IntArray(lease_ids), IntArray(generations),
                     Millis(deadline), Millis(sub.config.retry_policy.minimum_backoff),
                     Millis(sub.config.retry_policy.maximum_backoff));
    return absl::OkStatus();
  }, Commit::kRelaxed);
}

}  // namespace hub::pg
