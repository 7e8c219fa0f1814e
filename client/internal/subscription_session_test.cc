// The Subscriber's decisions against a scripted stream: acks batched, leases
// renewed while a handler runs, reconnection, exactly-once verdicts, and a
// graceful stop that hands back what it holds.
#include "client/internal/subscription_session.h"

#include <algorithm>
#include <atomic>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/internal/testing_stubs.h"
#include "client/subscriber.h"

namespace hub::client::internal {
namespace {

using ::testing::_;
using ::testing::Invoke;
using Requests = std::vector<v1::StreamingPullRequest>;

v1::StreamingPullResponse Deliveries(const std::vector<std::string>& ids,
                                     const std::string& ordering_key = "") {
  v1::StreamingPullResponse response;
  for (const std::string& id : ids) {
    v1::ReceivedMessage* m = response.add_received_messages();
    m->set_ack_id(id);
    m->mutable_message()->set_data("data of " + id);
    m->mutable_message()->set_ordering_key(ordering_key);
    m->set_delivery_attempt(1);
  }
  return response;
}

std::multiset<std::string> AckIds(const Requests& requests) {
  std::multiset<std::string> ids;
  for (const auto& r : requests) ids.insert(r.ack_ids().begin(), r.ack_ids().end());
  return ids;
}

std::multiset<std::string> NackIds(const Requests& requests) {
  std::multiset<std::string> ids;
  for (const auto& r : requests) ids.insert(r.nack_ids().begin(), r.nack_ids().end());
  return ids;
}

class SubscriptionSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ON_CALL(*stub_, GetSubscription(_)).WillByDefault(Invoke([this](const auto& request) {
      v1::Subscription sub;
      sub.set_name(request.name());
      sub.set_delivery_guarantee(guarantee_);
      sub.set_enable_message_ordering(ordered_);
      return absl::StatusOr<v1::Subscription>(sub);
    }));
    ON_CALL(*stub_, StreamingPull()).WillByDefault(Invoke([this] {
      absl::MutexLock lock(&mu_);
      streams_.push_back(std::make_shared<ScriptedPullStream>());
      return streams_.back()->Open();
    }));
    ON_CALL(*stub_, ModifyAckDeadline(_)).WillByDefault(Invoke([this](const auto& request) {
      absl::MutexLock lock(&mu_);
      unary_nacks_.insert(request.ack_ids().begin(), request.ack_ids().end());
      return absl::StatusOr<v1::ModifyAckDeadlineResponse>(v1::ModifyAckDeadlineResponse{});
    }));
  }

  // The n-th stream the session opened (0-based), once it is open.
  std::shared_ptr<ScriptedPullStream> Stream(size_t n) {
    absl::MutexLock lock(&mu_);
    auto opened = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return streams_.size() > n; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&opened), absl::Seconds(10))) return nullptr;
    return streams_[n];
  }
  size_t StreamsOpened() {
    absl::MutexLock lock(&mu_);
    return streams_.size();
  }

  Subscriber MakeSubscriber(SubscriberOptions o) {
    o.reconnect_backoff.initial = absl::Milliseconds(10);
    return Subscriber(Connection(stub_), "billing", o);
  }

  std::shared_ptr<::testing::NiceMock<MockHubStub>> stub_ =
      std::make_shared<::testing::NiceMock<MockHubStub>>();
  v1::DeliveryGuarantee guarantee_ = v1::AT_LEAST_ONCE;
  bool ordered_ = false;
  absl::Mutex mu_;
  std::vector<std::shared_ptr<ScriptedPullStream>> streams_ ABSL_GUARDED_BY(mu_);
  std::multiset<std::string> unary_nacks_ ABSL_GUARDED_BY(mu_);
};

