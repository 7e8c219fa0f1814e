// hubd behind PgBouncer in transaction pooling mode (docs/deploy.md,
// "Through PgBouncer"): the request pools go through the pooler with two
// server connections for hubd's 32, so every transaction may land on a
// session another of hubd's connections used last; nothing hubd relies on
// may live in a session there. Migrations, maintenance and the publish
// notifications connect directly. The publish, delivery, semantics and
// Pub/Sub suites also run whole through a pooler (HUB_TEST_POOLER,
// tests/CMakeLists.txt).
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

// From the pooler's SHOW STATS: the transactions it passed to `database`.
// psql reads it: the admin console is no PostgreSQL libpqxx accepts.
int64_t PooledTransactions(const PgBouncer& pooler, const std::string& database) {
  const CommandResult r = RunCommand("psql -AtF' ' -c 'SHOW STATS' " + pooler.AdminUrl());
  for (absl::string_view line : absl::StrSplit(r.out, '\n')) {
    const std::vector<std::string> fields = absl::StrSplit(line, ' ');
    int64_t xacts = 0;
    if (fields.size() > 1 && fields[0] == database && absl::SimpleAtoi(fields[1], &xacts)) {
      return xacts;  // total_xact_count
    }
  }
  ADD_FAILURE() << "no stats of " << database << ": " << r.out << r.err;
  return 0;
}

class PoolerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = SharedPostgres().CreateDatabase();
    database_ = url_.substr(url_.rfind('/') + 1);
    pooler_ = std::make_unique<PgBouncer>(SharedPostgres(), 2);
    hubd_ = std::make_unique<HubProcess>(
        url_, std::vector<std::string>{"--database_pooler_url=" + pooler_->Through(url_)});
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  }

  std::string url_;
  std::string database_;
  std::unique_ptr<PgBouncer> pooler_;
  std::unique_ptr<HubProcess> hubd_;
};

TEST_F(PoolerTest, PublishesAndDeliversThroughTransactionPooling) {
  auto publisher = hubd_->Publisher();
  auto subscriber = hubd_->Subscriber();
  ASSERT_TRUE(CreateTopic(*publisher, "orders").ok());
  ASSERT_TRUE(CreateSubscription(*subscriber, "billing", "orders").ok());

  // Four publishers at once, each message with an idempotency key, and
  // every key sent twice: the second is a duplicate however the
  // transactions were spread over the two server sessions.
  constexpr int kPublishers = 4, kPerPublisher = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0}, duplicates{0};
  for (int p = 0; p < kPublishers; ++p) {
    threads.emplace_back([&, p] {
      auto stub = hubd_->Publisher();
      for (int i = 0; i < kPerPublisher; ++i) {
        const std::string key = absl::StrCat(p, "-", i);
        for (int round = 0; round < 2; ++round) {
          v1::PublishResponse response;
          if (!PublishOne(*stub, "orders", "m" + key, key, &response).ok()) ++failures;
          if (response.results_size() == 1 && response.results(0).duplicate()) ++duplicates;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(duplicates, kPublishers * kPerPublisher);

  std::set<std::string> received;
  const absl::Time end = absl::Now() + absl::Seconds(30);
  while (received.size() < kPublishers * kPerPublisher && absl::Now() < end) {
    v1::PullResponse response;
    ASSERT_TRUE(Pull(*subscriber, "billing", 100, absl::Seconds(1), &response).ok());
    std::vector<std::string> ack_ids;
    for (const v1::ReceivedMessage& m : response.received_messages()) {
      EXPECT_TRUE(received.insert(m.message().data()).second) << "twice: " << m.message().data();
      ack_ids.push_back(m.ack_id());
    }
    if (!ack_ids.empty()) ASSERT_TRUE(Ack(*subscriber, "billing", ack_ids).ok());
  }
  EXPECT_EQ(received.size(), kPublishers * kPerPublisher);
  EXPECT_EQ(QueryValue(url_, "SELECT count(*) FROM leases"), "0") << "acks went missing";

  // The pooler carried them: the publishes (several to a transaction when
  // they commit as a group), the pulls and the acks.
  EXPECT_GT(PooledTransactions(*pooler_, database_), kPublishers * kPerPublisher);
  // What hubd's pooled sessions ran with: the role's defaults in this
  // database, which hubd set on its direct connection.
  EXPECT_EQ(QueryValue(pooler_->Through(url_), "SHOW plan_cache_mode"), "force_generic_plan");
  EXPECT_EQ(QueryValue(pooler_->Through(url_), "SHOW enable_seqscan"), "off");
}

}  // namespace
}  // namespace hub::testing
