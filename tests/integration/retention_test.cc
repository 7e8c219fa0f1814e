// Retention: expired messages leave subscriptions (counted by a metric),
// old partitions are dropped whole (with the idempotency keys their
// messages hold).
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

grpc::Status CreateTopicKeeping(v1::Publisher::Stub& publisher, const std::string& name,
                                int64_t retention_seconds) {
  grpc::ClientContext ctx;
  v1::Topic topic;
  topic.set_name(name);
  topic.mutable_message_retention()->set_seconds(retention_seconds);
  v1::Topic out;
  return publisher.CreateTopic(&ctx, topic, &out);
}

// The partitions of segments and publish_keys for the UTC day that was
// `ago` (an interval) ago, made unless they exist.
void MakePartitionOf(const std::string& url, const std::string& ago) {
  for (const char* table : {"segments", "publish_keys"}) {
    QueryValue(url, absl::StrCat("DO $$ BEGIN EXECUTE format('CREATE TABLE IF NOT EXISTS %I "
                                 "PARTITION OF ",
                                 table, " FOR VALUES FROM (%L) TO (%L)', '", table,
                                 "_p' || to_char(d, 'YYYYMMDD'), d, d + 1) FROM (SELECT ((now() - "
                                 "interval '",
                                 ago, "') AT TIME ZONE 'UTC')::date AS d) x; END $$"));
  }
}

// A segment of topic `topic_sql` (an expression) holding one message whose
// data is "old", published at `time_sql`.
std::string InsertOldSegment(const std::string& topic_sql, const std::string& time_sql) {
  // hub.pg.Segment{records: [{data: "old"}]}
  return absl::StrCat(
      "INSERT INTO segments (topic_id, first_position, publish_time, sizes, records) SELECT ",
      topic_sql, ", 1, ", time_sql, ", '{3}', '\\x0a050a036f6c64'::bytea");
}

class RetentionTest : public HubTest {
 protected:
  std::vector<std::string> ExtraFlags() override { return {"--maintenance_interval=300ms"}; }

  // Runs `sql` until it returns `want` or 10 s pass; returns the last value.
  std::string WaitFor(const std::string& sql, const std::string& want) {
    std::string got;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    do {
      got = QueryValue(url_, sql);
      if (got == want) break;
      absl::SleepFor(absl::Milliseconds(100));
    } while (absl::Now() < deadline);
    return got;
  }

  std::string Metrics() { return HttpGet(hubd_->metrics_port(), "/metrics"); }
};

TEST_F(RetentionTest, ExpiredMessagesLeaveTheSubscriptionAndAreCounted) {
  ASSERT_TRUE(CreateTopicKeeping(*publisher_, "short", 60).ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "short", 600).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(PublishOne(*publisher_, "short", "old", "").ok());
  // Two of the five are delivered and left unacked: in a lease row.
  v1::PullResponse held;
  ASSERT_TRUE(Pull(*subscriber_, "billing", 2, absl::Seconds(2), &held).ok());
  ASSERT_EQ(held.received_messages_size(), 2);
  // Age them past the retention (the partition of that moment must exist).
  MakePartitionOf(url_, "5 minutes");
  QueryValue(url_, "UPDATE segments SET publish_time = now() - interval '5 minutes'");
  ASSERT_TRUE(PublishOne(*publisher_, "short", "fresh", "").ok());

  EXPECT_EQ(WaitFor("SELECT count(*) FROM leases", "0"), "0");
  v1::PullResponse resp;
  ASSERT_TRUE(Pull(*subscriber_, "billing", 10, absl::Seconds(2), &resp).ok());
  ASSERT_EQ(resp.received_messages_size(), 1);
  EXPECT_EQ(resp.received_messages(0).message().data(), "fresh");
  EXPECT_TRUE(absl::StrContains(
      Metrics(), "hub_messages_expired_unacknowledged_total{subscription=\"billing\"} 5"))
      << Metrics();
}

// A subscription with a retention of its own shorter than its topic's
// loses unacknowledged messages sooner, and Seek on it reaches back only as
// far; its sibling keeps them for the topic's retention.
TEST_F(RetentionTest, ASubscriptionsOwnRetentionDropsItsBacklogSooner) {
  ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());  // 7 days
  auto create = [&](const std::string& name, int64_t retention_seconds) {
    grpc::ClientContext ctx;
    v1::Subscription sub;
    sub.set_name(name);
    sub.set_topic("orders");
    if (retention_seconds > 0) sub.mutable_message_retention()->set_seconds(retention_seconds);
    v1::Subscription out;
    const grpc::Status status = subscriber_->CreateSubscription(&ctx, sub, &out);
    return std::make_pair(status, out);
  };
  auto [short_status, short_sub] = create("short", 600);
  ASSERT_TRUE(short_status.ok()) << short_status.error_message();
  EXPECT_EQ(short_sub.message_retention().seconds(), 600);
  auto [plain_status, plain_sub] = create("plain", 0);
  ASSERT_TRUE(plain_status.ok());
  EXPECT_EQ(plain_sub.message_retention().seconds(), 7 * 86400);  // the topic's, in effect
  EXPECT_EQ(create("too-short", 300).first.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create("too-long", 32 * 86400).first.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  for (int i = 0; i < 3; ++i) ASSERT_TRUE(PublishOne(*publisher_, "orders", "old", "").ok());
  MakePartitionOf(url_, "20 minutes");
  QueryValue(url_, "UPDATE segments SET publish_time = now() - interval '20 minutes'");
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "fresh", "").ok());

  EXPECT_EQ(WaitFor("SELECT c.next_position FROM subscription_cursors c JOIN subscriptions s "
                    "ON s.id = c.subscription_id WHERE s.name = 'short'",
                    "4"),
            "4");
  auto pull = [&](const std::string& sub) {
    v1::PullResponse resp;
    EXPECT_TRUE(Pull(*subscriber_, sub, 10, absl::Seconds(2), &resp).ok());
    std::vector<std::string> data;
    for (const auto& m : resp.received_messages()) data.push_back(m.message().data());
    return data;
  };
  EXPECT_EQ(pull("short"), std::vector<std::string>({"fresh"}));
  EXPECT_EQ(pull("plain").size(), 4u);
  EXPECT_TRUE(absl::StrContains(
      Metrics(), "hub_messages_expired_unacknowledged_total{subscription=\"short\"} 3"));

  // Seek to the beginning: each subscription gets back what its retention
  // keeps.
  for (const char* sub : {"short", "plain"}) {
    grpc::ClientContext ctx;
    v1::SeekRequest seek;
    seek.set_subscription(sub);
    seek.mutable_time()->set_seconds(0);
    v1::SeekResponse out;
    ASSERT_TRUE(subscriber_->Seek(&ctx, seek, &out).ok());
  }
  EXPECT_EQ(pull("short"), std::vector<std::string>({"fresh"}));
  EXPECT_EQ(pull("plain").size(), 4u);
}

