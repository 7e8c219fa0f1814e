#include "adapters/webhook_sink/webhook_sink.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace hub::adapters
