#ifndef CLIENT_INTERNAL_RETRY_H_
#define CLIENT_INTERNAL_RETRY_H_

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/options.h"

// When to try again, and after how long. Pure decisions, so they are unit
// tested without a server.
namespace hub::client::internal {

// Successive waits of one BackoffPolicy, with jitter.
class Backoff {
 public:
  explicit Backoff(const BackoffPolicy& policy) : policy_(policy), next_(policy.initial) {}

  // The next wait, in [delay/2, delay], where delay grows by the multiplier
  // up to the maximum.
  absl::Duration Next();
  void Reset() { next_ = policy_.initial; }

 private:
  const BackoffPolicy policy_;
  absl::Duration next_;
  absl::BitGen random_;
};

// A publish that failed with this code stored nothing, or may have stored
// its messages under their idempotency keys: retrying with the same keys is
// safe. UNAVAILABLE: the hub or its database was unreachable; ABORTED: a
// transaction conflict; DEADLINE_EXCEEDED: no answer in time.
bool IsRetryablePublishError(absl::StatusCode code);

// A StreamingPull that ended with this code will end the same way again:
// the subscription is gone, the request was malformed, or the caller lacks
// credentials or rights. Anything else reconnects.
bool IsPermanentStreamError(absl::StatusCode code);

}  // namespace hub::client::internal

#endif  // CLIENT_INTERNAL_RETRY_H_
