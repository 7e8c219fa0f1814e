// Delayed delivery (docs/api.md, "Delayed delivery"): a message published
// with a delivery time or delay is stored and answered at once and reaches
// no subscription before its time. Every check compares the time a message
// arrived with the time it was due, within a margin of seconds: no test
// sleeps for the delay of a production system.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

// How late past its time a delayed message may arrive: the claim that
// finds it due runs within --poll_interval (200 ms here), plus scheduling
// on a loaded CI machine.
constexpr absl::Duration kLateMargin = absl::Seconds(3);

struct Arrival {
  v1::ReceivedMessage received;
  absl::Time at;
};

class DelayedDeliveryTest : public HubTest {
 protected:
  std::vector<std::string> ExtraFlags() override { return {"--poll_interval=200ms"}; }

  static v1::Message Delayed(const std::string& data, absl::Duration delay,
                             const std::string& ordering_key = "") {
    v1::Message m;
    m.set_data(data);
    m.set_ordering_key(ordering_key);
    if (delay > absl::ZeroDuration()) ToProtoDuration(delay, m.mutable_delivery_delay());
    return m;
  }

  grpc::Status Publish(const std::string& topic, const std::vector<v1::Message>& messages,
                       v1::PublishResponse* response = nullptr) {
    grpc::ClientContext ctx;
    v1::PublishRequest request;
    request.set_topic(topic);
    for (const v1::Message& m : messages) *request.add_messages() = m;
    v1::PublishResponse ignored;
    return publisher_->Publish(&ctx, request, response != nullptr ? response : &ignored);
  }

  grpc::Status CreateSub(const std::string& name, const std::string& topic,
                         void (*configure)(v1::Subscription&) = nullptr) {
    grpc::ClientContext ctx;
    v1::Subscription sub, out;
    sub.set_name(name);
    sub.set_topic(topic);
    sub.set_ack_deadline_seconds(30);
    if (configure != nullptr) configure(sub);
    return subscriber_->CreateSubscription(&ctx, sub, &out);
  }

  // Pulls and acknowledges until `n` messages arrived or `limit` passed;
  // each arrival in order, with the time it arrived.
  std::vector<Arrival> Receive(const std::string& subscription, size_t n, absl::Duration limit) {
    std::vector<Arrival> arrivals;
    const absl::Time end = absl::Now() + limit;
    while (arrivals.size() < n && absl::Now() < end) {
      v1::PullResponse resp;
      EXPECT_TRUE(Pull(*subscriber_, subscription, 100, absl::Milliseconds(100), &resp).ok());
      const absl::Time at = absl::Now();
      std::vector<std::string> ids;
      for (const auto& m : resp.received_messages()) {
        arrivals.push_back({m, at});
        ids.push_back(m.ack_id());
      }
      if (!ids.empty()) EXPECT_TRUE(Ack(*subscriber_, subscription, ids).ok());
    }
    return arrivals;
  }

  // The time `m` was due: its publish time plus the delay it carries back.
  static absl::Time DueTime(const v1::Message& m) {
    return m.has_deliver_time() ? FromProtoTime(m.deliver_time()) : FromProtoTime(m.publish_time());
  }

  static void ExpectOnTime(const Arrival& a) {
    const absl::Time due = DueTime(a.received.message());
    EXPECT_GE(a.at, due) << a.received.message().data() << " arrived before its time";
    EXPECT_LT(a.at, due + kLateMargin) << a.received.message().data() << " arrived late";
  }
};

