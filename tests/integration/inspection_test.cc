// Looking at messages without consuming them, and redriving dead letters
// (docs/operations.md, "Looking at messages" and "Dead letters"): a
// message's fate through ack, nack, lease, filter, dead letter, redrive and
// retention; browsing that takes no lease and counts no attempt; a redrive
// that reaches one subscription alone, and survives kill -9 of hubd.
#include <signal.h>

#include <atomic>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

class InspectionTest : public HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
    ASSERT_TRUE(CreateTopic(*publisher_, "dlq").ok());
  }

  grpc::Status Create(const std::string& name, const std::string& filter = "",
                      bool dead_letters = false, int64_t retention_seconds = 0) {
    grpc::ClientContext ctx;
    v1::Subscription sub, out;
    sub.set_name(name);
    sub.set_topic("orders");
    sub.set_filter(filter);
    if (dead_letters) sub.mutable_dead_letter_policy()->set_dead_letter_topic("dlq");
    if (retention_seconds > 0) sub.mutable_message_retention()->set_seconds(retention_seconds);
    return subscriber_->CreateSubscription(&ctx, sub, &out);
  }

  // Publishes `count` messages, kind=order; their ids.
  std::vector<std::string> PublishOrders(int count) {
    grpc::ClientContext ctx;
    v1::PublishRequest request;
    request.set_topic("orders");
    for (int i = 0; i < count; ++i) {
      v1::Message* m = request.add_messages();
      m->set_data(absl::StrCat("order ", i));
      (*m->mutable_attributes())["kind"] = "order";
      (*m->mutable_attributes())["half"] = i % 2 == 0 ? "even" : "odd";
    }
    v1::PublishResponse out;
    EXPECT_TRUE(publisher_->Publish(&ctx, request, &out).ok());
    std::vector<std::string> ids;
    for (const auto& r : out.results()) ids.push_back(r.message_id());
    return ids;
  }

  v1::PullResponse PullSome(const std::string& sub, int max) {
    v1::PullResponse resp;
    EXPECT_TRUE(Pull(*subscriber_, sub, max, absl::Milliseconds(500), &resp).ok());
    return resp;
  }

  std::vector<std::string> AckIds(const v1::PullResponse& resp) {
    std::vector<std::string> ids;
    for (const auto& m : resp.received_messages()) ids.push_back(m.ack_id());
    return ids;
  }

  grpc::Status Reject(const std::string& sub, const std::vector<std::string>& ack_ids) {
    grpc::ClientContext ctx;
    v1::RejectRequest r;
    r.set_subscription(sub);
    for (const std::string& id : ack_ids) r.add_ack_ids(id);
    r.set_reason("unparseable");
    v1::RejectResponse out;
    return subscriber_->Reject(&ctx, r, &out);
  }

  grpc::Status Fate(const std::string& id, v1::MessageFate* out) {
    grpc::ClientContext ctx;
    v1::GetMessageFateRequest r;
    r.set_topic("orders");
    r.set_message_id(id);
    return subscriber_->GetMessageFate(&ctx, r, out);
  }

  std::map<std::string, v1::SubscriptionFate> FateBySubscription(const std::string& id) {
    v1::MessageFate fate;
    const grpc::Status s = Fate(id, &fate);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::map<std::string, v1::SubscriptionFate> by;
    for (const auto& f : fate.subscriptions()) by[f.subscription()] = f;
    return by;
  }

  grpc::Status Redrive(v1::Subscriber::Stub& stub, const std::string& sub,
                       const std::vector<std::string>& ids, const std::string& filter, bool all,
                       v1::RedriveResponse* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::RedriveRequest r;
    r.set_subscription(sub);
    for (const std::string& id : ids) r.add_message_ids(id);
    r.set_filter(filter);
    r.set_all(all);
    return stub.Redrive(&ctx, r, out);
  }

  v1::ListSubscriptionMessagesResponse Browse(const std::string& sub, v1::MessageState state,
                                              int page_size = 0, const std::string& token = "") {
    grpc::ClientContext ctx;
    v1::ListSubscriptionMessagesRequest r;
    r.set_subscription(sub);
    r.set_state(state);
    r.set_page_size(page_size);
    r.set_page_token(token);
    v1::ListSubscriptionMessagesResponse out;
    const grpc::Status s = subscriber_->ListSubscriptionMessages(&ctx, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // Lease rows, their positions and attempts: what a look must not change.
  std::string LeaseState() {
    return QueryValue(url_,
                      "SELECT count(*) || '/' || coalesce(sum(attempt), 0) || '/' || "
                      "coalesce(sum(cardinality(pending)), 0) || '/' || "
                      "coalesce(max(expires_at)::text, '') FROM leases");
  }
};

TEST_F(InspectionTest, AMessagesFateOnEverySubscription) {
  ASSERT_TRUE(Create("acker").ok());
  ASSERT_TRUE(Create("holder").ok());
  ASSERT_TRUE(Create("nacker").ok());
  ASSERT_TRUE(Create("fresh").ok());
  ASSERT_TRUE(Create("other-kind", "attributes.kind = \"refund\"").ok());
  ASSERT_TRUE(Create("rejecter", "", /*dead_letters=*/true).ok());
  ASSERT_TRUE(Create("short", "", false, /*retention_seconds=*/600).ok());
  const std::string id = PublishOrders(1)[0];

  ASSERT_TRUE(Ack(*subscriber_, "acker", AckIds(PullSome("acker", 1))).ok());
  ASSERT_TRUE(Ack(*subscriber_, "short", AckIds(PullSome("short", 1))).ok());
  ASSERT_EQ(PullSome("holder", 1).received_messages_size(), 1);
  {
    grpc::ClientContext ctx;
    v1::ModifyAckDeadlineRequest r;
    r.set_subscription("nacker");
    r.add_ack_ids(AckIds(PullSome("nacker", 1))[0]);
    r.set_ack_deadline_seconds(0);
    v1::ModifyAckDeadlineResponse out;
    ASSERT_TRUE(subscriber_->ModifyAckDeadline(&ctx, r, &out).ok());
  }
  ASSERT_TRUE(Reject("rejecter", AckIds(PullSome("rejecter", 1))).ok());

  std::map<std::string, v1::SubscriptionFate> fate = FateBySubscription(id);
  ASSERT_EQ(fate.size(), 7u);
  EXPECT_EQ(fate["acker"].state(), v1::MESSAGE_STATE_ACKNOWLEDGED);
  EXPECT_EQ(fate["holder"].state(), v1::MESSAGE_STATE_IN_FLIGHT);
  EXPECT_EQ(fate["holder"].delivery_attempt(), 1);
  EXPECT_GT(fate["holder"].lease_expire_time().seconds(), absl::ToUnixSeconds(absl::Now()));
  EXPECT_EQ(fate["nacker"].state(), v1::MESSAGE_STATE_WAITING);
  EXPECT_EQ(fate["nacker"].delivery_attempt(), 1);
  EXPECT_TRUE(fate["nacker"].has_next_delivery_time());
  EXPECT_EQ(fate["fresh"].state(), v1::MESSAGE_STATE_WAITING);
  EXPECT_EQ(fate["fresh"].delivery_attempt(), 0);
  EXPECT_EQ(fate["other-kind"].state(), v1::MESSAGE_STATE_FILTERED_OUT);
  EXPECT_EQ(fate["rejecter"].state(), v1::MESSAGE_STATE_DEAD_LETTERED);
  EXPECT_EQ(fate["rejecter"].dead_letter().topic(), "dlq");
  EXPECT_EQ(fate["rejecter"].dead_letter().reason(), "unparseable");
  EXPECT_EQ(fate["rejecter"].dead_letter().delivery_attempts(), 1);
  EXPECT_EQ(fate["rejecter"].dead_letter().message_id(), "1") << "dlq's first message";
  EXPECT_EQ(fate["short"].state(), v1::MESSAGE_STATE_ACKNOWLEDGED);

  // Redriven, it waits on rejecter again, with no attempt counted yet.
  v1::RedriveResponse redriven;
  ASSERT_TRUE(Redrive(*subscriber_, "rejecter", {id}, "", false, &redriven).ok());
  EXPECT_EQ(redriven.message_ids_size(), 1);
  fate = FateBySubscription(id);
  EXPECT_EQ(fate["rejecter"].state(), v1::MESSAGE_STATE_WAITING);
  EXPECT_EQ(fate["rejecter"].delivery_attempt(), 0);

  // Past the retention of short (10 minutes), an acknowledged message is
  // gone for it; for the others the topic's 7 days keep it.
  QueryValue(url_, "UPDATE segments SET publish_time = now() - interval '1 hour'");
  fate = FateBySubscription(id);
  EXPECT_EQ(fate["short"].state(), v1::MESSAGE_STATE_EXPIRED);
  EXPECT_EQ(fate["acker"].state(), v1::MESSAGE_STATE_ACKNOWLEDGED);

  v1::MessageFate none;
  EXPECT_EQ(Fate("999", &none).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Fate("x1", &none).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(InspectionTest, BrowsingTakesNoLeaseAndCountsNoAttempt) {
  ASSERT_TRUE(Create("reader").ok());
  const std::vector<std::string> ids = PublishOrders(30);
  const v1::PullResponse held = PullSome("reader", 5);
  ASSERT_EQ(held.received_messages_size(), 5);
  const std::string before = LeaseState();

  // The topic, in pages of 10, then filtered, then from a time.
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext ctx;
    v1::ListMessagesRequest r;
    r.set_topic("orders");
    r.set_page_size(10);
    r.set_page_token(token);
    v1::ListMessagesResponse out;
    ASSERT_TRUE(subscriber_->ListMessages(&ctx, r, &out).ok());
    for (const auto& m : out.messages()) seen.push_back(m.message_id());
    token = out.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(pages, 3);
  {
    grpc::ClientContext ctx;
    v1::ListMessagesRequest r;
    r.set_topic("orders");
    r.set_filter("attributes.half = \"odd\"");
    r.set_start_message_id(ids[10]);
    r.set_end_message_id(ids[20]);
    v1::ListMessagesResponse out;
    ASSERT_TRUE(subscriber_->ListMessages(&ctx, r, &out).ok());
    ASSERT_EQ(out.messages_size(), 5);
    EXPECT_EQ(out.messages(0).message_id(), ids[11]);
    EXPECT_EQ(out.messages(0).data(), "order 11");
    EXPECT_EQ(out.next_page_token(), "");
  }

  // The subscription: 5 in flight, 25 waiting, none dead.
  const v1::ListSubscriptionMessagesResponse in_flight =
      Browse("reader", v1::MESSAGE_STATE_IN_FLIGHT);
  ASSERT_EQ(in_flight.messages_size(), 5);
  EXPECT_EQ(in_flight.messages(0).fate().state(), v1::MESSAGE_STATE_IN_FLIGHT);
  EXPECT_EQ(in_flight.messages(0).fate().delivery_attempt(), 1);
  v1::ListSubscriptionMessagesResponse waiting = Browse("reader", v1::MESSAGE_STATE_WAITING, 20);
  EXPECT_EQ(waiting.messages_size(), 20);
  EXPECT_EQ(waiting.messages(0).message().message_id(), ids[5]);
  waiting = Browse("reader", v1::MESSAGE_STATE_WAITING, 20, waiting.next_page_token());
  EXPECT_EQ(waiting.messages_size(), 5);
  EXPECT_EQ(waiting.next_page_token(), "");
  EXPECT_EQ(Browse("reader", v1::MESSAGE_STATE_DEAD_LETTERED).messages_size(), 0);

  // Nothing of the leases moved, and the next pull is a first delivery.
  EXPECT_EQ(LeaseState(), before);
  const v1::PullResponse next = PullSome("reader", 1);
  ASSERT_EQ(next.received_messages_size(), 1);
  EXPECT_EQ(next.received_messages(0).delivery_attempt(), 1);
  EXPECT_EQ(next.received_messages(0).message().message_id(), ids[5]);
}

TEST_F(InspectionTest, ARedriveReachesItsSubscriptionAlone) {
  ASSERT_TRUE(Create("billing", "", /*dead_letters=*/true).ok());
  ASSERT_TRUE(Create("audit").ok());
  ASSERT_TRUE(Create("dlq-reader").ok());  // of orders: sees nothing again either
  const std::vector<std::string> ids = PublishOrders(20);
  for (const char* sub : {"audit", "dlq-reader"}) {
    ASSERT_TRUE(Ack(*subscriber_, sub, AckIds(PullSome(sub, 100))).ok());
  }
  ASSERT_TRUE(Reject("billing", AckIds(PullSome("billing", 100))).ok());
  const v1::ListSubscriptionMessagesResponse dead =
      Browse("billing", v1::MESSAGE_STATE_DEAD_LETTERED);
  ASSERT_EQ(dead.messages_size(), 20);
  EXPECT_EQ(dead.messages(3).message().data(), "order 3");
  EXPECT_EQ(dead.messages(3).fate().dead_letter().reason(), "unparseable");

  // Half by filter, then the rest.
  v1::RedriveResponse odd;
  ASSERT_TRUE(Redrive(*subscriber_, "billing", {}, "attributes.half = \"odd\"", false, &odd).ok());
  EXPECT_EQ(odd.message_ids_size(), 10);
  EXPECT_FALSE(odd.more());
  const v1::PullResponse again = PullSome("billing", 100);
  ASSERT_EQ(again.received_messages_size(), 10);
  for (const auto& m : again.received_messages()) {
    EXPECT_EQ(m.message().attributes().at("half"), "odd");
    EXPECT_EQ(m.delivery_attempt(), 1);
  }
  ASSERT_TRUE(Ack(*subscriber_, "billing", AckIds(again)).ok());
  v1::RedriveResponse rest;
  ASSERT_TRUE(Redrive(*subscriber_, "billing", {}, "", true, &rest).ok());
  EXPECT_EQ(rest.message_ids_size(), 10);
  EXPECT_EQ(PullSome("billing", 100).received_messages_size(), 10);
  EXPECT_EQ(Browse("billing", v1::MESSAGE_STATE_DEAD_LETTERED).messages_size(), 0);

  // No other subscription of the topic sees them again; the letters stay
  // in the dead-letter topic as published.
  for (const char* sub : {"audit", "dlq-reader"}) {
    EXPECT_EQ(PullSome(sub, 100).received_messages_size(), 0) << sub;
  }
  EXPECT_EQ(QueryValue(url_,
                       "SELECT sum(cardinality(sizes)) FROM segments s JOIN topics t ON t.id = "
                       "s.topic_id WHERE t.name = 'dlq'"),
            "20");

  // Exactly one selection; ordered subscriptions are refused.
  v1::RedriveResponse out;
  EXPECT_EQ(Redrive(*subscriber_, "billing", {}, "", false, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Redrive(*subscriber_, "billing", {ids[0]}, "", true, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Redrive(*subscriber_, "billing", {}, "attributes.", false, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(InspectionTest, AKillNineMidRedriveLeavesEachMessageRedrivenOrDead) {
  ASSERT_TRUE(Create("billing", "", /*dead_letters=*/true).ok());
  constexpr int kMessages = 20000;
  for (int i = 0; i < kMessages / 1000; ++i) PublishOrders(1000);
  for (int i = 0; i < kMessages / 1000; ++i) {
    ASSERT_TRUE(Reject("billing", AckIds(PullSome("billing", 1000))).ok());
  }
  ASSERT_EQ(CountRows("SELECT count(*) FROM dead_letters"), kMessages);

  // Redrive everything in calls of 1000 from two threads while hubd is
  // killed mid-way.
  std::atomic<int> redriven{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 2; ++t) {
    callers.emplace_back([&] {
      auto stub = hubd_->Subscriber();
      for (;;) {
        v1::RedriveResponse out;
        if (!Redrive(*stub, "billing", {}, "", true, &out).ok()) return;
        redriven += out.message_ids_size();
        if (out.message_ids_size() == 0) return;
      }
    });
  }
  // Once a few calls were answered, while the others run.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (redriven.load() < 3000 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(kill(hubd_->pid(), SIGKILL), 0);
  for (std::thread& t : callers) t.join();
  ASSERT_NO_FATAL_FAILURE(hubd_->Start());

  const int64_t dead = CountRows("SELECT count(*) FROM dead_letters");
  const int64_t leased = CountRows("SELECT count(*) FROM leases l, unnest(l.pending) p");
  const int64_t both = CountRows(
      "SELECT count(*) FROM dead_letters d JOIN (SELECT unnest(pending) AS p FROM leases) l "
      "ON l.p = d.position");
  std::printf("killed mid-redrive: %lld redriven, %lld still dead-lettered (%d answered)\n",
              static_cast<long long>(leased), static_cast<long long>(dead), redriven.load());
  EXPECT_EQ(dead + leased, kMessages);
  EXPECT_EQ(both, 0);
  EXPECT_GT(dead, 0) << "the kill came after the redrive";
  EXPECT_GE(leased, redriven.load()) << "an answered redrive was lost";
  // What is left redrives after the restart, and every message is
  // delivered once more.
  v1::RedriveResponse out;
  int64_t rest = 0;
  do {
    ASSERT_TRUE(Redrive(*hubd_->Subscriber(), "billing", {}, "", true, &out).ok());
    rest += out.message_ids_size();
  } while (out.more());
  EXPECT_EQ(rest, dead);
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases l, unnest(l.pending) p"), kMessages);
}

}  // namespace
}  // namespace hub::testing
