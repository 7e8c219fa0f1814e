#include "hub/access_policies.h"

#include <utility>

#include "common/log.h"

namespace hub {

void AccessPolicies::Follow(Listener listener) {
  listener_ = std::move(listener);
  absl::StatusOr<int64_t> generation = store_.AccessPolicyGeneration();
  Reload(generation.ok() ? *generation : -1);
  thread_ = std::thread([this] { Run(); });
}

void AccessPolicies::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<AccessPolicy> AccessPolicies::Set(absl::string_view resource,
                                                 absl::string_view bindings, int64_t expected) {
  absl::StatusOr<AccessPolicy> stored = store_.SetAccessPolicy(resource, bindings, expected);
  if (stored.ok() && listener_) {
    absl::StatusOr<int64_t> generation = store_.AccessPolicyGeneration();
    Reload(generation.ok() ? *generation : -1);
  }
  return stored;
}

bool AccessPolicies::Reload(int64_t generation) {
  absl::StatusOr<std::vector<AccessPolicy>> policies = store_.ListAccessPolicies();
  if (!policies.ok()) {
    Log(LogLevel::kWarning, "access_policies_unread",
        {{"error", std::string(policies.status().message())}});
    return false;
  }
  absl::MutexLock lock(&mu_);
  // A reload that read an older generation than one already handed on
  // (two at once) changes nothing.
  if (generation >= 0 && generation < generation_) return true;
  generation_ = generation;
  listener_(*policies);
  return true;
}

void AccessPolicies::Run() {
  while (!stop_.WaitForNotificationWithTimeout(refresh_)) {
    absl::StatusOr<int64_t> generation = store_.AccessPolicyGeneration();
    if (!generation.ok()) continue;
    bool changed;
    {
      absl::MutexLock lock(&mu_);
      changed = *generation != generation_;
    }
    if (changed) Reload(*generation);
  }
}

}  // namespace hub
