// The database's disk fills up (docs/operations.md, "HubDatabaseDiskFull"):
// the hub's database lives in a tablespace on a 32 MiB tmpfs, WAL on the
// machine's disk. Publishes past the space fail with UNAVAILABLE ("database
// disk full"), store nothing, and count in hub_database_errors_total
// {kind="disk_full"}; when the filesystem grows (space freed), the same
// hubd publishes again by itself and every acknowledged message is there
// once.
#include <random>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) {
      GTEST_SKIP() << "this machine does not let the test mount a tmpfs: " << disk_.error();
    }
    QueryValue(pg_.Url("postgres"),
               absl::StrCat("CREATE TABLESPACE small LOCATION '", disk_.path(), "'"));
    QueryValue(pg_.Url("postgres"), "CREATE DATABASE full_disk TABLESPACE small");
    url_ = pg_.Url("full_disk");
  }

  void TearDown() override {
    hubd_.reset();
    pg_.Stop("immediate");
  }

  // Publishes message `i` (32 KiB that do not compress) with key `k<i>`.
  grpc::Status PublishNumber(int i) {
    static std::mt19937 random(7);
    std::string data(32 * 1024, '\0');
    for (char& c : data) c = static_cast<char>(random());
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::PublishRequest request;
    request.set_topic("orders");
    v1::Message* m = request.add_messages();
    m->set_data(std::move(data));
    m->set_idempotency_key(absl::StrCat("k", i));
    v1::PublishResponse response;
    return publisher_->Publish(&ctx, request, &response);
  }

  SmallFilesystem disk_{32};
  PostgresServer pg_;
  std::string url_;
  std::unique_ptr<HubProcess> hubd_;
  std::unique_ptr<v1::Publisher::Stub> publisher_;
};

TEST_F(DiskFullTest, PublishesFailClearlyAndResumeWhenSpaceIsFreed) {
  hubd_ = std::make_unique<HubProcess>(url_);
  ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  publisher_ = hubd_->Publisher();
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());

  // Fill it: 32 MiB hold fewer than 1,000 such messages.
  int acked = 0;
  grpc::Status failure;
  while (acked < 1000) {
    failure = PublishNumber(acked);
    if (!failure.ok()) break;
    ++acked;
  }
  ASSERT_FALSE(failure.ok()) << "1,000 messages of 32 KiB fitted on 32 MiB";
  EXPECT_EQ(failure.error_code(), grpc::StatusCode::UNAVAILABLE) << failure.error_message();
  EXPECT_TRUE(absl::StrContains(failure.error_message(), "disk full")) << failure.error_message();
  // Every try while it is full is refused the same way and stores nothing.
  const std::string stored_when_full = QueryValue(url_, kCountStoredMessages);
  for (int i = 0; i < 5; ++i) {
    const grpc::Status again = PublishNumber(acked);
    EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAVAILABLE) << again.error_message();
  }
  EXPECT_EQ(QueryValue(url_, kCountStoredMessages), stored_when_full);
  EXPECT_EQ(stored_when_full, std::to_string(acked));
  EXPECT_GT(MetricValue(*hubd_, "hub_database_errors_total{kind=\"disk_full\"}"), 0);
  // Reads still work: hubd answers what needs no new space.
  v1::ListTopicsResponse topics;
  {
    grpc::ClientContext ctx;
    EXPECT_TRUE(publisher_->ListTopics(&ctx, v1::ListTopicsRequest(), &topics).ok());
  }

  // The operator grows the volume; the same hubd goes on.
  disk_.Resize(96);
  const absl::Time freed = absl::Now();
  grpc::Status resumed;
  while (absl::Now() < freed + absl::Seconds(20)) {
    resumed = PublishNumber(acked);
    if (resumed.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(resumed.ok()) << resumed.error_message();
  std::printf(
      "[ figures ] %d messages of 32 KiB filled the disk; publishing resumed %.2f s after "
      "space was freed\n",
      acked, absl::ToDoubleSeconds(absl::Now() - freed));
  ++acked;
  for (int i = 0; i < 20; ++i, ++acked) ASSERT_TRUE(PublishNumber(acked).ok());

  // Every acknowledged key stored, once.
  EXPECT_EQ(QueryValue(url_, kCountStoredMessages), std::to_string(acked));
  EXPECT_EQ(QueryValue(url_, "SELECT count(DISTINCT idempotency_key) FROM publish_keys"),
            std::to_string(acked));
}

}  // namespace
}  // namespace hub::testing
