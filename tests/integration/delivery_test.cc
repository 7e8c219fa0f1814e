// At-least-once delivery: every message arrives, unacked ones come back
// after their deadline, nacked ones after their backoff, acked ones never;
// flow control holds a stream at its limit.
#include <atomic>
#include <cstdio>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "hub/pg/pg_store.h"
#include "hub/pg/statements.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

class DeliveryTest : public HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  }

  grpc::Status Modify(const std::string& sub, const std::string& ack_id, int seconds) {
    grpc::ClientContext ctx;
    v1::ModifyAckDeadlineRequest req;
    req.set_subscription(sub);
    req.add_ack_ids(ack_id);
    req.set_ack_deadline_seconds(seconds);
    v1::ModifyAckDeadlineResponse resp;
    return subscriber_->ModifyAckDeadline(&ctx, req, &resp);
  }

  v1::PullResponse PullNow(const std::string& sub, absl::Duration wait) {
    v1::PullResponse resp;
    grpc::Status s = Pull(*subscriber_, sub, 10, wait, &resp);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    return resp;
  }
};

// The headline test: 10,000 unique messages from 8 concurrent
// publishers, 4 StreamingPull consumers acking everything; every id arrives.
TEST_F(DeliveryTest, TenThousandMessagesFromEightPublishersAllArrive) {
  constexpr int kPublishers = 8;
  constexpr int kPerPublisher = 1250;
  constexpr int kBatch = 25;
  constexpr int kTotal = kPublishers * kPerPublisher;
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());

  absl::Mutex mu;
  std::set<std::string> received;
  int64_t deliveries = 0;
  std::vector<std::unique_ptr<StreamConsumer>> consumers;
  for (int i = 0; i < 4; ++i) {
    consumers.push_back(std::make_unique<StreamConsumer>([this] { return hubd_->Channel(); },
                                                         "billing",
                                                         [&](const v1::ReceivedMessage& m) {
                                                           absl::MutexLock lock(&mu);
                                                           received.insert(m.message().data());
                                                           ++deliveries;
                                                           return StreamConsumer::Reply::kAck;
                                                         }));
  }

  const absl::Time start = absl::Now();
  std::atomic<int> failed{0};
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      auto stub = hubd_->Publisher();
      for (int i = 0; i < kPerPublisher; i += kBatch) {
        v1::PublishRequest req;
        req.set_topic("orders");
        for (int j = i; j < i + kBatch; ++j) {
          req.add_messages()->set_data(absl::StrCat("p", p, "-m", j));
        }
        grpc::ClientContext ctx;
        v1::PublishResponse resp;
        if (!stub->Publish(&ctx, req, &resp).ok()) ++failed;
      }
    });
  }
  for (std::thread& t : publishers) t.join();
  const absl::Duration publish_time = absl::Now() - start;

  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (;;) {
    {
      absl::MutexLock lock(&mu);
      if (received.size() == static_cast<size_t>(kTotal) || absl::Now() > deadline) break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  const absl::Duration total_time = absl::Now() - start;
  for (auto& c : consumers) c->Stop();

  EXPECT_EQ(failed.load(), 0);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(received.size(), static_cast<size_t>(kTotal));
  for (int p = 0; p < kPublishers; ++p) {
    for (int j = 0; j < kPerPublisher; ++j) {
      ASSERT_EQ(received.count(absl::StrCat("p", p, "-m", j)), 1u) << p << " " << j;
    }
  }
  std::printf(
      "[ figures ] 10,000 messages: published in %.2f s (%.0f msg/s), all "
      "delivered and acked in %.2f s (%.0f msg/s end to end), %lld deliveries\n",
      absl::ToDoubleSeconds(publish_time), kTotal / absl::ToDoubleSeconds(publish_time),
      absl::ToDoubleSeconds(total_time), kTotal / absl::ToDoubleSeconds(total_time),
      static_cast<long long>(deliveries));
}

// A claim reads the segments that hold the positions it hands out through
// one range of the (topic_id, first_position) index, also on a topic made
// after the partition's statistics were taken (where the planner expects
// one row for the topic and may take the topic alone as the index
// condition, reading every segment of the topic per claim). The statement
// is explained as hubd's sessions run it, after an ANALYZE that saw no row
// of the topic.
TEST_F(DeliveryTest, ClaimsReadTheirSegmentsByPositionOnANewTopic) {
  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  for (const char* setting : pg::sql::kSessionSettings) tx.exec(setting);
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "x", "").ok());
  tx.exec("ANALYZE segments");
  ASSERT_TRUE(CreateTopic(*publisher_, "late").ok());
  for (int batch = 0; batch < 30; ++batch) {
    v1::PublishRequest req;
    req.set_topic("late");
    for (int i = 0; i < 100; ++i) req.add_messages()->set_data("x");
    grpc::ClientContext ctx;
    v1::PublishResponse resp;
    ASSERT_TRUE(publisher_->Publish(&ctx, req, &resp).ok());
  }
  const std::string topic = QueryValue(url_, "SELECT id FROM topics WHERE name = 'late'");
  tx.exec(absl::StrCat("PREPARE read_by_position(bigint, bigint[], bigint[]) AS ",
                       pg::sql::kReadSegments.text));
  const std::string args = absl::StrCat(topic, ", '{2050}', '{2150}'");
  EXPECT_EQ(tx.exec(absl::StrCat("EXECUTE read_by_position(", args, ")")).size(), 2u);
  const std::string plan =
      Explain(tx, absl::StrCat("(ANALYZE) EXECUTE read_by_position(", args, ")"));
  EXPECT_TRUE(HasIndexCond(plan, {"topic_id = ", "first_position > ", "first_position < "}))
      << plan;
  // The segments starting in (1050, 2150): 11 read, 9 of them end too soon.
  std::smatch removed;
  ASSERT_TRUE(std::regex_search(plan, removed, std::regex("Rows Removed by Filter: ([0-9]+)")))
      << plan;
  EXPECT_EQ(removed[1], "9") << plan;
}

