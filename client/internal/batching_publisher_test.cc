// The Publisher's decisions against a mock stub: when batches are cut, how
// many fly at once, flow control, idempotency keys, retries and ordering
// keys.
#include "client/internal/batching_publisher.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/internal/testing_stubs.h"
#include "client/publisher.h"
#include "common/testing/status_matchers.h"

namespace hub::client::internal {
namespace {

using ::hub::testing::StatusIs;

using ::testing::_;
using ::testing::Invoke;

v1::PublishResponse Answer(const v1::PublishRequest& request) {
  v1::PublishResponse response;
  for (int i = 0; i < request.messages_size(); ++i) {
    response.add_results()->set_message_id(request.messages(i).data());
  }
  return response;
}

// Records every request and answers like the hub.
class RecordingStub {
 public:
  RecordingStub() : stub_(std::make_shared<::testing::NiceMock<MockHubStub>>()) {
    ON_CALL(*stub_, Publish(_)).WillByDefault(Invoke([this](const v1::PublishRequest& r) {
      absl::MutexLock lock(&mu_);
      requests_.push_back(r);
      return absl::StatusOr<v1::PublishResponse>(Answer(r));
    }));
  }
  std::vector<int> BatchSizes() {
    absl::MutexLock lock(&mu_);
    std::vector<int> sizes;
    for (const auto& r : requests_) sizes.push_back(r.messages_size());
    return sizes;
  }
  std::vector<v1::PublishRequest> Requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  Connection connection() { return Connection(stub_); }
  MockHubStub& mock() { return *stub_; }

 private:
  std::shared_ptr<::testing::NiceMock<MockHubStub>> stub_;
  absl::Mutex mu_;
  std::vector<v1::PublishRequest> requests_ ABSL_GUARDED_BY(mu_);
};

PublisherOptions NoTimer() {
  PublisherOptions o;
  o.max_hold_time = absl::Hours(1);
  o.deduplicate_retries = false;
  return o;
}

Message Data(const std::string& data, const std::string& key = "") {
  Message m;
  m.data = data;
  m.ordering_key = key;
  return m;
}

TEST(BatchingPublisherTest, CutsBatchesByCount) {
  RecordingStub stub;
  PublisherOptions o = NoTimer();
  o.max_batch_messages = 100;
  Publisher publisher(stub.connection(), "orders", o);
  std::vector<std::future<absl::StatusOr<PublishAck>>> results;
  for (int i = 0; i < 250; ++i) results.push_back(publisher.Publish(Data(absl::StrCat(i))));
  publisher.Flush();
  for (int i = 0; i < 250; ++i) {
    absl::StatusOr<PublishAck> ack = results[i].get();
    ASSERT_TRUE(ack.ok()) << ack.status();
    EXPECT_EQ(ack->message_id, absl::StrCat(i));
  }
  std::vector<int> sizes = stub.BatchSizes();
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<int>{50, 100, 100}));
}

TEST(BatchingPublisherTest, CutsBatchesByBytes) {
  RecordingStub stub;
  PublisherOptions o = NoTimer();
  o.max_batch_bytes = 1000;
  Publisher publisher(stub.connection(), "orders", o);
  for (int i = 0; i < 7; ++i) publisher.Publish(Data(std::string(300, 'a' + i)));
  publisher.Flush();
  std::vector<int> sizes = stub.BatchSizes();
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<int>{1, 3, 3}));
}

