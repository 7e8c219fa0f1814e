#include "adapters/webhook_sink/webhook_sink.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace hub::adapters {
namespace {

TEST(VerdictForTest, SuccessAcksClientErrorsRejectTheRestRetries) {
  EXPECT_EQ(VerdictFor(200), WebhookVerdict::kAck);
  EXPECT_EQ(VerdictFor(204), WebhookVerdict::kAck);
  EXPECT_EQ(VerdictFor(400), WebhookVerdict::kReject);
  EXPECT_EQ(VerdictFor(404), WebhookVerdict::kReject);
  EXPECT_EQ(VerdictFor(422), WebhookVerdict::kReject);
  EXPECT_EQ(VerdictFor(408), WebhookVerdict::kRetry);
  EXPECT_EQ(VerdictFor(429), WebhookVerdict::kRetry);
  EXPECT_EQ(VerdictFor(500), WebhookVerdict::kRetry);
  EXPECT_EQ(VerdictFor(503), WebhookVerdict::kRetry);
  EXPECT_EQ(VerdictFor(0), WebhookVerdict::kRetry);  // timeout, refused
  EXPECT_EQ(VerdictFor(302), WebhookVerdict::kRetry);
}

TEST(RateLimiterTest, SpacesRequestsAcrossThreads) {
  RateLimiter limiter(100);  // one per 10 ms
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) limiter.Wait();
    });
  }
  for (auto& thread : threads) thread.join();
  // 20 requests: the last may go no earlier than 19 intervals after the
  // first (a lower bound only: a busy machine may take longer).
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(190));
}

}  // namespace
}  // namespace hub::adapters
