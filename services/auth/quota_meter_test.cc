#include "services/auth/quota_meter.h"

#include <gtest/gtest.h>

namespace hub::services::auth {
namespace {

constexpr QuotaKind kMessages = QuotaKind::kPublishMessages;
constexpr QuotaKind kBytes = QuotaKind::kPublishBytes;
const absl::Time kStart = absl::FromUnixSeconds(1796637600);

TEST(QuotaMeterTest, ABucketHoldsASecondAndRefillsAtItsRate) {
  QuotaMeter meter;
  // 100 a second: a burst of 100, then 10 per 100 ms.
  EXPECT_EQ(meter.Take("a", {{kMessages, 100, 60}}, kStart), std::nullopt);
  EXPECT_EQ(meter.Take("a", {{kMessages, 100, 40}}, kStart), std::nullopt);
  std::optional<QuotaMeter::Refusal> refused = meter.Take("a", {{kMessages, 100, 10}}, kStart);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->kind, kMessages);
  EXPECT_EQ(refused->retry_after, absl::Milliseconds(100));
  EXPECT_EQ(meter.Take("a", {{kMessages, 100, 10}}, kStart + absl::Milliseconds(100)),
            std::nullopt);
  // Another principal has its own bucket.
  EXPECT_EQ(meter.Take("b", {{kMessages, 100, 100}}, kStart), std::nullopt);
  // Idle time fills no more than a second's worth.
  EXPECT_EQ(meter.Available("a", kMessages, 100, kStart + absl::Hours(1)), 100);
}

TEST(QuotaMeterTest, ATakeOfMoreThanASecondPassesOnAFullBucketAndLeavesDebt) {
  QuotaMeter meter;
  EXPECT_EQ(meter.Take("a", {{kMessages, 100, 300}}, kStart), std::nullopt);
  EXPECT_EQ(meter.Available("a", kMessages, 100, kStart + absl::Seconds(1)), 0);
  std::optional<QuotaMeter::Refusal> refused =
      meter.Take("a", {{kMessages, 100, 1}}, kStart + absl::Seconds(1));
  ASSERT_TRUE(refused.has_value());
  // 200 in debt, a second refilled 100 of it, and one more to take: 1.01 s
  // of refill at 100 a second.
  EXPECT_EQ(refused->retry_after, absl::Milliseconds(1010));
}

TEST(QuotaMeterTest, DrawsAreTakenAllOrNone) {
  QuotaMeter meter;
  // Bytes would pass, messages would not: neither is taken.
  EXPECT_EQ(meter.Take("a", {{kMessages, 10, 10}}, kStart), std::nullopt);
  std::optional<QuotaMeter::Refusal> refused =
      meter.Take("a", {{kBytes, 1000, 500}, {kMessages, 10, 1}}, kStart);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->kind, kMessages);
  EXPECT_EQ(meter.Available("a", kBytes, 1000, kStart), 1000);
  // A charge is taken whatever the bucket holds.
  meter.Charge("a", kBytes, 1000, 1500, kStart);
  EXPECT_EQ(meter.Available("a", kBytes, 1000, kStart), 0);
  EXPECT_EQ(meter.Available("a", kBytes, 1000, kStart + absl::Seconds(1)), 500);
}

}  // namespace
}  // namespace hub::services::auth
