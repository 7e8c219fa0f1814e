#include "client/internal/retry.h"

#include <gtest/gtest.h>

namespace hub::client::internal {
namespace {

TEST(BackoffTest, GrowsByTheMultiplierUpToTheMaximumWithJitter) {
  BackoffPolicy policy{absl::Milliseconds(100), absl::Milliseconds(400), 2.0};
  Backoff backoff(policy);
  const absl::Duration expected[] = {absl::Milliseconds(100), absl::Milliseconds(200),
                                     absl::Milliseconds(400), absl::Milliseconds(400)};
  for (absl::Duration delay : expected) {
    const absl::Duration wait = backoff.Next();
    EXPECT_GE(wait, delay / 2);
    EXPECT_LE(wait, delay);
  }
  backoff.Reset();
  EXPECT_LE(backoff.Next(), absl::Milliseconds(100));
}

TEST(RetryTest, PublishRetriesOnlyWhatMayBeRetriedWithTheSameKeys) {
  const std::pair<absl::StatusCode, bool> table[] = {
      {absl::StatusCode::kUnavailable, true},      {absl::StatusCode::kAborted, true},
      {absl::StatusCode::kDeadlineExceeded, true}, {absl::StatusCode::kInvalidArgument, false},
      {absl::StatusCode::kNotFound, false},        {absl::StatusCode::kPermissionDenied, false},
      {absl::StatusCode::kUnauthenticated, false}, {absl::StatusCode::kResourceExhausted, false},
      {absl::StatusCode::kInternal, false},        {absl::StatusCode::kFailedPrecondition, false},
  };
  for (const auto& [code, retry] : table) {
    EXPECT_EQ(IsRetryablePublishError(code), retry) << absl::StatusCodeToString(code);
  }
}

TEST(RetryTest, StreamsReconnectUnlessTheErrorWouldRepeat) {
  const std::pair<absl::StatusCode, bool> table[] = {
      {absl::StatusCode::kNotFound, true},
      {absl::StatusCode::kInvalidArgument, true},
      {absl::StatusCode::kPermissionDenied, true},
      {absl::StatusCode::kUnauthenticated, true},
      {absl::StatusCode::kFailedPrecondition, true},
      {absl::StatusCode::kUnimplemented, true},
      {absl::StatusCode::kUnavailable, false},
      {absl::StatusCode::kCancelled, false},
      {absl::StatusCode::kOk, false},
      {absl::StatusCode::kInternal, false},
      {absl::StatusCode::kDeadlineExceeded, false},
      {absl::StatusCode::kResourceExhausted, false},
  };
  for (const auto& [code, permanent] : table) {
    EXPECT_EQ(IsPermanentStreamError(code), permanent) << absl::StatusCodeToString(code);
  }
}

}  // namespace
}  // namespace hub::client::internal