TEST_F(SubscriptionSessionTest, OpensWithFlowControlAndBatchesAcks) {
  SubscriberOptions o;
  o.max_outstanding_messages = 7;
  o.max_outstanding_bytes = 4096;
  o.ack_deadline_seconds = 45;
  o.ack_batch_delay = absl::Milliseconds(50);
  std::atomic<int> handled{0};
  Subscriber subscriber = MakeSubscriber(o);
  SubscriberSession session = subscriber.Subscribe([&](Message m, AckHandler h) {
    EXPECT_EQ(m.data, "data of " + h.ack_id());
    std::move(h).Ack();
    ++handled;
  });
  auto stream = Stream(0);
  ASSERT_NE(stream, nullptr);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back("a" + std::to_string(i));
  stream->Deliver(Deliveries(ids));
  ASSERT_TRUE(stream->AwaitWritten([](const Requests& w) { return AckIds(w).size() == 20; }));
  const Requests written = stream->Written();
  EXPECT_EQ(written[0].subscription(), "billing");
  EXPECT_EQ(written[0].max_outstanding_messages(), 7);
  EXPECT_EQ(written[0].max_outstanding_bytes(), 4096);
  EXPECT_EQ(written[0].stream_ack_deadline_seconds(), 45);
  int requests_with_acks = 0;
  for (const auto& r : written) requests_with_acks += r.ack_ids_size() > 0;
  // 20 acks within one 50 ms window share a request or two, not twenty.
  EXPECT_LE(requests_with_acks, 3);
  EXPECT_EQ(AckIds(written), std::multiset<std::string>(ids.begin(), ids.end()));
  session.Stop();
  EXPECT_TRUE(stream->writes_done());
  EXPECT_TRUE(session.Wait().ok());
}

TEST_F(SubscriptionSessionTest, RenewsTheLeaseWhileTheHandlerRuns) {
  SubscriberOptions o;
  o.ack_deadline_seconds = 1;
  Subscriber subscriber = MakeSubscriber(o);
  SubscriberSession session = subscriber.Subscribe([&](Message, AckHandler h) {
    absl::SleepFor(absl::Milliseconds(2500));
    std::move(h).Ack();
  });
  auto stream = Stream(0);
  stream->Deliver(Deliveries({"slow"}));
  ASSERT_TRUE(stream->AwaitWritten([](const Requests& w) { return AckIds(w).count("slow"); }));
  int extensions = 0;
  for (const auto& r : stream->Written()) {
    for (int i = 0; i < r.modify_deadline_ack_ids_size(); ++i) {
      EXPECT_EQ(r.modify_deadline_ack_ids(i), "slow");
      EXPECT_EQ(r.modify_deadline_seconds(i), 1);
      ++extensions;
    }
  }
  // A 1 s lease held for 2.5 s: renewed at least every half second.
  EXPECT_GE(extensions, 4);
}

TEST_F(SubscriptionSessionTest, ReconnectsAfterTheStreamBreaks) {
  std::atomic<int> handled{0};
  Subscriber subscriber = MakeSubscriber({});
  SubscriberSession session = subscriber.Subscribe([&](Message, AckHandler h) {
    std::move(h).Ack();
    ++handled;
  });
  Stream(0)->End(absl::UnavailableError("hub restarted"));
  auto second = Stream(1);
  ASSERT_NE(second, nullptr);
  second->Deliver(Deliveries({"x"}));
  ASSERT_TRUE(second->AwaitWritten([](const Requests& w) { return AckIds(w).count("x"); }));
  EXPECT_EQ(second->Written()[0].subscription(), "billing");
  EXPECT_EQ(handled.load(), 1);
}

// Each error it retries is told, so that a program can say the hub is away.
TEST_F(SubscriptionSessionTest, TellsEachErrorItRetries) {
  absl::Mutex mu;
  std::vector<absl::Status> told;
  SubscriberOptions o;
  o.on_retry = [&](const absl::Status& s) {
    absl::MutexLock lock(&mu);
    told.push_back(s);
  };
  Subscriber subscriber = MakeSubscriber(o);
  SubscriberSession session = subscriber.Subscribe([](Message, AckHandler) {});
  Stream(0)->End(absl::UnavailableError("hub restarted"));
  ASSERT_NE(Stream(1), nullptr);
  absl::MutexLock lock(&mu);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(told[0].message(), "hub restarted");
}

TEST_F(SubscriptionSessionTest, EndsOnAnErrorThatWouldRepeat) {
  Subscriber subscriber = MakeSubscriber({});
  SubscriberSession session = subscriber.Subscribe([](Message, AckHandler) {});
  Stream(0)->End(absl::NotFoundError("subscription billing was deleted"));
  EXPECT_EQ(session.Wait().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StreamsOpened(), 1u);
}

