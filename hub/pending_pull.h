#ifndef HUB_PENDING_PULL_H_
#define HUB_PENDING_PULL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hub/dispatcher.h"
#include "hub/types.h"

namespace hub {

// One long-poll Pull: answered once, with what a claim leased for it or, at
// its deadline, with nothing. It holds no thread while it waits.
class PendingPull final : public Waiter {
 public:
  // Called once, on a dispatcher thread; the PendingPull may be destroyed as
  // soon as it is called.
  using Answer = std::function<void(absl::StatusOr<Claimed>)>;

  PendingPull(Dispatcher& dispatcher, std::string subscription, int max_messages, int64_t max_bytes,
              absl::Time deadline, Answer answer)
      : dispatcher_(dispatcher),
        subscription_(std::move(subscription)),
        room_{max_messages, max_bytes, absl::ZeroDuration()},
        deadline_(deadline),
        answer_(std::move(answer)) {}
  ~PendingPull() override { dispatcher_.Remove(this); }

  // Starts waiting; the answer may come before this returns. UNAVAILABLE at
  // shutdown, and no answer comes.
  absl::Status Start() { return dispatcher_.Add(subscription_, this, Waiting::kOnce, deadline_); }
  // True: the answer will never come. False: it came or is coming.
  bool Cancel() { return dispatcher_.Remove(this); }

  Room Wants() override { return room_; }
  void Take(const SubscriptionRecord& sub, std::vector<Delivery> deliveries) override {
    Answer answer = std::move(answer_);
    answer(Claimed{sub.config, std::move(deliveries)});
  }
  void End(absl::Status status) override {
    Answer answer = std::move(answer_);
    if (status.ok()) {
      answer(Claimed());
    } else {
      answer(std::move(status));
    }
  }

 private:
  Dispatcher& dispatcher_;
  const std::string subscription_;
  const Room room_;
  const absl::Time deadline_;
  Answer answer_;
};

}  // namespace hub

#endif  // HUB_PENDING_PULL_H_
