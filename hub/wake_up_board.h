#ifndef HUB_WAKE_UP_BOARD_H_
#define HUB_WAKE_UP_BOARD_H_

#include <cstdint>
#include <functional>

#include "absl/synchronization/mutex.h"

namespace hub {

// Says that messages may be waiting on a topic: committed to it by this
// replica or (through the store's notifications) by another, or made due by
// a nack, a seek or a settled ordered message. The dispatcher listens and
// claims for the topic's waiting subscriptions; the parts that make messages
// due need not know it.
class WakeUpBoard {
 public:
  using Listener = std::function<void(int64_t topic_id)>;

  // Replaces the listener; null stops the calls. Returns once no call of the
  // previous listener runs.
  void Listen(Listener listener);
  void Notify(int64_t topic_id);

 private:
  absl::Mutex mu_;
  Listener listener_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub

#endif  // HUB_WAKE_UP_BOARD_H_
