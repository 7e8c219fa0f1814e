// The delivery guarantees of docs/api.md, each by a test that fails if the
// guarantee breaks: exactly-once leases, at-most-once, ordering keys, dead
// letters and Reject, retry backoff, Seek and filters.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

class SemanticsTest : public HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  }

  grpc::Status Create(const v1::Subscription& sub) {
    grpc::ClientContext ctx;
    v1::Subscription out;
    return subscriber_->CreateSubscription(&ctx, sub, &out);
  }

  v1::Subscription Sub(const std::string& name) {
    v1::Subscription sub;
    sub.set_name(name);
    sub.set_topic("orders");
    return sub;
  }

  // Publishes `count` messages "<prefix><i>" in batches; returns their ids.
  std::vector<std::string> PublishMany(int count, const std::string& prefix,
                                       const std::string& topic = "orders") {
    std::vector<std::string> ids;
    for (int i = 0; i < count; i += 500) {
      v1::PublishRequest req;
      req.set_topic(topic);
      for (int j = i; j < std::min(count, i + 500); ++j) {
        req.add_messages()->set_data(absl::StrCat(prefix, j));
      }
      grpc::ClientContext ctx;
      v1::PublishResponse resp;
      EXPECT_TRUE(publisher_->Publish(&ctx, req, &resp).ok());
      for (const auto& r : resp.results()) ids.push_back(r.message_id());
    }
    return ids;
  }

  v1::PullResponse PullNow(const std::string& sub, int max, absl::Duration wait) {
    v1::PullResponse resp;
    grpc::Status s = Pull(*subscriber_, sub, max, wait, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  grpc::Status Nack(const std::string& sub, const std::string& ack_id) {
    grpc::ClientContext ctx;
    v1::ModifyAckDeadlineRequest req;
    req.set_subscription(sub);
    req.add_ack_ids(ack_id);
    req.set_ack_deadline_seconds(0);
    v1::ModifyAckDeadlineResponse resp;
    return subscriber_->ModifyAckDeadline(&ctx, req, &resp);
  }

  v1::AckStatus AckOne(const std::string& sub, const std::string& ack_id) {
    grpc::ClientContext ctx;
    v1::AcknowledgeRequest req;
    req.set_subscription(sub);
    req.add_ack_ids(ack_id);
    v1::AcknowledgeResponse resp;
    EXPECT_TRUE(subscriber_->Acknowledge(&ctx, req, &resp).ok());
    return resp.results_size() == 1 ? resp.results(0).status() : v1::ACK_STATUS_UNSPECIFIED;
  }
};

// A consumer process pulls a message and is stopped (SIGSTOP) past its
// lease. The message goes to a second consumer, whose ack is OK; the first,
// resumed, acks late and is told EXPIRED, and the message is not delivered
// again.
TEST_F(SemanticsTest, ExactlyOnceLateAckOfAStoppedConsumerIsExpired) {
  v1::Subscription sub = Sub("exact");
  sub.set_delivery_guarantee(v1::EXACTLY_ONCE);
  sub.set_ack_deadline_seconds(1);
  ASSERT_TRUE(Create(sub).ok());
  const std::vector<std::string> ids = PublishMany(1, "m");

  ChildProcess first({TestConsumerPath(), hubd_->address(), "exact", "pull", "1"});
  const std::string msg = first.ReadLine();
  ASSERT_TRUE(absl::StartsWith(msg, "MSG ")) << msg;
  ASSERT_EQ(first.ReadLine(), "PULLED");
  first.Signal(SIGSTOP);

  // While its lease is valid nobody else gets the message...
  EXPECT_EQ(PullNow("exact", 10, absl::Milliseconds(500)).received_messages_size(), 0);
  // ...after it ran out, the second consumer does.
  v1::PullResponse second = PullNow("exact", 10, absl::Seconds(3));
  ASSERT_EQ(second.received_messages_size(), 1);
  EXPECT_EQ(second.received_messages(0).message().message_id(), ids[0]);
  EXPECT_EQ(second.received_messages(0).delivery_attempt(), 2);

  first.Signal(SIGCONT);
  first.WriteLine("ack");
  const std::vector<std::string> result = absl::StrSplit(first.ReadLine(), ' ');
  ASSERT_EQ(result.size(), 3u);
  EXPECT_EQ(result[0], "RESULT");
  EXPECT_EQ(result[2], "EXPIRED");
  EXPECT_EQ(first.ReadLine(), "DONE");
  // The late ack changed nothing: the second consumer's ack is the one.
  EXPECT_EQ(AckOne("exact", second.received_messages(0).ack_id()), v1::OK);

  // Acked OK once: never again, and a repeated ack of it is INVALID.
  EXPECT_EQ(PullNow("exact", 10, absl::Seconds(2)).received_messages_size(), 0);
  EXPECT_EQ(AckOne("exact", second.received_messages(0).ack_id()), v1::INVALID);
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
}

TEST_F(SemanticsTest, ExactlyOnceStaleAndUnknownAckIdsAreInvalidAndChangeNothing) {
  v1::Subscription sub = Sub("exact");
  sub.set_delivery_guarantee(v1::EXACTLY_ONCE);
  sub.set_ack_deadline_seconds(1);
  ASSERT_TRUE(Create(sub).ok());
  PublishMany(1, "m");
  v1::PullResponse a1 = PullNow("exact", 1, absl::Seconds(2));
  ASSERT_EQ(a1.received_messages_size(), 1);
  v1::PullResponse a2 = PullNow("exact", 1, absl::Seconds(3));  // after expiry
  ASSERT_EQ(a2.received_messages_size(), 1);
  ASSERT_TRUE(Nack("exact", a2.received_messages(0).ack_id()).ok());
  v1::PullResponse a3 = PullNow("exact", 1, absl::Seconds(3));
  ASSERT_EQ(a3.received_messages_size(), 1);
  EXPECT_EQ(a3.received_messages(0).delivery_attempt(), 3);

  EXPECT_EQ(AckOne("exact", a1.received_messages(0).ack_id()), v1::INVALID);  // two back
  EXPECT_EQ(AckOne("exact", "99999-1-1"), v1::INVALID);
  EXPECT_EQ(AckOne("exact", "not-an-id"), v1::INVALID);
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 1);  // unchanged
  EXPECT_EQ(AckOne("exact", a3.received_messages(0).ack_id()), v1::OK);
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
}

