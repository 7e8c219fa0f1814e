#ifndef HUB_WAKE_UP_BOARD_H_
#define HUB_WAKE_UP_BOARD_H_

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hub {

// Wakes the local waiters of a topic when messages were committed to it, by
// this replica or (through the store's notifications) by another. Waiters
// take a ticket first and then wait for a change after it, so a publish that
// lands between a waiter's empty claim and its wait is never missed.
class WakeUpBoard {
 public:
  uint64_t Ticket(int64_t topic_id);
  void Notify(int64_t topic_id);
  // Returns when the topic was notified after `ticket`, at `deadline`, or at
  // once after Close.
  void Wait(int64_t topic_id, uint64_t ticket, absl::Time deadline);
  // Wakes every waiter for good (shutdown).
  void Close();

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<int64_t, uint64_t> generation_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hub

#endif  // HUB_WAKE_UP_BOARD_H_
