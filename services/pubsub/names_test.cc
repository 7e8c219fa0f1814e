// Pub/Sub resource names onto hub names and back (docs/pubsub.md, "Names").
#include "services/pubsub/names.h"
#include "common/testing/status_matchers.h"
#include "hub/validation.h"

#include <string>

#include <gtest/gtest.h>

namespace hub::services::pubsub {
namespace {

using ::hub::testing::StatusIs;

TEST(NamesTest, TheHomeProjectIsThePlainNamesAndOthersCarryTheirId) {
  const Names names("hub");
  EXPECT_EQ(*names.Topic("projects/hub/topics/orders"), "orders");
  EXPECT_EQ(*names.Topic("projects/shop/topics/orders"), "shop~orders");
  EXPECT_EQ(*names.Subscription("projects/shop/subscriptions/billing"), "shop~billing");
  EXPECT_EQ(*names.Snapshot("projects/hub/snapshots/before"), "before");
  EXPECT_EQ(names.TopicResource("orders"), "projects/hub/topics/orders");
  EXPECT_EQ(names.TopicResource("shop~orders"), "projects/shop/topics/orders");
  // An id of another project may hold '~': the project is before the first.
  EXPECT_EQ(*names.Topic("projects/shop/topics/a~b"), "shop~a~b");
  EXPECT_EQ(names.TopicResource("shop~a~b"), "projects/shop/topics/a~b");
}

TEST(NamesTest, EveryMappedNameMapsBack) {
  const Names names("hub");
  for (const char* resource :
       {"projects/hub/topics/orders", "projects/shop/topics/orders.v2",
        "projects/a-b-1/subscriptions/x%y+z", "projects/shop/snapshots/s~t"}) {
    const std::string r = resource;
    const size_t kind = r.find('/', r.find('/') + 1) + 1;
    const std::string collection = r.substr(kind, r.find('/', kind) - kind);
    if (collection == "topics") EXPECT_EQ(names.TopicResource(*names.Topic(r)), r);
    if (collection == "subscriptions") {
      EXPECT_EQ(names.SubscriptionResource(*names.Subscription(r)), r);
    }
    if (collection == "snapshots") EXPECT_EQ(names.SnapshotResource(*names.Snapshot(r)), r);
  }
}

// Probe finding: hub.v1 could create names no Pub/Sub name maps to
// ("Shop~x1": every Pub/Sub call refused it) or that another name's Pub/Sub
// name shadows ("hub~pn-alias-s" listed as pn-alias-s). A name a resource
// can be created with maps to a Pub/Sub name that maps back to it; the rest
// are refused at creation.
TEST(NamesTest, EveryNameAResourceCanHaveIsAPubSubNameAndBack) {
  const Names names("hub");
  for (const char* created : {"orders", "shop~orders", "shop~a~b", "a-b-1~x%y+z", "Orders.v2"}) {
    ASSERT_TRUE(ValidateNewName("topic", created, "hub").ok()) << created;
    EXPECT_EQ(*names.Topic(names.TopicResource(created)), created);
  }
  for (const char* refused :
       {"Shop~x1", "shop~x1", "hub~pn-alias-s", "shop~9ab", "googx", "shop~goog-x", "s_p~orders"}) {
    EXPECT_THAT(ValidateNewName("topic", refused, "hub"),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << refused;
  }
  // Another home project makes "hub~x" a name of project hub like any.
  EXPECT_TRUE(ValidateNewName("topic", "hub~orders", "home").ok());
}

TEST(NamesTest, BadNamesAreInvalidArgumentsThatSayWhy) {
  const Names names("hub");
  for (const char* bad :
       {"orders", "projects/hub/orders", "projects/hub/subscriptions/x-y-z",  // wrong kind
        "projects/Hub/topics/orders", "projects/hub/topics/9orders", "projects/hub/topics/ab",
        "projects/hub/topics/goog-x", "projects/hub/topics/a~b", "projects//topics/orders",
        "projects/hub/topics/orders/extra"}) {
    const absl::StatusOr<std::string> name = names.Topic(bad);
    ASSERT_FALSE(name.ok()) << bad;
    EXPECT_THAT(name, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
  EXPECT_NE(names.Topic("projects/hub/topics/a~b").status().message().find("home project"),
            absl::string_view::npos);
  // Another project's ids must leave room for its id and the '~'.
  const std::string id = "t" + std::string(250, 'x');
  EXPECT_TRUE(names.Topic("projects/hub/topics/" + id).ok());
  const absl::StatusOr<std::string> long_one = names.Topic("projects/shop/topics/" + id);
  ASSERT_FALSE(long_one.ok());
  EXPECT_NE(long_one.status().message().find("the limit is 250"), absl::string_view::npos)
      << long_one.status();
}

TEST(NamesTest, ProjectsAreScopes) {
  const Names names("hub");
  EXPECT_TRUE(names.Project("projects/hub")->Holds("orders"));
  EXPECT_FALSE(names.Project("projects/hub")->Holds("shop~orders"));
  EXPECT_TRUE(names.Project("projects/shop")->Holds("shop~orders"));
  EXPECT_FALSE(names.Project("projects/shop")->Holds("orders"));
  EXPECT_FALSE(names.Project("projects/shop")->Holds("shopping~orders"));
  EXPECT_FALSE(names.Project("projects/Shop").ok());
  EXPECT_FALSE(names.Project("shop").ok());
  EXPECT_FALSE(IsProjectId(std::string(31, 'a')));
  EXPECT_TRUE(IsProjectId(std::string(30, 'a')));
}

}  // namespace
}  // namespace hub::services::pubsub
