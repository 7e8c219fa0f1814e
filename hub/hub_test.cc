// The engine's decisions against a fake store: validation before any write,
// group commit, wake-ups, flow control, shutdown.
#include "hub/hub.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "hub/filter.h"
#include "hub/lease_rules.h"
#include "hub/testing/fake_store.h"

namespace hub {
namespace {

using ::hub::testing::StatusIs;

using ::hub::testing::FakeStore;

int ThreadCount() {
  int n = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

// A stream's writer for tests: keeps what the session sends, and says it
// sent it unless told to stall (a client that does not read).
class TestSink final : public StreamSink {
 public:
  void Send(Claimed leased, int64_t bytes) override {
    absl::MutexLock lock(&mu_);
    for (Delivery& d : leased.deliveries) got_.push_back(std::move(d));
    ++responses_;
    if (stall_) {
      unsent_.push_back(bytes);
    } else {
      sent_.push_back(bytes);
    }
  }
  void End(absl::Status status) override {
    absl::MutexLock lock(&mu_);
    ended_ = std::move(status);
  }
  // Reports the sends to `session` (as a writer's OnWriteDone would).
  void Flush(StreamSession& session) {
    std::vector<int64_t> sent;
    {
      absl::MutexLock lock(&mu_);
      sent.swap(sent_);
    }
    for (int64_t b : sent) session.Sent(b);
  }
  void Stall(bool stall) {
    absl::MutexLock lock(&mu_);
    stall_ = stall;
  }
  // Waits up to `timeout` until `n` messages came in all.
  std::vector<Delivery> WaitFor(size_t n, absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return got_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
    return got_;
  }
  std::optional<absl::Status> WaitForEnd(absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    auto ended = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ended_.has_value(); };
    mu_.AwaitWithTimeout(absl::Condition(&ended), timeout);
    return ended_;
  }
  int responses() {
    absl::MutexLock lock(&mu_);
    return responses_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Delivery> got_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> sent_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> unsent_ ABSL_GUARDED_BY(mu_);
  int responses_ ABSL_GUARDED_BY(mu_) = 0;
  bool stall_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> ended_ ABSL_GUARDED_BY(mu_);
};

// A started stream and its sink.
struct TestStream {
  TestSink sink;
  std::unique_ptr<StreamSession> session;

  // Applies `request` and waits for its result.
  absl::StatusOr<StreamOutcome> Handle(StreamRequest request) {
    absl::Notification done;
    absl::StatusOr<StreamOutcome> result;
    session->Handle(std::move(request), [&](absl::StatusOr<StreamOutcome> r) {
      result = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }
};

class HubTest : public ::testing::Test {
 protected:
  HubOptions Options() {
    HubOptions o;
    o.publish_committers = 1;
    // Long enough that a test passing on time proves a wake-up, not a poll.
    o.poll_interval = absl::Seconds(10);
    return o;
  }

  void SetUp() override {
    hub_ = std::make_unique<Hub>(store_, Options(), probe_);
    TopicConfig topic;
    topic.name = "orders";
    ASSERT_TRUE(hub_->CreateTopic(topic).ok());
    SubscriptionConfig sub;
    sub.name = "billing";
    sub.topic = "orders";
    ASSERT_TRUE(hub_->CreateSubscription(sub).ok());
  }

  // A Pull, waited for.
  absl::StatusOr<std::vector<Delivery>> Pull(absl::string_view subscription, int max_messages,
                                             absl::Duration max_wait) {
    absl::Notification answered;
    absl::StatusOr<std::vector<Delivery>> got;
    absl::StatusOr<std::unique_ptr<PendingPull>> pull =
        hub_->Pull(subscription, max_messages, max_wait, [&](absl::StatusOr<Claimed> answer) {
          if (answer.ok()) {
            got = std::move(answer->deliveries);
          } else {
            got = answer.status();
          }
          answered.Notify();
        });
    if (!pull.ok()) return pull.status();
    if (absl::Status s = (*pull)->Start(); !s.ok()) return s;
    answered.WaitForNotification();
    return got;
  }

  // A new engine over the same store, with `options`.
  void Restart(const HubOptions& options) {
    hub_.reset();
    hub_ = std::make_unique<Hub>(store_, options, probe_);
  }

  // A started stream; `stalled`: its writer sends nothing (a client that
  // does not read) from the start.
  std::unique_ptr<TestStream> OpenStream(const StreamSettings& settings, bool stalled = false) {
    auto stream = std::make_unique<TestStream>();
    stream->sink.Stall(stalled);
    absl::StatusOr<std::unique_ptr<StreamSession>> session = hub_->OpenStream(settings);
    EXPECT_TRUE(session.ok()) << session.status();
    if (!session.ok()) return nullptr;
    stream->session = *std::move(session);
    EXPECT_TRUE(stream->session->Start(&stream->sink).ok());
    return stream;
  }

  // The ack id of the one message a Pull of `subscription` gets.
  std::string PullOne(absl::string_view subscription) {
    absl::StatusOr<std::vector<Delivery>> got = Pull(subscription, 1, absl::ZeroDuration());
    EXPECT_TRUE(got.ok() && got->size() == 1u);
    return got.ok() && !got->empty() ? got->front().ack_id : "";
  }

  absl::Status PublishData(const std::string& data) {
    Message m;
    m.data = data;
    return hub_->Publish("orders", {m}).status();
  }

  FakeStore store_;
  prometheus::Registry registry_;
  HubProbe probe_{registry_};
  std::unique_ptr<Hub> hub_;
};

TEST_F(HubTest, InvalidPublishNeverReachesTheStore) {
  Message empty;
  EXPECT_THAT(hub_->Publish("orders", {empty}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(hub_->Publish("bad name", {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store_.publish_calls.load(), 0);
}

TEST_F(HubTest, StatsCountBacklogAndUnacked) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(PublishData(absl::StrCat(i)).ok());
  ASSERT_TRUE(Pull("billing", 2, absl::ZeroDuration()).ok());
  absl::StatusOr<SubscriptionStats> stats = hub_->GetSubscriptionStats("billing");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->backlog_messages, 3);
  EXPECT_EQ(stats->unacked_messages, 2);
  EXPECT_THAT(hub_->GetSubscriptionStats("x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(hub_->GetSubscriptionStats("missing"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HubTest, ConcurrentPublishesShareTransactions) {
  store_.publish_delay = absl::Milliseconds(50);
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([this, i] { EXPECT_TRUE(PublishData(absl::StrCat(i)).ok()); });
  }
  for (auto& t : threads) t.join();
  // One committer: the first call commits alone, the other 19 queue behind
  // it and share one or two more transactions.
  EXPECT_LE(store_.publish_calls.load(), 4);
}

TEST_F(HubTest, PublishToMissingTopicIsNotFound) {
  Message m;
  m.data = "x";
  EXPECT_THAT(hub_->Publish("missing", {m}), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HubTest, WaitingPullWakesOnPublishNotOnPoll) {
  std::thread publisher([this] {
    absl::SleepFor(absl::Milliseconds(200));
    EXPECT_TRUE(PublishData("late").ok());
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<Delivery>> got = Pull("billing", 10, absl::Seconds(5));
  publisher.join();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].message.data, "late");
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(HubTest, PullWithoutWaitReturnsEmptyAtOnce) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<Delivery>> got = Pull("billing", 10, absl::ZeroDuration());
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(HubTest, StreamHoldsAtItsOutstandingLimitUntilAcked) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(PublishData(absl::StrCat(i)).ok());
  StreamSettings settings;
  settings.subscription = "billing";
  settings.max_outstanding_messages = 3;
  std::unique_ptr<TestStream> stream = OpenStream(settings);
  ASSERT_NE(stream, nullptr);
  std::vector<Delivery> first = stream->sink.WaitFor(3);
  ASSERT_EQ(first.size(), 3u);
  stream->sink.Flush(*stream->session);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(stream->sink.WaitFor(4, absl::ZeroDuration()).size(), 3u);  // held at its limit

  StreamRequest ack;
  ack.ack_ids = {first[0].ack_id};
  ASSERT_TRUE(stream->Handle(ack).ok());
  // Room for exactly the one acked, without waiting for a poll.
  EXPECT_EQ(stream->sink.WaitFor(4, absl::Seconds(2)).size(), 4u);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(stream->sink.WaitFor(5, absl::ZeroDuration()).size(), 4u);
  EXPECT_EQ(store_.acked.load(), 1);
}

TEST_F(HubTest, StreamRejectsMismatchedModifyArrays) {
  std::unique_ptr<TestStream> stream = OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_NE(stream, nullptr);
  StreamRequest bad;
  bad.modify_deadline_ack_ids = {"1-1-1", "1-1-2"};
  bad.modify_deadline_seconds = {10};
  EXPECT_THAT(stream->Handle(bad), StatusIs(absl::StatusCode::kInvalidArgument));
  StreamRequest too_long;
  too_long.modify_deadline_ack_ids = {"1-1-1"};
  too_long.modify_deadline_seconds = {601};
  EXPECT_THAT(stream->Handle(too_long), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(HubTest, NackIdsReachTheStore) {
  std::unique_ptr<TestStream> stream = OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_NE(stream, nullptr);
  StreamRequest nack;
  nack.nack_ids = {"1-1-1", "garbage"};
  nack.modify_deadline_ack_ids = {"1-1-2"};
  nack.modify_deadline_seconds = {0};
  ASSERT_TRUE(stream->Handle(nack).ok());
  EXPECT_EQ(store_.nacked.load(), 2);  // the malformed id is dropped
}

TEST_F(HubTest, ShutdownEndsWaitingStreamsAndPullsWithUnavailable) {
  std::unique_ptr<TestStream> stream = OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_NE(stream, nullptr);
  absl::StatusCode pulled = absl::StatusCode::kOk;
  std::thread pull([&] { pulled = Pull("billing", 1, absl::Seconds(30)).status().code(); });
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time start = absl::Now();
  hub_->Shutdown();
  pull.join();
  std::optional<absl::Status> ended = stream->sink.WaitForEnd();
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pulled, absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(PublishData("after").code(), absl::StatusCode::kUnavailable);
}

TEST_F(HubTest, DeletedSubscriptionEndsTheStreamWithNotFound) {
  std::unique_ptr<TestStream> stream = OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(hub_->DeleteSubscription("billing").ok());
  // Within the poll interval (10 s here) the record is read again; a
  // publish makes it look at once.
  ASSERT_TRUE(PublishData("x").ok());
  std::optional<absl::Status> ended = stream->sink.WaitForEnd(absl::Seconds(15));
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->code(), absl::StatusCode::kNotFound);
}

TEST_F(HubTest, StreamOnAMissingSubscriptionEndsWithNotFound) {
  std::unique_ptr<TestStream> stream = OpenStream(StreamSettings{"nowhere", 0, 0, 0});
  ASSERT_NE(stream, nullptr);
  std::optional<absl::Status> ended = stream->sink.WaitForEnd();
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Pull("nowhere", 1, absl::Seconds(5)), StatusIs(absl::StatusCode::kNotFound));
}

// Issue 20, findings 2 and 3: waiting consumers cost neither threads nor
// claims each. A thousand waiting Pulls and a thousand idle streams on one
// subscription are claimed for once per poll, by the dispatcher's threads.
TEST_F(HubTest, ThousandsOfWaitersShareClaimsAndThreads) {
  HubOptions options = Options();
  options.poll_interval = absl::Milliseconds(100);
  Restart(options);
  const int threads_before = ThreadCount();
  std::vector<std::unique_ptr<PendingPull>> pulls;
  std::atomic<int> answered{0};
  for (int i = 0; i < 1000; ++i) {
    auto pull =
        hub_->Pull("billing", 1, absl::Seconds(60), [&](absl::StatusOr<Claimed>) { ++answered; });
    ASSERT_TRUE(pull.ok());
    ASSERT_TRUE((*pull)->Start().ok());
    pulls.push_back(*std::move(pull));
  }
  std::vector<std::unique_ptr<TestStream>> streams;
  for (int i = 0; i < 1000; ++i) streams.push_back(OpenStream(StreamSettings{"billing", 0, 0, 0}));
  absl::SleepFor(absl::Milliseconds(300));
  const int claims_before = store_.claims.load();
  const int reads_before = store_.subscription_reads.load();
  absl::SleepFor(absl::Seconds(1));
  // About ten polls of one subscription, not 2,000 waiters' each.
  EXPECT_LE(store_.claims.load() - claims_before, 25);
  EXPECT_LE(store_.subscription_reads.load() - reads_before, 25);
  EXPECT_EQ(ThreadCount(), threads_before);
  EXPECT_EQ(answered.load(), 0);

  // Abandoned Pulls leave at once and get nothing; the rest are served.
  for (int i = 0; i < 999; ++i) EXPECT_TRUE(pulls[i]->Cancel());
  ASSERT_TRUE(PublishData("one").ok());
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(answered.load(), 1);
  EXPECT_FALSE(pulls[999]->Cancel());  // it was answered
}

// Issue 20, finding 4: a stream whose writer cannot send (the transport's
// flow control holds it while the client does not read) gets no new leases
// past what its writer holds, and a reading consumer gets the rest.
TEST_F(HubTest, AStreamWhoseWriterIsStuckGetsNoMoreAndOthersAreServed) {
  // Claims of at most 5 messages, so that one response does not take all.
  HubOptions options = Options();
  options.max_claim_batch = 5;
  Restart(options);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(PublishData(absl::StrCat(i)).ok());
  std::unique_ptr<TestStream> stuck = OpenStream(StreamSettings{"billing", 0, 0, 0}, true);
  ASSERT_NE(stuck, nullptr);
  StreamRequest hello;  // the client has spoken: it reads, until it stops
  hello.ack_ids = {"1-1-1"};
  ASSERT_TRUE(stuck->Handle(hello).ok());
  absl::SleepFor(absl::Milliseconds(300));
  // One response being written and one queued, then nothing.
  EXPECT_EQ(stuck->sink.responses(), 2);
  EXPECT_EQ(stuck->sink.WaitFor(0, absl::ZeroDuration()).size(), 10u);
  absl::StatusOr<std::vector<Delivery>> pulled = Pull("billing", 100, absl::ZeroDuration());
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(pulled->size(), 40u);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(stuck->sink.responses(), 2);
}

// A stream whose client has not said a word yet gets one response: a
// client that never reads costs one response's messages, not its window's.
TEST_F(HubTest, AStreamThatNeverSpeaksGetsOneResponse) {
  HubOptions options = Options();
  options.max_claim_batch = 5;
  Restart(options);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(PublishData(absl::StrCat(i)).ok());
  std::unique_ptr<TestStream> mute = OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_NE(mute, nullptr);
  ASSERT_EQ(mute->sink.WaitFor(5).size(), 5u);
  mute->sink.Flush(*mute->session);  // the transport took it
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(mute->sink.responses(), 1);
  StreamRequest ack;
  ack.ack_ids = {mute->sink.WaitFor(0, absl::ZeroDuration())[0].ack_id};
  ASSERT_TRUE(mute->Handle(ack).ok());
  // Once it spoke it gets what its writer takes: here two unsent responses,
  // as this writer has not sent them.
  EXPECT_EQ(mute->sink.WaitFor(15).size(), 15u);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(mute->sink.responses(), 3);
}

// A lease that ran out does not free the stream's room: only the client's
// settling does, so what a silent client held goes to others.
TEST_F(HubTest, ExpiredLeasesGoToOthersNotBackToTheStreamThatHeldThem) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(PublishData(absl::StrCat(i)).ok());
  std::unique_ptr<TestStream> silent = OpenStream(StreamSettings{"billing", 1, 2, 0});
  ASSERT_NE(silent, nullptr);
  ASSERT_EQ(silent->sink.WaitFor(2).size(), 2u);
  silent->sink.Flush(*silent->session);
  store_.ExpireLeases();
  absl::SleepFor(absl::Milliseconds(1200));  // past the stream's 1 s deadline
  absl::StatusOr<std::vector<Delivery>> pulled = Pull("billing", 10, absl::ZeroDuration());
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(pulled->size(), 5u);  // the two it held, and the three it never had
  EXPECT_EQ(silent->sink.WaitFor(3, absl::Milliseconds(200)).size(), 2u);
}

// The total of unsent deliveries over all streams is bounded too.
TEST_F(HubTest, UnsentBytesOfAllStreamsStayWithinTheirLimit) {
  HubOptions options = Options();
  options.max_claim_batch = 1;
  options.max_unsent_stream_bytes = 3000;
  Restart(options);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(PublishData(std::string(1000, 'x')).ok());
  std::vector<std::unique_ptr<TestStream>> streams;
  for (int i = 0; i < 10; ++i) {
    streams.push_back(OpenStream(StreamSettings{"billing", 0, 0, 0}, true));
    ASSERT_NE(streams.back(), nullptr);
  }
  absl::SleepFor(absl::Milliseconds(300));
  size_t delivered = 0;
  for (auto& s : streams) delivered += s->sink.WaitFor(0, absl::ZeroDuration()).size();
  // Each claim asks for no more bytes than remain: three 1000-byte
  // messages, then nothing for anyone.
  EXPECT_EQ(delivered, 3u);
}

// A Pull that left while its claim ran does not take the messages with it.
TEST_F(HubTest, MessagesClaimedForAPullThatLeftAreGivenBack) {
  ASSERT_TRUE(PublishData("kept").ok());
  store_.claim_delay = absl::Milliseconds(300);
  std::atomic<bool> answered{false};
  auto pull = hub_->Pull("billing", 1, absl::Seconds(10),
                         [&](absl::StatusOr<Claimed>) { answered = true; });
  ASSERT_TRUE(pull.ok());
  ASSERT_TRUE((*pull)->Start().ok());
  absl::SleepFor(absl::Milliseconds(100));  // its claim runs
  EXPECT_TRUE((*pull)->Cancel());
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_FALSE(answered.load());
  EXPECT_EQ(store_.nacked.load(), 1);
  store_.claim_delay = absl::ZeroDuration();
  absl::StatusOr<std::vector<Delivery>> again = Pull("billing", 1, absl::Seconds(2));
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().message.data, "kept");
}

TEST_F(HubTest, AcknowledgeReportsMalformedIdsInvalid) {
  absl::StatusOr<std::vector<AckResult>> results = hub_->Acknowledge("billing", {"1-1-1", "nope"});
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0].status, AckStatus::kOk);
  EXPECT_EQ((*results)[1].status, AckStatus::kInvalid);
}

TEST_F(HubTest, MalformedFilterAndMissingDeadLetterTopicAreRefusedBeforeStoring) {
  const int before = store_.subscriptions_created.load();
  SubscriptionConfig sub;
  sub.name = "filtered";
  sub.topic = "orders";
  sub.filter = "attributes.kind = order";
  EXPECT_THAT(hub_->CreateSubscription(sub), StatusIs(absl::StatusCode::kInvalidArgument));
  sub.filter = "";
  sub.dead_letter_policy.topic = "nowhere";
  EXPECT_THAT(hub_->CreateSubscription(sub), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_.subscriptions_created.load(), before);
}

// A message whose last attempt was nacked leaves for the dead-letter topic
// within a poll interval though nobody claims again.
TEST_F(HubTest, HousekeepingMovesDeadLettersWithoutAClaim) {
  HubOptions options = Options();
  options.poll_interval = absl::Milliseconds(50);
  Restart(options);
  TopicConfig dead;
  dead.name = "dead";
  ASSERT_TRUE(hub_->CreateTopic(dead).ok());
  SubscriptionConfig sub;
  sub.name = "poisoned";
  sub.topic = "orders";
  sub.dead_letter_policy = DeadLetterPolicy{"dead", 2};
  ASSERT_TRUE(hub_->CreateSubscription(sub).ok());
  ASSERT_TRUE(PublishData("poison").ok());
  for (int attempt = 1; attempt <= 2; ++attempt) {
    const std::string ack_id = PullOne("poisoned");
    ASSERT_TRUE(hub_->ModifyAckDeadline("poisoned", {ack_id}, 0).ok());
    if (attempt == 1) {
      EXPECT_EQ(store_.dead_lettered.load(), 0);
    }
  }
  const int claims = store_.claims.load();
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (store_.dead_lettered.load() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(store_.dead_lettered.load(), 1);
  EXPECT_EQ(store_.claims.load(), claims);
}

SubscriptionConfig NewSubscription(const std::string& name, DeliveryGuarantee g) {
  SubscriptionConfig sub;
  sub.name = name;
  sub.topic = "orders";
  sub.delivery_guarantee = g;
  return sub;
}

// Unary settling calls (how Pub/Sub clients settle every batch) take the
// dispatcher's record of the subscription, read at most once per poll
// interval; a change made here is seen at once.
TEST_F(HubTest, UnarySettlesReadTheSubscriptionOncePerPollInterval) {
  const int before = store_.subscription_reads.load();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(hub_->Acknowledge("billing", {"1-1-1"}).ok());
    ASSERT_TRUE(hub_->ModifyAckDeadline("billing", {"1-1-1"}, 30).ok());
  }
  EXPECT_EQ(store_.subscription_reads.load() - before, 1);
  ASSERT_TRUE(hub_->DeleteSubscription("billing").ok());
  EXPECT_EQ(hub_->Acknowledge("billing", {"1-1-1"}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(HubTest, AcksAreRoutedByGuarantee) {
  ASSERT_TRUE(
      hub_->CreateSubscription(NewSubscription("most", DeliveryGuarantee::kAtMostOnce)).ok());
  ASSERT_TRUE(
      hub_->CreateSubscription(NewSubscription("exact", DeliveryGuarantee::kExactlyOnce)).ok());
  ASSERT_TRUE(hub_->Acknowledge("billing", {"1-1-1"}).ok());
  EXPECT_EQ(store_.acked.load(), 1);  // the batched path
  ASSERT_TRUE(hub_->Acknowledge("most", {"1-1-2"}).ok());
  EXPECT_EQ(store_.acked.load() + store_.settled_acks.load(), 1);  // nothing to do
  ASSERT_TRUE(PublishData("due").ok());
  const std::string held = PullOne("exact");
  store_.ExpireLeases();
  absl::StatusOr<std::vector<AckResult>> results = hub_->Acknowledge("exact", {held, "bad"});
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(store_.settled_acks.load(), 1);
  EXPECT_EQ((*results)[0].status, AckStatus::kExpired);  // the store's word
  EXPECT_EQ((*results)[1].status, AckStatus::kInvalid);
}

TEST_F(HubTest, ExactlyOnceStreamReportsAckResults) {
  ASSERT_TRUE(
      hub_->CreateSubscription(NewSubscription("exact", DeliveryGuarantee::kExactlyOnce)).ok());
  std::unique_ptr<TestStream> exact = OpenStream(StreamSettings{"exact", 0, 0, 0});
  std::unique_ptr<TestStream> plain = OpenStream(StreamSettings{"billing", 0, 0, 0});
  ASSERT_TRUE(exact != nullptr && plain != nullptr);
  ASSERT_TRUE(PublishData("once").ok());
  std::vector<Delivery> delivered = exact->sink.WaitFor(1);
  ASSERT_EQ(delivered.size(), 1u);
  StreamRequest ack;
  ack.ack_ids = {delivered.front().ack_id};
  ack.modify_deadline_ack_ids = {"nope"};
  ack.modify_deadline_seconds = {30};
  absl::StatusOr<StreamOutcome> reported = exact->Handle(ack);
  ASSERT_TRUE(reported.ok());
  ASSERT_EQ(reported->acks.size(), 1u);
  EXPECT_EQ(reported->acks[0].status, AckStatus::kOk);
  // Deadline changes have their verdicts too (docs/api.md: malformed ids).
  ASSERT_EQ(reported->deadline_changes.size(), 1u);
  EXPECT_EQ(reported->deadline_changes[0].ack_id, "nope");
  EXPECT_EQ(reported->deadline_changes[0].status, AckStatus::kInvalid);
  reported = plain->Handle(ack);
  ASSERT_TRUE(reported.ok());
  EXPECT_TRUE(reported->acks.empty());
  EXPECT_TRUE(reported->deadline_changes.empty());
}

// Pub/Sub's clients settle what a stream delivered through unary calls and
// say nothing on the stream: those acks are the stream's client speaking,
// and free its room.
TEST_F(HubTest, UnaryAcksOfAStreamsMessagesCountAsItsClientsWord) {
  // Published first, so that the first response is a full window.
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(PublishData(absl::StrCat("m", i)).ok());
  std::unique_ptr<TestStream> stream = OpenStream(StreamSettings{"billing", 0, 2, 0});
  ASSERT_TRUE(stream != nullptr);
  std::vector<Delivery> first = stream->sink.WaitFor(2);
  ASSERT_EQ(first.size(), 2u);
  stream->sink.Flush(*stream->session);
  // Its window of two is full until the client settles.
  EXPECT_EQ(stream->sink.WaitFor(3, absl::Milliseconds(300)).size(), 2u);
  std::vector<std::string> ids;
  for (const Delivery& d : first) ids.push_back(d.ack_id);
  ASSERT_TRUE(hub_->Acknowledge("billing", ids).ok());
  std::vector<Delivery> more = stream->sink.WaitFor(4);
  ASSERT_EQ(more.size(), 4u);
  stream->sink.Flush(*stream->session);
  // A unary nack frees room too.
  ASSERT_TRUE(hub_->ModifyAckDeadline("billing", {more[2].ack_id, more[3].ack_id}, 0).ok());
  EXPECT_EQ(stream->sink.WaitFor(6).size(), 6u);
}

TEST_F(HubTest, TransactOnExactlyOnceAbortsOnAMalformedAckIdWithoutCallingTheStore) {
  ASSERT_TRUE(
      hub_->CreateSubscription(NewSubscription("exact", DeliveryGuarantee::kExactlyOnce)).ok());
  Message m;
  m.data = "out";
  std::vector<TransactPublish> publishes = {{"orders", {m}}};
  EXPECT_EQ(hub_->Transact("exact", {"garbage"}, publishes).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store_.transactions.load(), 0);
  ASSERT_TRUE(PublishData("in").ok());
  absl::StatusOr<TransactOutcome> ok = hub_->Transact("exact", {PullOne("exact")}, publishes);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->publish_results.size(), 1u);
  EXPECT_EQ(store_.transactions.load(), 1);
  Message empty;
  EXPECT_EQ(hub_->Transact("exact", {"1-1-1"}, {{"orders", {empty}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HubTest, UpdateSubscriptionRefusesFixedAndUnknownFields) {
  SubscriptionConfig update;
  update.name = "billing";
  update.ack_deadline_seconds = 45;
  absl::StatusOr<SubscriptionConfig> updated =
      hub_->UpdateSubscription(update, {"ack_deadline_seconds"});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->ack_deadline_seconds, 45);
  EXPECT_EQ(updated->topic, "orders");  // untouched
  for (const char* path : {"topic", "delivery_guarantee", "enable_message_ordering", "nope"}) {
    EXPECT_EQ(hub_->UpdateSubscription(update, {path}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << path;
  }
  EXPECT_EQ(hub_->UpdateSubscription(update, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HubTest, UpdateTopicChangesOnlyTheNamedFields) {
  TopicConfig update;
  update.name = "orders";
  update.dedup_window = absl::Minutes(5);
  update.labels = {{"team", "sales"}};
  absl::StatusOr<TopicConfig> updated = hub_->UpdateTopic(update, {"dedup_window"});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->dedup_window, absl::Minutes(5));
  EXPECT_TRUE(updated->labels.empty());
  EXPECT_EQ(hub_->UpdateTopic(update, {"name"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HubTest, SubscriptionDefaultsAreApplied) {
  SubscriptionConfig sub;
  sub.name = "defaults";
  sub.topic = "orders";
  sub.ack_deadline_seconds = 0;
  absl::StatusOr<SubscriptionConfig> created = hub_->CreateSubscription(sub);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->ack_deadline_seconds, 30);
}

TEST_F(HubTest, ListTopicsPages) {
  for (const char* name : {"alpha", "bravo", "charlie"}) {
    TopicConfig t;
    t.name = name;
    ASSERT_TRUE(hub_->CreateTopic(t).ok());
  }
  absl::StatusOr<Page<TopicConfig>> page = hub_->ListTopics(NameScope::All(), 2, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->next_page_token, "bravo");
  page = hub_->ListTopics(NameScope::All(), 2, page->next_page_token);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);  // charlie, orders
  EXPECT_EQ(page->next_page_token, "");
}

// A stream that counts calls made while another of its calls runs, and can
// hold a Take until released.
class HeldStream final : public Waiter {
 public:
  void HoldNextTake() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  void AwaitHeld() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&held_));
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    hold_ = false;
    held_ = false;
  }
  bool AwaitTaken(size_t n, absl::Duration within) {
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return taken_ >= n; };
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&enough), within);
  }
  bool ended() {
    absl::MutexLock lock(&mu_);
    return ended_;
  }

  Room Wants() override {
    Call call(*this);
    return Room{10, 1 << 20, absl::Seconds(30)};
  }
  void Take(const SubscriptionRecord&, std::vector<Delivery> deliveries) override {
    Call call(*this);
    absl::MutexLock lock(&mu_);
    taken_ += deliveries.size();
    if (hold_) {
      held_ = true;
      auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !hold_; };
      mu_.Await(absl::Condition(&released));
    }
  }
  void End(absl::Status) override {
    Call call(*this);
    absl::MutexLock lock(&mu_);
    ended_ = true;
  }

  std::atomic<int> overlapping{0};

 private:
  struct Call {
    explicit Call(HeldStream& s) : stream(s) {
      if (stream.in_call_.fetch_add(1) > 0) ++stream.overlapping;
    }
    ~Call() { stream.in_call_.fetch_sub(1); }
    HeldStream& stream;
  };

  std::atomic<int> in_call_{0};
  absl::Mutex mu_;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  size_t taken_ ABSL_GUARDED_BY(mu_) = 0;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

// A chaos run ended hubd on an erased dispatcher entry: a wake-up during a
// stream's Take claimed for the same stream on the other thread, so two Takes
// ran at once, and the stream's removal after the first freed the entry under
// the second. Neither a claim nor End may call a stream while its Take runs.
TEST(DispatcherTest, AStreamIsCalledOnceAtATimeByClaimsAndByItsEnd) {
  FakeStore store;
  prometheus::Registry registry;
  HubProbe probe(registry);
  WakeUpBoard wake_ups;
  TopicConfig topic;
  topic.name = "orders";
  ASSERT_TRUE(store.CreateTopic(topic).ok());
  SubscriptionConfig config;
  config.name = "billing";
  config.topic = "orders";
  ASSERT_TRUE(store.CreateSubscription(config).ok());
  const int64_t topic_id = store.GetSubscription("billing")->topic_id;
  auto publish = [&store, &wake_ups, topic_id](const std::string& data) {
    Message m;
    m.data = data;
    PublishItem item{"orders", {m}};
    PublishItem* items[] = {&item};
    ASSERT_TRUE(store.Publish(items).ok());
    wake_ups.Notify(topic_id);
  };
  // A poll interval far beyond the test: what it receives, wake-ups brought.
  Dispatcher dispatcher(
      store, probe, wake_ups, [](const SubscriptionRecord&, const std::vector<Delivery>&) {},
      DispatcherOptions{2, absl::Hours(1)});
  HeldStream stream;

  stream.HoldNextTake();
  ASSERT_TRUE(dispatcher.Add("billing", &stream, Waiting::kUntilRemoved).ok());
  // Known now, so that wake-ups reach it from the first one.
  ASSERT_TRUE(dispatcher.Current("billing").ok());
  publish("one");
  stream.AwaitHeld();
  publish("two");  // the other thread claims while the Take is held
  absl::SleepFor(absl::Milliseconds(200));
  stream.Release();
  EXPECT_TRUE(stream.AwaitTaken(2, absl::Seconds(5))) << "the claim passed over is made after";

  stream.HoldNextTake();
  publish("three");
  stream.AwaitHeld();
  std::thread stop([&dispatcher] { dispatcher.Stop(); });
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(stream.ended()) << "End came while the Take ran";
  stream.Release();
  stop.join();
  EXPECT_TRUE(stream.ended());
  EXPECT_EQ(stream.overlapping.load(), 0);
  EXPECT_FALSE(dispatcher.Remove(&stream));  // ended, not removed
}

}  // namespace
}  // namespace hub
