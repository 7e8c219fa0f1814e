#include "hub/wake_up_board.h"

namespace hub {

uint64_t WakeUpBoard::Ticket(int64_t topic_id) {
  absl::MutexLock lock(&mu_);
  return generation_[topic_id];
}

void WakeUpBoard::Notify(int64_t topic_id) {
  absl::MutexLock lock(&mu_);
  ++generation_[topic_id];
}

void WakeUpBoard::Wait(int64_t topic_id, uint64_t ticket, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || generation_[topic_id] != ticket;
  };
  mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
}

void WakeUpBoard::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

}  // namespace hub
