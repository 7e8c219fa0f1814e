// Wake-ups (docs/design.md, "Wake-ups"): a publish wakes the waiting
// consumers of every replica at once, and its commit does not wait for the
// commit of any other topic's publish.
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

// Far beyond what each wait below allows, so that only the publish's own
// announcement can end it in time.
const std::vector<std::string> kSlowPolls = {"--poll_interval=60s"};

// A Pull on `subscriber` waiting for `subscription` while `publish` runs;
// how long it waited for its message (a failure when none came).
absl::Duration WaitedFor(v1::Subscriber::Stub& subscriber, const std::string& subscription,
                         const std::function<void()>& publish) {
  v1::PullResponse response;
  grpc::Status pulled;
  absl::Time start;
  std::thread pull([&] {
    start = absl::Now();
    pulled = Pull(subscriber, subscription, 10, absl::Seconds(20), &response);
  });
  // The Pull is waiting before the message exists.
  absl::SleepFor(absl::Milliseconds(300));
  publish();
  pull.join();
  EXPECT_TRUE(pulled.ok()) << pulled.error_message();
  EXPECT_EQ(response.received_messages_size(), 1);
  return absl::Now() - start;
}

TEST(WakeUpTest, APublishWakesTheConsumersOfEveryReplicaAtOnce) {
  const std::string url = SharedPostgres().CreateDatabase();
  HubProcess one(url, kSlowPolls);
  HubProcess two(url, kSlowPolls);
  ASSERT_NO_FATAL_FAILURE(one.Start());
  ASSERT_NO_FATAL_FAILURE(two.Start());
  auto publisher = one.Publisher();
  auto local = one.Subscriber();
  auto remote = two.Subscriber();
  for (const char* topic : {"near", "far"}) {
    ASSERT_TRUE(CreateTopic(*publisher, topic).ok());
    ASSERT_TRUE(CreateSubscription(*local, topic, topic).ok());
  }
  for (int round = 0; round < 3; ++round) {
    const auto publish_to = [&](const std::string& topic) {
      return [&, topic] {
        ASSERT_TRUE(PublishOne(*publisher, topic, absl::StrCat("m", round), "").ok());
      };
    };
    EXPECT_LT(WaitedFor(*local, "near", publish_to("near")), absl::Seconds(2))
        << "the publishing replica";
    EXPECT_LT(WaitedFor(*remote, "far", publish_to("far")), absl::Seconds(2)) << "another replica";
  }
}

// The reproduction of issue 23: with a synchronous standby that never
// answers, a commit that waits for it must not hold up another topic's
// publish. Replica `stuck` commits with synchronous_commit on, so its
// publishes wait for the standby; replica `free` commits locally. While a
// publish of `stuck` waits in its commit, `free` publishes to another topic,
// and a consumer on `stuck` receives that message through the
// announcement. Had the waiting commit queued a notification (as
// hub_publish did before migration 0006), the second commit would have
// waited on the database-wide notification lock as long as the first.
TEST(WakeUpTest, APublishCommitsWhileAnotherTopicsCommitWaitsForAStandby) {
  PostgresServer server("-c synchronous_commit=local");
  const std::string url = server.Url("postgres");
  HubProcess stuck(absl::StrCat(url, "?options=-csynchronous_commit%3Don"), kSlowPolls);
  HubProcess free(url, kSlowPolls);
  ASSERT_NO_FATAL_FAILURE(stuck.Start());
  ASSERT_NO_FATAL_FAILURE(free.Start());
  auto publisher = free.Publisher();
  for (const char* topic : {"topic_a", "topic_b"}) {
    const grpc::Status created = CreateTopic(*publisher, topic);
    ASSERT_TRUE(created.ok()) << created.error_message();
  }
  auto subscriber = stuck.Subscriber();
  ASSERT_TRUE(CreateSubscription(*subscriber, "b_sub", "topic_b").ok());

  const auto standby = [&](const std::string& names) {
    QueryValue(url, absl::StrCat("ALTER SYSTEM SET synchronous_standby_names = '", names, "'"));
    QueryValue(url, "SELECT pg_reload_conf()");
    // Commits heed synchronous_standby_names once the checkpointer has read
    // the reloaded configuration, a moment after pg_reload_conf returns: a
    // publish at once could commit without waiting (seen in a loaded run).
    absl::SleepFor(absl::Milliseconds(500));
  };
  standby("a_standby_that_never_answers");
  grpc::Status stuck_publish;
  std::thread held([&] {
    auto stuck_publisher = stuck.Publisher();
    stuck_publish = PublishOne(*stuck_publisher, "topic_a", "waits for the standby", "");
  });
  std::string waiting;
  for (int i = 0; i < 100 && waiting != "1"; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    waiting = QueryValue(url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
  }
  ASSERT_EQ(waiting, "1") << "the publish to a never waited for the standby";

  const absl::Duration waited = WaitedFor(*subscriber, "b_sub", [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    v1::PublishRequest req;
    req.set_topic("topic_b");
    req.add_messages()->set_data("commits at once");
    v1::PublishResponse resp;
    const absl::Time start = absl::Now();
    const grpc::Status published = publisher->Publish(&ctx, req, &resp);
    EXPECT_TRUE(published.ok()) << published.error_message();
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  });
  EXPECT_LT(waited, absl::Seconds(2));
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"),
            "1")
      << "the publish to a stopped waiting meanwhile";

  // Without the standby the waiting commit completes, and was acknowledged
  // only then.
  standby("");
  held.join();
  EXPECT_TRUE(stuck_publish.ok()) << stuck_publish.error_message();
  EXPECT_EQ(QueryValue(url, kCountStoredMessages), "2");
}

}  // namespace
}  // namespace hub::testing