TEST_F(DeliveryTest, DeliveredMessageCarriesEveryField) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  v1::PublishRequest req;
  req.set_topic("orders");
  v1::Message* m = req.add_messages();
  m->set_data(std::string("bin\0ary\xff", 8));
  (*m->mutable_attributes())["kind"] = "order";
  (*m->mutable_attributes())["quote\"d"] = "back\\slash";
  m->set_ordering_key("customer-7");
  m->set_idempotency_key("order-7");
  const absl::Time before = absl::Now();
  grpc::ClientContext ctx;
  v1::PublishResponse presp;
  ASSERT_TRUE(publisher_->Publish(&ctx, req, &presp).ok());

  v1::PullResponse resp = PullNow("billing", absl::Seconds(2));
  ASSERT_EQ(resp.received_messages_size(), 1);
  const v1::Message& got = resp.received_messages(0).message();
  EXPECT_EQ(got.data(), m->data());
  EXPECT_EQ(got.attributes().size(), 2u);
  EXPECT_EQ(got.attributes().at("kind"), "order");
  EXPECT_EQ(got.attributes().at("quote\"d"), "back\\slash");
  EXPECT_EQ(got.ordering_key(), "customer-7");
  EXPECT_EQ(got.idempotency_key(), "order-7");
  EXPECT_EQ(got.message_id(), presp.results(0).message_id());
  const absl::Time published = absl::FromUnixSeconds(got.publish_time().seconds()) +
                               absl::Nanoseconds(got.publish_time().nanos());
  EXPECT_GE(published, before - absl::Seconds(1));
  EXPECT_LE(published, absl::Now() + absl::Seconds(1));
}

