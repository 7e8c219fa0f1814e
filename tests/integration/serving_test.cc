// The serving model under fleets and attackers (issue 20; docs/security.md,
// "Connections" and "Waiting consumers"): waiting Pulls and open streams
// hold no thread and no database connection, a stream whose client does not
// read is not given more, and one principal cannot hold every stream. Each
// test runs at a light scale in `make test`; with HUB_SERVING_SCALE=full
// (tests/chaos/run --duration) at the scale of the findings.
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

bool FullScale() {
  const char* scale = std::getenv("HUB_SERVING_SCALE");
  return scale != nullptr && std::string(scale) == "full";
}

int64_t Transactions(const std::string& url) {
  return std::stoll(QueryValue(url,
                               "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                               "WHERE datname = current_database()"));
}

// Database transactions per second over `window`, all sessions of the
// database (hubd's and this query's own).
double TransactionRate(const std::string& url, absl::Duration window) {
  const int64_t before = Transactions(url);
  absl::SleepFor(window);
  return static_cast<double>(Transactions(url) - before) / absl::ToDoubleSeconds(window);
}

// How long one publish of a fresh client takes, when it succeeds.
absl::StatusOr<absl::Duration> TimedPublish(const HubProcess& hubd, const std::string& topic) {
  auto publisher = hubd.Publisher();
  const absl::Time start = absl::Now();
  grpc::Status s = PublishOne(*publisher, topic, "probe", "");
  if (!s.ok()) return absl::UnavailableError(s.error_message());
  return absl::Now() - start;
}

// StreamingPulls that send their first request and never read.
class IdleStreams {
 public:
  IdleStreams(const HubProcess& hubd, const std::string& subscription, int count,
              int per_connection, int ack_deadline_seconds = 10) {
    for (int i = 0; i < count; ++i) {
      if (i % per_connection == 0) stubs_.push_back(v1::Subscriber::NewStub(hubd.Channel()));
      auto context = std::make_unique<grpc::ClientContext>();
      auto stream = stubs_.back()->StreamingPull(context.get());
      v1::StreamingPullRequest first;
      first.set_subscription(subscription);
      first.set_stream_ack_deadline_seconds(ack_deadline_seconds);
      stream->Write(first);
      contexts_.push_back(std::move(context));
      streams_.push_back(std::move(stream));
    }
  }
  ~IdleStreams() {
    for (auto& context : contexts_) context->TryCancel();
    for (auto& stream : streams_) stream->Finish().ok();
  }

 private:
  std::vector<std::unique_ptr<v1::Subscriber::Stub>> stubs_;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts_;
  std::vector<std::unique_ptr<
      grpc::ClientReaderWriter<v1::StreamingPullRequest, v1::StreamingPullResponse>>>
      streams_;
};

// Waits until hubd reports `count` open streams of `subscription`.
bool WaitForStreams(const HubProcess& hubd, const std::string& subscription, int count,
                    absl::Duration limit) {
  const std::string line = absl::StrCat("hub_streaming_pull_streams{subscription=\"", subscription);
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (MetricValue(hubd, line) == count) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

class ServingTest : public ::testing::Test {
 protected:
  void Boot(std::vector<std::string> flags = {}) {
    url_ = SharedPostgres().CreateDatabase();
    hubd_ = std::make_unique<HubProcess>(url_, std::move(flags));
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
    publisher_ = hubd_->Publisher();
    subscriber_ = hubd_->Subscriber();
    ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
    ASSERT_TRUE(CreateTopic(*publisher_, "other").ok());
  }

  std::string url_;
  std::unique_ptr<HubProcess> hubd_;
  std::unique_ptr<v1::Publisher::Stub> publisher_;
  std::unique_ptr<v1::Subscriber::Stub> subscriber_;
};

// Finding 2: long polls whose clients gave up left a thread each polling the
// database until their max_wait.
TEST_F(ServingTest, AbandonedLongPollsHoldNoThreadAndNoDatabase) {
  ASSERT_NO_FATAL_FAILURE(Boot({"--poll_interval=1s"}));
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  const int pulls = FullScale() ? 3000 : 500;
  const int threads_before = ThreadCount(hubd_->pid());

  absl::Mutex mu;
  int ended = 0;
  std::vector<std::unique_ptr<v1::Subscriber::Stub>> stubs;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts(pulls);
  std::vector<v1::PullRequest> requests(pulls);
  std::vector<v1::PullResponse> responses(pulls);
  for (int i = 0; i < pulls; ++i) {
    if (i % 500 == 0) stubs.push_back(v1::Subscriber::NewStub(hubd_->Channel()));
    contexts[i] = std::make_unique<grpc::ClientContext>();
    // The client gives up after 2 s; the poll asked for 600.
    contexts[i]->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    requests[i].set_subscription("billing");
    requests[i].set_max_messages(10);
    requests[i].mutable_max_wait()->set_seconds(600);
    stubs.back()->async()->Pull(contexts[i].get(), &requests[i], &responses[i], [&](grpc::Status) {
      absl::MutexLock lock(&mu);
      ++ended;
    });
  }
  {
    absl::MutexLock lock(&mu);
    auto all = [&] { return ended == pulls; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30)));
  }
  absl::SleepFor(absl::Seconds(1));  // cancellations reach hubd

  const int threads_after = ThreadCount(hubd_->pid());
  const double rate = TransactionRate(url_, absl::Seconds(3));
  absl::StatusOr<absl::Duration> publish = TimedPublish(*hubd_, "other");
  std::printf(
      "%d abandoned long polls: hubd threads %d before, %d after; %.1f database "
      "transactions/s; a publish took %s\n",
      pulls, threads_before, threads_after, rate,
      publish.ok() ? absl::FormatDuration(*publish).c_str() : "(failed)");
  EXPECT_LE(threads_after, threads_before + 10);
  EXPECT_LT(rate, 30);
  ASSERT_TRUE(publish.ok()) << publish.status();
  EXPECT_LT(*publish, absl::Seconds(1));
}

// Finding 3: idle streams each held threads and polled the database, until
// the pool had no connection left for a publish.
TEST_F(ServingTest, IdleStreamsHoldNoThreadAndLeaveThePoolFree) {
  // The production poll interval: the subscription is looked at once a
  // second for all its streams, not once a second for each.
  ASSERT_NO_FATAL_FAILURE(Boot({"--poll_interval=1s"}));
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  const int count = FullScale() ? 5000 : 1000;
  const int threads_before = ThreadCount(hubd_->pid());
  const double rss_before = RssMiB(hubd_->pid());
  IdleStreams streams(*hubd_, "billing", count, 500);
  ASSERT_TRUE(WaitForStreams(*hubd_, "billing", count, absl::Seconds(60)));
  absl::SleepFor(absl::Seconds(2));

  const int threads_after = ThreadCount(hubd_->pid());
  const double rss_after = RssMiB(hubd_->pid());
  const double rate = TransactionRate(url_, absl::Seconds(3));
  absl::StatusOr<absl::Duration> publish = TimedPublish(*hubd_, "other");
  const std::string ready = HttpGet(hubd_->metrics_port(), "/readyz");
  std::printf(
      "%d idle streams: hubd threads %d before, %d with them; resident %.0f MiB before, "
      "%.0f MiB with them; %.1f database transactions/s; a publish took %s\n",
      count, threads_before, threads_after, rss_before, rss_after, rate,
      publish.ok() ? absl::FormatDuration(*publish).c_str() : "(failed)");
  EXPECT_LE(threads_after, threads_before + 10);
  EXPECT_LT(rate, 30);
  ASSERT_TRUE(publish.ok()) << publish.status();
  EXPECT_LT(*publish, absl::Seconds(1));
  EXPECT_EQ(ready, "ready\n");
  // Every stream is still open.
  EXPECT_TRUE(WaitForStreams(*hubd_, "billing", count, absl::Seconds(1)));
}

// Finding 4: streams that read nothing were given message after message
// (584 redeliveries to clients that had read 0 bytes in 45 s) while hubd's
// memory grew and a reading consumer got nothing. Now a stream that never
// says a word gets one response in its life, and the reader the rest.
TEST_F(ServingTest, StreamsThatDoNotReadAreNotGivenMoreAndAReaderIsServed) {
  ASSERT_NO_FATAL_FAILURE(Boot());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders", 3).ok());
  const int messages = FullScale() ? 100 : 40;
  const int stuck_streams = 20;
  // A response carries at most 4 MiB: four of these.
  const int per_response = 4;
  const std::string data(1000 * 1000, 'x');
  for (int i = 0; i < messages; ++i) {
    ASSERT_TRUE(PublishOne(*publisher_, "orders", absl::StrCat(i, ":", data), "").ok());
  }
  const double rss_before = RssMiB(hubd_->pid());
  double rss_peak = rss_before;
  IdleStreams stuck(*hubd_, "billing", stuck_streams, stuck_streams, 3);
  ASSERT_TRUE(WaitForStreams(*hubd_, "billing", stuck_streams, absl::Seconds(10)));
  absl::SleepFor(absl::Seconds(1));  // they take what they can

  // A consumer that reads and acks everything it is given.
  std::set<std::string> received;
  int reader_deliveries = 0;
  const absl::Time start = absl::Now();
  while (static_cast<int>(received.size()) < messages && absl::Now() < start + absl::Seconds(40)) {
    v1::PullResponse response;
    ASSERT_TRUE(Pull(*subscriber_, "billing", 10, absl::Seconds(1), &response).ok());
    std::vector<std::string> ids;
    for (const v1::ReceivedMessage& m : response.received_messages()) {
      received.insert(m.message().data().substr(0, m.message().data().find(':')));
      ids.push_back(m.ack_id());
    }
    reader_deliveries += static_cast<int>(ids.size());
    if (!ids.empty()) {
      ASSERT_TRUE(Ack(*subscriber_, "billing", ids).ok());
    }
    rss_peak = std::max(rss_peak, RssMiB(hubd_->pid()));
  }
  const absl::Duration took = absl::Now() - start;
  const double deliveries = MetricValue(*hubd_, "hub_deliveries_total{subscription=\"billing\"}");
  std::printf(
      "%d messages of 1 MB, %d streams that never read: the reader got %zu in %s; "
      "%.0f deliveries to the streams; hubd resident %.0f MiB before, peak %.0f MiB\n",
      messages, stuck_streams, received.size(), absl::FormatDuration(took).c_str(),
      deliveries - reader_deliveries, rss_before, rss_peak);
  EXPECT_EQ(static_cast<int>(received.size()), messages);
  EXPECT_LE(deliveries - reader_deliveries, stuck_streams * per_response);
  // Unsent deliveries of all streams are bounded by
  // --max_unsent_stream_bytes (64 MiB), besides what the transport holds.
  EXPECT_LT(rss_peak - rss_before, 200);
}

// One principal may hold at most --max_streams_per_principal streams.
TEST_F(ServingTest, StreamsPerPrincipalAreCapped) {
  ASSERT_NO_FATAL_FAILURE(Boot({"--max_streams_per_principal=3"}));
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  {
    IdleStreams three(*hubd_, "billing", 3, 3);
    ASSERT_TRUE(WaitForStreams(*hubd_, "billing", 3, absl::Seconds(10)));
    grpc::ClientContext context;
    auto fourth = subscriber_->StreamingPull(&context);
    v1::StreamingPullRequest first;
    first.set_subscription("billing");
    fourth->Write(first);
    v1::StreamingPullResponse response;
    EXPECT_FALSE(fourth->Read(&response));
    const grpc::Status refused = fourth->Finish();
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(refused.error_message().find("--max_streams_per_principal"), std::string::npos)
        << refused.error_message();
  }
  // Closed streams give their slots back.
  ASSERT_TRUE(WaitForStreams(*hubd_, "billing", 0, absl::Seconds(10)));
  IdleStreams again(*hubd_, "billing", 3, 3);
  EXPECT_TRUE(WaitForStreams(*hubd_, "billing", 3, absl::Seconds(10)));
}

}  // namespace
}  // namespace hub::testing
