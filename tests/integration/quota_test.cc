// Quotas per principal from the policy (docs/security.md, "Quotas"):
// publishes over the rate are RESOURCE_EXHAUSTED with a RetryInfo delay and
// store nothing; streams over the count are refused; consumers are handed
// no more than the pull rate; and one principal's flood leaves another's
// publish latency where it was.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

constexpr char kPolicy[] = R"(
allow *       *                 *
quota noisy   publish_messages  200/s
quota bulky   publish_bytes     64KiB/s
quota reader  pull_messages     50/s
quota reader  streams           2
)";

class QuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = SharedPostgres().CreateDatabase();
    hubd_ = std::make_unique<HubProcess>(url_, files_.Flags());
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
    publisher_ = hubd_->Publisher();
    subscriber_ = hubd_->Subscriber();
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer t-calm");
    v1::Topic topic, out;
    topic.set_name("orders");
    ASSERT_TRUE(publisher_->CreateTopic(&ctx, topic, &out).ok());
  }

  grpc::Status Publish(v1::Publisher::Stub& stub, const std::string& principal, int messages,
                       size_t bytes_each = 1) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer t-" + principal);
    v1::PublishRequest request;
    request.set_topic("orders");
    for (int i = 0; i < messages; ++i)
      request.add_messages()->set_data(std::string(bytes_each, 'x'));
    v1::PublishResponse out;
    return stub.Publish(&ctx, request, &out);
  }

  int64_t Stored() { return std::stoll(QueryValue(url_, kCountStoredMessages)); }

  const AccessFiles files_{{"noisy", "calm", "bulky", "reader"}, kPolicy};
  std::string url_;
  std::unique_ptr<HubProcess> hubd_;
  std::unique_ptr<v1::Publisher::Stub> publisher_;
  std::unique_ptr<v1::Subscriber::Stub> subscriber_;
};

// The RetryInfo delay of a refusal, from its status details.
absl::Duration RetryAfter(const grpc::Status& status) {
  google::rpc::Status details;
  google::rpc::RetryInfo retry;
  if (!details.ParseFromString(status.error_details()) || details.details_size() != 1 ||
      !details.details(0).UnpackTo(&retry)) {
    return absl::InfiniteDuration();
  }
  return absl::Seconds(retry.retry_delay().seconds()) +
         absl::Nanoseconds(retry.retry_delay().nanos());
}

TEST_F(QuotaTest, PublishesOverTheRateAreRefusedWithARetryDelay) {
  // A second's worth passes at once; the next is refused and stores nothing.
  ASSERT_TRUE(Publish(*publisher_, "noisy", 200).ok());
  const int64_t stored = Stored();
  const grpc::Status refused = Publish(*publisher_, "noisy", 100);
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("noisy is over its publish_messages quota"),
            std::string::npos)
      << refused.error_message();
  const absl::Duration delay = RetryAfter(refused);
  EXPECT_GT(delay, absl::ZeroDuration());
  EXPECT_LE(delay, absl::Milliseconds(500)) << "100 messages at 200/s";
  EXPECT_EQ(Stored(), stored);
  // After the delay it passes; another principal was never held back.
  ASSERT_TRUE(Publish(*publisher_, "calm", 500).ok());
  absl::SleepFor(delay);
  EXPECT_TRUE(Publish(*publisher_, "noisy", 100).ok());

  // Bytes: 64 KiB a second.
  ASSERT_TRUE(Publish(*publisher_, "bulky", 6, 10000).ok());
  const grpc::Status too_big = Publish(*publisher_, "bulky", 1, 10000);
  EXPECT_EQ(too_big.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(too_big.error_message().find("publish_bytes"), std::string::npos);
  EXPECT_EQ(MetricValue(*hubd_, "hub_quota_refusals_total{principal=\"noisy\""), 1);
  EXPECT_EQ(MetricValue(*hubd_, "hub_quota_refusals_total{principal=\"bulky\""), 1);
}