// Consumers of an exactly-once subscription, on a StreamingPull, get per-id
// results for the acks they sent.
TEST_F(SemanticsTest, ExactlyOnceStreamReportsAckResults) {
  v1::Subscription sub = Sub("exact");
  sub.set_delivery_guarantee(v1::EXACTLY_ONCE);
  ASSERT_TRUE(Create(sub).ok());
  PublishMany(3, "m");
  grpc::ClientContext ctx;
  auto stream = subscriber_->StreamingPull(&ctx);
  v1::StreamingPullRequest first;
  first.set_subscription("exact");
  ASSERT_TRUE(stream->Write(first));
  std::vector<std::string> ack_ids;
  v1::StreamingPullResponse resp;
  while (ack_ids.size() < 3 && stream->Read(&resp)) {
    for (const auto& m : resp.received_messages()) ack_ids.push_back(m.ack_id());
  }
  v1::StreamingPullRequest acks;
  for (const auto& id : ack_ids) acks.add_ack_ids(id);
  acks.add_ack_ids("bogus");
  ASSERT_TRUE(stream->Write(acks));
  std::map<std::string, v1::AckStatus> results;
  while (results.size() < 4 && stream->Read(&resp)) {
    for (const auto& r : resp.ack_results()) results[r.ack_id()] = r.status();
  }
  ctx.TryCancel();
  stream->Finish();
  ASSERT_EQ(results.size(), 4u);
  for (const auto& id : ack_ids) EXPECT_EQ(results[id], v1::OK);
  EXPECT_EQ(results["bogus"], v1::INVALID);
}

// At-most-once deliveries are done when sent: acking them is a no-op, and
// their own ack ids are answered OK, not INVALID.
TEST_F(SemanticsTest, AtMostOnceAcksOfItsOwnIdsAreOk) {
  v1::Subscription sub = Sub("telemetry");
  sub.set_delivery_guarantee(v1::AT_MOST_ONCE);
  ASSERT_TRUE(Create(sub).ok());
  PublishMany(2, "m");
  v1::PullResponse resp = PullNow("telemetry", 10, absl::Seconds(2));
  ASSERT_EQ(resp.received_messages_size(), 2);
  grpc::ClientContext ctx;
  v1::AcknowledgeRequest ack;
  ack.set_subscription("telemetry");
  for (const auto& m : resp.received_messages()) ack.add_ack_ids(m.ack_id());
  v1::AcknowledgeResponse acked;
  ASSERT_TRUE(subscriber_->Acknowledge(&ctx, ack, &acked).ok());
  ASSERT_EQ(acked.results_size(), 2);
  for (const auto& r : acked.results()) EXPECT_EQ(r.status(), v1::OK) << r.ack_id();
}

