#include "services/convert.h"
#include "common/testing/status_matchers.h"

#include <gtest/gtest.h>

namespace hub::services {
namespace {

using ::hub::testing::StatusIs;

TEST(ConvertTest, TopicDefaultsApplyWhenUnset) {
  v1::Topic proto;
  proto.set_name("orders");
  absl::StatusOr<TopicConfig> topic = TopicFromProto(proto);
  ASSERT_TRUE(topic.ok());
  EXPECT_EQ(topic->message_retention, absl::Hours(24 * 7));
  EXPECT_EQ(topic->dedup_window, absl::Hours(24));
}

TEST(ConvertTest, TopicRoundTrips) {
  v1::Topic proto;
  proto.set_name("orders");
  proto.mutable_message_retention()->set_seconds(3600);
  proto.mutable_dedup_window()->set_seconds(60);
  (*proto.mutable_labels())["team"] = "billing";
  absl::StatusOr<TopicConfig> topic = TopicFromProto(proto);
  ASSERT_TRUE(topic.ok());
  v1::Topic back;
  TopicToProto(*topic, &back);
  EXPECT_EQ(back.message_retention().seconds(), 3600);
  EXPECT_EQ(back.dedup_window().seconds(), 60);
  EXPECT_EQ(back.labels().at("team"), "billing");
}

TEST(ConvertTest, MalformedDurationIsInvalidArgument) {
  google::protobuf::Duration d;
  d.set_seconds(1);
  d.set_nanos(-5);  // signs disagree
  EXPECT_THAT(DurationFromProto(d, "x"), StatusIs(absl::StatusCode::kInvalidArgument));
  d.set_seconds(0);
  d.set_nanos(1000000000);  // out of range
  EXPECT_THAT(DurationFromProto(d, "x"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ConvertTest, RetryPolicyBoundsDefaultWhenPolicyIsSet) {
  v1::Subscription proto;
  proto.set_name("billing");
  proto.set_topic("orders");
  proto.mutable_retry_policy();
  absl::StatusOr<SubscriptionConfig> sub = SubscriptionFromProto(proto);
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(sub->retry_policy.minimum_backoff, absl::Seconds(10));
  EXPECT_EQ(sub->retry_policy.maximum_backoff, absl::Seconds(600));
  EXPECT_EQ(sub->delivery_guarantee, DeliveryGuarantee::kAtLeastOnce);
}

TEST(ConvertTest, UnknownDeliveryGuaranteeIsInvalidArgument) {
  v1::Subscription proto;
  proto.set_delivery_guarantee(static_cast<v1::DeliveryGuarantee>(42));
  EXPECT_THAT(SubscriptionFromProto(proto), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ConvertTest, DeliveryCarriesEveryField) {
  Delivery d;
  d.ack_id = "1-1-7";
  d.delivery_attempt = 2;
  d.message.data = "payload";
  d.message.attributes = {{"kind", "order"}};
  d.message.ordering_key = "customer-1";
  d.message.idempotency_key = "k1";
  d.message.message_id = "7";
  d.message.publish_time = absl::FromUnixMicros(1700000000123456);
  v1::ReceivedMessage out;
  DeliveryToProto(std::move(d), &out);
  EXPECT_EQ(out.ack_id(), "1-1-7");
  EXPECT_EQ(out.delivery_attempt(), 2);
  EXPECT_EQ(out.message().data(), "payload");
  EXPECT_EQ(out.message().attributes().at("kind"), "order");
  EXPECT_EQ(out.message().ordering_key(), "customer-1");
  EXPECT_EQ(out.message().idempotency_key(), "k1");
  EXPECT_EQ(out.message().message_id(), "7");
  EXPECT_EQ(out.message().publish_time().seconds(), 1700000000);
  EXPECT_EQ(out.message().publish_time().nanos(), 123456000);
}

// Payloads travel without a copy both ways: from a request into the
// engine's message, and from a delivery into the response.
TEST(ConvertTest, PayloadsMoveWithoutACopy) {
  google::protobuf::RepeatedPtrField<v1::Message> protos;
  protos.Add()->set_data(std::string(4096, 'x'));
  const char* request_bytes = protos[0].data().data();
  absl::StatusOr<std::vector<Message>> m = MessagesFromProto(protos, absl::Now());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->at(0).data.data(), request_bytes);

  Delivery d;
  d.message.data = std::string(4096, 'y');
  const char* delivered_bytes = d.message.data.data();
  v1::ReceivedMessage out;
  DeliveryToProto(std::move(d), &out);
  EXPECT_EQ(out.message().data().data(), delivered_bytes);
}

TEST(ConvertTest, AckStatusesMapOneToOne) {
  EXPECT_EQ(AckStatusToProto(AckStatus::kOk), v1::OK);
  EXPECT_EQ(AckStatusToProto(AckStatus::kExpired), v1::EXPIRED);
  EXPECT_EQ(AckStatusToProto(AckStatus::kInvalid), v1::INVALID);
}

}  // namespace
}  // namespace hub::services
