#ifndef HUB_ACCESS_POLICIES_H_
#define HUB_ACCESS_POLICIES_H_

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "hub/store.h"
#include "hub/types.h"

namespace hub {

// Access policies set through the IAM calls (docs/security.md, "Stored
// bindings"), kept in the store and followed by every replica: once
// followed, a thread asks the store every `refresh` whether any policy
// changed (one row) and reads them all again when one did. A change made
// through this replica is read at once. What the bindings mean is the
// services' business; here they are text with a version.
class AccessPolicies {
 public:
  using Listener = std::function<void(const std::vector<AccessPolicy>&)>;

  AccessPolicies(Store& store, absl::Duration refresh) : store_(store), refresh_(refresh) {}
  ~AccessPolicies() { Stop(); }

  // Reads every policy, hands them to `listener`, and then again after
  // each change, until Stop. Call once.
  void Follow(Listener listener);
  void Stop();

  absl::StatusOr<AccessPolicy> Get(absl::string_view resource) {
    return store_.GetAccessPolicy(resource);
  }
  // Stores `bindings` while the policy's version is `expected` (-1: any);
  // ABORTED otherwise.
  absl::StatusOr<AccessPolicy> Set(absl::string_view resource, absl::string_view bindings,
                                   int64_t expected);

 private:
  // Reads every policy and hands them on; false when the store failed.
  bool Reload(int64_t generation);
  void Run();

  Store& store_;
  const absl::Duration refresh_;
  Listener listener_;
  absl::Mutex mu_;
  int64_t generation_ ABSL_GUARDED_BY(mu_) = -1;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace hub

#endif  // HUB_ACCESS_POLICIES_H_
