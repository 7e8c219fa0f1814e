#ifndef SERVICES_STREAM_QUOTA_H_
#define SERVICES_STREAM_QUOTA_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace hub::services {

// Open StreamingPulls per principal, at most a limit each (the server's
// --max_streams_per_principal, or the policy's quota): one credential
// cannot hold every stream the server can keep.
class StreamQuota {
 public:
  // One open stream, counted until destroyed.
  class Slot {
   public:
    Slot(StreamQuota& quota, std::string principal)
        : quota_(&quota), principal_(std::move(principal)) {}
    Slot(Slot&& other) noexcept
        : quota_(std::exchange(other.quota_, nullptr)), principal_(std::move(other.principal_)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&& other) noexcept {
      if (this != &other) {
        Reset();
        quota_ = std::exchange(other.quota_, nullptr);
        principal_ = std::move(other.principal_);
      }
      return *this;
    }
    ~Slot() { Reset(); }

   private:
    void Reset() {
      if (quota_ != nullptr) quota_->Release(principal_);
      quota_ = nullptr;
    }

    StreamQuota* quota_;
    std::string principal_;
  };

  explicit StreamQuota(int limit) : limit_(limit) {}

  int limit() const { return limit_; }

  // A slot for `principal`, or nothing when it holds `limit` streams (the
  // server's, or the policy's quota for it).
  std::optional<Slot> Acquire(const std::string& principal, int limit) {
    absl::MutexLock lock(&mu_);
    int& open = open_[principal];
    if (open >= limit) {
      if (open == 0) open_.erase(principal);
      return std::nullopt;
    }
    ++open;
    return std::optional<Slot>(std::in_place, *this, principal);
  }

 private:
  void Release(const std::string& principal) {
    absl::MutexLock lock(&mu_);
    auto it = open_.find(principal);
    if (--it->second == 0) open_.erase(it);
  }

  const int limit_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub::services

#endif  // SERVICES_STREAM_QUOTA_H_
