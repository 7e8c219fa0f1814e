#include "client/internal/retry.h"

#include <algorithm>

namespace hub::client::internal {

absl::Duration Backoff::Next() {
  const absl::Duration delay = next_;
  next_ = std::min(policy_.maximum, next_ * policy_.multiplier);
  return delay * absl::Uniform(random_, 0.5, 1.0);
}

bool IsRetryablePublishError(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kAborted ||
         code == absl::StatusCode::kDeadlineExceeded;
}

bool IsPermanentStreamError(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
      return true;
    default:
      return false;
  }
}

}  // namespace hub::client::internal
