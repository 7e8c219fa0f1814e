// The client library against a real hubd: a publish whose reply was lost is
// retried and stored once; lease renewal keeps a slow handler's message
// from being redelivered; the guarantee's verdicts reach the handler.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/admin_client.h"
#include "client/internal/grpc_hub_stub.h"
#include "client/publisher.h"
#include "client/subscriber.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

// The real stub, except that the first `drops` publish replies are lost on
// the way back: the hub committed, the caller sees UNAVAILABLE.
class ReplyDroppingStub : public client::internal::GrpcHubStub {
 public:
  ReplyDroppingStub(const std::string& address, int drops)
      : GrpcHubStub(*client::internal::MakeChannel({.endpoint = address}),
                    client::ConnectionOptions{}),
        drops_(drops) {}

  absl::StatusOr<v1::PublishResponse> Publish(const v1::PublishRequest& request) override {
    absl::StatusOr<v1::PublishResponse> response = GrpcHubStub::Publish(request);
    ++calls;
    if (response.ok() && drops_-- > 0) {
      first_reply = *response;
      return absl::UnavailableError("connection reset before the reply arrived");
    }
    return response;
  }

  std::atomic<int> calls{0};
  v1::PublishResponse first_reply;

 private:
  std::atomic<int> drops_;
};

class ClientTest : public HubTest {
 protected:
  client::Connection Connect() {
    absl::StatusOr<client::Connection> c = client::Connection::Open({.endpoint = hubd_->address()});
    EXPECT_TRUE(c.ok()) << c.status();
    return *c;
  }

  // With `backoff`, a lease that runs out is redelivered that long after.
  void CreateSub(const std::string& name, int ack_deadline,
                 v1::DeliveryGuarantee guarantee = v1::AT_LEAST_ONCE, int backoff_seconds = 0) {
    v1::Subscription sub;
    sub.set_name(name);
    sub.set_topic("orders");
    sub.set_ack_deadline_seconds(ack_deadline);
    sub.set_delivery_guarantee(guarantee);
    if (backoff_seconds > 0) {
      sub.mutable_retry_policy()->mutable_minimum_backoff()->set_seconds(backoff_seconds);
      sub.mutable_retry_policy()->mutable_maximum_backoff()->set_seconds(backoff_seconds);
    }
    ASSERT_TRUE(client::AdminClient(Connect()).CreateSubscription(sub).ok());
  }
};

TEST_F(ClientTest, APublishWhoseReplyWasLostIsRetriedAndStoredOnce) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  auto stub = std::make_shared<ReplyDroppingStub>(hubd_->address(), 1);
  client::PublisherOptions options;
  options.retry_backoff.initial = absl::Milliseconds(10);
  client::Publisher publisher{client::Connection(stub), "orders", options};
  absl::StatusOr<client::PublishAck> ack = publisher.Publish({.data = "charge 42"}).get();
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(stub->calls.load(), 2);
  // The retry carried the same generated key: the hub answered with the
  // first attempt's message id and stored nothing new.
  EXPECT_TRUE(ack->duplicate);
  EXPECT_EQ(ack->message_id, stub->first_reply.results(0).message_id());
  EXPECT_EQ(StoredMessages(), 1);
}

TEST_F(ClientTest, LeaseRenewalKeepsASlowHandlersMessagesFromRedelivery) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  CreateSub("slow", 2);
  CreateSub("unrenewed", 2);
  client::Publisher publisher(Connect(), "orders");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(publisher.Publish({.data = absl::StrCat(i)}).get().ok());

  // Handlers take 6 s, three times the 2 s lease.
  auto run = [&](const std::string& subscription, absl::Duration max_extension) {
    absl::Mutex mu;
    std::map<std::string, int> deliveries;
    client::SubscriberOptions o;
    o.ack_deadline_seconds = 2;
    o.max_concurrency = 5;
    o.max_lease_extension = max_extension;
    client::Subscriber subscriber(Connect(), subscription, o);
    client::SubscriberSession session =
        subscriber.Subscribe([&](client::Message m, client::AckHandler h) {
          {
            absl::MutexLock lock(&mu);
            ++deliveries[m.data];
          }
          absl::SleepFor(absl::Seconds(6));
          std::move(h).Ack();
        });
    absl::SleepFor(absl::Seconds(8));
    session.Stop();
    absl::MutexLock lock(&mu);
    return deliveries;
  };
  std::map<std::string, int> renewed = run("slow", absl::Minutes(10));
  ASSERT_EQ(renewed.size(), 5u);
  for (const auto& [data, count] : renewed) EXPECT_EQ(count, 1) << data;
  absl::StatusOr<v1::SubscriptionStats> stats =
      client::AdminClient(Connect()).GetSubscriptionStats("slow");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->backlog_messages() + stats->unacked_messages(), 0);

  // The control: without renewal the leases run out, and another consumer
  // of the subscription is given the messages the slow handler still holds.
  absl::Mutex rival_mu;
  int redelivered = 0;
  std::atomic<bool> stop_rival{false};
  std::thread rival([&] {
    auto subscriber = hubd_->Subscriber();
    while (!stop_rival.load()) {
      v1::PullResponse response;
      if (!Pull(*subscriber, "unrenewed", 10, absl::Milliseconds(500), &response).ok()) continue;
      absl::MutexLock lock(&rival_mu);
      redelivered += response.received_messages_size();
    }
  });
  run("unrenewed", absl::ZeroDuration());
  stop_rival = true;
  rival.join();
  absl::MutexLock lock(&rival_mu);
  EXPECT_GT(redelivered, 0);
}

TEST_F(ClientTest, ExactlyOnceVerdictsReachTheHandler) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  // Lease 1 s, redelivery 2 s after it ran out: a first delivery of "late"
  // acked at 2 s finds its lease expired and nobody else holding it yet.
  CreateSub("once", 1, v1::EXACTLY_ONCE, 2);
  client::Publisher publisher(Connect(), "orders");
  ASSERT_TRUE(publisher.Publish({.data = "fast"}).get().ok());
  ASSERT_TRUE(publisher.Publish({.data = "late"}).get().ok());
  absl::Mutex mu;
  std::map<std::string, std::vector<absl::StatusCode>> verdicts;
  client::SubscriberOptions o;
  o.ack_deadline_seconds = 1;
  o.max_lease_extension = absl::ZeroDuration();  // "late" outlives its lease
  client::Subscriber subscriber(Connect(), "once", o);
  client::SubscriberSession session =
      subscriber.Subscribe([&](client::Message m, client::AckHandler h) {
        if (m.data == "late" && h.delivery_attempt() == 1) absl::SleepFor(absl::Seconds(2));
        const absl::Status verdict = std::move(h).Ack().get();
        absl::MutexLock lock(&mu);
        verdicts[m.data].push_back(verdict.code());
      });
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (;;) {
    {
      absl::MutexLock lock(&mu);
      if (verdicts["late"].size() == 2 || absl::Now() > deadline) break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  session.Stop();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(verdicts["fast"], std::vector<absl::StatusCode>{absl::StatusCode::kOk});
  // The first delivery acked after its lease ran out is refused (EXPIRED);
  // the redelivery's ack is the one that counts.
  EXPECT_EQ(verdicts["late"], (std::vector<absl::StatusCode>{absl::StatusCode::kFailedPrecondition,
                                                             absl::StatusCode::kOk}));
}

}  // namespace
}  // namespace hub::testing
