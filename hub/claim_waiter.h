#ifndef HUB_CLAIM_WAITER_H_
#define HUB_CLAIM_WAITER_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hub/claim_gate.h"
#include "hub/hub_probe.h"
#include "hub/store.h"
#include "hub/types.h"
#include "hub/wake_up_board.h"

namespace hub {

// Claims for Pull and streams: one claim at a time per subscription on this
// replica, and a wait for a publish (or a poll) when there was nothing.
class ClaimWaiter {
 public:
  ClaimWaiter(Store& store, HubProbe& probe, WakeUpBoard& wake_ups, absl::Duration poll_interval)
      : store_(store), probe_(probe), wake_ups_(wake_ups), poll_interval_(poll_interval) {}

  // Ends every wait; later claims fail with UNAVAILABLE.
  void Stop();

  // Claims up to `max_messages` (and `max_bytes`) for `ack_deadline`,
  // waiting until `deadline` for messages to arrive; empty when none came.
  absl::StatusOr<std::vector<Delivery>> ClaimOrWait(const SubscriptionRecord& sub, int max_messages,
                                                    int64_t max_bytes, absl::Duration ack_deadline,
                                                    absl::Time deadline);

 private:
  Store& store_;
  HubProbe& probe_;
  WakeUpBoard& wake_ups_;
  const absl::Duration poll_interval_;
  ClaimGate gate_;
  std::atomic<bool> stopped_{false};
};

}  // namespace hub

#endif  // HUB_CLAIM_WAITER_H_