TEST_F(DelayedDeliveryTest, ADelayedMessageIsStoredAtOnceAndArrivesAtItsTimeNotBefore) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  v1::PublishResponse published;
  const absl::Time before = absl::Now();
  // One request, so one segment: the one-statement claim takes both and
  // must hand back the delayed one.
  ASSERT_TRUE(
      Publish("orders", {Delayed("later", absl::Seconds(2)), Delayed("now", {})}, &published).ok());
  EXPECT_LT(absl::Now() - before, absl::Seconds(1)) << "the publish waited for the delay";
  EXPECT_EQ(StoredMessages(), 2);

  std::vector<Arrival> first = Receive("billing", 1, absl::Seconds(5));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].received.message().data(), "now");
  EXPECT_FALSE(first[0].received.message().has_deliver_time());

  // Its fate says when it is due.
  {
    grpc::ClientContext ctx;
    v1::GetMessageFateRequest request;
    request.set_topic("orders");
    request.set_message_id(published.results(0).message_id());
    v1::MessageFate fate;
    ASSERT_TRUE(subscriber_->GetMessageFate(&ctx, request, &fate).ok());
    ASSERT_EQ(fate.subscriptions_size(), 1);
    EXPECT_EQ(fate.subscriptions(0).state(), v1::MESSAGE_STATE_WAITING);
    // The row it waits in is due at its time rounded up to a millisecond.
    const absl::Time next = FromProtoTime(fate.subscriptions(0).next_delivery_time());
    EXPECT_GE(next, FromProtoTime(fate.message().deliver_time()));
    EXPECT_LE(next, FromProtoTime(fate.message().deliver_time()) + absl::Milliseconds(1));
    EXPECT_EQ(FromProtoTime(fate.message().deliver_time()),
              FromProtoTime(fate.message().publish_time()) + absl::Seconds(2));
  }

  std::vector<Arrival> later = Receive("billing", 1, absl::Seconds(10));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].received.message().data(), "later");
  EXPECT_EQ(later[0].received.delivery_attempt(), 1);
  ExpectOnTime(later[0]);
  EXPECT_TRUE(Receive("billing", 1, absl::Seconds(1)).empty()) << "delivered twice";
}

// A time already past delivers at once; a time in the future is a delay
// from the publish.
TEST_F(DelayedDeliveryTest, ADeliveryTimeIsADelayFromThePublish) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  v1::Message past, future;
  past.set_data("past");
  ToProtoTime(absl::Now() - absl::Hours(1), past.mutable_deliver_time());
  future.set_data("future");
  const absl::Time wanted = absl::Now() + absl::Seconds(2);
  ToProtoTime(wanted, future.mutable_deliver_time());
  ASSERT_TRUE(Publish("orders", {future, past}).ok());
  std::vector<Arrival> arrivals = Receive("billing", 2, absl::Seconds(10));
  ASSERT_EQ(arrivals.size(), 2u);
  EXPECT_EQ(arrivals[0].received.message().data(), "past");
  EXPECT_EQ(arrivals[1].received.message().data(), "future");
  EXPECT_GE(arrivals[1].at, wanted);
  ExpectOnTime(arrivals[1]);
}

// Filtered, at-most-once and exactly-once subscriptions claim through the
// checked path, each holds the message back just the same.
TEST_F(DelayedDeliveryTest, EveryKindOfSubscriptionHoldsItBack) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateSub("plain", "orders").ok());
  ASSERT_TRUE(CreateSub("filtered", "orders", [](v1::Subscription& s) {
                s.set_filter("attributes.kind = \"order\"");
              }).ok());
  ASSERT_TRUE(CreateSub("telemetry", "orders", [](v1::Subscription& s) {
                s.set_delivery_guarantee(v1::AT_MOST_ONCE);
              }).ok());
  ASSERT_TRUE(CreateSub("exact", "orders", [](v1::Subscription& s) {
                s.set_delivery_guarantee(v1::EXACTLY_ONCE);
              }).ok());
  v1::Message m = Delayed("later", absl::Seconds(2));
  (*m.mutable_attributes())["kind"] = "order";
  ASSERT_TRUE(Publish("orders", {m}).ok());
  for (const char* sub : {"plain", "filtered", "telemetry", "exact"}) {
    std::vector<Arrival> arrivals = Receive(sub, 1, absl::Seconds(10));
    ASSERT_EQ(arrivals.size(), 1u) << sub;
    ExpectOnTime(arrivals[0]);
    EXPECT_TRUE(Receive(sub, 1, absl::Milliseconds(500)).empty()) << sub << " delivered twice";
  }
}