TEST_F(RetentionTest, PartitionsOlderThanEveryRetentionAreDroppedWhole) {
  for (const char* table : {"segments", "publish_keys"}) {
    QueryValue(url_, absl::StrCat("CREATE TABLE ", table, "_p20200101 PARTITION OF ", table,
                                  " FOR VALUES FROM ('2020-01-01 00:00:00+00') TO "
                                  "('2020-01-02 00:00:00+00')"));
  }
  QueryValue(url_, InsertOldSegment("424242", "'2020-01-01 12:00:00+00'"));
  QueryValue(url_,
             "INSERT INTO publish_keys (topic_id, idempotency_key, position, publish_time) "
             "VALUES (424242, 'ancient', 1, '2020-01-01 12:00:00+00')");
  EXPECT_EQ(WaitFor("SELECT to_regclass('segments_p20200101') IS NULL AND "
                    "to_regclass('publish_keys_p20200101') IS NULL",
                    "t"),
            "t");
  EXPECT_TRUE(absl::StrContains(Metrics(), "hub_retention_partitions_dropped_total 2"));
  // Today's partitions are kept.
  EXPECT_EQ(QueryValue(url_,
                       "SELECT count(DISTINCT p.relname) FROM pg_inherits i JOIN pg_class p "
                       "ON p.oid = i.inhparent WHERE p.relname IN ('segments', 'publish_keys')"),
            "2");
}

// A partition goes once the longest retention of the topics that exist has
// passed over its day, not after a week whatever the topics keep.
TEST_F(RetentionTest, ShortRetentionDropsPartitionsSoon) {
  ASSERT_TRUE(CreateTopicKeeping(*publisher_, "daily", 24 * 3600).ok());
  MakePartitionOf(url_, "3 days");
  QueryValue(url_, InsertOldSegment("(SELECT id FROM topics WHERE name = 'daily')",
                                    "now() - interval '3 days'"));
  EXPECT_EQ(
      WaitFor("SELECT count(*) FROM segments WHERE publish_time < now() - interval '2 days'", "0"),
      "0");
}

// Keys live with their messages: a topic made again under a deleted one's
// name (a new topic id) does not see the old keys.
TEST_F(RetentionTest, KeysOfADeletedTopicNeverMatchAgain) {
  ASSERT_TRUE(CreateTopic(*publisher_, "gone").ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(PublishOne(*publisher_, "gone", "x", absl::StrCat("k", i)).ok());
  }
  grpc::ClientContext ctx;
  v1::DeleteTopicRequest del;
  del.set_name("gone");
  google::protobuf::Empty empty;
  ASSERT_TRUE(publisher_->DeleteTopic(&ctx, del, &empty).ok());
  ASSERT_TRUE(CreateTopic(*publisher_, "gone").ok());
  v1::PublishResponse again;
  ASSERT_TRUE(PublishOne(*publisher_, "gone", "x", "k1", &again).ok());
  EXPECT_FALSE(again.results(0).duplicate());
  EXPECT_EQ(again.results(0).message_id(), "1");
}

// Seek to a time before the topic's retention replays only what retention
// keeps, even before the maintenance round has moved the cursor (the
// default interval of a minute).
class SeekRetentionTest : public HubTest {};

TEST_F(SeekRetentionTest, SeekNeverReplaysMessagesPastTheirRetention) {
  ASSERT_TRUE(CreateTopicKeeping(*publisher_, "short", 60).ok());
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "short", 600).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(PublishOne(*publisher_, "short", "old", "").ok());
  MakePartitionOf(url_, "5 minutes");
  QueryValue(url_, "UPDATE segments SET publish_time = now() - interval '5 minutes'");
  ASSERT_TRUE(PublishOne(*publisher_, "short", "fresh", "").ok());

  grpc::ClientContext seek_ctx;
  v1::SeekRequest seek;
  seek.set_subscription("billing");
  seek.mutable_time()->set_seconds(0);
  v1::SeekResponse seeked;
  ASSERT_TRUE(subscriber_->Seek(&seek_ctx, seek, &seeked).ok());
  v1::PullResponse resp;
  ASSERT_TRUE(Pull(*subscriber_, "billing", 10, absl::Seconds(2), &resp).ok());
  ASSERT_EQ(resp.received_messages_size(), 1);
  EXPECT_EQ(resp.received_messages(0).message().data(), "fresh");
}

}  // namespace
}  // namespace hub::testing
