#include "services/auth/policy.h"
#include "common/testing/status_matchers.h"

#include <gtest/gtest.h>

namespace hub::services::auth {
namespace {

using ::hub::testing::StatusIs;

Resource T(std::string name) { return {ResourceKind::kTopic, std::move(name)}; }
Resource S(std::string name) { return {ResourceKind::kSubscription, std::move(name)}; }

TEST(PolicyTest, ExactPrefixAndWildcardMatches) {
  absl::StatusOr<Policy> p = Policy::Parse(R"(
# orders publishes its topics
allow orders    publish   topic:orders
allow orders    publish   topic:orders.v2.*
allow billing   subscribe subscription:billing   # its own only
allow ops*      admin     *
allow *         subscribe topic:public.*
)");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->size(), 5u);
  EXPECT_TRUE(p->Allows("orders", Action::kPublish, T("orders")));
  EXPECT_FALSE(p->Allows("orders", Action::kPublish, T("orders2")));
  EXPECT_TRUE(p->Allows("orders", Action::kPublish, T("orders.v2.eu")));
  EXPECT_FALSE(p->Allows("orders", Action::kSubscribe, S("orders")));
  EXPECT_FALSE(p->Allows("orders", Action::kPublish, S("orders")));  // kind matters
  EXPECT_TRUE(p->Allows("billing", Action::kSubscribe, S("billing")));
  EXPECT_FALSE(p->Allows("billing", Action::kSubscribe, S("shipping")));
  EXPECT_TRUE(p->Allows("ops-alice", Action::kAdmin, T("anything")));
  EXPECT_TRUE(p->Allows("ops-alice", Action::kAdmin, S("")));  // listing
  EXPECT_FALSE(p->Allows("ops-alice", Action::kPublish, T("orders")));
  EXPECT_TRUE(p->Allows("anyone", Action::kSubscribe, T("public.news")));
}

// Probe finding: `subscription:billing*` also covered Pub/Sub project
// billing-x's subscriptions (hub names billing-x~...).
TEST(PolicyTest, APrefixStaysInItsProject) {
  absl::StatusOr<Policy> p = Policy::Parse(
      "allow billing subscribe subscription:billing*\n"
      "allow shop    subscribe subscription:shop~*\n"
      "allow ops     subscribe subscription:*\n"
      "allow all     subscribe *\n");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Allows("billing", Action::kSubscribe, S("billing-eu")));
  EXPECT_FALSE(p->Allows("billing", Action::kSubscribe, S("billing-x~orders")));
  EXPECT_FALSE(p->Allows("billing", Action::kSubscribe, S("billing~orders")));
  EXPECT_TRUE(p->Allows("shop", Action::kSubscribe, S("shop~orders")));
  EXPECT_FALSE(p->Allows("shop", Action::kSubscribe, S("shopping~orders")));
  EXPECT_FALSE(p->Allows("shop", Action::kSubscribe, S("orders")));
  EXPECT_TRUE(p->Allows("ops", Action::kSubscribe, S("billing-x~orders")));
  EXPECT_TRUE(p->Allows("all", Action::kSubscribe, S("billing-x~orders")));
}

TEST(PolicyTest, SnapshotsAreAKindOfTheirOwn) {
  absl::StatusOr<Policy> p = Policy::Parse("allow team admin snapshot:team-*\n");
  ASSERT_TRUE(p.ok()) << p.status();
  const Resource snapshot{ResourceKind::kSnapshot, "team-1"};
  EXPECT_TRUE(p->Allows("team", Action::kAdmin, snapshot));
  EXPECT_FALSE(p->Allows("team", Action::kAdmin, T("team-1")));
  EXPECT_FALSE(p->Allows("team", Action::kAdmin, S("team-1")));
  EXPECT_FALSE(p->Allows("team", Action::kAdmin, Resource{ResourceKind::kSnapshot, "other"}));
}

TEST(PolicyTest, DenyWinsAndNothingMatchingIsDenied) {
  absl::StatusOr<Policy> p = Policy::Parse(
      "allow ops * *\n"
      "deny  *   admin topic:payments*\n");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Allows("ops", Action::kAdmin, T("orders")));
  EXPECT_FALSE(p->Allows("ops", Action::kAdmin, T("payments")));
  EXPECT_TRUE(p->Allows("ops", Action::kPublish, T("payments")));
  EXPECT_FALSE(p->Allows("someone", Action::kPublish, T("orders")));
  EXPECT_FALSE(Policy::Parse("")->Allows("ops", Action::kAdmin, T("x")));
}

TEST(PolicyTest, MalformedLinesNameTheirNumber) {
  for (const char* bad : {"permit a publish topic:x", "allow a publish", "allow a read topic:x",
                          "allow a publish queue:x", "allow a publish topic:",
                          "allow a publish topic", "allow a publish topic:x extra"}) {
    absl::StatusOr<Policy> p = Policy::Parse(std::string("# ok\n") + bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_NE(p.status().message().find("line 2"), std::string::npos) << p.status();
  }
}

}  // namespace
}  // namespace hub::services::auth
