// google.pubsub.v1.Subscriber's handlers on a real engine over the fake
// store (hub/testing): the translation of names, codes and verdicts,
// without a server or a database.
#include "services/pubsub/subscriber_service.h"

#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "hub/testing/fake_store.h"

namespace hub::services::pubsub {
namespace {

using ::hub::testing::FakeStore;
using ::testing::HasSubstr;

class PubSubSubscriberServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TopicConfig topic;
    topic.name = "orders";
    ASSERT_TRUE(hub_.CreateTopic(topic).ok());
  }

  grpc::Status Create(const std::string& name, gps::Subscription* out, bool exactly_once = false) {
    gps::Subscription request;
    request.set_name("projects/hub/subscriptions/" + name);
    request.set_topic("projects/hub/topics/orders");
    request.set_enable_exactly_once_delivery(exactly_once);
    grpc::ServerContext context;
    return service_.CreateSubscription(&context, &request, out);
  }

  // One published message, claimed from the store as a Pull would; its
  // ack id.
  std::string Delivered(const std::string& subscription) {
    Message m;
    m.data = "x";
    EXPECT_TRUE(hub_.Publish("orders", {m}).ok());
    absl::StatusOr<SubscriptionRecord> sub = store_.GetSubscription(subscription);
    EXPECT_TRUE(sub.ok());
    absl::StatusOr<std::vector<Delivery>> got = store_.Claim(*sub, 1, 1 << 20, absl::Seconds(10));
    EXPECT_TRUE(got.ok() && got->size() == 1u);
    return got.ok() && !got->empty() ? got->front().ack_id : "";
  }

  grpc::Status Ack(const std::string& subscription, const std::vector<std::string>& ids) {
    gps::AcknowledgeRequest request;
    request.set_subscription("projects/hub/subscriptions/" + subscription);
    for (const std::string& id : ids) request.add_ack_ids(id);
    grpc::ServerContext context;
    google::protobuf::Empty empty;
    return service_.Acknowledge(&context, &request, &empty);
  }

  FakeStore store_;
  prometheus::Registry registry_;
  HubProbe probe_{registry_};
  Hub hub_{store_, HubOptions{}, probe_};
  std::unique_ptr<auth::AccessControl> access_ = *auth::AccessControl::Load({});
  Names names_{"hub"};
  StreamQuota streams_{100};
  SubscriberService service_{hub_, *access_, names_, streams_};
};

TEST_F(PubSubSubscriberServiceTest, NamesAreTranslatedBothWays) {
  gps::Subscription created;
  ASSERT_TRUE(Create("billing", &created).ok());
  EXPECT_EQ(created.name(), "projects/hub/subscriptions/billing");
  EXPECT_EQ(created.topic(), "projects/hub/topics/orders");
  EXPECT_TRUE(store_.GetSubscription("billing").ok());

  gps::GetSubscriptionRequest get;
  get.set_subscription("projects/hub/subscriptions/billing");
  gps::Subscription got;
  grpc::ServerContext context;
  ASSERT_TRUE(service_.GetSubscription(&context, &get, &got).ok());
  EXPECT_EQ(got.name(), created.name());
}

TEST_F(PubSubSubscriberServiceTest, BadNamesAndMissingSubscriptionsHaveTheirCodes) {
  EXPECT_EQ(Ack("no such name!", {"1-1-1"}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  gps::AcknowledgeRequest not_a_path;
  not_a_path.set_subscription("billing");
  not_a_path.add_ack_ids("1-1-1");
  grpc::ServerContext context;
  google::protobuf::Empty empty;
  EXPECT_EQ(service_.Acknowledge(&context, &not_a_path, &empty).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Ack("missing", {"1-1-1"}).error_code(), grpc::StatusCode::NOT_FOUND);
}

// At-least-once: a well-formed id is OK even when it settles nothing (as on
// Google's service); an id the hub cannot have made is INVALID_ARGUMENT.
TEST_F(PubSubSubscriberServiceTest, AtLeastOnceAcksRefuseOnlyMalformedIds) {
  gps::Subscription created;
  ASSERT_TRUE(Create("billing", &created).ok());
  const std::string id = Delivered("billing");
  EXPECT_TRUE(Ack("billing", {id}).ok());
  EXPECT_TRUE(Ack("billing", {id}).ok());
  const grpc::Status bad = Ack("billing", {id, "garbage"});
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("invalid ack id 'garbage'"));
}

// Exactly-once: ids that failed come back as Pub/Sub's ErrorInfo, one
// metadata entry per id, with a count of each kind in the message.
TEST_F(PubSubSubscriberServiceTest, ExactlyOnceFailuresAreReportedPerId) {
  gps::Subscription created;
  ASSERT_TRUE(Create("exact", &created, /*exactly_once=*/true).ok());
  const std::string id = Delivered("exact");
  store_.ExpireLeases();
  const grpc::Status failed = Ack("exact", {id, "9-9-9"});
  ASSERT_EQ(failed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(failed.error_message(), HasSubstr("2 of 2 ack ids failed: 1 expired"));
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(failed.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "EXACTLY_ONCE_ACKID_FAILURE");
  EXPECT_EQ(info.metadata().size(), 2u);
  EXPECT_EQ(info.metadata().at(id), "PERMANENT_FAILURE_INVALID_ACK_ID");
}

TEST_F(PubSubSubscriberServiceTest, ADeadlineOutOfRangeIsRefused) {
  gps::Subscription created;
  ASSERT_TRUE(Create("billing", &created).ok());
  gps::ModifyAckDeadlineRequest request;
  request.set_subscription("projects/hub/subscriptions/billing");
  request.add_ack_ids(Delivered("billing"));
  request.set_ack_deadline_seconds(601);
  grpc::ServerContext context;
  google::protobuf::Empty empty;
  EXPECT_EQ(service_.ModifyAckDeadline(&context, &request, &empty).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace hub::services::pubsub