// At-most-once: a consumer process is killed mid-stream and a second one
// drains the rest. No message is delivered twice; what the first had in
// hand may be lost.
TEST_F(SemanticsTest, AtMostOnceNeverDeliversTwiceWhenAConsumerDies) {
  constexpr int kMessages = 5000;
  v1::Subscription sub = Sub("telemetry");
  sub.set_delivery_guarantee(v1::AT_MOST_ONCE);
  ASSERT_TRUE(Create(sub).ok());
  PublishMany(kMessages, "m");

  std::map<std::string, int> seen;
  auto consume = [&](ChildProcess& child, int stop_after) {
    int got = 0;
    for (std::string line = child.ReadLine(absl::Seconds(5)); !line.empty();
         line = child.ReadLine(absl::Seconds(3))) {
      ++seen[line.substr(4)];
      if (++got == stop_after) return;
    }
  };
  ChildProcess first({TestConsumerPath(), hubd_->address(), "telemetry", "stream"});
  consume(first, 1500);
  first.Kill();
  ChildProcess second({TestConsumerPath(), hubd_->address(), "telemetry", "stream"});
  consume(second, -1);
  second.Kill();

  int twice = 0;
  for (const auto& [data, count] : seen) twice += count > 1;
  EXPECT_EQ(twice, 0);
  EXPECT_GE(seen.size(), 1500u);
  EXPECT_LE(seen.size(), static_cast<size_t>(kMessages));
  // Nothing is held for redelivery.
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
  std::printf("[ figures ] at-most-once: %zu of %d delivered, none twice\n", seen.size(),
              kMessages);
}

