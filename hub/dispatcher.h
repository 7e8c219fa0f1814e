#ifndef HUB_DISPATCHER_H_
#define HUB_DISPATCHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hub/hub_probe.h"
#include "hub/store.h"
#include "hub/types.h"
#include "hub/wake_up_board.h"

namespace hub {

// What one claim may take for a waiter.
struct Room {
  int messages = 0;
  int64_t bytes = 0;
  // Zero: the subscription's own.
  absl::Duration ack_deadline = absl::ZeroDuration();
};

// A consumer waiting for messages: an open stream or a long-poll Pull. The
// dispatcher calls it on its own threads, one call at a time, and never
// after Remove returned. Wants runs under the dispatcher's lock, so it must
// not call the dispatcher; Take and End run outside it.
class Waiter {
 public:
  virtual ~Waiter() = default;
  // What the next claim may take for this waiter; no messages: no room now
  // (Ready says when there is again).
  virtual Room Wants() = 0;
  // Messages leased for this waiter.
  virtual void Take(const SubscriptionRecord& sub, std::vector<Delivery> deliveries) = 0;
  // The wait is over without (more) messages: OK when a Pull's deadline
  // passed, NOT_FOUND when the subscription is gone, UNAVAILABLE at shutdown,
  // or the error of a failed claim.
  virtual void End(absl::Status status) = 0;
};

enum class Waiting {
  kOnce,          // a Pull: one Take or End
  kUntilRemoved,  // a stream: Takes until End or Remove
};

struct DispatcherOptions {
  // Claims run on these threads and nowhere else: the database connections
  // that waiting consumers use, whatever their number.
  int threads = 2;
  // How often a subscription with waiters is claimed for without a wake-up
  // (redelivery of expired leases, a missed notification) and its
  // configuration read again.
  absl::Duration poll_interval = absl::Seconds(1);
};

// Claims for every waiting consumer of this replica. Waiters hold no thread
// and no database connection: a subscription with waiters is claimed for
// when the wake-up board names its topic, when a waiter gets room again, and
// once per poll interval, one claim at a time per subscription (its waiters
// would otherwise queue on its cursor row and find nothing after the first).
// A claim serves one waiter: the oldest Pull, else the next stream with room
// in turn, so that a claim's ordered messages go to one consumer. A claim
// that came back full is followed by another at once.
class Dispatcher {
 public:
  // `give_back` returns what was claimed for a waiter that left meanwhile.
  using GiveBack = std::function<void(const SubscriptionRecord&, const std::vector<Delivery>&)>;

  Dispatcher(Store& store, HubProbe& probe, WakeUpBoard& wake_ups, GiveBack give_back,
             DispatcherOptions options);
  ~Dispatcher();

  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Ends every waiter with UNAVAILABLE and stops claiming.
  void Stop();

  // Starts serving `waiter` on `subscription` (a Pull until `deadline`).
  // UNAVAILABLE after Stop, and the waiter is not called.
  absl::Status Add(absl::string_view subscription, Waiter* waiter, Waiting mode,
                   absl::Time deadline = absl::InfiniteFuture());
  // Stops serving `waiter`. True: no call of it runs or will run. False: it
  // was ended, or is being ended or taking its Pull's messages, by a call
  // that answers it.
  bool Remove(Waiter* waiter);
  // `waiter` has room again (acks or sent bytes freed some).
  void Ready(Waiter* waiter);

  // The subscription as the dispatcher knows it, read from the store when
  // older than a poll interval: what the streams and claims use, and the
  // unary settling calls too (each would otherwise read it per call).
  absl::StatusOr<SubscriptionRecord> Current(absl::string_view subscription);
  // Reads every subscription again at its next use (an administrative call
  // changed some).
  void ForgetRecords();
  // The subscriptions that have waiters now.
  std::vector<std::string> Waited();

 private:
  struct Entry {
    Waiter* waiter;
    std::string subscription;
    Waiting mode;
    absl::Time deadline;
    // The subscription's claim count when the waiter came: a Pull ends at
    // its deadline only after one claim was made since.
    uint64_t claims_seen;
    bool live = true;       // neither removed nor ended
    bool claiming = false;  // a claim for it runs
    bool calling = false;   // Take or End runs
    bool ending = false;    // End waits for a Take on another thread
    std::thread::id caller;
  };
  struct Subscription {
    std::optional<SubscriptionRecord> record;
    absl::Time refreshed;
    std::deque<uint64_t> pulls;
    std::vector<uint64_t> streams;
    size_t next_stream = 0;
    bool queued = false;       // in due_
    bool claiming = false;     // a claim runs
    bool woken = false;        // a wake-up came while it ran
    bool passed_busy = false;  // a claim passed over a stream whose Take ran
    uint64_t claims = 0;
    std::optional<absl::Time> poll_at;
  };
  // What a claim is for.
  struct Pick {
    uint64_t id = 0;
    Room room;
  };

  void Work();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time NextTimer() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TopicChanged(int64_t topic_id);
  void MarkDue(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SchedulePoll(const std::string& name, absl::Time at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FireTimers(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<Pick> PickWaiter(Subscription& sub) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClaimFor(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Remember(const std::string& name, SubscriptionRecord record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes a live waiter off its subscription's lists.
  void Detach(uint64_t id, Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets a detached entry once no claim and no call holds it, and its
  // subscription once it has no waiters and no claim. Entries live in a
  // node map, so a held one may be used by reference across an unlock.
  void ForgetIfUnused(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns once no Take or End of `id` runs on another thread.
  void AwaitCall(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetIfIdle(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends the Pulls of `name` whose deadline passed, once a claim was made
  // since they came.
  void ExpirePulls(const std::string& name, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Detaches and calls End (outside the lock), after a Take that runs.
  void EndWaiter(uint64_t id, const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndAll(const std::string& name, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store& store_;
  HubProbe& probe_;
  WakeUpBoard& wake_ups_;
  const GiveBack give_back_;
  const DispatcherOptions options_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::node_hash_map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // Live waiters only.
  absl::flat_hash_map<Waiter*, uint64_t> ids_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<std::string, Subscription> subs_ ABSL_GUARDED_BY(mu_);
  // The records Current read of subscriptions without waiters, and when.
  absl::flat_hash_map<std::string, std::pair<SubscriptionRecord, absl::Time>> others_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, absl::flat_hash_set<std::string>> by_topic_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> due_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<absl::Time, std::string>> polls_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<absl::Time, uint64_t>> deadlines_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace hub

#endif  // HUB_DISPATCHER_H_