TEST_F(SubscriptionSessionTest, SurfacesExactlyOnceVerdicts) {
  guarantee_ = v1::EXACTLY_ONCE;
  absl::Mutex verdicts_mu;
  std::map<std::string, std::future<absl::Status>> verdicts;
  Subscriber subscriber = MakeSubscriber({});
  SubscriberSession session = subscriber.Subscribe([&](Message, AckHandler h) {
    const std::string id = h.ack_id();
    std::future<absl::Status> verdict = std::move(h).Ack();
    absl::MutexLock lock(&verdicts_mu);
    verdicts[id] = std::move(verdict);
  });
  auto stream = Stream(0);
  stream->Deliver(Deliveries({"ok", "late", "stale"}));
  ASSERT_TRUE(stream->AwaitWritten([](const Requests& w) { return AckIds(w).size() == 3; }));
  {
    absl::MutexLock lock(&verdicts_mu);
    auto all = [&] { return verdicts.size() == 3; };
    ASSERT_TRUE(verdicts_mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(10)));
  }
  v1::StreamingPullResponse results;
  const std::pair<const char*, v1::AckStatus> answers[] = {
      {"ok", v1::OK}, {"late", v1::EXPIRED}, {"stale", v1::INVALID}};
  for (const auto& [id, status] : answers) {
    v1::AckResult* r = results.add_ack_results();
    r->set_ack_id(id);
    r->set_status(status);
  }
  stream->Deliver(results);
  absl::MutexLock lock(&verdicts_mu);
  EXPECT_EQ(verdicts["ok"].get(), absl::OkStatus());
  EXPECT_EQ(verdicts["late"].get().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(verdicts["stale"].get().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SubscriptionSessionTest, AnExactlyOnceAckCutOffByABreakIsUnavailable) {
  guarantee_ = v1::EXACTLY_ONCE;
  std::promise<std::future<absl::Status>> verdict;
  Subscriber subscriber = MakeSubscriber({});
  SubscriberSession session =
      subscriber.Subscribe([&](Message, AckHandler h) { verdict.set_value(std::move(h).Ack()); });
  auto stream = Stream(0);
  stream->Deliver(Deliveries({"m"}));
  ASSERT_TRUE(stream->AwaitWritten([](const Requests& w) { return AckIds(w).size() == 1; }));
  stream->End(absl::UnavailableError("connection reset"));
  EXPECT_EQ(verdict.get_future().get().get().code(), absl::StatusCode::kUnavailable);
}

// What it holds goes back by unary nacks after the stream ended, not on the
// stream: there a nack makes the message due at once, and the hub could
// hand it to the closing stream again (a second delivery attempt).
TEST_F(SubscriptionSessionTest, StopGivesBackWhatItHoldsAfterTheStreamAndSendsTheLastAcks) {
  SubscriberOptions o;
  o.max_concurrency = 1;
  absl::Notification started, release;
  std::vector<AckHandler> kept;  // a handler that keeps its AckHandler
  Subscriber subscriber = MakeSubscriber(o);
  SubscriberSession session = subscriber.Subscribe([&](Message m, AckHandler h) {
    if (h.ack_id() == "kept") {
      kept.push_back(std::move(h));
      return;
    }
    started.Notify();
    release.WaitForNotification();
    std::move(h).Ack();
  });
  auto stream = Stream(0);
  stream->Deliver(Deliveries({"kept"}));
  stream->Deliver(Deliveries({"running", "queued1", "queued2"}));
  started.WaitForNotification();
  std::thread stopper([&] { session.Stop(); });
  absl::SleepFor(absl::Milliseconds(100));
  release.Notify();
  stopper.join();
  const Requests written = stream->Written();
  EXPECT_EQ(AckIds(written), std::multiset<std::string>({"running"}));
  EXPECT_TRUE(NackIds(written).empty());
  EXPECT_TRUE(stream->writes_done());
  {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(unary_nacks_, std::multiset<std::string>({"kept", "queued1", "queued2"}));
  }
  // A handler used after Stop learns that its message went back.
  EXPECT_EQ(std::move(kept[0]).Ack().get().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SubscriptionSessionTest, AnUnusedOrThrowingHandlerNacks) {
  Subscriber subscriber = MakeSubscriber({});
  SubscriberSession session = subscriber.Subscribe([&](Message m, AckHandler h) {
    if (h.ack_id() == "throws") throw std::runtime_error("handler failed");
  });
  auto stream = Stream(0);
  stream->Deliver(Deliveries({"dropped", "throws"}));
  EXPECT_TRUE(stream->AwaitWritten([](const Requests& w) {
    return NackIds(w) == std::multiset<std::string>{"dropped", "throws"};
  }));
}

// A run of one key in one response reaches the handlers one message at a
// time, in order, however many handler threads there are; another key is
// not held back behind it.
TEST_F(SubscriptionSessionTest, AnOrderedKeysRunIsHandledOneAtATimeInOrder) {
  ordered_ = true;
  SubscriberOptions o;
  o.max_concurrency = 4;
  absl::Mutex mu;
  std::vector<std::string> events;  // "start <id>" and "end <id>", as they happen
  Subscriber subscriber = MakeSubscriber(o);
  SubscriberSession session = subscriber.Subscribe([&](Message m, AckHandler h) {
    const std::string id = h.ack_id();
    {
      absl::MutexLock lock(&mu);
      events.push_back("start " + id);
    }
    absl::SleepFor(absl::Milliseconds(m.ordering_key == "k" ? 50 : 10));
    {
      absl::MutexLock lock(&mu);
      events.push_back("end " + id);
    }
    std::move(h).Ack();
  });
  auto stream = Stream(0);
  ASSERT_NE(stream, nullptr);
  v1::StreamingPullResponse response = Deliveries({"k1", "k2", "k3", "k4"}, "k");
  response.MergeFrom(Deliveries({"j1"}, "j"));
  stream->Deliver(response);
  ASSERT_TRUE(stream->AwaitWritten([](const Requests& w) { return AckIds(w).size() == 5; }));
  session.Stop();
  absl::MutexLock lock(&mu);
  std::vector<std::string> k_events;
  for (const std::string& e : events) {
    if (e.find(" k") != std::string::npos) k_events.push_back(e);
  }
  EXPECT_EQ(k_events, (std::vector<std::string>{"start k1", "end k1", "start k2", "end k2",
                                                "start k3", "end k3", "start k4", "end k4"}));
  const auto at = [&](const std::string& e) {
    return std::find(events.begin(), events.end(), e) - events.begin();
  };
  EXPECT_LT(at("end j1"), at("start k3")) << "the other key waited behind k's run";
}

// After the handler nacks a message of an ordered key, the key's messages
// queued behind it go back to the hub unhandled: the hub redelivers them
// after the nacked one and would refuse their acks.
TEST_F(SubscriptionSessionTest, ANackOfAnOrderedKeysMessageSendsBackTheRestOfItsRun) {
  ordered_ = true;
  SubscriberOptions o;
  o.max_concurrency = 4;
  absl::Mutex mu;
  std::vector<std::string> handled;
  Subscriber subscriber = MakeSubscriber(o);
  SubscriberSession session = subscriber.Subscribe([&](Message m, AckHandler h) {
    {
      absl::MutexLock lock(&mu);
      handled.push_back(h.ack_id());
    }
    if (h.ack_id() == "k2") {
      std::move(h).Nack();
    } else {
      std::move(h).Ack();
    }
  });
  auto stream = Stream(0);
  ASSERT_NE(stream, nullptr);
  stream->Deliver(Deliveries({"k1", "k2", "k3", "k4"}, "k"));
  ASSERT_TRUE(stream->AwaitWritten([](const Requests& w) {
    return NackIds(w) == std::multiset<std::string>{"k2", "k3", "k4"};
  }));
  session.Stop();
  EXPECT_EQ(AckIds(stream->Written()), std::multiset<std::string>{"k1"});
  absl::MutexLock lock(&mu);
  EXPECT_EQ(handled, (std::vector<std::string>{"k1", "k2"}));
}

TEST_F(SubscriptionSessionTest, BadOptionsEndTheSessionAtOnce) {
  SubscriberOptions o;
  o.ack_deadline_seconds = 0;
  Subscriber subscriber(Connection(stub_), "billing", o);
  SubscriberSession session = subscriber.Subscribe([](Message, AckHandler) {});
  EXPECT_EQ(session.Wait().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StreamsOpened(), 0u);
}

}  // namespace
}  // namespace hub::client::internal