// 20 keys x 500 messages, 10 % of deliveries nacked at random, by consumers
// that do what an ordered consumer must: a message of a run after one it
// nacked is nacked too (it is delivered again after the nacked one). For
// each key, the acked messages are in publish order and all present, and no
// message ever arrives ahead of an earlier one of its key except right
// after a nack of that earlier one, within its run.
TEST_F(SemanticsTest, OrderingKeysDeliverEachKeyInPublishOrderDespiteNacks) {
  constexpr int kKeys = 20;
  constexpr int kPerKey = 500;
  v1::Subscription sub = Sub("ordered");
  sub.set_enable_message_ordering(true);
  ASSERT_TRUE(Create(sub).ok());
  for (int i = 0; i < kPerKey; i += 25) {
    v1::PublishRequest req;
    req.set_topic("orders");
    for (int j = i; j < i + 25; ++j) {
      for (int k = 0; k < kKeys; ++k) {
        v1::Message* m = req.add_messages();
        m->set_ordering_key(absl::StrCat("key", k));
        m->set_data(absl::StrCat(k, ":", j));
      }
    }
    grpc::ClientContext ctx;
    v1::PublishResponse resp;
    ASSERT_TRUE(publisher_->Publish(&ctx, req, &resp).ok());
  }

  absl::Mutex mu;
  std::map<int, std::vector<int>> acked;  // key -> sequence numbers acked
  std::map<int, bool> nack_open;          // key -> its next message was nacked, not yet back
  int nacks = 0, after_nack = 0, ahead = 0;
  std::mt19937 rng(7);
  auto handle = [&](const v1::ReceivedMessage& m) {
    std::pair<std::string, std::string> parts = absl::StrSplit(m.message().data(), ':');
    int key = 0, seq = 0;
    EXPECT_TRUE(absl::SimpleAtoi(parts.first, &key) && absl::SimpleAtoi(parts.second, &seq));
    absl::MutexLock lock(&mu);
    const int next = static_cast<int>(acked[key].size());
    if (seq < next) return StreamConsumer::Reply::kAck;  // a redelivery of an acked one
    if (seq > next) {
      // Only the rest of a run whose earlier message this consumer nacked
      // may come ahead of it.
      if (nack_open[key]) {
        ++after_nack;
      } else {
        ++ahead;
      }
      return StreamConsumer::Reply::kNack;
    }
    nack_open[key] = false;
    if (rng() % 10 == 0) {
      ++nacks;
      nack_open[key] = true;
      return StreamConsumer::Reply::kNack;
    }
    acked[key].push_back(seq);
    return StreamConsumer::Reply::kAck;
  };
  StreamConsumer a([this] { return hubd_->Channel(); }, "ordered", handle);
  StreamConsumer b([this] { return hubd_->Channel(); }, "ordered", handle);
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  for (;;) {
    {
      absl::MutexLock lock(&mu);
      size_t total = 0;
      for (const auto& [k, v] : acked) total += v.size();
      if (total >= static_cast<size_t>(kKeys * kPerKey) || absl::Now() > deadline) break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  a.Stop();
  b.Stop();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(acked.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, seqs] : acked) {
    ASSERT_EQ(seqs.size(), static_cast<size_t>(kPerKey)) << "key " << key;
    for (int i = 0; i < kPerKey; ++i) ASSERT_EQ(seqs[i], i) << "key " << key;
  }
  EXPECT_GT(nacks, 0);
  EXPECT_EQ(ahead, 0) << "messages delivered ahead of an unsettled earlier one of their key";
  std::printf(
      "[ figures ] ordering: %d keys x %d in order, %d nacks, %d later messages of a "
      "nacked one's run nacked with it\n",
      kKeys, kPerKey, nacks, after_nack);
}

TEST_F(SemanticsTest, AStuckKeyHoldsOnlyItself) {
  v1::Subscription sub = Sub("ordered");
  sub.set_enable_message_ordering(true);
  sub.set_ack_deadline_seconds(60);
  ASSERT_TRUE(Create(sub).ok());
  const auto publish = [&](std::vector<const char*> keys) {
    v1::PublishRequest req;
    req.set_topic("orders");
    for (const char* key : keys) {
      v1::Message* m = req.add_messages();
      m->set_ordering_key(key);
      m->set_data(absl::StrCat("key:", key));
    }
    grpc::ClientContext ctx;
    v1::PublishResponse resp;
    EXPECT_TRUE(publisher_->Publish(&ctx, req, &resp).ok());
    return resp;
  };
  publish({"stuck", "stuck", "free", "free", ""});

  // Each key's messages as one run, and the unkeyed one.
  v1::PullResponse first = PullNow("ordered", 10, absl::Seconds(2));
  ASSERT_EQ(first.received_messages_size(), 5);
  for (const auto& m : first.received_messages()) {
    if (m.message().ordering_key() != "stuck") {
      EXPECT_EQ(AckOne("ordered", m.ack_id()), v1::OK);
    }
  }
  // While the stuck run is out, its key's next message waits and the free
  // key's goes out.
  const v1::PublishResponse later = publish({"stuck", "free"});
  v1::PullResponse second = PullNow("ordered", 10, absl::Seconds(2));
  ASSERT_EQ(second.received_messages_size(), 1);
  EXPECT_EQ(second.received_messages(0).message().ordering_key(), "free");
  EXPECT_EQ(second.received_messages(0).message().message_id(), later.results(1).message_id());
}

// A key's run: its messages in one delivery, in order, to one consumer and
// no other. A nack of one ends the run there: a later message's ack is
// refused, and the nacked message goes out again before the rest, which
// follow in order.
TEST_F(SemanticsTest, ARunOfAKeyGoesToOneConsumerAndANackRedeliversFromIt) {
  v1::Subscription sub = Sub("ordered");
  sub.set_enable_message_ordering(true);
  sub.set_ack_deadline_seconds(60);
  ASSERT_TRUE(Create(sub).ok());
  v1::PublishRequest req;
  req.set_topic("orders");
  for (int i = 1; i <= 5; ++i) {
    v1::Message* m = req.add_messages();
    m->set_ordering_key("k");
    m->set_data(absl::StrCat(i));
  }
  grpc::ClientContext ctx;
  v1::PublishResponse resp;
  ASSERT_TRUE(publisher_->Publish(&ctx, req, &resp).ok());
  const auto data = [](const v1::PullResponse& r) {
    std::vector<std::string> out;
    for (const auto& m : r.received_messages()) out.push_back(m.message().data());
    return out;
  };

  const v1::PullResponse run = PullNow("ordered", 10, absl::Seconds(2));
  ASSERT_EQ(data(run), (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(PullNow("ordered", 10, absl::Milliseconds(500)).received_messages_size(), 0)
      << "another consumer got a message of a key whose run is out";
  EXPECT_EQ(AckOne("ordered", run.received_messages(0).ack_id()), v1::OK);
  EXPECT_EQ(AckOne("ordered", run.received_messages(1).ack_id()), v1::OK);
  {
    grpc::ClientContext nack_ctx;
    v1::ModifyAckDeadlineRequest nack;
    nack.set_subscription("ordered");
    nack.add_ack_ids(run.received_messages(2).ack_id());
    nack.set_ack_deadline_seconds(0);
    v1::ModifyAckDeadlineResponse out;
    ASSERT_TRUE(subscriber_->ModifyAckDeadline(&nack_ctx, nack, &out).ok());
  }
  EXPECT_EQ(AckOne("ordered", run.received_messages(3).ack_id()), v1::INVALID)
      << "a message after the nacked one was settled ahead of it";
  const v1::PullResponse again = PullNow("ordered", 10, absl::Seconds(3));
  ASSERT_EQ(data(again), (std::vector<std::string>{"3"}));
  EXPECT_EQ(AckOne("ordered", again.received_messages(0).ack_id()), v1::OK);
  const v1::PullResponse rest = PullNow("ordered", 10, absl::Seconds(3));
  ASSERT_EQ(data(rest), (std::vector<std::string>{"4", "5"}));
}

// Reads every message of a subscription of the dead-letter topic.
std::vector<v1::ReceivedMessage> DrainPull(v1::Subscriber::Stub& stub, const std::string& sub) {
  std::vector<v1::ReceivedMessage> out;
  for (;;) {
    v1::PullResponse resp;
    EXPECT_TRUE(Pull(stub, sub, 100, absl::Seconds(1), &resp).ok());
    if (resp.received_messages_size() == 0) return out;
    std::vector<std::string> ids;
    for (const auto& m : resp.received_messages()) {
      out.push_back(m);
      ids.push_back(m.ack_id());
    }
    EXPECT_TRUE(Ack(stub, sub, ids).ok());
  }
}

TEST_F(SemanticsTest, AfterMaxAttemptsAMessageMovesToTheDeadLetterTopicOnce) {
  ASSERT_TRUE(CreateTopic(*publisher_, "dead").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "dead-reader", "dead").ok());
  v1::Subscription sub = Sub("billing");
  sub.mutable_dead_letter_policy()->set_dead_letter_topic("dead");
  sub.mutable_dead_letter_policy()->set_max_delivery_attempts(3);
  ASSERT_TRUE(Create(sub).ok());
  const std::vector<std::string> ids = PublishMany(1, "poison");

  for (int attempt = 1; attempt <= 3; ++attempt) {
    v1::PullResponse resp = PullNow("billing", 10, absl::Seconds(3));
    ASSERT_EQ(resp.received_messages_size(), 1) << attempt;
    EXPECT_EQ(resp.received_messages(0).delivery_attempt(), attempt);
    ASSERT_TRUE(Nack("billing", resp.received_messages(0).ack_id()).ok());
  }
  EXPECT_EQ(PullNow("billing", 10, absl::Seconds(1)).received_messages_size(), 0);
  const std::vector<v1::ReceivedMessage> dead = DrainPull(*subscriber_, "dead-reader");
  ASSERT_EQ(dead.size(), 1u);
  const auto& attrs = dead[0].message().attributes();
  EXPECT_EQ(dead[0].message().data(), "poison0");
  EXPECT_EQ(attrs.at("hub.dead_letter.subscription"), "billing");
  EXPECT_EQ(attrs.at("hub.dead_letter.delivery_attempts"), "3");
  EXPECT_EQ(attrs.at("hub.dead_letter.reason"), "nack");
  EXPECT_EQ(attrs.at("hub.dead_letter.message_id"), ids[0]);
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases l JOIN subscriptions s "
                      "ON s.id = l.subscription_id WHERE s.name = 'billing'"),
            0);
}

