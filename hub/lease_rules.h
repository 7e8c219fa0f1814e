#ifndef HUB_LEASE_RULES_H_
#define HUB_LEASE_RULES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "hub/ack_id.h"
#include "hub/types.h"

// The delivery rules of lease rows (docs/design.md, "Delivery: batch
// leases"; docs/semantics.md): which acks count, what a redelivery, a nack or
// a claim of new messages does to the rows, when a message leaves for the
// dead-letter topic. Pure functions over rows the store has read and locked:
// the store applies the plan they return in the same transaction.
namespace hub {

// How a delivery ends when it is not acked; a dead letter carries it as its
// reason.
inline constexpr char kEndLeaseExpired[] = "lease_expired";
inline constexpr char kEndNacked[] = "nack";
inline constexpr char kEndRejected[] = "rejected";

// One lease row: the positions of one delivered batch not yet settled. On an
// ordered subscription a keyed row holds every claimed message of one
// ordering key, and a run of them from its head is delivered: the pending
// positions up to `run_end`.
struct LeaseRow {
  int64_t lease_id = 0;
  std::vector<int64_t> pending;
  int attempt = 0;
  int generation = 0;
  std::string ordering_key;  // empty: not a keyed row
  std::string last_end = kEndLeaseExpired;
  // The current delivery's lease has not run out (read when settling).
  bool valid = false;
  // Data bytes of the pending messages (read when redelivering).
  int64_t bytes = 0;
  // Keyed rows: the last position of the run the row's last delivery
  // handed out (attempt > 0); its pending positions up to it are out.
  int64_t run_end = 0;
};

// A row's whole new state. Durations count from the statement's now().
struct LeaseRewrite {
  int64_t lease_id = 0;
  std::vector<int64_t> pending;
  int attempt = 0;
  int generation = 0;
  absl::Duration hold;  // until the current delivery's lease runs out
  absl::Duration due;   // until the row is due again if it is not settled
  std::string last_end = kEndLeaseExpired;
  int64_t run_end = 0;  // keyed rows (LeaseRow::run_end)
};

// A new row, generation 1.
struct LeaseInsert {
  std::vector<int64_t> pending;
  int attempt = 1;
  std::string ordering_key;
  absl::Duration hold;
  absl::Duration due;
  std::string last_end = kEndLeaseExpired;
  int64_t run_end = 0;  // keyed rows (LeaseRow::run_end)
};

// A row's pending positions replaced, or extended at the end.
struct PendingChange {
  int64_t lease_id = 0;
  std::vector<int64_t> positions;
};

// A message leaving a subscription: for the dead-letter topic, or (settled
// by an ack) for nowhere.
struct DeadLetter {
  int64_t position = 0;
  int attempts = 0;
  std::string reason;
};

// A position handed out in this plan: on the row `lease_id`, or, when
// `insert` is set, on the plan's inserts[insert], whose id the store learns
// when it writes it.
struct Leased {
  int64_t position = 0;
  int64_t lease_id = 0;
  int insert = -1;
  int generation = 1;
  int attempt = 1;
};

// What the store writes, in any order: each row is named once per kind.
struct LeaseChanges {
  std::vector<LeaseRewrite> rewrites;
  std::vector<PendingChange> set_pending;
  std::vector<PendingChange> append_pending;
  std::vector<LeaseInsert> inserts;
  std::vector<int64_t> deletes;
  std::vector<DeadLetter> dead_letters;
};

// Acks (or rejects) of named deliveries.
struct SettlePlan {
  // One per id, in order.
  std::vector<AckStatus> statuses;
  // The messages the OK ones settle, with their attempts (reason empty).
  std::vector<DeadLetter> settled;
  LeaseChanges changes;
};

// The verdict on each id against the rows it names (absent from `rows`: not
// a lease of this subscription): OK when it names a pending, delivered
// message of the row's current delivery (on exactly-once, only while its
// lease runs; after that EXPIRED), OK on at-least-once also for an earlier
// delivery, EXPIRED on exactly-once for the one delivery before, INVALID
// otherwise. On a keyed row only the messages of its run were delivered;
// once the whole run is settled, the key's next messages are due at once.
SettlePlan PlanSettle(DeliveryGuarantee guarantee, const std::map<int64_t, LeaseRow>& rows,
                      absl::Span<const AckId> ids);

struct ClaimPlan {
  LeaseChanges changes;
  std::vector<Leased> leased;
};

// Messages whose delivery time has not come (delayed delivery), by
// position, with how long until it does (rounded up to a millisecond, from
// the statement's now()).
using NotDue = std::map<int64_t, absl::Duration>;

// Redelivery of rows that are due (their lease ran out or was nacked), at
// most `room` messages and, but for the first row, `max_bytes` of data: a
// row out of attempts goes to the dead-letter topic (a keyed row loses its
// head only, and its next message becomes the head), a row that fits goes
// out whole under its next generation, a larger one is split (its first
// `room` positions go out under a new row). A keyed row sends a run of at
// most `room` messages from its head: the unsettled rest of its last run
// when that ended unacked, else its next messages; a run out of attempts
// goes to the dead-letter topic, and the messages after it start afresh.
// Rows past the byte budget stay due for the next claim. Of the positions
// the claim would hand out, those in `not_due` are not delivered: they move
// to a row of their own, due at the earliest of their times, with the
// attempt count they had; a keyed row's new run ends before its first such
// message, and a row whose head is one waits for it. On an at-most-once
// subscription (whose only rows are such) what goes out leaves its row.
ClaimPlan PlanRedelivery(const SubscriptionRecord& sub, absl::Span<const LeaseRow> due, int room,
                         int64_t max_bytes, absl::Duration ack_deadline, const NotDue& not_due);

// A one-statement claim (kClaimNew) took `claimed` into the new row
// `lease_id` before its messages were read: those in `not_due` leave it for
// a row not delivered (attempt 0), due at the earliest of their times.
LeaseChanges PlanHoldBack(int64_t lease_id, absl::Span<const int64_t> claimed,
                          const NotDue& not_due);

// Nacks: only the current delivery of a row may end it early (an older one
// would take the message from its new holder). A whole row, or a keyed row
// when any message of its run is nacked, is due after the backoff; the
// nacked part of a larger row moves to a new row due after the backoff. A
// keyed row's run then ends at its first nacked message: the run's
// unsettled messages up to it go out again together, in order, and the
// messages after it count as not delivered and follow in a later run.
LeaseChanges PlanNack(const SubscriptionRecord& sub, absl::Span<const LeaseRow> rows,
                      absl::Span<const AckId> ids);

// A new message as a claim sees it before reading its data.
struct ScannedMessage {
  int64_t position = 0;
  Labels attributes;
  std::string ordering_key;
  int64_t bytes = 0;
  // Until its delivery time (delayed delivery); zero: due.
  absl::Duration wait;
};

struct NewClaimPlan {
  ClaimPlan claim;
  // Where the cursor goes; equal to the old one when nothing was passed.
  int64_t next_cursor = 0;
  // The scan was full and nothing stopped it: more may follow.
  bool more = false;
};

// The ordering keys of `scan` whose rows a claim must lock first (ordered
// subscriptions only; empty otherwise).
std::vector<std::string> KeysToLock(const SubscriptionRecord& sub,
                                    absl::Span<const ScannedMessage> scan);

// Claims new messages from `scan` (contiguous from `cursor`, at most
// `scan_limit` long): messages the filter rejects are passed over with no
// write; on an ordered subscription a message whose key has a row
// (`keyed_rows`: key -> lease id) queues behind it, and the messages of a
// key new to this claim go out as one run in a new keyed row (those past
// the limits queue in it); the rest are delivered up to `max_messages` and
// `max_bytes` (the first one always). At-most-once keeps no lease:
// delivered is done. A message whose `wait` is not zero is not delivered:
// it goes to a row not delivered (attempt 0) due when the earliest such
// message is, or, the first of a key new to the claim, to the key's new row,
// due at its time, where the key's next messages queue behind it.
NewClaimPlan PlanNewClaim(const SubscriptionRecord& sub, int64_t cursor,
                          absl::Span<const ScannedMessage> scan, int scan_limit,
                          const std::map<std::string, int64_t>& keyed_rows, int max_messages,
                          int64_t max_bytes, absl::Duration ack_deadline);

// The pending positions of a row that retention keeps (at or after
// `first_kept`), and how many it drops.
struct RetainedPending {
  std::vector<int64_t> kept;
  int64_t dropped = 0;
};
RetainedPending ApplyRetentionToPending(absl::Span<const int64_t> pending, int64_t first_kept);

}  // namespace hub

#endif  // HUB_LEASE_RULES_H_