// A delayed message holds back the later messages of its key, both when
// the key is new to the claim and when it queues behind a run that is out.
TEST_F(DelayedDeliveryTest, ADelayedMessageHoldsBackTheLaterMessagesOfItsKey) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateSub("ordered", "orders", [](v1::Subscription& s) {
                s.set_enable_message_ordering(true);
              }).ok());
  ASSERT_TRUE(Publish("orders", {Delayed("k1", absl::Seconds(2), "k"), Delayed("k2", {}, "k"),
                                 Delayed("j1", {}, "j"), Delayed("j2", {}, "j")})
                  .ok());
  std::vector<Arrival> arrivals = Receive("ordered", 4, absl::Seconds(10));
  ASSERT_EQ(arrivals.size(), 4u);
  std::vector<std::string> order;
  for (const Arrival& a : arrivals) order.push_back(a.received.message().data());
  EXPECT_EQ(order, (std::vector<std::string>{"j1", "j2", "k1", "k2"}));
  ExpectOnTime(arrivals[2]);
  EXPECT_GE(arrivals[3].at, DueTime(arrivals[2].received.message())) << "k2 passed k1";

  // The key's next message is delayed while its run is out: it queues in
  // the key's row, and the one after it waits for it.
  ASSERT_TRUE(Publish("orders", {Delayed("k3", {}, "k")}).ok());
  v1::PullResponse out;
  ASSERT_TRUE(Pull(*subscriber_, "ordered", 10, absl::Seconds(5), &out).ok());
  ASSERT_EQ(out.received_messages_size(), 1);
  ASSERT_TRUE(
      Publish("orders", {Delayed("k4", absl::Seconds(2), "k"), Delayed("k5", {}, "k")}).ok());
  ASSERT_TRUE(Ack(*subscriber_, "ordered", {out.received_messages(0).ack_id()}).ok());
  arrivals = Receive("ordered", 2, absl::Seconds(10));
  ASSERT_EQ(arrivals.size(), 2u);
  EXPECT_EQ(arrivals[0].received.message().data(), "k4");
  EXPECT_EQ(arrivals[1].received.message().data(), "k5");
  ExpectOnTime(arrivals[0]);
}

// Held back in PostgreSQL, not in hubd's memory: a kill -9 between the
// publish and the delivery time loses nothing and delivers nothing early.
TEST_F(DelayedDeliveryTest, DelayedMessagesSurviveAKillNineOfHubd) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  std::vector<v1::Message> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(Delayed(absl::StrCat("m", i), absl::Seconds(3)));
  ASSERT_TRUE(Publish("orders", batch).ok());
  // A claim takes them and holds them back before the kill.
  v1::PullResponse none;
  ASSERT_TRUE(Pull(*subscriber_, "billing", 100, absl::Milliseconds(300), &none).ok());
  EXPECT_EQ(none.received_messages_size(), 0);
  EXPECT_EQ(CountRows("SELECT coalesce(sum(cardinality(pending)), 0) FROM leases "
                      "WHERE attempt = 0 AND available_at > now()"),
            50);
  hubd_->Kill();
  ASSERT_NO_FATAL_FAILURE(hubd_->Start());

  std::map<std::string, int> seen;
  for (const Arrival& a : Receive("billing", 50, absl::Seconds(15))) {
    ++seen[a.received.message().data()];
    ExpectOnTime(a);
    EXPECT_EQ(a.received.delivery_attempt(), 1);
  }
  EXPECT_EQ(seen.size(), 50u) << "delayed messages were lost";
  for (const auto& [data, count] : seen) EXPECT_EQ(count, 1) << data;
}

TEST_F(DelayedDeliveryTest, DelaysPastTheRetentionOrBelowZeroAreRefusedAndStoreNothing) {
  {
    grpc::ClientContext ctx;
    v1::Topic topic, out;
    topic.set_name("short");
    topic.mutable_message_retention()->set_seconds(3600);
    ASSERT_TRUE(publisher_->CreateTopic(&ctx, topic, &out).ok());
  }
  grpc::Status s = Publish("short", {Delayed("ok", {}), Delayed("too-late", absl::Hours(2))});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("message_retention"), std::string::npos) << s.error_message();
  v1::Message negative;
  negative.set_data("negative");
  negative.mutable_delivery_delay()->set_seconds(-5);
  s = Publish("short", {negative});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::Message malformed;
  malformed.set_data("malformed");
  malformed.mutable_delivery_delay()->set_seconds(1);
  malformed.mutable_delivery_delay()->set_nanos(-1);
  s = Publish("short", {malformed});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("messages[0].delivery_delay"), std::string::npos);
  EXPECT_EQ(StoredMessages(), 0);
  // Up to the retention is taken.
  EXPECT_TRUE(Publish("short", {Delayed("in-time", absl::Minutes(59))}).ok());
}

}  // namespace
}  // namespace hub::testing