// The one message a subscription of the dead-letter topic receives within
// `limit`, acked; fails the test if none or more arrive.
v1::ReceivedMessage AwaitOneDeadLetter(v1::Subscriber::Stub& stub, const std::string& sub,
                                       absl::Duration limit) {
  v1::PullResponse resp;
  EXPECT_TRUE(Pull(stub, sub, 10, limit, &resp).ok());
  EXPECT_EQ(resp.received_messages_size(), 1);
  if (resp.received_messages_size() == 0) return {};
  EXPECT_TRUE(Ack(stub, sub, {resp.received_messages(0).ack_id()}).ok());
  return resp.received_messages(0);
}

// Nobody pulls the source subscription after the last allowed attempt was
// nacked: the message still reaches the dead-letter topic within the retry
// backoff (none here) plus one poll interval (1 s), moved by housekeeping.
TEST_F(SemanticsTest, ADeadLetterArrivesWithNoConsumerAttachedAfterTheLastNack) {
  ASSERT_TRUE(CreateTopic(*publisher_, "dead").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "dead-reader", "dead").ok());
  v1::Subscription sub = Sub("billing");
  sub.mutable_dead_letter_policy()->set_dead_letter_topic("dead");
  sub.mutable_dead_letter_policy()->set_max_delivery_attempts(2);
  ASSERT_TRUE(Create(sub).ok());
  const std::vector<std::string> ids = PublishMany(1, "poison");
  for (int attempt = 1; attempt <= 2; ++attempt) {
    v1::PullResponse resp = PullNow("billing", 10, absl::Seconds(3));
    ASSERT_EQ(resp.received_messages_size(), 1) << attempt;
    ASSERT_TRUE(Nack("billing", resp.received_messages(0).ack_id()).ok());
  }
  const absl::Time nacked = absl::Now();
  const v1::ReceivedMessage dead =
      AwaitOneDeadLetter(*subscriber_, "dead-reader", absl::Seconds(5));
  EXPECT_LT(absl::Now() - nacked, absl::Seconds(3));
  EXPECT_EQ(dead.message().attributes().at("hub.dead_letter.message_id"), ids[0]);
  EXPECT_EQ(dead.message().attributes().at("hub.dead_letter.reason"), "nack");
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases l JOIN subscriptions s "
                      "ON s.id = l.subscription_id WHERE s.name = 'billing'"),
            0);
}

