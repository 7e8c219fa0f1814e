#include "services/auth/policy.h"
#include "common/testing/status_matchers.h"
#include "services/auth/stored_bindings.h"

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

// `view` (get and list) is held by admin rules too, and denied by denies
// of admin; a view rule grants nothing more.
TEST(PolicyTest, ViewIsHeldByAdmin) {
  absl::StatusOr<Policy> p = Policy::Parse(
      "allow readers view  topic:*\n"
      "allow ops     admin topic:*\n"
      "deny  ops     admin topic:payments\n"
      "allow team    admin schema:team-*\n");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Allows("readers", Action::kView, T("orders")));
  EXPECT_FALSE(p->Allows("readers", Action::kAdmin, T("orders")));
  EXPECT_FALSE(p->Allows("readers", Action::kPublish, T("orders")));
  EXPECT_TRUE(p->Allows("ops", Action::kView, T("orders")));
  EXPECT_FALSE(p->Allows("ops", Action::kView, T("payments")));
  EXPECT_TRUE(p->Allows("team", Action::kView, {ResourceKind::kSchema, "team-orders"}));
  EXPECT_FALSE(p->Allows("team", Action::kView, T("team-orders")));
  // Undecided is not denied: stored bindings may still allow it.
  EXPECT_EQ(p->Decide("nobody", Action::kView, T("orders")), std::nullopt);
  EXPECT_EQ(p->Decide("ops", Action::kAdmin, T("payments")), false);
}

TEST(StoredBindingsTest, RolesAndMembersAsTheHubsActionsAndPrincipals) {
  EXPECT_EQ(RoleActions("roles/pubsub.publisher"), std::vector<Action>{Action::kPublish});
  EXPECT_EQ(RoleActions("roles/pubsub.viewer"), std::vector<Action>{Action::kView});
  EXPECT_EQ(RoleActions("roles/pubsub.admin"), RoleActions("roles/pubsub.editor"));
  EXPECT_EQ(RoleActions("roles/owner"), std::nullopt);
  EXPECT_TRUE(ValidateBindings({{"roles/pubsub.subscriber", {"user:a", "serviceAccount:b"}},
                                {"roles/pubsub.viewer", {"allUsers", "allAuthenticatedUsers"}}})
                  .ok());
  EXPECT_THAT(ValidateBindings({{"roles/owner", {"user:a"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateBindings({{"roles/pubsub.viewer", {"group:g"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateBindings({{"roles/pubsub.viewer", std::vector<std::string>(1501, "user:a")}}),
              StatusIs(absl::StatusCode::kInvalidArgument));

  StoredBindings stored;
  stored.Replace({{"topic:orders", 1,
                   BindingsToJson({{"roles/pubsub.publisher", {"user:alice"}},
                                   {"roles/pubsub.viewer", {"allAuthenticatedUsers"}}})},
                  {"subscription:billing", 1,
                   BindingsToJson({{"roles/pubsub.admin", {"serviceAccount:billing"}}})}});
  EXPECT_TRUE(stored.Allows("alice", Action::kPublish, T("orders")));
  EXPECT_FALSE(stored.Allows("bob", Action::kPublish, T("orders")));
  EXPECT_TRUE(stored.Allows("bob", Action::kView, T("orders")));
  EXPECT_FALSE(stored.Allows("anonymous", Action::kView, T("orders")));
  EXPECT_FALSE(stored.Allows("alice", Action::kPublish, T("payments")));
  EXPECT_TRUE(stored.Allows("billing", Action::kSubscribe, S("billing")));
  EXPECT_TRUE(stored.Allows("billing", Action::kView, S("billing")));
  stored.Replace({});
  EXPECT_FALSE(stored.Allows("alice", Action::kPublish, T("orders")));

  EXPECT_EQ(PermissionNeed("pubsub.topics.publish"),
            std::make_pair(ResourceKind::kTopic, Action::kPublish));
  EXPECT_EQ(PermissionNeed("pubsub.subscriptions.consume"),
            std::make_pair(ResourceKind::kSubscription, Action::kSubscribe));
  EXPECT_EQ(PermissionNeed("pubsub.topics.fly"), std::nullopt);
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
  for (const char* bad :
       {"permit a publish topic:x", "allow a publish", "allow a read topic:x",
        "allow a publish queue:x", "allow a publish topic:", "allow a publish topic",
        "allow a publish topic:x extra", "quota a publish_messages 100",
        "quota a publish_messages -5/s", "quota a publish_bytes 10MB/s", "quota a streams 5/s",
        "quota a pull 10/s", "quota a publish_messages 0/s"}) {
    absl::StatusOr<Policy> p = Policy::Parse(std::string("# ok\n") + bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_THAT(p, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_NE(p.status().message().find("line 2"), std::string::npos) << p.status();
  }
}

TEST(PolicyTest, QuotasApplyByTheFirstLineThatMatches) {
  absl::StatusOr<Policy> p = Policy::Parse(
      "allow * * *\n"
      "quota orders publish_messages 100/s\n"
      "quota orders publish_bytes    10MiB/s\n"
      "quota batch* pull_messages    50/s\n"
      "quota *      publish_messages 1000/s\n"
      "quota orders publish_messages 5/s\n"
      "quota *      streams          20\n");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->has_quotas());
  EXPECT_EQ(p->Quota("orders", QuotaKind::kPublishMessages), 100);
  EXPECT_EQ(p->Quota("orders", QuotaKind::kPublishBytes), 10 * 1024 * 1024);
  EXPECT_EQ(p->Quota("billing", QuotaKind::kPublishMessages), 1000);
  EXPECT_EQ(p->Quota("billing", QuotaKind::kPublishBytes), std::nullopt);
  EXPECT_EQ(p->Quota("batch-eu", QuotaKind::kPullMessages), 50);
  EXPECT_EQ(p->Quota("orders", QuotaKind::kPullMessages), std::nullopt);
  EXPECT_EQ(p->Quota("anyone", QuotaKind::kStreams), 20);
  EXPECT_FALSE(Policy::Parse("allow * * *\n")->has_quotas());
}

}  // namespace
}  // namespace hub::services::auth