TEST_F(QuotaTest, ConsumersAreHandedNoMoreThanThePullRate) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer t-reader");
  v1::Subscription sub, out;
  sub.set_name("reading");
  sub.set_topic("orders");
  ASSERT_TRUE(subscriber_->CreateSubscription(&ctx, sub, &out).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Publish(*publisher_, "calm", 200).ok());

  // A unary Pull takes at most what the bucket holds; an empty one is
  // refused with a delay.
  auto pull = [&](int max, v1::PullResponse* resp) {
    grpc::ClientContext c;
    c.AddMetadata("authorization", "Bearer t-reader");
    v1::PullRequest r;
    r.set_subscription("reading");
    r.set_max_messages(max);
    r.mutable_max_wait()->set_nanos(500 * 1000 * 1000);
    return subscriber_->Pull(&c, r, resp);
  };
  v1::PullResponse first;
  ASSERT_TRUE(pull(1000, &first).ok());
  EXPECT_EQ(first.received_messages_size(), 50);
  v1::PullResponse none;
  const grpc::Status empty = pull(1000, &none);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_GT(RetryAfter(empty), absl::ZeroDuration());

  // A stream is handed what the rate allows: over 3 s, about 3 x 50 (and
  // the bucket's refill while it opened), not the 900 waiting.
  std::atomic<int> received{0};
  {
    auto stub = hubd_->Subscriber();
    grpc::ClientContext c;
    c.AddMetadata("authorization", "Bearer t-reader");
    auto stream = stub->StreamingPull(&c);
    v1::StreamingPullRequest open;
    open.set_subscription("reading");
    open.set_max_outstanding_messages(1000);
    ASSERT_TRUE(stream->Write(open));
    std::thread reader([&] {
      v1::StreamingPullResponse response;
      while (stream->Read(&response)) {
        v1::StreamingPullRequest ack;
        for (const auto& m : response.received_messages()) ack.add_ack_ids(m.ack_id());
        received += response.received_messages_size();
        stream->Write(ack);
      }
    });
    absl::SleepFor(absl::Seconds(3));
    c.TryCancel();
    reader.join();
  }
  std::printf("a stream at 50 messages/s was handed %d messages in 3 s\n", received.load());
  EXPECT_GE(received.load(), 100);
  EXPECT_LE(received.load(), 250);

  // Two streams at most: each opened once the one before is in place
  // (and the stream above is gone), the third refused.
  const std::string open_streams = "hub_streaming_pull_streams{subscription=\"reading\"";
  auto await_streams = [&](double count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (MetricValue(*hubd_, open_streams) != count && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return MetricValue(*hubd_, open_streams) == count;
  };
  ASSERT_TRUE(await_streams(0));
  absl::SleepFor(absl::Milliseconds(200));  // its call, and its slot, end after its session
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<
      grpc::ClientReaderWriter<v1::StreamingPullRequest, v1::StreamingPullResponse>>>
      streams;
  for (int i = 0; i < 3; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->AddMetadata("authorization", "Bearer t-reader");
    streams.push_back(subscriber_->StreamingPull(contexts.back().get()));
    v1::StreamingPullRequest open;
    open.set_subscription("reading");
    open.set_max_outstanding_messages(1);
    streams.back()->Write(open);
    if (i < 2) ASSERT_TRUE(await_streams(i + 1)) << "stream " << i << " did not open";
  }
  // The third ends at once, refused.
  streams[2]->WritesDone();
  v1::StreamingPullResponse ignored;
  while (streams[2]->Read(&ignored)) {
  }
  const grpc::Status third = streams[2]->Finish();
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(third.error_message().find("streams quota"), std::string::npos)
      << third.error_message();
  for (int i = 0; i < 2; ++i) contexts[i]->TryCancel();
  for (int i = 0; i < 2; ++i) streams[i]->Finish();
}

// Latencies of `count` one-message publishes by calm, in ms, appended.
void CalmPublishes(v1::Publisher::Stub& stub, int count, std::vector<double>& ms) {
  for (int i = 0; i < count; ++i) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer t-calm");
    v1::PublishRequest request;
    request.set_topic("orders");
    request.add_messages()->set_data("calm");
    v1::PublishResponse out;
    const absl::Time start = absl::Now();
    EXPECT_TRUE(stub.Publish(&ctx, request, &out).ok());
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    absl::SleepFor(absl::Milliseconds(2));
  }
}

double P99(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() * 99 / 100];
}

TEST_F(QuotaTest, AFloodFromOnePrincipalLeavesAnothersLatency) {
  // noisy publishes batches of 100 from 4 threads as fast as it is let,
  // waiting out each refusal's delay as a stock client does, in every other
  // block of calm's publishes: blocks alternate, so that whatever else the
  // machine does falls on both.
  std::atomic<bool> flooding{false};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> refused{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 4; ++t) {
    flood.emplace_back([&] {
      auto stub = hubd_->Publisher();
      while (!stop.load()) {
        if (!flooding.load()) {
          absl::SleepFor(absl::Milliseconds(5));
          continue;
        }
        const grpc::Status s = Publish(*stub, "noisy", 100, 100);
        if (s.ok()) {
          accepted += 100;
        } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++refused;
          absl::SleepFor(RetryAfter(s));
        }
      }
    });
  }
  auto calm = hubd_->Publisher();
  std::vector<double> warmup, unloaded, loaded;
  CalmPublishes(*calm, 20, warmup);
  absl::Duration flooded;
  const absl::Time first_flood = absl::Now();
  for (int block = 0; block < 5; ++block) {
    CalmPublishes(*calm, 200, unloaded);
    flooding = true;
    const absl::Time start = absl::Now();
    absl::SleepFor(absl::Milliseconds(100));
    CalmPublishes(*calm, 200, loaded);
    flooding = false;
    flooded += absl::Now() - start;
  }
  stop = true;
  for (std::thread& t : flood) t.join();
  const double flood_seconds = absl::ToDoubleSeconds(flooded);
  // The bucket refills between the flood's blocks too, so what noisy can
  // have been granted is its first second's burst and 200 a second over
  // the whole span, calm blocks included, up to the last answer.
  const double span_seconds = absl::ToDoubleSeconds(absl::Now() - first_flood);
  std::printf(
      "calm's publish p99: %.2f ms unloaded, %.2f ms under noisy's flood (1000 publishes "
      "each, in alternating blocks; noisy flooded %.1f s of %.1f s: %lld messages accepted, "
      "%lld batches refused)\n",
      P99(unloaded), P99(loaded), flood_seconds, span_seconds,
      static_cast<long long>(accepted.load()), static_cast<long long>(refused.load()));
  EXPECT_GT(refused.load(), 0);
  EXPECT_LE(accepted.load(), 200 + 200 * span_seconds) << "the flood went past its quota";
  EXPECT_LE(P99(loaded), 2 * P99(unloaded));
}

}  // namespace
}  // namespace hub::testing
