// Where a new subscription starts (the next message, the oldest retained,
// a time, a snapshot) and how an unused one expires (docs/operations.md,
// "Subscriptions over their life").
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/pubsub/v1/pubsub.grpc.pb.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

namespace gps = google::pubsub::v1;

class SubscriptionLifecycleTest : public HubTest {
 protected:
  std::vector<std::string> ExtraFlags() override { return {"--maintenance_interval=300ms"}; }

  grpc::Status Create(const std::string& name, const v1::SubscriptionStart& start,
                      v1::Subscription* out = nullptr) {
    grpc::ClientContext ctx;
    v1::Subscription sub, ignored;
    sub.set_name(name);
    sub.set_topic("orders");
    *sub.mutable_start() = start;
    return subscriber_->CreateSubscription(&ctx, sub, out != nullptr ? out : &ignored);
  }

  // The data of every message `subscription` delivers now, acknowledged.
  std::set<std::string> Drain(const std::string& subscription) {
    std::set<std::string> data;
    for (;;) {
      v1::PullResponse resp;
      EXPECT_TRUE(Pull(*subscriber_, subscription, 100, absl::Milliseconds(300), &resp).ok());
      if (resp.received_messages_size() == 0) return data;
      std::vector<std::string> ids;
      for (const auto& m : resp.received_messages()) {
        data.insert(m.message().data());
        ids.push_back(m.ack_id());
      }
      EXPECT_TRUE(Ack(*subscriber_, subscription, ids).ok());
    }
  }
};

TEST_F(SubscriptionLifecycleTest, ANewSubscriptionStartsWhereItIsTold) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "watcher", "orders", 30).ok());
  for (const char* data : {"a", "b", "c"})
    ASSERT_TRUE(PublishOne(*publisher_, "orders", data, "").ok());
  // a, b and c are an hour old (their day's partition is today's or
  // yesterday's, which the hub made).
  QueryValue(url_, "UPDATE segments SET publish_time = now() - interval '1 hour'");
  // A snapshot while watcher holds a, b, c unacknowledged (Pub/Sub's call:
  // hub.v1 has none).
  auto pubsub = gps::Subscriber::NewStub(hubd_->Channel());
  {
    grpc::ClientContext ctx;
    gps::CreateSnapshotRequest request;
    request.set_name("projects/hub/snapshots/before-d");
    request.set_subscription("projects/hub/subscriptions/watcher");
    gps::Snapshot out;
    ASSERT_TRUE(pubsub->CreateSnapshot(&ctx, request, &out).ok());
  }
  for (const char* data : {"d", "e"}) ASSERT_TRUE(PublishOne(*publisher_, "orders", data, "").ok());

  v1::SubscriptionStart start;
  ASSERT_TRUE(Create("next", start).ok());
  start.set_oldest_retained(true);
  v1::Subscription answered;
  ASSERT_TRUE(Create("oldest", start, &answered).ok());
  EXPECT_FALSE(answered.has_start()) << "start is not a property the subscription keeps";
  start.mutable_time()->set_seconds(absl::ToUnixSeconds(absl::Now() - absl::Minutes(10)));
  ASSERT_TRUE(Create("recent", start).ok());
  start.set_snapshot("before-d");
  ASSERT_TRUE(Create("replay", start).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "f", "").ok());

  EXPECT_EQ(Drain("next"), (std::set<std::string>{"f"}));
  EXPECT_EQ(Drain("oldest"), (std::set<std::string>{"a", "b", "c", "d", "e", "f"}));
  EXPECT_EQ(Drain("recent"), (std::set<std::string>{"d", "e", "f"}));
  EXPECT_EQ(Drain("replay"), (std::set<std::string>{"a", "b", "c", "d", "e", "f"}));
}

TEST_F(SubscriptionLifecycleTest, TheOldestRetainedIsWithinTheSubscriptionsOwnRetention) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "old", "").ok());
  QueryValue(url_, "UPDATE segments SET publish_time = now() - interval '1 hour'");
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "new", "").ok());
  grpc::ClientContext ctx;
  v1::Subscription sub, out;
  sub.set_name("short");
  sub.set_topic("orders");
  sub.mutable_message_retention()->set_seconds(600);
  sub.mutable_start()->set_oldest_retained(true);
  ASSERT_TRUE(subscriber_->CreateSubscription(&ctx, sub, &out).ok());
  EXPECT_EQ(Drain("short"), (std::set<std::string>{"new"}));
}