// A consumer process killed -9 while it holds the last allowed attempt: when
// the lease runs out the message moves to the dead-letter topic, though no
// consumer is left to claim.
TEST_F(SemanticsTest, ADeadLetterArrivesWhenTheConsumerHoldingTheLastAttemptIsKilled) {
  ASSERT_TRUE(CreateTopic(*publisher_, "dead").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "dead-reader", "dead").ok());
  v1::Subscription sub = Sub("billing");
  sub.set_ack_deadline_seconds(1);
  sub.mutable_dead_letter_policy()->set_dead_letter_topic("dead");
  sub.mutable_dead_letter_policy()->set_max_delivery_attempts(2);
  ASSERT_TRUE(Create(sub).ok());
  const std::vector<std::string> ids = PublishMany(1, "poison");
  v1::PullResponse first = PullNow("billing", 10, absl::Seconds(3));
  ASSERT_EQ(first.received_messages_size(), 1);
  ASSERT_TRUE(Nack("billing", first.received_messages(0).ack_id()).ok());
  ChildProcess consumer({TestConsumerPath(), hubd_->address(), "billing", "pull", "1"});
  const std::vector<std::string> got = absl::StrSplit(consumer.ReadLine(), ' ');
  ASSERT_EQ(got.size(), 4u);
  ASSERT_EQ(got[3], "2");  // the last allowed attempt
  ASSERT_EQ(consumer.ReadLine(), "PULLED");
  consumer.Kill();
  const v1::ReceivedMessage dead =
      AwaitOneDeadLetter(*subscriber_, "dead-reader", absl::Seconds(10));
  EXPECT_EQ(dead.message().attributes().at("hub.dead_letter.message_id"), ids[0]);
  EXPECT_EQ(dead.message().attributes().at("hub.dead_letter.reason"), "lease_expired");
  EXPECT_EQ(dead.message().attributes().at("hub.dead_letter.delivery_attempts"), "2");
}

TEST_F(SemanticsTest, RejectDeadLettersAtOnceOrDropsWithoutATopic) {
  ASSERT_TRUE(CreateTopic(*publisher_, "dead").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "dead-reader", "dead").ok());
  v1::Subscription with = Sub("with-dlq");
  with.mutable_dead_letter_policy()->set_dead_letter_topic("dead");
  ASSERT_TRUE(Create(with).ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "without-dlq", "orders", 1).ok());
  PublishMany(2, "bad");

  for (const char* name : {"with-dlq", "without-dlq"}) {
    v1::PullResponse resp = PullNow(name, 10, absl::Seconds(2));
    ASSERT_EQ(resp.received_messages_size(), 2) << name;
    grpc::ClientContext ctx;
    v1::RejectRequest req;
    req.set_subscription(name);
    req.add_ack_ids(resp.received_messages(0).ack_id());
    req.add_ack_ids(resp.received_messages(1).ack_id());
    req.add_ack_ids("bogus");
    req.set_reason("schema mismatch");
    v1::RejectResponse out;
    ASSERT_TRUE(subscriber_->Reject(&ctx, req, &out).ok());
    ASSERT_EQ(out.results_size(), 3);
    EXPECT_EQ(out.results(0).status(), v1::OK);
    EXPECT_EQ(out.results(2).status(), v1::INVALID);
    // Rejected: never redelivered, even after the deadline.
    EXPECT_EQ(PullNow(name, 10, absl::Milliseconds(1500)).received_messages_size(), 0);
  }
  const std::vector<v1::ReceivedMessage> dead = DrainPull(*subscriber_, "dead-reader");
  ASSERT_EQ(dead.size(), 2u);  // only from the subscription with a topic
  for (const auto& m : dead) {
    EXPECT_EQ(m.message().attributes().at("hub.dead_letter.reason"), "schema mismatch");
    EXPECT_EQ(m.message().attributes().at("hub.dead_letter.subscription"), "with-dlq");
    EXPECT_EQ(m.message().attributes().at("hub.dead_letter.delivery_attempts"), "1");
  }
}

