#include "hub/validation.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace hub {
namespace {

using ::testing::HasSubstr;

Message Msg(std::string data) {
  Message m;
  m.data = std::move(data);
  return m;
}

TEST(ValidationTest, Names) {
  EXPECT_TRUE(ValidateName("topic", "abc").ok());
  EXPECT_TRUE(ValidateName("topic", "a.b_c-d~e+f%g9").ok());
  EXPECT_TRUE(ValidateName("topic", std::string(255, 'a')).ok());
  for (const std::string& bad :
       {std::string(""), std::string("ab"), std::string(256, 'a'), std::string("9ab"),
        std::string("-ab"), std::string("ab c"), std::string("ab/c"), std::string("ab\0c", 4),
        std::string("\xc3\xa4xy")}) {
    EXPECT_EQ(ValidateName("topic", bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ValidationTest, QuotedCallerTextIsCutAtACharacterWithItsLength) {
  EXPECT_EQ(Quoted("orders"), "'orders'");
  EXPECT_EQ(Quoted(std::string(Limits::kMaxQuotedBytes, 'a')),
            "'" + std::string(Limits::kMaxQuotedBytes, 'a') + "'");
  EXPECT_EQ(Quoted(std::string(5'000'000, 'a')),
            "'" + std::string(Limits::kMaxQuotedBytes, 'a') + "...' (5000000 bytes)");
  // A two-byte character across the cut is left out whole.
  const std::string text = std::string(Limits::kMaxQuotedBytes - 1, 'a') + "\xc3\xa4" + "bbb";
  EXPECT_EQ(Quoted(text), "'" + std::string(Limits::kMaxQuotedBytes - 1, 'a') + "...' (" +
                              std::to_string(text.size()) + " bytes)");
}

TEST(ValidationTest, PublishCountBounds) {
  Limits limits;
  EXPECT_FALSE(ValidatePublish("orders", {}, limits).ok());
  EXPECT_TRUE(ValidatePublish("orders", std::vector<Message>(1000, Msg("x")), limits).ok());
  EXPECT_FALSE(ValidatePublish("orders", std::vector<Message>(1001, Msg("x")), limits).ok());
}

TEST(ValidationTest, MessageSizeUsesTheConfiguredMaximum) {
  Limits limits;
  limits.max_message_bytes = 100;
  EXPECT_TRUE(ValidatePublish("orders", {Msg(std::string(100, 'x'))}, limits).ok());
  const absl::Status s = ValidatePublish("orders", {Msg(std::string(101, 'x'))}, limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("messages[0]"), absl::string_view::npos);
}

TEST(ValidationTest, AttributesAndKeysCountTowardsTheSize) {
  Limits limits;
  limits.max_message_bytes = 10;
  Message m = Msg("12345");
  m.attributes["ab"] = "cd";
  m.idempotency_key = "k";
  EXPECT_EQ(MessageBytes(m), 10);
  EXPECT_TRUE(ValidatePublish("orders", {m}, limits).ok());
  m.ordering_key = "o";
  EXPECT_FALSE(ValidatePublish("orders", {m}, limits).ok());
}

// Pub/Sub consumers get the idempotency key as attribute
// hub-idempotency-key: it counts as one of the 100, and no message may carry
// another value under that name (a hub.v1 attribute of the name was
// overwritten for them, and 100 attributes and a key went out as 101).
TEST(ValidationTest, TheIdempotencyKeyIsOneOfTheAttributesPubSubSees) {
  Limits limits;
  Message m = Msg("x");
  for (int i = 0; i < Limits::kMaxAttributes; ++i) m.attributes[absl::StrCat("a", i)] = "v";
  EXPECT_TRUE(ValidatePublish("orders", {m}, limits).ok());
  m.idempotency_key = "order-42";
  EXPECT_EQ(ValidatePublish("orders", {m}, limits).code(), absl::StatusCode::kInvalidArgument);
  m.attributes.erase("a0");
  EXPECT_TRUE(ValidatePublish("orders", {m}, limits).ok());
  // What the Pub/Sub API passes when the key is all a message holds.
  Message key_only;
  key_only.attributes[kIdempotencyKeyAttribute] = "order-42";
  key_only.idempotency_key = "order-42";
  EXPECT_TRUE(ValidatePublish("orders", {key_only}, limits).ok());
  // A hub.v1 attribute of the name with another value, or without a key.
  Message own = Msg("x");
  own.attributes[kIdempotencyKeyAttribute] = "mine";
  EXPECT_EQ(ValidatePublish("orders", {own}, limits).code(), absl::StatusCode::kInvalidArgument);
  own.idempotency_key = "order-42";
  EXPECT_EQ(ValidatePublish("orders", {own}, limits).code(), absl::StatusCode::kInvalidArgument);
}

// A delay is a further attribute for Pub/Sub consumers (hub-deliver-time),
// whose names no message may carry; a negative one is refused.
TEST(ValidationTest, ADelayIsOneOfTheAttributesPubSubSeesAndNeverNegative) {
  Limits limits;
  Message m = Msg("x");
  for (int i = 0; i < Limits::kMaxAttributes; ++i) m.attributes[absl::StrCat("a", i)] = "v";
  m.delivery_delay = absl::Seconds(30);
  EXPECT_EQ(ValidatePublish("orders", {m}, limits).code(), absl::StatusCode::kInvalidArgument);
  m.attributes.erase("a0");
  EXPECT_TRUE(ValidatePublish("orders", {m}, limits).ok());
  m.delivery_delay = absl::Seconds(-1);
  EXPECT_EQ(ValidatePublish("orders", {m}, limits).code(), absl::StatusCode::kInvalidArgument);
  for (const char* name : {kDeliverTimeAttribute, kDeliveryDelayAttribute}) {
    Message own = Msg("x");
    own.attributes[name] = "30s";
    const absl::Status s = ValidatePublish("orders", {own}, limits);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr(name));
  }
}

TEST(ValidationTest, RequestTotalIsBounded) {
  Limits limits;
  limits.max_message_bytes = 10 * kMiB;
  std::vector<Message> messages = {Msg(std::string(6 * kMiB, 'x')),
                                   Msg(std::string(5 * kMiB, 'x'))};
  EXPECT_FALSE(ValidatePublish("orders", messages, limits).ok());
}

TEST(ValidationTest, EmptyMessageNeedsAttributes) {
  Limits limits;
  Message m;
  EXPECT_FALSE(ValidatePublish("orders", {m}, limits).ok());
  m.attributes["kind"] = "ping";
  EXPECT_TRUE(ValidatePublish("orders", {m}, limits).ok());
}

TEST(ValidationTest, SubscriptionBounds) {
  SubscriptionConfig sub;
  sub.name = "billing";
  sub.topic = "orders";
  EXPECT_TRUE(ValidateSubscriptionConfig(sub).ok());
  sub.ack_deadline_seconds = 0;
  EXPECT_FALSE(ValidateSubscriptionConfig(sub).ok());
  sub.ack_deadline_seconds = 601;
  EXPECT_FALSE(ValidateSubscriptionConfig(sub).ok());
  sub.ack_deadline_seconds = 600;
  EXPECT_TRUE(ValidateSubscriptionConfig(sub).ok());
  sub.dead_letter_policy.topic = "dead";
  sub.dead_letter_policy.max_delivery_attempts = 101;
  EXPECT_FALSE(ValidateSubscriptionConfig(sub).ok());
  sub.dead_letter_policy.max_delivery_attempts = 100;
  EXPECT_TRUE(ValidateSubscriptionConfig(sub).ok());
  sub.retry_policy.minimum_backoff = absl::Seconds(10);
  sub.retry_policy.maximum_backoff = absl::Seconds(5);
  EXPECT_FALSE(ValidateSubscriptionConfig(sub).ok());
  sub.retry_policy.maximum_backoff = absl::Seconds(601);
  EXPECT_FALSE(ValidateSubscriptionConfig(sub).ok());
}

TEST(ValidationTest, TopicDurations) {
  TopicConfig topic;
  topic.name = "orders";
  EXPECT_TRUE(ValidateTopicConfig(topic).ok());
  topic.dedup_window = absl::ZeroDuration();
  EXPECT_FALSE(ValidateTopicConfig(topic).ok());
  topic.dedup_window = absl::Hours(1);
  topic.message_retention = absl::Seconds(-1);
  EXPECT_FALSE(ValidateTopicConfig(topic).ok());
}

TEST(ValidationTest, ATransactionHoldsNoMoreThanOnePublishMay) {
  Message m;
  m.data = "x";
  const std::vector<TransactPublish> within = {{"orders", std::vector<Message>(500, m)},
                                               {"billing", std::vector<Message>(500, m)}};
  EXPECT_TRUE(ValidateTransact({}, within, Limits{}).ok());
  const std::vector<TransactPublish> over = {{"orders", std::vector<Message>(600, m)},
                                             {"billing", std::vector<Message>(600, m)}};
  EXPECT_EQ(ValidateTransact({}, over, Limits{}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hub
