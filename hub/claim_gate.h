#ifndef HUB_CLAIM_GATE_H_
#define HUB_CLAIM_GATE_H_

#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace hub {

// At most one claim per subscription in flight on this replica. Streams of
// one subscription woken by the same publish would otherwise all claim at
// once: they queue on the subscription's cursor row lock, and after the
// first took what there was, the rest find nothing (half of all claims under
// load did). The holder passes the baton when its claim came back full.
class ClaimGate {
 public:
  bool TryEnter(int64_t subscription_id) {
    absl::MutexLock lock(&mu_);
    return busy_.insert(subscription_id).second;
  }
  void Leave(int64_t subscription_id) {
    absl::MutexLock lock(&mu_);
    busy_.erase(subscription_id);
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<int64_t> busy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub

#endif  // HUB_CLAIM_GATE_H_