// A deleted dead-letter topic loses nothing: Reject is refused and changes
// nothing, and messages out of attempts stay and are redelivered until a
// topic exists again.
TEST_F(SemanticsTest, WithItsDeadLetterTopicDeletedNothingIsDropped) {
  ASSERT_TRUE(CreateTopic(*publisher_, "dead").ok());
  v1::Subscription sub = Sub("billing");
  sub.mutable_dead_letter_policy()->set_dead_letter_topic("dead");
  sub.mutable_dead_letter_policy()->set_max_delivery_attempts(1);
  ASSERT_TRUE(Create(sub).ok());
  PublishMany(1, "kept");
  {
    grpc::ClientContext ctx;
    v1::DeleteTopicRequest del;
    del.set_name("dead");
    google::protobuf::Empty empty;
    ASSERT_TRUE(publisher_->DeleteTopic(&ctx, del, &empty).ok());
  }
  v1::PullResponse first = PullNow("billing", 10, absl::Seconds(2));
  ASSERT_EQ(first.received_messages_size(), 1);
  grpc::ClientContext ctx;
  v1::RejectRequest reject;
  reject.set_subscription("billing");
  reject.add_ack_ids(first.received_messages(0).ack_id());
  v1::RejectResponse rejected;
  EXPECT_EQ(subscriber_->Reject(&ctx, reject, &rejected).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Out of attempts (1) and nacked: redelivered, not dropped.
  ASSERT_TRUE(Nack("billing", first.received_messages(0).ack_id()).ok());
  v1::PullResponse again = PullNow("billing", 10, absl::Seconds(3));
  ASSERT_EQ(again.received_messages_size(), 1);
  EXPECT_EQ(again.received_messages(0).message().data(), "kept0");
  EXPECT_EQ(again.received_messages(0).delivery_attempt(), 2);
}

// Nacked four times with backoff 1 s .. 3 s: the gaps are about 1, 2, 3, 3
// seconds, never shorter than the policy and never far longer.
TEST_F(SemanticsTest, RedeliveryGapsGrowWithinTheRetryPolicy) {
  v1::Subscription sub = Sub("retry");
  sub.mutable_retry_policy()->mutable_minimum_backoff()->set_seconds(1);
  sub.mutable_retry_policy()->mutable_maximum_backoff()->set_seconds(3);
  ASSERT_TRUE(Create(sub).ok());
  PublishMany(1, "m");
  const absl::Duration expected[] = {absl::Seconds(1), absl::Seconds(2), absl::Seconds(3),
                                     absl::Seconds(3)};
  v1::PullResponse resp = PullNow("retry", 1, absl::Seconds(2));
  ASSERT_EQ(resp.received_messages_size(), 1);
  for (absl::Duration want : expected) {
    const absl::Time nacked = absl::Now();
    ASSERT_TRUE(Nack("retry", resp.received_messages(0).ack_id()).ok());
    resp = PullNow("retry", 1, absl::Seconds(6));
    ASSERT_EQ(resp.received_messages_size(), 1);
    const absl::Duration gap = absl::Now() - nacked;
    EXPECT_GE(gap, want - absl::Milliseconds(50)) << want;
    EXPECT_LE(gap, want + absl::Milliseconds(900)) << want;
  }
  EXPECT_EQ(resp.received_messages(0).delivery_attempt(), 5);
}

TEST_F(SemanticsTest, ExpiredLeasesAlsoWaitForTheBackoff) {
  v1::Subscription sub = Sub("retry");
  sub.set_ack_deadline_seconds(1);
  sub.mutable_retry_policy()->mutable_minimum_backoff()->set_seconds(2);
  sub.mutable_retry_policy()->mutable_maximum_backoff()->set_seconds(10);
  ASSERT_TRUE(Create(sub).ok());
  PublishMany(1, "m");
  const absl::Time start = absl::Now();
  ASSERT_EQ(PullNow("retry", 1, absl::Seconds(2)).received_messages_size(), 1);
  ASSERT_EQ(PullNow("retry", 1, absl::Seconds(6)).received_messages_size(), 1);
  // Deadline 1 s plus backoff 2 s.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(2950));
}

// Seek replays exactly the messages published at or after the time.
TEST_F(SemanticsTest, SeekReplaysExactlyTheMessagesAtOrAfterTheTime) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  PublishMany(5, "early");
  absl::SleepFor(absl::Milliseconds(50));
  PublishMany(5, "late");
  std::vector<v1::ReceivedMessage> all = DrainPull(*subscriber_, "billing");
  ASSERT_EQ(all.size(), 10u);
  const google::protobuf::Timestamp boundary = all[5].message().publish_time();

  grpc::ClientContext ctx;
  v1::SeekRequest seek;
  seek.set_subscription("billing");
  *seek.mutable_time() = boundary;
  v1::SeekResponse out;
  ASSERT_TRUE(subscriber_->Seek(&ctx, seek, &out).ok());
  std::vector<v1::ReceivedMessage> replay = DrainPull(*subscriber_, "billing");
  std::set<std::string> data;
  for (const auto& m : replay) data.insert(m.message().data());
  EXPECT_EQ(data, (std::set<std::string>{"late0", "late1", "late2", "late3", "late4"}));
  EXPECT_EQ(replay.size(), 5u);

  // Seek to a time ahead of everything: nothing left to deliver.
  grpc::ClientContext ctx2;
  seek.mutable_time()->set_seconds(boundary.seconds() + 3600);
  ASSERT_TRUE(subscriber_->Seek(&ctx2, seek, &out).ok());
  EXPECT_TRUE(DrainPull(*subscriber_, "billing").empty());
}

