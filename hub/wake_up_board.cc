#include "hub/wake_up_board.h"

#include <utility>

namespace hub {

void WakeUpBoard::Listen(Listener listener) {
  absl::MutexLock lock(&mu_);
  listener_ = std::move(listener);
}

void WakeUpBoard::Notify(int64_t topic_id) {
  // Held across the call, so Listen(nullptr) waits out a running one; the
  // listener only marks work and never calls back here.
  absl::MutexLock lock(&mu_);
  if (listener_) listener_(topic_id);
}

}  // namespace hub
