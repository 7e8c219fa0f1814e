#ifndef SERVICES_AUTH_QUOTA_METER_H_
#define SERVICES_AUTH_QUOTA_METER_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/auth/policy.h"

namespace hub::services::auth {

// Token buckets per principal and quota (docs/security.md, "Quotas"). A
// rate of R a second fills a bucket that holds one second's worth, R: a
// principal may burst to a second's quota, then goes at its rate. A take
// larger than the bucket holds passes when the bucket is full and leaves it
// in debt, so a request of more than a second's quota is slowed, not
// refused for good.
class QuotaMeter {
 public:
  // `amount` of the quota `kind`, which fills at `rate` a second.
  struct Draw {
    QuotaKind kind;
    double rate;
    double amount;
  };
  struct Refusal {
    QuotaKind kind;
    absl::Duration retry_after;  // until the draw would pass
  };
  // Takes every draw or none: nullopt when all pass, else the first that
  // does not.
  std::optional<Refusal> Take(absl::string_view principal, absl::Span<const Draw> draws,
                              absl::Time now);
  // What may be taken now, whole (0 in debt).
  int64_t Available(absl::string_view principal, QuotaKind kind, double rate, absl::Time now);
  // Takes `amount` whatever the bucket holds (what was handed out already).
  void Charge(absl::string_view principal, QuotaKind kind, double rate, double amount,
              absl::Time now);

 private:
  struct Bucket {
    double tokens;
    absl::Time filled;
  };
  // The bucket refilled to `now`; full when new. Under mu_.
  Bucket& Refilled(absl::string_view principal, QuotaKind kind, double rate, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  absl::flat_hash_map<std::pair<std::string, QuotaKind>, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub::services::auth

#endif  // SERVICES_AUTH_QUOTA_METER_H_
