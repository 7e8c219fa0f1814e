#include "services/auth/quota_meter.h"

#include <algorithm>
#include <cmath>

namespace hub::services::auth {

QuotaMeter::Bucket& QuotaMeter::Refilled(absl::string_view principal, QuotaKind kind, double rate,
                                         absl::Time now) {
  auto [it, fresh] = buckets_.try_emplace({std::string(principal), kind}, Bucket{rate, now});
  Bucket& b = it->second;
  if (!fresh && now > b.filled) {
    // A quota lowered by a reload caps what was saved under the old one.
    b.tokens = std::min(rate, b.tokens + rate * absl::ToDoubleSeconds(now - b.filled));
    b.filled = now;
  }
  return b;
}

std::optional<QuotaMeter::Refusal> QuotaMeter::Take(absl::string_view principal,
                                                    absl::Span<const Draw> draws, absl::Time now) {
  absl::MutexLock lock(&mu_);
  for (const Draw& d : draws) {
    const Bucket& b = Refilled(principal, d.kind, d.rate, now);
    const double needed = std::min(d.amount, d.rate);
    if (b.tokens < needed) return Refusal{d.kind, absl::Seconds((needed - b.tokens) / d.rate)};
  }
  for (const Draw& d : draws) Refilled(principal, d.kind, d.rate, now).tokens -= d.amount;
  return std::nullopt;
}

int64_t QuotaMeter::Available(absl::string_view principal, QuotaKind kind, double rate,
                              absl::Time now) {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(
      std::max(0.0, std::floor(Refilled(principal, kind, rate, now).tokens)));
}

void QuotaMeter::Charge(absl::string_view principal, QuotaKind kind, double rate, double amount,
                        absl::Time now) {
  absl::MutexLock lock(&mu_);
  Refilled(principal, kind, rate, now).tokens -= amount;
}

}  // namespace hub::services::auth