TEST_F(SubscriptionLifecycleTest, ABadStartIsRefusedAndCreatesNothing) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateTopic(*publisher_, "other").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "other-sub", "other", 30).ok());
  auto pubsub = gps::Subscriber::NewStub(hubd_->Channel());
  {
    grpc::ClientContext ctx;
    gps::CreateSnapshotRequest request;
    request.set_name("projects/hub/snapshots/of-other");
    request.set_subscription("projects/hub/subscriptions/other-sub");
    gps::Snapshot out;
    ASSERT_TRUE(pubsub->CreateSnapshot(&ctx, request, &out).ok());
  }
  v1::SubscriptionStart start;
  start.mutable_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  EXPECT_EQ(Create("starter", start).error_message(), "start.time is after the hub's clock");
  start.set_oldest_retained(false);
  EXPECT_EQ(Create("starter", start).error_message(),
            "start.oldest_retained, when set, must be true");
  start.set_snapshot("missing");
  EXPECT_EQ(Create("starter", start).error_code(), grpc::StatusCode::NOT_FOUND);
  start.set_snapshot("of-other");
  const grpc::Status foreign = Create("starter", start);
  EXPECT_EQ(foreign.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(foreign.error_message().find("of topic other"), std::string::npos)
      << foreign.error_message();
  EXPECT_EQ(CountRows("SELECT count(*) FROM subscriptions WHERE name = 'starter'"), 0);

  // Start is not a property to update.
  grpc::ClientContext ctx;
  v1::UpdateSubscriptionRequest update;
  update.mutable_subscription()->set_name("other-sub");
  update.mutable_update_mask()->add_paths("start");
  v1::Subscription out;
  EXPECT_EQ(subscriber_->UpdateSubscription(&ctx, update, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SubscriptionLifecycleTest, AnUnusedSubscriptionExpiresAndAUsedOneDoesNot) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  for (const char* name : {"idle", "busy", "forever"}) {
    grpc::ClientContext ctx;
    v1::Subscription sub, out;
    sub.set_name(name);
    sub.set_topic("orders");
    if (std::string(name) != "forever") sub.mutable_expiration_ttl()->set_seconds(86400);
    ASSERT_TRUE(subscriber_->CreateSubscription(&ctx, sub, &out).ok()) << name;
    EXPECT_EQ(out.expiration_ttl().seconds(), std::string(name) == "forever" ? 0 : 86400);
  }
  // Out of range.
  {
    grpc::ClientContext ctx;
    v1::Subscription sub, out;
    sub.set_name("brief");
    sub.set_topic("orders");
    sub.mutable_expiration_ttl()->set_seconds(3600);
    EXPECT_EQ(subscriber_->CreateSubscription(&ctx, sub, &out).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // A subscription a stream waits on is used however long nothing comes.
  StreamConsumer consumer([&] { return hubd_->Channel(); }, "busy",
                          [](const v1::ReceivedMessage&) { return StreamConsumer::Reply::kAck; });
  absl::SleepFor(absl::Milliseconds(500));
  // All three unused for two days, as far as the database knows: the clock
  // is not waited for, the rows are set back. Every maintenance round
  // (300 ms) marks what was used, then deletes what expired.
  QueryValue(url_, "UPDATE subscriptions SET active_at = now() - interval '2 days'");
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (CountRows("SELECT count(*) FROM subscriptions WHERE name = 'idle'") != 0 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(CountRows("SELECT count(*) FROM subscriptions WHERE name = 'idle'"), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM subscriptions WHERE name IN ('busy', 'forever')"), 2);
  EXPECT_EQ(MetricValue(*hubd_, "hub_subscriptions_expired_total"), 1);
  EXPECT_EQ(RunCommand(absl::StrCat("grep -c '\"event\":\"subscription_expired\".*idle' ",
                                    hubd_->log_path()))
                .out,
            "1\n");
  consumer.Stop();

  // Calls that name it use it too: short Pulls, ten a second.
  std::atomic<bool> stop{false};
  std::thread puller([&] {
    auto subscriber = hubd_->Subscriber();
    while (!stop.load()) {
      v1::PullResponse resp;
      EXPECT_TRUE(Pull(*subscriber, "busy", 1, absl::Milliseconds(10), &resp).ok());
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
  absl::SleepFor(absl::Milliseconds(500));
  QueryValue(url_, "UPDATE subscriptions SET active_at = now() - interval '2 days'");
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(CountRows("SELECT count(*) FROM subscriptions WHERE name = 'busy'"), 1);
  stop = true;
  puller.join();
  // Left alone (after a round wrote the last pull), it goes.
  absl::SleepFor(absl::Seconds(1));
  QueryValue(url_, "UPDATE subscriptions SET active_at = now() - interval '2 days'");
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(CountRows("SELECT count(*) FROM subscriptions WHERE name = 'busy'"), 0);

  // The ttl is updatable, and Pub/Sub's expiration_policy is the same field.
  auto pubsub = gps::Subscriber::NewStub(hubd_->Channel());
  grpc::ClientContext ctx;
  gps::UpdateSubscriptionRequest update;
  update.mutable_subscription()->set_name("projects/hub/subscriptions/forever");
  update.mutable_subscription()->set_topic("projects/hub/topics/orders");
  update.mutable_subscription()->mutable_expiration_policy()->mutable_ttl()->set_seconds(2 * 86400);
  update.mutable_update_mask()->add_paths("expiration_policy");
  gps::Subscription updated;
  ASSERT_TRUE(pubsub->UpdateSubscription(&ctx, update, &updated).ok());
  EXPECT_EQ(updated.expiration_policy().ttl().seconds(), 2 * 86400);
}

}  // namespace
}  // namespace hub::testing
