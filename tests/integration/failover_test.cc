// The database fails over under hubd (docs/deploy.md, "2. The database"):
// hubd is given every node in one multi-host URL with
// target_session_attrs=read-write, a publisher waits for each answer, and
// the primary goes: stopped (-m immediate) or fenced read-only with the
// standby promoted by the test, or killed -9 with pg_auto_failover's
// monitor promoting its secondary. hubd must follow the new primary without
// a restart, answer only UNAVAILABLE or DEADLINE_EXCEEDED meanwhile, and
// lose no publish it acknowledged; retries with the same idempotency keys
// store nothing twice.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/support/hub_client.h"
#include "tests/support/keyed_publisher.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

void AwaitValue(const std::string& url, const std::string& sql, const std::string& want) {
  const absl::Time end = absl::Now() + absl::Seconds(30);
  std::string got;
  while (absl::Now() < end) {
    got = QueryValue(url, sql);
    if (got == want) return;
    absl::SleepFor(absl::Milliseconds(100));
  }
  FAIL() << sql << " gave " << got << ", not " << want;
}

// hubd on a database that fails over, and a publisher under way; what a
// failover must keep.
class FailoverLoadTest : public ::testing::Test {
 protected:
  // Starts hubd on `url` and the publisher, and returns once 300
  // publishes were acknowledged.
  void StartLoad(const std::string& url) {
    hubd_ = std::make_unique<HubProcess>(url);
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
    ASSERT_TRUE(CreateTopic(*hubd_->Publisher(), "orders").ok());
    load_ = std::make_unique<KeyedPublisher>(*hubd_);
    const absl::Time end = absl::Now() + absl::Seconds(20);
    while (load_->acked() < 300 && absl::Now() < end) absl::SleepFor(absl::Milliseconds(20));
    ASSERT_GE(load_->acked(), 300) << "no load before the failover";
  }

  // Waits for 300 more acknowledgements after `since` (the acknowledged
  // count when the fault began), stops the publisher and checks the new
  // primary at `url`: every acknowledged publish there, none twice, and
  // only retryable codes meanwhile. Prints the figures.
  void ExpectPublishingResumedAndNothingLost(const std::string& url, const std::string& what,
                                             absl::Time fault, int64_t since, absl::Time promoted) {
    const absl::Time end = absl::Now() + absl::Seconds(30);
    while (load_->acked() < since + 300 && absl::Now() < end) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    const int64_t acked = load_->acked();
    load_->Stop();
    ASSERT_GE(acked, since + 300) << "publishing did not resume on the new primary";

    const int64_t stored = std::stoll(QueryValue(url, "SELECT count(*) FROM publish_keys"));
    EXPECT_EQ(stored, std::stoll(QueryValue(
                          url, "SELECT count(DISTINCT idempotency_key) FROM publish_keys")))
        << "a retried publish was stored twice";
    // Keys k0..k(acked-1) were acknowledged; at most the one in flight
    // when the publisher stopped is stored besides.
    EXPECT_EQ(
        std::stoll(QueryValue(
            url, absl::StrCat("SELECT count(*) FROM publish_keys WHERE idempotency_key IN ",
                              "(SELECT 'k' || g FROM generate_series(0, ", acked - 1, ") g)"))),
        acked)
        << "acknowledged publishes were lost: "
        << QueryValue(url, absl::StrCat("SELECT string_agg(g::text, ',') FROM generate_series(0, ",
                                        acked - 1, ") g WHERE 'k' || g NOT IN ",
                                        "(SELECT idempotency_key FROM publish_keys)"));
    EXPECT_LE(stored, acked + 1);

    std::vector<std::string> codes;
    for (const auto& [error, count] : load_->errors()) {
      codes.push_back(absl::StrCat(count, "x ", error));
      const int code = std::stoi(error.substr(0, error.find(' ')));
      EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE ||
                  code == grpc::StatusCode::DEADLINE_EXCEEDED)
          << error;
    }
    std::printf(
        "%s: %lld acknowledged before, %lld after; the standby was promoted %.2f s after the "
        "fault; publishing resumed %.2f s after it; answers meanwhile: %s\n",
        what.c_str(), static_cast<long long>(since), static_cast<long long>(acked - since),
        absl::ToDoubleSeconds(promoted - fault), absl::ToDoubleSeconds(load_->recovered() - fault),
        absl::StrJoin(codes, "; ").c_str());
  }

  std::unique_ptr<HubProcess> hubd_;
  std::unique_ptr<KeyedPublisher> load_;
};

// A primary and a streaming standby the test promotes itself.
class FailoverTest : public FailoverLoadTest {
 protected:
  void SetUp() override {
    const std::string primary_url = primary_.CreateDatabase();
    database_ = primary_url.substr(primary_url.rfind('/') + 1);
    standby_ = PostgresServer::StandbyOf(primary_);
    AwaitValue(primary_.Url("postgres"),
               "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", "1");
  }

  // Every commit waits for the standby, so a promoted standby holds every
  // acknowledged publish.
  void MakeReplicationSynchronous() {
    QueryValue(primary_.Url("postgres"), "ALTER SYSTEM SET synchronous_standby_names = '*'");
    QueryValue(primary_.Url("postgres"), "SELECT pg_reload_conf()::text");
    AwaitValue(primary_.Url("postgres"),
               "SELECT string_agg(sync_state, ',') FROM pg_stat_replication", "sync");
  }