TEST_F(DeliveryTest, UnackedMessageIsRedeliveredAfterItsDeadline) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders", 1).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "m", "").ok());
  v1::PullResponse first = PullNow("billing", absl::Seconds(2));
  ASSERT_EQ(first.received_messages_size(), 1);
  EXPECT_EQ(first.received_messages(0).delivery_attempt(), 1);

  // Not before the deadline...
  EXPECT_EQ(PullNow("billing", absl::Milliseconds(500)).received_messages_size(), 0);
  // ...but after it, as attempt 2 under a new ack id.
  v1::PullResponse second = PullNow("billing", absl::Seconds(3));
  ASSERT_EQ(second.received_messages_size(), 1);
  EXPECT_EQ(second.received_messages(0).delivery_attempt(), 2);
  EXPECT_EQ(second.received_messages(0).message().message_id(),
            first.received_messages(0).message().message_id());
  EXPECT_NE(second.received_messages(0).ack_id(), first.received_messages(0).ack_id());
}

// After a look for due leases found none, claims that find new messages
// skip looking for a moment (docs/design.md, "Looking for due rows"): a
// lease that ran out must still come back while new messages keep coming.
TEST_F(DeliveryTest, ExpiredLeaseReturnsWhileNewMessagesKeepComing) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders", 1).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "held", "").ok());
  ASSERT_EQ(PullNow("billing", absl::Seconds(2)).received_messages_size(), 1);
  int attempt = 0;
  int fresh = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (attempt == 0 && absl::Now() < give_up) {
    ASSERT_TRUE(PublishOne(*publisher_, "orders", "fresh", "").ok());
    std::vector<std::string> acks;
    const v1::PullResponse pulled = PullNow("billing", absl::Seconds(1));
    for (const v1::ReceivedMessage& m : pulled.received_messages()) {
      if (m.message().data() == "held") {
        attempt = m.delivery_attempt();
      } else {
        ++fresh;
        acks.push_back(m.ack_id());
      }
    }
    if (!acks.empty()) {
      ASSERT_TRUE(Ack(*subscriber_, "billing", acks).ok());
    }
  }
  EXPECT_EQ(attempt, 2);
  EXPECT_GT(fresh, 0);
}

TEST_F(DeliveryTest, AckedMessageIsNeverRedelivered) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders", 1).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "m", "").ok());
  v1::PullResponse first = PullNow("billing", absl::Seconds(2));
  ASSERT_EQ(first.received_messages_size(), 1);
  ASSERT_TRUE(Ack(*subscriber_, "billing", {first.received_messages(0).ack_id()}).ok());
  EXPECT_EQ(PullNow("billing", absl::Seconds(3)).received_messages_size(), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
}

// Acks that wait for a row another transaction holds (a nack splitting the
// same delivered batch: Pub/Sub's clients send a batch's acks and nacks as
// calls at once) apply to the row as that transaction left it. Deciding on
// the row as first seen, the ack statement once passed it by and the acks
// were lost: the messages came back after their lease.
TEST_F(DeliveryTest, AcksWaitingForARowRewrittenMeanwhileStillApply) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders", 60).ok());
  for (const char* m : {"a", "b", "c"}) ASSERT_TRUE(PublishOne(*publisher_, "orders", m, "").ok());
  v1::PullResponse got = PullNow("billing", absl::Seconds(2));
  ASSERT_EQ(got.received_messages_size(), 3);
  ASSERT_EQ(CountRows("SELECT count(*) FROM leases"), 1);
  // As a nack of the third would: the row keeps the first two.
  pqxx::connection conn(url_);
  pqxx::work rewrite(conn);
  rewrite.exec("SELECT 1 FROM leases FOR UPDATE");
  rewrite.exec("UPDATE leases SET pending = pending[1:2]");
  std::thread ack([&] {
    EXPECT_TRUE(Ack(*subscriber_, "billing",
                    {got.received_messages(0).ack_id(), got.received_messages(1).ack_id()})
                    .ok());
  });
  // The ack waits for the row's lock.
  const std::string waiting =
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
      "wait_event_type = 'Lock'";
  for (int i = 0; i < 100 && CountRows(waiting) == 0; ++i) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(CountRows(waiting), 1);
  rewrite.commit();
  ack.join();
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
}

