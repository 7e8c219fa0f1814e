#include "hubctl/args.h"
#include "common/testing/status_matchers.h"

#include <gtest/gtest.h>

namespace hub::hubctl {
namespace {

using ::hub::testing::StatusIs;

TEST(ParseDurationTest, TakesAbseilUnitsAndDays) {
  EXPECT_EQ(*ParseDuration("7d"), absl::Hours(168));
  EXPECT_EQ(*ParseDuration("90s"), absl::Seconds(90));
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("500ms"), absl::Milliseconds(500));
  for (const char* bad : {"", "7", "-5s", "xd", "1.5d", "soon"}) {
    EXPECT_THAT(ParseDuration(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(ParsePairsTest, SplitsAtTheFirstEqualsSign) {
  auto pairs = ParsePairs({"kind=order", "expr=a=b", "empty="}, "attribute");
  ASSERT_TRUE(pairs.ok());
  EXPECT_EQ((*pairs)["kind"], "order");
  EXPECT_EQ((*pairs)["expr"], "a=b");
  EXPECT_EQ((*pairs)["empty"], "");
  EXPECT_FALSE(ParsePairs({"novalue"}, "attribute").ok());
  EXPECT_FALSE(ParsePairs({"=x"}, "attribute").ok());
  EXPECT_FALSE(ParsePairs({"k=1", "k=2"}, "label").ok());
}

TEST(ParseGuaranteeTest, NamesRoundTrip) {
  for (const char* name : {"at-least-once", "at-most-once", "exactly-once"}) {
    absl::StatusOr<v1::DeliveryGuarantee> g = ParseGuarantee(name);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(GuaranteeName(*g), name);
  }
  EXPECT_FALSE(ParseGuarantee("twice").ok());
  EXPECT_EQ(GuaranteeName(v1::DELIVERY_GUARANTEE_UNSPECIFIED), "at-least-once");
}

TEST(ParseStartTest, TakesEveryKindOfStart) {
  EXPECT_EQ(ParseStart("next")->at_case(), v1::SubscriptionStart::AT_NOT_SET);
  EXPECT_TRUE(ParseStart("oldest")->oldest_retained());
  EXPECT_EQ(ParseStart("snapshot:before-deploy")->snapshot(), "before-deploy");
  EXPECT_EQ(ParseStart("2026-12-07T10:00:00Z")->time().seconds(), 1796637600);
  EXPECT_EQ(ParseStart("2026-12-07T11:00:00+01:00")->time().seconds(), 1796637600);
  EXPECT_FALSE(ParseStart("yesterday").ok());
  EXPECT_FALSE(ParseStart("2026-12-07").ok());
}

TEST(ParseDelayTest, ADurationOrATimeFromNow) {
  const absl::Time now = absl::FromUnixSeconds(1796637600);  // 2026-12-07T10:00:00Z
  EXPECT_EQ(*ParseDelay("90s", now), absl::Seconds(90));
  EXPECT_EQ(*ParseDelay("2d", now), absl::Hours(48));
  EXPECT_EQ(*ParseDelay("2026-12-07T10:30:00Z", now), absl::Minutes(30));
  EXPECT_EQ(*ParseDelay("2026-12-07T09:00:00Z", now), absl::ZeroDuration()) << "past: at once";
  EXPECT_EQ(ParseDelay("soon", now).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseDelay("-5s", now).ok());
}

TEST(ExitCodeTest, ScriptsCanTellOutcomesApart) {
  const std::pair<absl::StatusCode, int> table[] = {
      {absl::StatusCode::kOk, kExitOk},
      {absl::StatusCode::kInvalidArgument, kExitBadInput},
      {absl::StatusCode::kOutOfRange, kExitBadInput},
      {absl::StatusCode::kNotFound, kExitNotFound},
      {absl::StatusCode::kAlreadyExists, kExitAlreadyExists},
      {absl::StatusCode::kUnavailable, kExitUnavailable},
      {absl::StatusCode::kDeadlineExceeded, kExitUnavailable},
      {absl::StatusCode::kPermissionDenied, kExitDenied},
      {absl::StatusCode::kUnauthenticated, kExitDenied},
      {absl::StatusCode::kAborted, kExitFailed},
      {absl::StatusCode::kResourceExhausted, kExitFailed},
      {absl::StatusCode::kInternal, kExitFailed},
      {absl::StatusCode::kFailedPrecondition, kExitFailed},
  };
  for (const auto& [code, exit] : table) {
    EXPECT_EQ(ExitCode(code), exit) << absl::StatusCodeToString(code);
  }
}

}  // namespace
}  // namespace hub::hubctl