TEST(BatchingPublisherTest, SendsALoneMessageAfterTheHoldTime) {
  RecordingStub stub;
  PublisherOptions o;
  o.max_hold_time = absl::Milliseconds(100);
  Publisher publisher(stub.connection(), "orders", o);
  const absl::Time start = absl::Now();
  auto result = publisher.Publish(Data("one"));
  ASSERT_EQ(result.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(result.get().ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(90));
  EXPECT_EQ(stub.BatchSizes(), std::vector<int>{1});
}

TEST(BatchingPublisherTest, KeepsSeveralBatchesInFlight) {
  auto stub = std::make_shared<MockHubStub>();
  std::atomic<int> in_flight{0}, most{0};
  absl::Notification release;
  EXPECT_CALL(*stub, Publish(_)).WillRepeatedly(Invoke([&](const v1::PublishRequest& r) {
    const int now = ++in_flight;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    release.WaitForNotificationWithTimeout(absl::Seconds(5));
    --in_flight;
    return absl::StatusOr<v1::PublishResponse>(Answer(r));
  }));
  PublisherOptions o = NoTimer();
  o.max_batch_messages = 1;
  o.max_concurrent_batches = 3;
  Publisher publisher(Connection(stub), "orders", o);
  for (int i = 0; i < 6; ++i) publisher.Publish(Data(absl::StrCat(i)));
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (most.load() < 3 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(most.load(), 3);
  release.Notify();
  publisher.Flush();
}

// A stub whose publishes are answered once `release` is notified.
std::shared_ptr<MockHubStub> StubAnsweringAfter(absl::Notification& release) {
  auto stub = std::make_shared<MockHubStub>();
  EXPECT_CALL(*stub, Publish(_)).WillRepeatedly(Invoke([&release](const v1::PublishRequest& r) {
    release.WaitForNotificationWithTimeout(absl::Seconds(5));
    return absl::StatusOr<v1::PublishResponse>(Answer(r));
  }));
  return stub;
}

TEST(BatchingPublisherTest, FlowControlBlocksUntilThereIsRoom) {
  absl::Notification release;
  auto stub = StubAnsweringAfter(release);
  PublisherOptions o = NoTimer();
  o.max_batch_messages = 1;
  o.max_pending_messages = 2;
  Publisher publisher(Connection(stub), "orders", o);
  publisher.Publish(Data("a"));
  publisher.Publish(Data("b"));
  std::atomic<bool> third_returned{false};
  std::thread third([&] {
    publisher.Publish(Data("c"));
    third_returned = true;
  });
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(third_returned.load());
  release.Notify();
  third.join();
  EXPECT_TRUE(third_returned.load());
  publisher.Flush();
}

TEST(BatchingPublisherTest, FlowControlRejectsWhenSoConfigured) {
  absl::Notification release;
  auto stub = StubAnsweringAfter(release);
  PublisherOptions o = NoTimer();
  o.max_batch_messages = 1;
  o.max_pending_messages = 2;
  o.reject_when_full = true;
  Publisher publisher(Connection(stub), "orders", o);
  auto a = publisher.Publish(Data("a"));
  auto b = publisher.Publish(Data("b"));
  auto c = publisher.Publish(Data("c"));
  ASSERT_EQ(c.wait_for(std::chrono::seconds(1)), std::future_status::ready);
  EXPECT_THAT(c.get(), StatusIs(absl::StatusCode::kResourceExhausted));
  release.Notify();
  EXPECT_TRUE(a.get().ok());
  EXPECT_TRUE(b.get().ok());
}

// Each sender is a producer: its batches take consecutive sequence
// numbers; two senders, and two publishers, never share a producer id;
// messages keep the keys given them and get none of their own.
TEST(BatchingPublisherTest, SendsEachBatchAsTheNextOfItsSendersProducer) {
  RecordingStub stub;
  PublisherOptions o;
  o.max_hold_time = absl::Hours(1);
  o.max_batch_messages = 10;
  o.max_concurrent_batches = 2;
  Publisher publisher(stub.connection(), "orders", o);
  Message mine = Data("mine");
  mine.idempotency_key = "order-42";
  publisher.Publish(mine);
  for (int i = 0; i < 99; ++i) publisher.Publish(Data(absl::StrCat(i)));
  publisher.Flush();
  std::map<std::string, std::vector<std::pair<int64_t, int>>> batches;  // by producer
  for (const auto& r : stub.Requests()) {
    batches[r.producer()].emplace_back(r.first_sequence(), r.messages_size());
    for (const auto& m : r.messages()) {
      EXPECT_EQ(m.idempotency_key(), m.data() == "mine" ? "order-42" : "");
    }
  }
  EXPECT_FALSE(batches.count(""));
  int total = 0;
  for (auto& [producer, ranges] : batches) {
    std::sort(ranges.begin(), ranges.end());
    int64_t next = 0;
    for (const auto& [first, count] : ranges) {
      EXPECT_EQ(first, next) << producer;
      next = first + count;
      total += count;
    }
  }
  EXPECT_EQ(total, 100);
  Publisher other(stub.connection(), "orders", o);
  other.Publish(Data("x"));
  other.Flush();
  EXPECT_EQ(batches.count(stub.Requests().back().producer()), 0u);
}

TEST(BatchingPublisherTest, RetriesRetryableErrorsWithTheSameBatch) {
  auto stub = std::make_shared<MockHubStub>();
  std::vector<std::string> sent;
  int calls = 0;
  EXPECT_CALL(*stub, Publish(_)).WillRepeatedly(Invoke([&](const v1::PublishRequest& r) {
    sent.push_back(r.SerializeAsString());
    ++calls;
    if (calls == 1) return absl::StatusOr<v1::PublishResponse>(absl::UnavailableError("down"));
    if (calls == 2) return absl::StatusOr<v1::PublishResponse>(absl::AbortedError("conflict"));
    if (calls == 3) {
      return absl::StatusOr<v1::PublishResponse>(absl::DeadlineExceededError("slow"));
    }
    return absl::StatusOr<v1::PublishResponse>(Answer(r));
  }));
  PublisherOptions o;
  o.retry_backoff.initial = absl::Milliseconds(1);
  Publisher publisher(Connection(stub), "orders", o);
  EXPECT_TRUE(publisher.Publish(Data("a")).get().ok());
  ASSERT_EQ(sent.size(), 4u);
  v1::PublishRequest first;
  ASSERT_TRUE(first.ParseFromString(sent[0]));
  EXPECT_FALSE(first.producer().empty());
  for (const std::string& s : sent) EXPECT_EQ(s, sent[0]);
}

TEST(BatchingPublisherTest, DoesNotRetryPermanentErrors) {
  auto stub = std::make_shared<MockHubStub>();
  EXPECT_CALL(*stub, Publish(_))
      .Times(1)
      .WillOnce(::testing::Return(absl::InvalidArgumentError("too big")));
  Publisher publisher(Connection(stub), "orders", {});
  EXPECT_THAT(publisher.Publish(Data("a")).get(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BatchingPublisherTest, GivesUpAfterTheRetryTimeout) {
  auto stub = std::make_shared<MockHubStub>();
  std::atomic<int> calls{0};
  EXPECT_CALL(*stub, Publish(_)).WillRepeatedly(Invoke([&](const v1::PublishRequest&) {
    ++calls;
    return absl::StatusOr<v1::PublishResponse>(absl::UnavailableError("down"));
  }));
  PublisherOptions o;
  o.retry_backoff.initial = absl::Milliseconds(20);
  o.retry_backoff.maximum = absl::Milliseconds(40);
  o.retry_timeout = absl::Milliseconds(300);
  Publisher publisher(Connection(stub), "orders", o);
  const absl::Time start = absl::Now();
  absl::StatusOr<PublishAck> ack = publisher.Publish(Data("a")).get();
  EXPECT_THAT(ack, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_GT(calls.load(), 3);
}

// Cancel ends the retries of what has no answer, and refuses what comes
// after: a stopping program does not wait out retry_timeout.
TEST(BatchingPublisherTest, CancelEndsRetriesAndRefusesLaterPublishes) {
  auto stub = std::make_shared<MockHubStub>();
  EXPECT_CALL(*stub, Publish(_)).WillRepeatedly(Invoke([&](const v1::PublishRequest&) {
    return absl::StatusOr<v1::PublishResponse>(absl::UnavailableError("down"));
  }));
  PublisherOptions o;
  o.retry_backoff.initial = absl::Seconds(1);
  o.retry_timeout = absl::Minutes(10);
  Publisher publisher(Connection(stub), "orders", o);
  std::future<absl::StatusOr<PublishAck>> pending = publisher.Publish(Data("a"));
  absl::SleepFor(absl::Milliseconds(100));  // in its first backoff
  const absl::Time start = absl::Now();
  publisher.Cancel();
  EXPECT_THAT(pending.get(), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_THAT(publisher.Publish(Data("b")).get(), StatusIs(absl::StatusCode::kCancelled));
}

TEST(BatchingPublisherTest, KeepsOneBatchOfAnOrderingKeyInFlight) {
  auto stub = std::make_shared<MockHubStub>();
  absl::Mutex mu;
  std::map<std::string, int> in_flight;
  int most = 0;
  std::vector<std::string> stored;
  EXPECT_CALL(*stub, Publish(_)).WillRepeatedly(Invoke([&](const v1::PublishRequest& r) {
    const std::string key = r.messages(0).ordering_key();
    {
      absl::MutexLock lock(&mu);
      most = std::max(most, ++in_flight[key]);
    }
    absl::SleepFor(absl::Milliseconds(5));
    absl::MutexLock lock(&mu);
    --in_flight[key];
    for (const auto& m : r.messages()) stored.push_back(m.data());
    return absl::StatusOr<v1::PublishResponse>(Answer(r));
  }));
  PublisherOptions o = NoTimer();
  o.max_batch_messages = 1;
  o.max_concurrent_batches = 4;
  Publisher publisher(Connection(stub), "orders", o);
  for (int i = 0; i < 20; ++i) publisher.Publish(Data(absl::StrCat("k", i), "k"));
  publisher.Flush();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(most, 1);
  ASSERT_EQ(stored.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(stored[i], absl::StrCat("k", i));
}

TEST(BatchingPublisherTest, AFailedOrderingKeyPausesUntilResumed) {
  auto stub = std::make_shared<MockHubStub>();
  absl::Notification release;
  EXPECT_CALL(*stub, Publish(_)).WillRepeatedly(Invoke([&](const v1::PublishRequest& r) {
    if (r.messages(0).data() == "bad") {
      release.WaitForNotificationWithTimeout(absl::Seconds(5));
      return absl::StatusOr<v1::PublishResponse>(absl::InvalidArgumentError("bad message"));
    }
    return absl::StatusOr<v1::PublishResponse>(Answer(r));
  }));
  PublisherOptions o = NoTimer();
  o.max_batch_messages = 1;
  Publisher publisher(Connection(stub), "orders", o);
  auto bad = publisher.Publish(Data("bad", "k"));
  auto queued = publisher.Publish(Data("after", "k"));
  auto other_key = publisher.Publish(Data("other", "j"));
  EXPECT_TRUE(other_key.get().ok());
  release.Notify();
  EXPECT_THAT(bad.get(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(queued.get(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(publisher.Publish(Data("later", "k")).get().status().code(),
            absl::StatusCode::kFailedPrecondition);
  publisher.ResumePublish("k");
  EXPECT_TRUE(publisher.Publish(Data("resumed", "k")).get().ok());
}

TEST(BatchingPublisherTest, BadOptionsFailEveryPublish) {
  auto stub = std::make_shared<MockHubStub>();
  EXPECT_CALL(*stub, Publish(_)).Times(0);
  PublisherOptions o;
  o.max_batch_messages = 1001;
  Publisher publisher(Connection(stub), "orders", o);
  EXPECT_THAT(publisher.Publish(Data("a")).get(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(ValidatePublisherOptions(PublisherOptions{}), absl::OkStatus());
}

}  // namespace
}  // namespace hub::client::internal