// An ordered key's next message is due the moment its run is acked; an
// extension of the acked message that comes after the ack (the clients send
// a message's receipt extension and its ack in separate batches) does not
// hold the next one back for a deadline. The second message is published
// after the first went out, so that it queues behind the run.
TEST_F(DeliveryTest, AnExtensionAfterAnAckDoesNotHoldTheKeysNextMessage) {
  grpc::ClientContext ctx;
  v1::Subscription sub;
  sub.set_name("billing");
  sub.set_topic("orders");
  sub.set_ack_deadline_seconds(60);
  sub.set_enable_message_ordering(true);
  v1::Subscription out;
  ASSERT_TRUE(subscriber_->CreateSubscription(&ctx, sub, &out).ok());
  const auto publish = [&](const char* data) {
    grpc::ClientContext publish_ctx;
    v1::PublishRequest req;
    req.set_topic("orders");
    v1::Message* msg = req.add_messages();
    msg->set_data(data);
    msg->set_ordering_key("k");
    v1::PublishResponse resp;
    ASSERT_TRUE(publisher_->Publish(&publish_ctx, req, &resp).ok());
  };
  publish("first");
  v1::PullResponse head = PullNow("billing", absl::Seconds(2));
  ASSERT_EQ(head.received_messages_size(), 1);
  publish("second");
  const std::string ack_id = head.received_messages(0).ack_id();
  ASSERT_TRUE(Ack(*subscriber_, "billing", {ack_id}).ok());
  ASSERT_TRUE(Modify("billing", ack_id, 600).ok());
  v1::PullResponse next = PullNow("billing", absl::Seconds(3));
  ASSERT_EQ(next.received_messages_size(), 1);
  EXPECT_EQ(next.received_messages(0).message().data(), "second");
}

TEST_F(DeliveryTest, NackedMessageIsRedeliveredAtOnce) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders", 60).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "m", "").ok());
  v1::PullResponse first = PullNow("billing", absl::Seconds(2));
  ASSERT_EQ(first.received_messages_size(), 1);
  ASSERT_TRUE(Modify("billing", first.received_messages(0).ack_id(), 0).ok());
  v1::PullResponse second = PullNow("billing", absl::Seconds(1));
  ASSERT_EQ(second.received_messages_size(), 1);
  EXPECT_EQ(second.received_messages(0).delivery_attempt(), 2);
}

TEST_F(DeliveryTest, NackWaitsForTheRetryBackoff) {
  grpc::ClientContext ctx;
  v1::Subscription sub;
  sub.set_name("billing");
  sub.set_topic("orders");
  sub.set_ack_deadline_seconds(60);
  sub.mutable_retry_policy()->mutable_minimum_backoff()->set_seconds(1);
  sub.mutable_retry_policy()->mutable_maximum_backoff()->set_seconds(5);
  v1::Subscription out;
  ASSERT_TRUE(subscriber_->CreateSubscription(&ctx, sub, &out).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "m", "").ok());
  v1::PullResponse first = PullNow("billing", absl::Seconds(2));
  ASSERT_EQ(first.received_messages_size(), 1);

  const absl::Time nacked = absl::Now();
  ASSERT_TRUE(Modify("billing", first.received_messages(0).ack_id(), 0).ok());
  EXPECT_EQ(PullNow("billing", absl::Milliseconds(300)).received_messages_size(), 0);
  v1::PullResponse second = PullNow("billing", absl::Seconds(3));
  ASSERT_EQ(second.received_messages_size(), 1);
  EXPECT_GE(absl::Now() - nacked, absl::Milliseconds(900));
}

