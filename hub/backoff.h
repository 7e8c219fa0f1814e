#ifndef HUB_BACKOFF_H_
#define HUB_BACKOFF_H_

#include <algorithm>
#include <cmath>

#include "absl/time/time.h"
#include "hub/types.h"

namespace hub {

// The wait before redelivering a message whose delivery `attempt` ended
// unacked: minimum_backoff * 2^(attempt-1), capped at maximum_backoff.
inline absl::Duration RetryBackoff(const RetryPolicy& policy, int attempt) {
  if (attempt < 1 || policy.minimum_backoff <= absl::ZeroDuration()) {
    return absl::ZeroDuration();
  }
  const double factor = std::pow(2.0, std::min(attempt - 1, 30));
  return std::min(policy.maximum_backoff, policy.minimum_backoff * factor);
}

}  // namespace hub

#endif  // HUB_BACKOFF_H_
