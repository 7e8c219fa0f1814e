// Topics and subscriptions: create, get, list, delete, and their error codes.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

using AdminTest = HubTest;

grpc::Status GetTopic(v1::Publisher::Stub& stub, const std::string& name, v1::Topic* out) {
  grpc::ClientContext ctx;
  v1::GetTopicRequest req;
  req.set_name(name);
  return stub.GetTopic(&ctx, req, out);
}

grpc::Status DeleteTopic(v1::Publisher::Stub& stub, const std::string& name) {
  grpc::ClientContext ctx;
  v1::DeleteTopicRequest req;
  req.set_name(name);
  google::protobuf::Empty out;
  return stub.DeleteTopic(&ctx, req, &out);
}

grpc::Status ListTopics(v1::Publisher::Stub& stub, int page_size, const std::string& token,
                        v1::ListTopicsResponse* out) {
  grpc::ClientContext ctx;
  v1::ListTopicsRequest req;
  req.set_page_size(page_size);
  req.set_page_token(token);
  return stub.ListTopics(&ctx, req, out);
}

grpc::Status GetSubscription(v1::Subscriber::Stub& stub, const std::string& name,
                             v1::Subscription* out) {
  grpc::ClientContext ctx;
  v1::GetSubscriptionRequest req;
  req.set_name(name);
  return stub.GetSubscription(&ctx, req, out);
}