TEST_F(DeliveryTest, ExtendedLeaseIsNotRedelivered) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders", 1).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "m", "").ok());
  v1::PullResponse first = PullNow("billing", absl::Seconds(2));
  ASSERT_EQ(first.received_messages_size(), 1);
  ASSERT_TRUE(Modify("billing", first.received_messages(0).ack_id(), 5).ok());
  EXPECT_EQ(PullNow("billing", absl::Seconds(2)).received_messages_size(), 0);
}

TEST_F(DeliveryTest, AckResultsNameMalformedIdsInvalid) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  grpc::ClientContext ctx;
  v1::AcknowledgeRequest req;
  req.set_subscription("billing");
  req.add_ack_ids("garbage");
  req.add_ack_ids("1-1-1");
  v1::AcknowledgeResponse resp;
  ASSERT_TRUE(subscriber_->Acknowledge(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 2);
  EXPECT_EQ(resp.results(0).status(), v1::INVALID);
  EXPECT_EQ(resp.results(1).status(), v1::OK);
}

TEST_F(DeliveryTest, RequestLimitsAreInvalidArgument) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  v1::PullResponse resp;
  EXPECT_EQ(Pull(*subscriber_, "billing", 0, absl::ZeroDuration(), &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Pull(*subscriber_, "billing", 1001, absl::ZeroDuration(), &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Pull(*subscriber_, "missing", 1, absl::ZeroDuration(), &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Modify("billing", "1-1-1", 601).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Modify("billing", "1-1-1", -1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DeliveryTest, StreamStopsAtItsOutstandingLimitUntilAcked) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  v1::PublishRequest req;
  req.set_topic("orders");
  for (int i = 0; i < 50; ++i) req.add_messages()->set_data(absl::StrCat(i));
  grpc::ClientContext pctx;
  v1::PublishResponse presp;
  ASSERT_TRUE(publisher_->Publish(&pctx, req, &presp).ok());

  grpc::ClientContext ctx;
  auto stream = subscriber_->StreamingPull(&ctx);
  v1::StreamingPullRequest first;
  first.set_subscription("billing");
  first.set_max_outstanding_messages(10);
  ASSERT_TRUE(stream->Write(first));

  std::atomic<int> got{0};
  absl::Mutex mu;
  std::vector<std::string> ack_ids;
  std::thread reader([&] {
    v1::StreamingPullResponse resp;
    while (stream->Read(&resp)) {
      absl::MutexLock lock(&mu);
      for (const auto& m : resp.received_messages()) ack_ids.push_back(m.ack_id());
      got += resp.received_messages_size();
    }
  });
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(got.load(), 10);
  v1::StreamingPullRequest acks;
  {
    absl::MutexLock lock(&mu);
    for (const std::string& id : ack_ids) acks.add_ack_ids(id);
  }
  ASSERT_TRUE(stream->Write(acks));
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(got.load(), 20);
  stream->WritesDone();
  ctx.TryCancel();
  reader.join();
}

// Pub/Sub's largest messages (10 MB) are the hub's by default: 9 MB ones
// travel one stream with small ones, whole, while hubd's memory stays
// within P6's bound.
TEST_F(DeliveryTest, NineMegabyteMessagesShareAStreamWithSmallOnes) {
  constexpr int kLarge = 8;
  constexpr int kSmallPerLarge = 20;
  constexpr size_t kLargeBytes = 9 * 1000 * 1000;
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  PeakRss rss(hubd_->pid());

  absl::Mutex mu;
  std::map<std::string, size_t> sizes;  // by data's first bytes
  int received = 0;
  StreamConsumer consumer([&] { return MakeChannel(hubd_->address()); }, "billing",
                          [&](const v1::ReceivedMessage& m) {
                            const std::string& data = m.message().data();
                            const bool whole =
                                data.size() < 100 ||
                                data.find_first_not_of(data.back(), 8) == std::string::npos;
                            absl::MutexLock lock(&mu);
                            if (whole) sizes[data.substr(0, 8)] = data.size();
                            ++received;
                            return StreamConsumer::Reply::kAck;
                          });
  for (int i = 0; i < kLarge; ++i) {
    std::string large = absl::StrCat("large-", i, "|");
    large.resize(kLargeBytes, static_cast<char>('a' + i));
    ASSERT_TRUE(PublishOne(*publisher_, "orders", large, "").ok()) << i;
    v1::PublishRequest small;
    small.set_topic("orders");
    for (int j = 0; j < kSmallPerLarge; ++j) {
      small.add_messages()->set_data(absl::StrCat("s-", i, "-", j));
    }
    grpc::ClientContext ctx;
    v1::PublishResponse out;
    ASSERT_TRUE(publisher_->Publish(&ctx, small, &out).ok());
  }
  constexpr int kTotal = kLarge * (1 + kSmallPerLarge);
  const absl::Time limit = absl::Now() + absl::Seconds(60);
  for (;;) {
    {
      absl::MutexLock lock(&mu);
      if (received >= kTotal || absl::Now() > limit) break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  consumer.Stop();
  const double peak = rss.Stop();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(received, kTotal);
  for (int i = 0; i < kLarge; ++i) {
    EXPECT_EQ(sizes[absl::StrCat("large-", i, "|").substr(0, 8)], kLargeBytes) << i;
  }
  EXPECT_LT(peak, 256) << "hubd's peak resident set, MiB";
  std::printf("9 MB messages: hubd peak RSS %.0f MiB\n", peak);
}

TEST_F(DeliveryTest, StreamOnMissingSubscriptionIsNotFound) {
  grpc::ClientContext ctx;
  auto stream = subscriber_->StreamingPull(&ctx);
  v1::StreamingPullRequest first;
  first.set_subscription("missing");
  stream->Write(first);
  v1::StreamingPullResponse resp;
  EXPECT_FALSE(stream->Read(&resp));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(DeliveryTest, FanOutGivesEachSubscriptionItsOwnCopyWrittenOnce) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "shipping", "orders").ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "m", "").ok());
  EXPECT_EQ(PullNow("billing", absl::Seconds(2)).received_messages_size(), 1);
  EXPECT_EQ(PullNow("shipping", absl::Seconds(2)).received_messages_size(), 1);
  EXPECT_EQ(StoredMessages(), 1);
}

// Acks, redelivery checks and settling find lease rows through an index,
// never by reading the table or by a bitmap, also in plans made while
// `leases` was empty (each hubd connection prepares when a fresh hub
// starts); on the never analyzed table of a fresh hub, through the index
// made for their conditions. With plans of an empty table an ack read the
// whole table, and then every row of its subscription through a bitmap of
// `leases_available`, dead versions included: under a long transaction
// elsewhere, about 2,000 buffers per ack statement (docs/benchmarks.md,
// P5). Once analyzed but still empty, the table gives every index the same
// cost, and which one a plan takes is the planner's choice until autovacuum
// analyzes it with rows. Nor is any plan compiled by JIT, however cheap
// compiling is made to look.
TEST_F(DeliveryTest, LeaseStatementsUseTheirIndexInPlansMadeOnAnEmptyTable) {
  ASSERT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
  const std::pair<std::string, std::string> statements[] = {
      {"acknowledge('{1,1}', '{10,11}', '{100,101}')", "leases_pkey"},
      {"has_available_leases(1)", "leases_available"},
      {"lock_available_leases(1, 10, 0)", "leases_available"},
      {"subscriptions_with_dead_letters", "leases_available"},
      {"lock_leases(1, '{10,11}')", "leases_pkey"},
      {"extend_leases(1, '{10,11}', '{1,1}', 10000, 100, 1000, '{5,6}')", "leases_pkey"},
      {"delete_leases(1, '{10,11}')", "leases_pkey"},
      {"lock_keyed_leases(1, '{a,b}')", "leases_ordering_key"},
  };
  auto check_plans = [&](const std::string& table_state, bool own_index) {
    pg::Connection conn(url_);
    pg::PrepareSession(conn);
    pqxx::nontransaction tx(conn);
    tx.exec("SET jit_above_cost = 0");
    for (const auto& [statement, index] : statements) {
      conn.prepare_now(statement.substr(0, statement.find('(')));  // pqxx prepares lazily
      // The first executions of a prepared statement get custom plans,
      // later ones the generic plan: both are checked.
      for (int run = 0; run < 7; ++run) {
        const std::string plan = Explain(tx, "EXECUTE " + statement);
        const std::string context = absl::StrCat(table_state, ": ", statement, "\n", plan);
        EXPECT_EQ(plan.find("Seq Scan on leases"), std::string::npos) << context;
        EXPECT_EQ(plan.find("Bitmap Heap Scan on leases"), std::string::npos) << context;
        EXPECT_NE(plan.find(absl::StrCat(" using ", own_index ? index : "leases_")),
                  std::string::npos)
            << context;
        EXPECT_EQ(plan.find("JIT:"), std::string::npos) << context;
        tx.exec(absl::StrCat("EXECUTE ", statement));
      }
    }
  };
  ASSERT_EQ(CountRows("SELECT reltuples::bigint FROM pg_class WHERE relname = 'leases'"), -1);
  check_plans("never analyzed", true);
  ASSERT_NO_THROW(QueryValue(url_, "VACUUM ANALYZE leases"));
  check_plans("analyzed", false);
}

// The statistics statement reads one message per subscription, the oldest
// unacknowledged, by its position. Planned as a join instead, it read every
// message of the topic once the table was large (2,800,000 messages: 3.6 s
// per call, every time the metrics were scraped). Nested loops are made to
// look dear here, as those statistics made them look beside a merge join.
TEST_F(DeliveryTest, SubscriptionStatsLookUpOneMessagePerSubscription) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "m", "").ok());
  pg::Connection conn(url_);
  pg::PrepareSession(conn);
  pqxx::nontransaction tx(conn);
  tx.exec("SET enable_nestloop = off");
  conn.prepare_now("subscription_stats");
  const std::string plan = Explain(tx, "EXECUTE subscription_stats('')");
  EXPECT_EQ(plan.find("Merge Append"), std::string::npos) << plan;
  // The refresh of every subscription reads no segment: the plan holds the
  // sum of sizes a named subscription's stats add up, which never runs.
  // Asked for by name, it does.
  const auto segments_read = [&](const std::string& name) {
    std::string ran;
    for (const auto& row : tx.exec(absl::StrCat("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "
                                                "EXECUTE subscription_stats('",
                                                name, "')"))) {
      const std::string line = row[0].as<std::string>();
      if (line.find("segments") != std::string::npos &&
          line.find("never executed") == std::string::npos) {
        ran += line + "\n";
      }
    }
    return ran;
  };
  EXPECT_EQ(segments_read(""), "") << plan;
  EXPECT_NE(segments_read("billing"), "");
  // The one segment read, by hub_publish_time: an index range of its topic.
  const std::string lookup = Explain(tx, absl::StrCat("SELECT hub_publish_time(",
                                                      QueryValue(url_,
                                                                 "SELECT id FROM topics "
                                                                 "WHERE name = 'orders'"),
                                                      ", 1)"));
  EXPECT_EQ(lookup.find("Seq Scan"), std::string::npos) << lookup;
  const pqxx::result stats = tx.exec("EXECUTE subscription_stats('')");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0][2].as<int64_t>(), 1);  // the backlog: one message
  EXPECT_FALSE(stats[0][4].is_null());      // and its publish time
}

}  // namespace
}  // namespace hub::testing
