#ifndef HUB_USED_SUBSCRIPTIONS_H_
#define HUB_USED_SUBSCRIPTIONS_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace hub {

// The subscriptions this replica served a call of since the last Take:
// what their expiration counts from (the store marks them used). Kept in
// memory and written once a maintenance interval, so that no call pays a
// database write for it.
class UsedSubscriptions {
 public:
  void Saw(absl::string_view subscription) {
    absl::MutexLock lock(&mu_);
    if (!names_.contains(subscription)) names_.emplace(subscription);
  }

  std::vector<std::string> Take() {
    absl::flat_hash_set<std::string> taken;
    {
      absl::MutexLock lock(&mu_);
      taken.swap(names_);
    }
    return {std::make_move_iterator(taken.begin()), std::make_move_iterator(taken.end())};
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub

#endif  // HUB_USED_SUBSCRIPTIONS_H_
