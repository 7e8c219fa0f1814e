// The inbox end to end (docs/client.md, "The inbox"): a consumer whose side
// effects live in its own PostgreSQL database is killed with kill -9 at
// random points, including between its commit and its ack, and restarted;
// afterwards every message's side effect is there exactly once and the hub
// has nothing left unacknowledged.
#include <signal.h>

#include <random>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/publisher.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

struct Case {
  const char* name;
  v1::DeliveryGuarantee guarantee;
  bool ordering;
  int messages;
  int kills;
};

class InboxTest : public ::testing::TestWithParam<Case> {};

TEST_P(InboxTest, SideEffectsHappenOncePerMessageAcrossKills) {
  const Case& c = GetParam();
  HubProcess hubd(SharedPostgres().CreateDatabase());
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  const std::string consumer_db = SharedPostgres().CreateDatabase();
  QueryValue(consumer_db,
             "CREATE TABLE side_effects (message_id text NOT NULL, data text NOT NULL)");

  auto publisher_stub = hubd.Publisher();
  ASSERT_TRUE(CreateTopic(*publisher_stub, "orders").ok());
  {
    grpc::ClientContext ctx;
    v1::Subscription sub;
    sub.set_name("billing");
    sub.set_topic("orders");
    sub.set_ack_deadline_seconds(10);
    sub.set_delivery_guarantee(c.guarantee);
    sub.set_enable_message_ordering(c.ordering);
    v1::Subscription out;
    ASSERT_TRUE(hubd.Subscriber()->CreateSubscription(&ctx, sub, &out).ok());
  }
  client::ConnectionOptions co;
  co.endpoint = hubd.address();
  client::Connection connection = *client::Connection::Open(co);
  {
    client::Publisher publisher(connection, "orders");
    for (int i = 0; i < c.messages; ++i) {
      publisher.Publish({.data = absl::StrCat("order ", i),
                         .ordering_key = c.ordering ? absl::StrCat("customer ", i % 10) : ""});
    }
    publisher.Flush();
  }

  // Consumers that crash after 5 % of their commits by themselves, and are
  // killed by the test at random moments besides.
  std::mt19937 random(7);
  int kills = 0, after_commit = 0;
  auto count = [&] {
    return std::stoll(QueryValue(consumer_db, "SELECT count(*) FROM side_effects"));
  };
  // The first life crashes right after its first commit, so that at least
  // one crash lands between a commit and its ack: the window this test is
  // about, which random crashes and kills alone missed on a busy machine.
  for (int life = 0; kills < c.kills; ++life) {
    ChildProcess consumer({InboxConsumerPath(), hubd.address(), "billing", consumer_db,
                           life == 0 ? "100" : "5", absl::StrCat(life)});
    ASSERT_EQ(consumer.ReadLine(absl::Seconds(20)), "READY");
    const absl::Time until =
        absl::Now() + absl::Milliseconds(std::uniform_int_distribution<int>(200, 1500)(random));
    bool died = false;
    while (absl::Now() < until && !died) {
      const std::string line = consumer.ReadLine(until - absl::Now());
      if (line == "CRASH AFTER COMMIT") ++after_commit;
      died = consumer.at_eof();
    }
    if (!died) consumer.Kill();
    ++kills;
    if (count() >= c.messages) break;  // nothing left to crash on
  }

  // A last consumer that does not crash drains what is left.
  ChildProcess last({InboxConsumerPath(), hubd.address(), "billing", consumer_db, "0", "99"});
  ASSERT_EQ(last.ReadLine(absl::Seconds(20)), "READY");
  v1::SubscriptionStats stats;
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    grpc::ClientContext ctx;
    v1::GetSubscriptionStatsRequest request;
    request.set_subscription("billing");
    if (hubd.Subscriber()->GetSubscriptionStats(&ctx, request, &stats).ok() &&
        stats.backlog_messages() == 0 && stats.unacked_messages() == 0) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  const int64_t rows = count();
  const int64_t distinct =
      std::stoll(QueryValue(consumer_db, "SELECT count(DISTINCT message_id) FROM side_effects"));
  const int64_t recorded = std::stoll(QueryValue(consumer_db, "SELECT count(*) FROM hub_inbox"));
  std::printf(
      "%s: %d messages, %d kills (%d right after a commit, before the ack): "
      "%lld side-effect rows, %lld distinct, %lld inbox rows; hub backlog %lld, unacked %lld\n",
      c.name, c.messages, kills, after_commit, static_cast<long long>(rows),
      static_cast<long long>(distinct), static_cast<long long>(recorded),
      static_cast<long long>(stats.backlog_messages()),
      static_cast<long long>(stats.unacked_messages()));
  EXPECT_GE(kills, c.kills);
  EXPECT_GE(after_commit, 1) << "no crash landed between a commit and its ack";
  EXPECT_EQ(rows, c.messages);
  EXPECT_EQ(distinct, c.messages);
  EXPECT_EQ(recorded, c.messages);
  EXPECT_EQ(stats.backlog_messages(), 0);
  EXPECT_EQ(stats.unacked_messages(), 0);
}

INSTANTIATE_TEST_SUITE_P(Guarantees, InboxTest,
                         ::testing::Values(Case{"at-least-once", v1::AT_LEAST_ONCE, false, 5000, 6},
                                           // As many messages as the unordered case:
                                           // runs of a key go out together, and 1,000
                                           // were done within two lives.
                                           Case{"exactly-once with ordering keys", v1::EXACTLY_ONCE,
                                                true, 5000, 5}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.guarantee == v1::AT_LEAST_ONCE ? "AtLeastOnce"
                                                                            : "ExactlyOnceOrdered";
                         });

}  // namespace
}  // namespace hub::testing