TEST_F(AdminTest, TopicLifecycle) {
  grpc::ClientContext ctx;
  v1::Topic topic;
  topic.set_name("orders");
  topic.mutable_message_retention()->set_seconds(3600);
  (*topic.mutable_labels())["team"] = "sales";
  v1::Topic created;
  ASSERT_TRUE(publisher_->CreateTopic(&ctx, topic, &created).ok());
  EXPECT_EQ(created.message_retention().seconds(), 3600);
  EXPECT_EQ(created.dedup_window().seconds(), 24 * 3600);

  v1::Topic got;
  const grpc::Status get = GetTopic(*publisher_, "orders", &got);
  ASSERT_TRUE(get.ok()) << get.error_message();
  EXPECT_EQ(got.name(), "orders");
  EXPECT_EQ(got.message_retention().seconds(), 3600);
  EXPECT_EQ(got.labels().at("team"), "sales");

  EXPECT_EQ(CreateTopic(*publisher_, "orders").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(DeleteTopic(*publisher_, "orders").ok());
  EXPECT_EQ(GetTopic(*publisher_, "orders", &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteTopic(*publisher_, "orders").error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminTest, NamesOutsideTheGrammarAreInvalidArgument) {
  const std::vector<std::string> bad = {"", "ab", "1abc", "_abc", std::string(256, 'a'), "ab c",
                                        "ab/c", "ab:c",
                                        "\xc3\xa4"
                                        "bc",
                                        // No Pub/Sub name maps to these.
                                        "a.b_c-d~e+f%g", "hub~orders", "googx"};
  for (const std::string& name : bad) {
    EXPECT_EQ(CreateTopic(*publisher_, name).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << name;
  }
  EXPECT_EQ(CountRows("SELECT count(*) FROM topics"), 0);
  EXPECT_TRUE(CreateTopic(*publisher_, "a.b_c-d+f%g").ok());
  EXPECT_TRUE(CreateTopic(*publisher_, "shop~a.b_c-d~e+f%g").ok());
  EXPECT_TRUE(CreateTopic(*publisher_, std::string(255, 'z')).ok());
}

TEST_F(AdminTest, BadTopicDurationsAreInvalidArgument) {
  grpc::ClientContext ctx;
  v1::Topic topic;
  topic.set_name("orders");
  topic.mutable_dedup_window()->set_seconds(-5);
  v1::Topic out;
  EXPECT_EQ(publisher_->CreateTopic(&ctx, topic, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminTest, ListTopicsPagesInNameOrder) {
  for (const char* name : {"delta", "alpha", "echo", "charlie", "bravo"}) {
    ASSERT_TRUE(CreateTopic(*publisher_, name).ok());
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListTopicsResponse page;
    ASSERT_TRUE(ListTopics(*publisher_, 2, token, &page).ok());
    for (const v1::Topic& t : page.topics()) seen.push_back(t.name());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"alpha", "bravo", "charlie", "delta", "echo"}));

  v1::ListTopicsResponse out;
  EXPECT_EQ(ListTopics(*publisher_, 1001, "", &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ListTopics(*publisher_, -1, "", &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ListTopics(*publisher_, 10, "not a token!", &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AdminTest, SubscriptionLifecycle) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  grpc::ClientContext ctx;
  v1::Subscription sub;
  sub.set_name("billing");
  sub.set_topic("orders");
  sub.mutable_retry_policy()->mutable_minimum_backoff()->set_seconds(1);
  sub.mutable_retry_policy()->mutable_maximum_backoff()->set_seconds(20);
  v1::Subscription created;
  ASSERT_TRUE(subscriber_->CreateSubscription(&ctx, sub, &created).ok());
  EXPECT_EQ(created.ack_deadline_seconds(), 30);  // the default
  EXPECT_EQ(created.delivery_guarantee(), v1::AT_LEAST_ONCE);

  v1::Subscription got;
  ASSERT_TRUE(GetSubscription(*subscriber_, "billing", &got).ok());
  EXPECT_EQ(got.topic(), "orders");
  EXPECT_EQ(got.retry_policy().minimum_backoff().seconds(), 1);
  EXPECT_EQ(got.retry_policy().maximum_backoff().seconds(), 20);

  EXPECT_EQ(CreateSubscription(*subscriber_, "billing", "orders").error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  grpc::ClientContext del_ctx;
  v1::DeleteSubscriptionRequest del;
  del.set_name("billing");
  google::protobuf::Empty empty;
  ASSERT_TRUE(subscriber_->DeleteSubscription(&del_ctx, del, &empty).ok());
  EXPECT_EQ(GetSubscription(*subscriber_, "billing", &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminTest, SubscriptionErrors) {
  EXPECT_EQ(CreateSubscription(*subscriber_, "billing", "missing").error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  EXPECT_EQ(CreateSubscription(*subscriber_, "billing", "orders", 601).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CreateSubscription(*subscriber_, "billing", "orders", -1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CreateSubscription(*subscriber_, "x", "orders").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext ctx;
  v1::Subscription sub;
  sub.set_name("billing");
  sub.set_topic("orders");
  sub.mutable_retry_policy()->mutable_minimum_backoff()->set_seconds(30);
  sub.mutable_retry_policy()->mutable_maximum_backoff()->set_seconds(10);
  v1::Subscription out;
  EXPECT_EQ(subscriber_->CreateSubscription(&ctx, sub, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CountRows("SELECT count(*) FROM subscriptions"), 0);
}

TEST_F(AdminTest, DeletingATopicDeletesItsSubscriptions) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "shipping", "orders").ok());
  ASSERT_TRUE(DeleteTopic(*publisher_, "orders").ok());
  v1::Subscription got;
  EXPECT_EQ(GetSubscription(*subscriber_, "billing", &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CountRows("SELECT count(*) FROM subscription_cursors"), 0);
}

TEST_F(AdminTest, ListSubscriptionsByTopic) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateTopic(*publisher_, "payments").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "audit", "payments").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "analytics", "orders").ok());

  grpc::ClientContext ctx;
  v1::ListSubscriptionsRequest req;
  req.set_topic("orders");
  v1::ListSubscriptionsResponse resp;
  ASSERT_TRUE(subscriber_->ListSubscriptions(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.subscriptions_size(), 2);
  EXPECT_EQ(resp.subscriptions(0).name(), "analytics");
  EXPECT_EQ(resp.subscriptions(1).name(), "billing");

  grpc::ClientContext all_ctx;
  v1::ListSubscriptionsRequest all;
  v1::ListSubscriptionsResponse all_resp;
  ASSERT_TRUE(subscriber_->ListSubscriptions(&all_ctx, all, &all_resp).ok());
  EXPECT_EQ(all_resp.subscriptions_size(), 3);

  grpc::ClientContext missing_ctx;
  v1::ListSubscriptionsRequest missing;
  missing.set_topic("nothing");
  EXPECT_EQ(subscriber_->ListSubscriptions(&missing_ctx, missing, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AdminTest, EveryGuaranteeRoundTrips) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  int i = 0;
  for (v1::DeliveryGuarantee g : {v1::EXACTLY_ONCE, v1::AT_MOST_ONCE, v1::AT_LEAST_ONCE}) {
    grpc::ClientContext ctx;
    v1::Subscription sub;
    sub.set_name("sub" + std::to_string(i++));
    sub.set_topic("orders");
    sub.set_delivery_guarantee(g);
    sub.set_enable_message_ordering(true);
    sub.set_filter("attributes:kind");
    v1::Subscription out;
    ASSERT_TRUE(subscriber_->CreateSubscription(&ctx, sub, &out).ok());
    v1::Subscription got;
    ASSERT_TRUE(GetSubscription(*subscriber_, sub.name(), &got).ok());
    EXPECT_EQ(got.delivery_guarantee(), g);
    EXPECT_TRUE(got.enable_message_ordering());
    EXPECT_EQ(got.filter(), "attributes:kind");
  }
}

TEST_F(AdminTest, MalformedFilterAndMissingDeadLetterTopicStoreNothing) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  grpc::ClientContext ctx;
  v1::Subscription sub;
  sub.set_name("billing");
  sub.set_topic("orders");
  sub.set_filter("attributes.kind = unquoted");
  v1::Subscription out;
  EXPECT_EQ(subscriber_->CreateSubscription(&ctx, sub, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext ctx2;
  sub.clear_filter();
  sub.mutable_dead_letter_policy()->set_dead_letter_topic("missing");
  EXPECT_EQ(subscriber_->CreateSubscription(&ctx2, sub, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext ctx3;
  ASSERT_TRUE(CreateTopic(*publisher_, "dead").ok());
  sub.mutable_dead_letter_policy()->set_dead_letter_topic("dead");
  ASSERT_TRUE(subscriber_->CreateSubscription(&ctx3, sub, &out).ok());
  EXPECT_EQ(out.dead_letter_policy().max_delivery_attempts(), 20);  // the default
  EXPECT_EQ(CountRows("SELECT count(*) FROM subscriptions"), 1);
}

TEST_F(AdminTest, UpdatesChangeOnlyTheMaskedFields) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());

  grpc::ClientContext tctx;
  v1::UpdateTopicRequest treq;
  treq.mutable_topic()->set_name("orders");
  treq.mutable_topic()->mutable_dedup_window()->set_seconds(120);
  (*treq.mutable_topic()->mutable_labels())["team"] = "ignored";
  treq.mutable_update_mask()->add_paths("dedup_window");
  v1::Topic topic;
  ASSERT_TRUE(publisher_->UpdateTopic(&tctx, treq, &topic).ok());
  EXPECT_EQ(topic.dedup_window().seconds(), 120);
  EXPECT_TRUE(topic.labels().empty());

  grpc::ClientContext bad_ctx;
  treq.mutable_update_mask()->add_paths("name");
  EXPECT_EQ(publisher_->UpdateTopic(&bad_ctx, treq, &topic).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext sctx;
  v1::UpdateSubscriptionRequest sreq;
  sreq.mutable_subscription()->set_name("billing");
  sreq.mutable_subscription()->set_ack_deadline_seconds(90);
  sreq.mutable_subscription()->set_filter("attributes:kind");
  sreq.mutable_update_mask()->add_paths("ack_deadline_seconds");
  sreq.mutable_update_mask()->add_paths("filter");
  v1::Subscription sub;
  ASSERT_TRUE(subscriber_->UpdateSubscription(&sctx, sreq, &sub).ok());
  v1::Subscription got;
  ASSERT_TRUE(GetSubscription(*subscriber_, "billing", &got).ok());
  EXPECT_EQ(got.ack_deadline_seconds(), 90);
  EXPECT_EQ(got.filter(), "attributes:kind");

  for (const char* fixed : {"topic", "delivery_guarantee", "enable_message_ordering"}) {
    grpc::ClientContext fctx;
    v1::UpdateSubscriptionRequest freq = sreq;
    freq.mutable_update_mask()->clear_paths();
    freq.mutable_update_mask()->add_paths(fixed);
    EXPECT_EQ(subscriber_->UpdateSubscription(&fctx, freq, &sub).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << fixed;
  }
}

TEST_F(AdminTest, SubscriptionStartsAfterExistingMessages) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "before", "").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "after", "").ok());
  v1::PullResponse resp;
  ASSERT_TRUE(Pull(*subscriber_, "billing", 10, absl::Seconds(2), &resp).ok());
  ASSERT_EQ(resp.received_messages_size(), 1);
  EXPECT_EQ(resp.received_messages(0).message().data(), "after");
}

// Durations are stored in milliseconds; the answer is what was stored.
TEST_F(AdminTest, CreateTopicEchoesTheRetentionItStored) {
  grpc::ClientContext ctx;
  v1::Topic topic;
  topic.set_name("orders");
  topic.mutable_message_retention()->set_seconds(60);
  topic.mutable_message_retention()->set_nanos(500000);  // 60.0005 s
  v1::Topic created;
  ASSERT_TRUE(publisher_->CreateTopic(&ctx, topic, &created).ok());
  EXPECT_EQ(created.message_retention().seconds(), 60);
  EXPECT_EQ(created.message_retention().nanos(), 0);
  grpc::ClientContext get_ctx;
  v1::GetTopicRequest get;
  get.set_name("orders");
  v1::Topic stored;
  ASSERT_TRUE(publisher_->GetTopic(&get_ctx, get, &stored).ok());
  EXPECT_EQ(stored.message_retention().SerializeAsString(),
            created.message_retention().SerializeAsString());
}

TEST_F(AdminTest, ASubscriptionMayNotDeadLetterIntoItsOwnTopic) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  grpc::ClientContext ctx;
  v1::Subscription sub;
  sub.set_name("loop");
  sub.set_topic("orders");
  sub.mutable_dead_letter_policy()->set_dead_letter_topic("orders");
  v1::Subscription out;
  EXPECT_EQ(subscriber_->CreateSubscription(&ctx, sub, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace hub::testing
