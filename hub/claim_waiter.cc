#include "hub/claim_waiter.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace hub {

void ClaimWaiter::Stop() {
  stopped_ = true;
  wake_ups_.Close();
}

absl::StatusOr<std::vector<Delivery>> ClaimWaiter::ClaimOrWait(const SubscriptionRecord& sub,
                                                               int max_messages, int64_t max_bytes,
                                                               absl::Duration ack_deadline,
                                                               absl::Time deadline) {
  for (;;) {
    if (stopped_) return absl::UnavailableError("the hub is shutting down");
    // The ticket is taken before the claim: a publish committed after the
    // claim's snapshot changes it, so the wait below returns at once.
    const uint64_t ticket = wake_ups_.Ticket(sub.topic_id);
    std::vector<Delivery> deliveries;
    if (gate_.TryEnter(sub.id)) {
      absl::StatusOr<std::vector<Delivery>> claimed =
          store_.Claim(sub, max_messages, max_bytes, ack_deadline);
      gate_.Leave(sub.id);
      RETURN_IF_ERROR(claimed.status());
      deliveries = *std::move(claimed);
      probe_.Delivered(sub.config.name, deliveries);
      // A full claim may have left more behind: the next waiter's turn.
      if (static_cast<int>(deliveries.size()) == max_messages) wake_ups_.Notify(sub.topic_id);
    }
    // Otherwise another stream of this subscription is claiming what there
    // is; it wakes the waiters if it leaves anything.
    const absl::Time now = absl::Now();
    if (!deliveries.empty() || now >= deadline) return deliveries;
    wake_ups_.Wait(sub.topic_id, ticket, std::min(deadline, now + poll_interval_));
  }
}

}  // namespace hub