TEST_F(SemanticsTest, FilterDeliversOnlyMatchesAndWritesNothingForTheRest) {
  v1::Subscription sub = Sub("eu-orders");
  sub.set_filter(R"(attributes.kind = "order" AND hasPrefix(attributes.region, "eu-"))");
  ASSERT_TRUE(Create(sub).ok());
  v1::PublishRequest req;
  req.set_topic("orders");
  for (int i = 0; i < 300; ++i) {
    v1::Message* m = req.add_messages();
    m->set_data(absl::StrCat(i));
    (*m->mutable_attributes())["kind"] = i % 3 == 0 ? "order" : "refund";
    (*m->mutable_attributes())["region"] = i % 2 == 0 ? "eu-west" : "us-east";
  }
  grpc::ClientContext ctx;
  v1::PublishResponse resp;
  ASSERT_TRUE(publisher_->Publish(&ctx, req, &resp).ok());

  std::vector<v1::ReceivedMessage> got = DrainPull(*subscriber_, "eu-orders");
  EXPECT_EQ(got.size(), 50u);  // i % 6 == 0
  for (const auto& m : got) {
    int i = 0;
    ASSERT_TRUE(absl::SimpleAtoi(m.message().data(), &i));
    EXPECT_EQ(i % 6, 0);
  }
  // Only non-matching messages now: passed over without a lease row.
  v1::PublishRequest others;
  others.set_topic("orders");
  for (int i = 0; i < 100; ++i) {
    (*others.add_messages()->mutable_attributes())["kind"] = "refund";
  }
  grpc::ClientContext ctx2;
  ASSERT_TRUE(publisher_->Publish(&ctx2, others, &resp).ok());
  EXPECT_EQ(PullNow("eu-orders", 10, absl::Milliseconds(500)).received_messages_size(), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM leases"), 0);
  EXPECT_EQ(CountRows("SELECT next_position FROM subscription_cursors"),
            CountRows("SELECT next_position FROM topic_heads h JOIN topics t "
                      "ON t.id = h.topic_id WHERE t.name = 'orders'"));
}

TEST_F(SemanticsTest, UpdatedFilterReachesAnOpenStream) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  absl::Mutex mu;
  std::vector<std::string> seen;
  StreamConsumer consumer([this] { return hubd_->Channel(); }, "billing",
                          [&](const v1::ReceivedMessage& m) {
                            absl::MutexLock lock(&mu);
                            seen.push_back(m.message().data());
                            return StreamConsumer::Reply::kAck;
                          });
  grpc::ClientContext ctx;
  v1::UpdateSubscriptionRequest update;
  update.mutable_subscription()->set_name("billing");
  update.mutable_subscription()->set_filter("attributes:keep");
  update.mutable_update_mask()->add_paths("filter");
  v1::Subscription out;
  ASSERT_TRUE(subscriber_->UpdateSubscription(&ctx, update, &out).ok());
  absl::SleepFor(absl::Milliseconds(300));  // more than one poll interval
  v1::PublishRequest req;
  req.set_topic("orders");
  req.add_messages()->set_data("dropped");
  v1::Message* keep = req.add_messages();
  keep->set_data("kept");
  (*keep->mutable_attributes())["keep"] = "1";
  grpc::ClientContext pctx;
  v1::PublishResponse resp;
  ASSERT_TRUE(publisher_->Publish(&pctx, req, &resp).ok());
  absl::SleepFor(absl::Seconds(1));
  consumer.Stop();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(seen, std::vector<std::string>{"kept"});
}

}  // namespace
}  // namespace hub::testing
