#include "hub/lease_rules.h"

#include <algorithm>
#include <set>

#include "hub/backoff.h"
#include "hub/filter.h"

namespace hub {
namespace {

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

// Positions split by whether their delivery time has come.
struct HeldBack {
  std::vector<int64_t> held;  // not due
  std::vector<int64_t> rest;
  absl::Duration wait = absl::InfiniteDuration();  // until the first held is due
};

HeldBack SplitNotDue(absl::Span<const int64_t> positions, const NotDue& not_due) {
  HeldBack split;
  for (int64_t p : positions) {
    auto it = not_due.find(p);
    if (it == not_due.end()) {
      split.rest.push_back(p);
      continue;
    }
    split.held.push_back(p);
    split.wait = std::min(split.wait, it->second);
  }
  return split;
}

// The row's next delivery, `attempt` its number: held for the ack deadline,
// due again after it and the backoff of that attempt.
LeaseRewrite NextDelivery(const SubscriptionRecord& sub, int64_t lease_id,
                          std::vector<int64_t> pending, int attempt, int generation,
                          absl::Duration hold) {
  return LeaseRewrite{lease_id,
                      std::move(pending),
                      attempt,
                      generation,
                      hold,
                      hold + RetryBackoff(sub.config.retry_policy, attempt),
                      kEndLeaseExpired};
}

AckStatus Verdict(bool exactly_once, const LeaseRow& row, const AckId& id) {
  if (id.generation == row.generation) {
    return !exactly_once || row.valid ? AckStatus::kOk : AckStatus::kExpired;
  }
  if (id.generation < row.generation) {
    // An earlier delivery whose lease ran out: at-least-once takes the ack;
    // exactly-once says the message went out again (EXPIRED), or, for
    // anything older, that the id is stale (INVALID).
    if (!exactly_once) return AckStatus::kOk;
    return id.generation == row.generation - 1 ? AckStatus::kExpired : AckStatus::kInvalid;
  }
  return AckStatus::kInvalid;
}

// How many of a keyed row's first pending positions its last run handed
// out (0 when the row has not been delivered since its last run settled).
size_t RunLength(const LeaseRow& row) {
  if (row.attempt == 0) return 0;
  return static_cast<size_t>(std::upper_bound(row.pending.begin(), row.pending.end(), row.run_end) -
                             row.pending.begin());
}

// A keyed row redelivers a run from its head: the unsettled rest of a run
// that ended unacked (as much of it as the room takes), or, after a settled
// run, the key's next messages. A run out of attempts leaves for the
// dead-letter topic and the key's next messages start afresh (attempt 0:
// not yet delivered).
void PlanKeyedRedelivery(const SubscriptionRecord& sub, LeaseRow row, int& room,
                         absl::Duration hold, const NotDue& not_due, ClaimPlan& plan) {
  size_t run = RunLength(row);
  bool changed = false;
  if (run == 0 && row.attempt > 0) {
    // Retention removed what was left of the run.
    row.attempt = 0;
    changed = true;
  }
  if (run > 0 && ReachedMaxAttempts(sub, row.attempt)) {
    for (size_t i = 0; i < run; ++i) {
      plan.changes.dead_letters.push_back({row.pending[i], row.attempt, row.last_end});
    }
    row.pending.erase(row.pending.begin(), row.pending.begin() + static_cast<ptrdiff_t>(run));
    row.attempt = 0;
    row.last_end = kEndLeaseExpired;
    run = 0;
    changed = true;
  }
  if (row.pending.empty()) {
    plan.changes.deletes.push_back(row.lease_id);
    return;
  }
  const bool new_run = run == 0;
  if (new_run) run = row.pending.size();
  run = std::min(run, static_cast<size_t>(std::max(room, 0)));
  if (new_run && run > 0) {
    // A delayed message holds back the key's messages after it.
    size_t ready = 0;
    while (ready < run && not_due.count(row.pending[ready]) == 0) ++ready;
    if (ready == 0) {
      const absl::Duration wait = not_due.at(row.pending.front());
      plan.changes.rewrites.push_back(LeaseRewrite{row.lease_id, std::move(row.pending),
                                                   row.attempt, row.generation,
                                                   absl::ZeroDuration(), wait, row.last_end});
      return;
    }
    run = ready;
  }
  if (run == 0) {
    if (changed) {
      plan.changes.rewrites.push_back(LeaseRewrite{row.lease_id, std::move(row.pending), 0,
                                                   row.generation, absl::ZeroDuration(),
                                                   absl::ZeroDuration(), kEndLeaseExpired});
    }
    return;
  }
  for (size_t i = 0; i < run; ++i) {
    plan.leased.push_back({row.pending[i], row.lease_id, -1, row.generation + 1, row.attempt + 1});
  }
  LeaseRewrite next = NextDelivery(sub, row.lease_id, std::move(row.pending), row.attempt + 1,
                                   row.generation + 1, hold);
  next.run_end = next.pending[run - 1];
  plan.changes.rewrites.push_back(std::move(next));
  room -= static_cast<int>(run);
}

void PlanBatchRedelivery(const SubscriptionRecord& sub, LeaseRow row, int& room,
                         absl::Duration hold, const NotDue& not_due, ClaimPlan& plan) {
  if (row.pending.empty()) {
    // Left empty by concurrent acks of two replicas; nothing to deliver.
    plan.changes.deletes.push_back(row.lease_id);
    return;
  }
  if (ReachedMaxAttempts(sub, row.attempt)) {
    for (int64_t p : row.pending) {
      plan.changes.dead_letters.push_back({p, row.attempt, row.last_end});
    }
    plan.changes.deletes.push_back(row.lease_id);
    return;
  }
  if (room == 0) return;
  // Messages whose time has not come move to a row of their own (of the
  // positions read, the first `room`, only those can be known).
  HeldBack split = SplitNotDue(row.pending, not_due);
  if (!split.held.empty()) {
    if (split.rest.empty()) {
      plan.changes.rewrites.push_back(LeaseRewrite{row.lease_id, std::move(split.held), row.attempt,
                                                   row.generation, absl::ZeroDuration(), split.wait,
                                                   row.last_end});
      return;
    }
    plan.changes.inserts.push_back(LeaseInsert{std::move(split.held), row.attempt, "",
                                               absl::ZeroDuration(), split.wait, row.last_end});
    row.pending = std::move(split.rest);
  }
  const int attempt = row.attempt + 1;
  if (AtMostOnce(sub)) {
    // Delivered is done: what goes out leaves the row.
    const size_t out = std::min(row.pending.size(), static_cast<size_t>(room));
    for (size_t i = 0; i < out; ++i) plan.leased.push_back({row.pending[i], 0, -1, 0, 1});
    if (out == row.pending.size()) {
      plan.changes.deletes.push_back(row.lease_id);
    } else {
      plan.changes.set_pending.push_back(
          {row.lease_id, std::vector<int64_t>(row.pending.begin() + static_cast<ptrdiff_t>(out),
                                              row.pending.end())});
    }
    room -= static_cast<int>(out);
    return;
  }
  if (static_cast<int>(row.pending.size()) <= room) {
    for (int64_t p : row.pending) {
      plan.leased.push_back({p, row.lease_id, -1, row.generation + 1, attempt});
    }
    plan.changes.rewrites.push_back(
        NextDelivery(sub, row.lease_id, row.pending, attempt, row.generation + 1, hold));
    room -= static_cast<int>(row.pending.size());
    return;
  }
  // Split: the head goes out now under a new row, the rest stays due.
  std::vector<int64_t> head(row.pending.begin(), row.pending.begin() + room);
  plan.changes.set_pending.push_back(
      {row.lease_id, std::vector<int64_t>(row.pending.begin() + room, row.pending.end())});
  const int insert = static_cast<int>(plan.changes.inserts.size());
  for (int64_t p : head) plan.leased.push_back({p, 0, insert, 1, attempt});
  const LeaseRewrite next = NextDelivery(sub, 0, std::move(head), attempt, 1, hold);
  plan.changes.inserts.push_back(
      LeaseInsert{next.pending, attempt, "", next.hold, next.due, kEndLeaseExpired});
  room = 0;
}

}  // namespace

SettlePlan PlanSettle(DeliveryGuarantee guarantee, const std::map<int64_t, LeaseRow>& rows,
                      absl::Span<const AckId> ids) {
  const bool exactly_once = guarantee == DeliveryGuarantee::kExactlyOnce;
  SettlePlan plan;
  std::map<int64_t, std::set<int64_t>> removed;  // lease id -> settled positions
  for (const AckId& id : ids) {
    AckStatus status = AckStatus::kInvalid;
    auto it = rows.find(id.lease_id);
    if (it != rows.end()) {
      const LeaseRow& row = it->second;
      std::set<int64_t>& gone = removed[row.lease_id];
      const bool pending = Contains(row.pending, id.position) && gone.count(id.position) == 0;
      // On a keyed row only its run was delivered.
      const bool delivered =
          row.ordering_key.empty() || (row.attempt > 0 && id.position <= row.run_end);
      if (pending && delivered) status = Verdict(exactly_once, row, id);
      if (status == AckStatus::kOk) {
        gone.insert(id.position);
        plan.settled.push_back({id.position, row.attempt, ""});
      }
    }
    plan.statuses.push_back(status);
  }
  for (const auto& [lease_id, gone] : removed) {
    const LeaseRow& row = rows.at(lease_id);
    std::vector<int64_t> rest;
    for (int64_t p : row.pending) {
      if (gone.count(p) == 0) rest.push_back(p);
    }
    if (rest.empty()) {
      plan.changes.deletes.push_back(lease_id);
    } else if (gone.empty()) {
      continue;  // named by refused ids only
    } else if (!row.ordering_key.empty() && rest.front() > row.run_end) {
      // The whole run is settled: the key's next messages are due at once.
      plan.changes.rewrites.push_back(LeaseRewrite{lease_id, std::move(rest), 0, row.generation,
                                                   absl::ZeroDuration(), absl::ZeroDuration(),
                                                   kEndLeaseExpired});
    } else {
      plan.changes.set_pending.push_back({lease_id, std::move(rest)});
    }
  }
  return plan;
}

ClaimPlan PlanRedelivery(const SubscriptionRecord& sub, absl::Span<const LeaseRow> due, int room,
                         int64_t max_bytes, absl::Duration ack_deadline, const NotDue& not_due) {
  ClaimPlan plan;
  int64_t bytes = 0;
  for (const LeaseRow& row : due) {
    // By count alone, a claim's response could carry a hundred rows of
    // large messages: past what one stream response and a client's receive
    // limit hold.
    if (bytes > 0 && bytes + row.bytes > max_bytes) break;
    const size_t leased = plan.leased.size();
    if (!row.ordering_key.empty()) {
      PlanKeyedRedelivery(sub, row, room, ack_deadline, not_due, plan);
    } else {
      PlanBatchRedelivery(sub, row, room, ack_deadline, not_due, plan);
    }
    if (plan.leased.size() > leased) bytes += row.bytes;
  }
  return plan;
}

LeaseChanges PlanHoldBack(int64_t lease_id, absl::Span<const int64_t> claimed,
                          const NotDue& not_due) {
  HeldBack split = SplitNotDue(claimed, not_due);
  LeaseChanges changes;
  if (split.held.empty()) return changes;
  if (split.rest.empty()) {
    changes.rewrites.push_back(LeaseRewrite{lease_id, std::move(split.held), 0, 1,
                                            absl::ZeroDuration(), split.wait, kEndLeaseExpired});
    return changes;
  }
  changes.set_pending.push_back({lease_id, std::move(split.rest)});
  changes.inserts.push_back(LeaseInsert{std::move(split.held), 0, "", absl::ZeroDuration(),
                                        split.wait, kEndLeaseExpired});
  return changes;
}

LeaseChanges PlanNack(const SubscriptionRecord& sub, absl::Span<const LeaseRow> rows,
                      absl::Span<const AckId> ids) {
  std::map<int64_t, std::map<int, std::set<int64_t>>> named;  // lease -> generation -> positions
  for (const AckId& id : ids) named[id.lease_id][id.generation].insert(id.position);
  LeaseChanges changes;
  for (const LeaseRow& row : rows) {
    const auto& by_generation = named[row.lease_id];
    auto current = by_generation.find(row.generation);
    if (current == by_generation.end()) continue;
    std::vector<int64_t> nacked, rest;
    for (int64_t p : row.pending) (current->second.count(p) != 0 ? nacked : rest).push_back(p);
    if (nacked.empty()) continue;
    const absl::Duration due = RetryBackoff(sub.config.retry_policy, row.attempt);
    const bool keyed = !row.ordering_key.empty();
    if (keyed && nacked.front() > row.run_end) continue;  // only the run is out
    if (keyed || rest.empty()) {
      // A keyed row's run now ends at its first nacked message: the run's
      // unsettled messages up to it go out again together, and those after
      // it count as not delivered (their acks are refused) and follow it in
      // a later run.
      changes.rewrites.push_back(LeaseRewrite{row.lease_id, row.pending, row.attempt,
                                              row.generation, absl::ZeroDuration(), due, kEndNacked,
                                              keyed ? nacked.front() : 0});
      continue;
    }
    changes.set_pending.push_back({row.lease_id, std::move(rest)});
    changes.inserts.push_back(
        LeaseInsert{std::move(nacked), row.attempt, "", absl::ZeroDuration(), due, kEndNacked});
  }
  return changes;
}

std::vector<std::string> KeysToLock(const SubscriptionRecord& sub,
                                    absl::Span<const ScannedMessage> scan) {
  if (!sub.config.enable_message_ordering || AtMostOnce(sub)) return {};
  std::set<std::string> keys;
  for (const ScannedMessage& m : scan) {
    if (!m.ordering_key.empty()) keys.insert(m.ordering_key);
  }
  return std::vector<std::string>(keys.begin(), keys.end());
}

namespace {

// The messages of a key new to a claim: those up to `run_end` go out.
struct NewKey {
  std::vector<int64_t> positions;
  int64_t run_end = 0;  // 0: none, the first is not due
  absl::Duration wait;  // until the first is due
};

// What a scan of new messages decided, before any row is planned.
struct ScanDecisions {
  std::vector<int64_t> unkeyed;                     // delivered, no ordering key to keep
  std::map<std::string, NewKey> new_keyed;          // a run of each goes out
  std::map<int64_t, std::vector<int64_t>> appends;  // queued behind a key's row
  std::vector<int64_t> held;                        // not due, no ordering key to keep
  absl::Duration held_wait = absl::InfiniteDuration();
  int64_t last = 0;      // the last position decided on
  bool stopped = false;  // a limit ended the scan
};

ScanDecisions DecideScan(const SubscriptionRecord& sub, int64_t cursor,
                         absl::Span<const ScannedMessage> scan,
                         const std::map<std::string, int64_t>& keyed_rows, int max_messages,
                         int64_t max_bytes) {
  const bool ordered = sub.config.enable_message_ordering && !AtMostOnce(sub);
  ScanDecisions d;
  d.last = cursor - 1;
  int delivered = 0;
  int64_t bytes = 0;
  for (const ScannedMessage& m : scan) {
    // Non-matching messages are passed over: no write for them at all.
    if (!sub.filter->Matches(m.attributes)) {
      d.last = m.position;
      continue;
    }
    const bool keyed = ordered && !m.ordering_key.empty();
    if (keyed) {
      if (auto it = keyed_rows.find(m.ordering_key); it != keyed_rows.end()) {
        d.appends[it->second].push_back(m.position);
        d.last = m.position;
        continue;
      }
      if (auto it = d.new_keyed.find(m.ordering_key); it != d.new_keyed.end()) {
        // The run goes on while nothing of the key was left out and the
        // limits allow; past that the key's messages queue in its row.
        NewKey& key = it->second;
        if (key.run_end == key.positions.back() && m.wait == absl::ZeroDuration() &&
            delivered < max_messages && bytes + m.bytes <= max_bytes) {
          ++delivered;
          bytes += m.bytes;
          key.run_end = m.position;
        }
        key.positions.push_back(m.position);
        d.last = m.position;
        continue;
      }
    }
    if (m.wait > absl::ZeroDuration()) {
      d.last = m.position;
      if (keyed) {
        d.new_keyed[m.ordering_key] = NewKey{{m.position}, 0, m.wait};
      } else {
        d.held.push_back(m.position);
        d.held_wait = std::min(d.held_wait, m.wait);
      }
      continue;
    }
    if (delivered >= max_messages || (delivered > 0 && bytes + m.bytes > max_bytes)) {
      d.stopped = true;
      break;
    }
    ++delivered;
    bytes += m.bytes;
    d.last = m.position;
    if (keyed) {
      d.new_keyed[m.ordering_key] = NewKey{{m.position}, m.position, absl::ZeroDuration()};
    } else {
      d.unkeyed.push_back(m.position);
    }
  }
  return d;
}

}  // namespace

NewClaimPlan PlanNewClaim(const SubscriptionRecord& sub, int64_t cursor,
                          absl::Span<const ScannedMessage> scan, int scan_limit,
                          const std::map<std::string, int64_t>& keyed_rows, int max_messages,
                          int64_t max_bytes, absl::Duration ack_deadline) {
  ScanDecisions d = DecideScan(sub, cursor, scan, keyed_rows, max_messages, max_bytes);
  NewClaimPlan plan;
  plan.more = !d.stopped && scan.size() == static_cast<size_t>(scan_limit);
  plan.next_cursor = std::max(cursor, d.last + 1);
  const absl::Duration due = ack_deadline + RetryBackoff(sub.config.retry_policy, 1);
  ClaimPlan& claim = plan.claim;
  auto insert = [&](std::vector<int64_t> positions, const std::string& key, int64_t run_end) {
    claim.changes.inserts.push_back(
        LeaseInsert{std::move(positions), 1, key, ack_deadline, due, kEndLeaseExpired, run_end});
    return static_cast<int>(claim.changes.inserts.size()) - 1;
  };
  if (AtMostOnce(sub)) {
    // Done before it is sent: the cursor moved, no lease is kept.
    for (int64_t p : d.unkeyed) claim.leased.push_back({p, 0, -1, 0, 1});
  } else if (!d.unkeyed.empty()) {
    const int row = insert(d.unkeyed, "", 0);
    for (int64_t p : d.unkeyed) claim.leased.push_back({p, 0, row, 1, 1});
  }
  if (!d.held.empty()) {
    claim.changes.inserts.push_back(
        LeaseInsert{std::move(d.held), 0, "", absl::ZeroDuration(), d.held_wait, kEndLeaseExpired});
  }
  for (auto& [key, run] : d.new_keyed) {
    if (run.run_end == 0) {
      claim.changes.inserts.push_back(LeaseInsert{
          std::move(run.positions), 0, key, absl::ZeroDuration(), run.wait, kEndLeaseExpired});
      continue;
    }
    std::vector<int64_t> out;
    for (int64_t p : run.positions) {
      if (p <= run.run_end) out.push_back(p);
    }
    const int row = insert(std::move(run.positions), key, run.run_end);
    for (int64_t p : out) claim.leased.push_back({p, 0, row, 1, 1});
  }
  for (auto& [lease_id, positions] : d.appends) {
    claim.changes.append_pending.push_back({lease_id, std::move(positions)});
  }
  return plan;
}

RetainedPending ApplyRetentionToPending(absl::Span<const int64_t> pending, int64_t first_kept) {
  RetainedPending out;
  for (int64_t p : pending) {
    if (p < first_kept) {
      ++out.dropped;
    } else {
      out.kept.push_back(p);
    }
  }
  return out;
}

}  // namespace hub