  void StartLoad() {
    FailoverLoadTest::StartLoad(absl::StrCat("postgresql://postgres@127.0.0.1:", primary_.port(),
                                             ",127.0.0.1:", standby_->port(), "/", database_,
                                             "?target_session_attrs=read-write"));
  }

  PostgresServer primary_;
  std::unique_ptr<PostgresServer> standby_;
  std::string database_;
};

TEST_F(FailoverTest, HubdFollowsAPromotedStandbyAndLosesNoAcknowledgedPublish) {
  MakeReplicationSynchronous();
  ASSERT_NO_FATAL_FAILURE(StartLoad());
  primary_.Stop("immediate");
  const absl::Time killed = absl::Now();
  const int64_t acked = load_->acked();
  standby_->Promote();
  ExpectPublishingResumedAndNothingLost(standby_->Url(database_), "primary stopped", killed, acked,
                                        absl::Now());
}

// publish_time never goes backwards within a topic, not even when the
// promoted standby's clock is a minute behind the old primary's (faketime,
// docs/design.md, "Publish time"): the new primary stamps its first
// publishes with the time the old one committed last, and its own time
// once that has caught up.
TEST_F(FailoverTest, PublishTimeNeverGoesBackAfterAFailoverToAServerWhoseClockIsBehind) {
  MakeReplicationSynchronous();
  standby_->Stop("fast");
  standby_->SetClockOffset("-60s");
  standby_->Start();
  AwaitValue(primary_.Url("postgres"),
             "SELECT string_agg(sync_state, ',') FROM pg_stat_replication", "sync");
  ASSERT_NO_FATAL_FAILURE(StartLoad());
  const std::string before_url = primary_.Url(database_);
  const std::string last_before =
      QueryValue(before_url, "SELECT max(publish_time)::text FROM segments");
  primary_.Stop("immediate");
  const int64_t acked = load_->acked();
  const absl::Time killed = absl::Now();
  standby_->Promote();
  const std::string url = standby_->Url(database_);
  EXPECT_EQ(QueryValue(url, absl::StrCat("SELECT (now() < '", last_before, "')::text")), "true")
      << "the new primary's clock is not behind: the test would show nothing";
  ExpectPublishingResumedAndNothingLost(url, "clock behind", killed, acked, absl::Now());
  // In position order, no publish_time is earlier than the one before.
  EXPECT_EQ(
      QueryValue(
          url,
          "SELECT count(*) FROM (SELECT publish_time < lag(publish_time) OVER "
          "(PARTITION BY topic_id ORDER BY first_position) AS back FROM segments) x WHERE back"),
      "0");
}

// A planned switchover, as a failover manager does one: the old primary is
// fenced (read-only) and stays up, the standby catches up and is promoted.
// Writes that reach the fenced node fail with SQLSTATE 25006: hubd answers
// UNAVAILABLE, not INTERNAL, and drops the connection, so the next one
// finds the new primary.
TEST_F(FailoverTest, ASwitchoverFencesTheOldPrimaryAndHubdMovesToTheNewOne) {
  ASSERT_NO_FATAL_FAILURE(StartLoad());
  QueryValue(primary_.Url("postgres"), "ALTER SYSTEM SET default_transaction_read_only = on");
  QueryValue(primary_.Url("postgres"), "SELECT pg_reload_conf()::text");
  const absl::Time fenced = absl::Now();
  const int64_t acked = load_->acked();
  const std::string lsn = QueryValue(primary_.Url("postgres"), "SELECT pg_current_wal_lsn()::text");
  AwaitValue(standby_->Url("postgres"),
             absl::StrCat("SELECT (pg_last_wal_replay_lsn() >= '", lsn, "')::text"), "true");
  standby_->Promote();
  ExpectPublishingResumedAndNothingLost(standby_->Url(database_), "switchover", fenced, acked,
                                        absl::Now());
  EXPECT_GT(MetricValue(*hubd_, "hub_database_errors_total{kind=\"read_only\"}"), 0)
      << "no write reached the fenced primary: the test did not test it";
}

// The failover manager itself: pg_auto_failover's monitor notices that the
// primary node (keeper and postmaster killed -9) is gone and promotes its
// synchronous secondary; nobody tells hubd.
class AutoFailoverTest : public FailoverLoadTest {
 protected:
  AutoFailoverFormation formation_;
};

TEST_F(AutoFailoverTest, TheManagerPromotesTheSecondaryAndNoAcknowledgedPublishIsLost) {
  ASSERT_NO_FATAL_FAILURE(StartLoad(formation_.Url()));
  const int64_t acked = load_->acked();
  const absl::Time killed = absl::Now();
  const int killed_node = formation_.KillPrimary();
  const int survivor = killed_node == 1 ? 2 : 1;
  formation_.AwaitPrimary(survivor);
  ExpectPublishingResumedAndNothingLost(formation_.NodeUrl(survivor), "pg_auto_failover", killed,
                                        acked, absl::Now());
}

}  // namespace
}  // namespace hub::testing
