// The fault-injection suite (docs/reliability.md): a workload of unique
// values, faults, a drain, and a checker that counts lost, unexpected and
// duplicated messages. CI mode runs every scenario briefly; tests/chaos/run
// sets CHAOS_DURATION for a soak and CHAOS_REPORT for the results table.
//
//   CHAOS_DURATION  how long the fault scenarios (1, 2, 6, 11 to 15, 17) run; default 20s
//   CHAOS_SEED      seed of every random choice; default 1
//   CHAOS_REPORT    a file to append one Markdown row per scenario to
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/publisher.h"
#include "tests/chaos/workload.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::chaos {
namespace {

using ::hub::testing::AutoFailoverFormation;
using ::hub::testing::ChildProcess;
using ::hub::testing::FaultProxy;
using ::hub::testing::HubProcess;
using ::hub::testing::PgBouncer;
using ::hub::testing::PostgresServer;
using ::hub::testing::RssMiB;

absl::Duration FaultDuration() {
  absl::Duration d = absl::Seconds(20);
  if (const char* text = std::getenv("CHAOS_DURATION")) {
    if (!absl::ParseDuration(text, &d)) d = absl::Seconds(20);
  }
  return d;
}

unsigned Seed() {
  unsigned seed = 1;
  if (const char* text = std::getenv("CHAOS_SEED")) {
    if (!absl::SimpleAtoi(text, &seed)) seed = 1;
  }
  return seed;
}

class ChaosTest : public ::testing::Test {
 protected:
  // A PostgreSQL of the test's own (some scenarios stop it or run it
  // without durability), a database, and `replicas` hubd processes.
  void Boot(int replicas = 1, const std::string& pg_settings = "") {
    pg_ = std::make_unique<PostgresServer>(pg_settings);
    url_ = pg_->CreateDatabase();
    StartReplicas(replicas);
  }

  // hubd processes on url_, with `flags` besides the scenarios' own.
  void StartReplicas(int replicas, const std::vector<std::string>& flags = {}) {
    for (int i = 0; i < replicas; ++i) {
      std::vector<std::string> all = {"--poll_interval=200ms", "--shutdown_grace=2s"};
      all.insert(all.end(), flags.begin(), flags.end());
      hubd_.push_back(std::make_unique<HubProcess>(hubd_url_.empty() ? url_ : hubd_url_, all));
      ASSERT_NO_FATAL_FAILURE(hubd_.back()->Start());
    }
  }

  std::string Endpoints() {
    std::vector<std::string> all;
    for (auto& h : hubd_) all.push_back(h->address());
    return absl::StrJoin(all, ",");
  }

  void CreateTopicAndSubscription(v1::DeliveryGuarantee guarantee = v1::AT_LEAST_ONCE,
                                  int ack_deadline = 5, bool ordering = false) {
    auto publisher = hubd_[0]->Publisher();
    ASSERT_TRUE(hub::testing::CreateTopic(*publisher, "events").ok());
    grpc::ClientContext ctx;
    v1::Subscription sub;
    sub.set_name("readers");
    sub.set_topic("events");
    sub.set_ack_deadline_seconds(ack_deadline);
    sub.set_delivery_guarantee(guarantee);
    sub.set_enable_message_ordering(ordering);
    v1::Subscription out;
    ASSERT_TRUE(hubd_[0]->Subscriber()->CreateSubscription(&ctx, sub, &out).ok());
  }

  WorkloadOptions Options() {
    WorkloadOptions o;
    o.endpoint = Endpoints();
    o.topic = "events";
    o.subscription = "readers";
    return o;
  }

  absl::Duration Between(absl::Duration lo, absl::Duration hi) {
    std::uniform_int_distribution<int64_t> ms(absl::ToInt64Milliseconds(lo),
                                              absl::ToInt64Milliseconds(hi));
    return absl::Milliseconds(ms(random_));
  }

  // kill -9 of a random replica at random intervals until `until`, each
  // started again after a short pause; returns how many.
  int KillReplicas(absl::Time until, absl::Duration lo, absl::Duration hi) {
    int kills = 0;
    for (;;) {
      const absl::Duration wait = Between(lo, hi);
      if (absl::Now() + wait >= until) break;
      absl::SleepFor(wait);
      HubProcess& victim = *hubd_[random_() % hubd_.size()];
      victim.Kill();
      absl::SleepFor(Between(absl::Milliseconds(200), absl::Seconds(1)));
      victim.Start();
      ++kills;
    }
    absl::SleepFor(until - absl::Now());
    return kills;
  }

  // kill -9 of one of `replicas` hubd at random every 5-15 s under load,
  // restarted each time; reports the row and returns the kills and the
  // checker's counts for the test to judge.
  struct KillOutcome {
    int kills = 0;
    Counts counts;
    bool drained = false;
  };
  KillOutcome KillUnderLoad(int replicas, const std::string& scenario) {
    Boot(replicas);
    if (HasFatalFailure()) return {};
    CreateTopicAndSubscription();
    if (HasFatalFailure()) return {};
    Workload workload(Options(), history_);
    workload.Start();
    const absl::Duration d = FaultDuration();
    const int kills = KillReplicas(absl::Now() + d, absl::Seconds(5), absl::Seconds(15));
    const auto [c, drained] = Finish(workload);
    Report(scenario, absl::StrCat(kills, " kills in ", absl::FormatDuration(d)), c,
           absl::StrCat(c.failed_calls, " failed calls retried; ",
                        static_cast<int64_t>(c.acknowledged / absl::ToDoubleSeconds(d)),
                        " msg/s acknowledged through the kills"));
    return {kills, c, drained};
  }

  // Publishers stop, the consumers drain what was acknowledged (for up to
  // two minutes), and the workload stops: the checker's counts, and
  // whether the drain completed.
  struct Outcome {
    Counts counts;
    bool drained;
  };
  Outcome Finish(Workload& workload) {
    workload.StopPublishing();
    const bool drained = workload.Drain(absl::Seconds(120));
    workload.Stop();
    return {history_.Check(), drained};
  }

  // One hubd on a pg_auto_failover formation, both nodes in its URL, and
  // the topic and subscription.
  void BootOnFormation() {
    formation_ = std::make_unique<AutoFailoverFormation>();
    url_ = formation_->Url();
    ASSERT_NO_FATAL_FAILURE(StartReplicas(1));
    CreateTopicAndSubscription();
  }

  // Acknowledgements that arrived inside one of the fault `windows` (from,
  // to), past the first half second of it: an answer can be on its way as
  // a fault begins.
  int AnsweredWithin(const std::vector<std::pair<absl::Time, absl::Time>>& windows) const {
    int n = 0;
    for (absl::Time t : history_.AnswerTimes()) {
      for (const auto& [from, to] : windows) n += t > from + absl::Milliseconds(500) && t < to;
    }
    return n;
  }

  int64_t Query(const std::string& sql) { return std::stoll(hub::testing::QueryValue(url_, sql)); }

  // What 1 asks of every scenario whose consumers drain the values: they
  // did, something was acknowledged, and every acknowledged value arrived
  // and nothing else did, each value under one message id.
  static void ExpectEveryValueDelivered(const Counts& c, bool drained) {
    EXPECT_TRUE(drained);
    EXPECT_GT(c.acknowledged, 0);
    EXPECT_EQ(c.inconsistent_ids, 0);
    EXPECT_EQ(c.lost, 0);
    EXPECT_EQ(c.unexpected, 0);
  }

  // One row of the results table: printed, and appended to CHAOS_REPORT.
  // A scenario whose values are not drained by consumers (`drained` false)
  // shows no lost/unexpected/duplicate counts: there is nothing to count.
  void Report(const std::string& scenario, const std::string& faults, const Counts& c,
              const std::string& note, bool drained = true) {
    const std::string consumed =
        drained ? absl::StrCat(c.lost, " | ", c.unexpected, " | ", c.duplicates) : "- | - | -";
    const std::string row =
        absl::StrCat("| ", scenario, " | ", faults, " | ", c.attempted, " | ", c.acknowledged,
                     " | ", c.unknown, " | ", consumed, " | ", note, " |");
    std::printf("%s\n", row.c_str());
    if (const char* path = std::getenv("CHAOS_REPORT"))
      std::ofstream(path, std::ios::app) << row << "\n";
  }

  std::mt19937 random_{Seed()};
  History history_;
  std::unique_ptr<PostgresServer> pg_;
  std::unique_ptr<AutoFailoverFormation> formation_;
  std::string url_;
  // Where hubd reaches the database when not at url_ (through a proxy).
  std::string hubd_url_;
  std::vector<std::unique_ptr<HubProcess>> hubd_;
};

// 1. kill -9 of hubd every 5-15 s under load, restarted.
TEST_F(ChaosTest, KillNineOfHubd) {
  const KillOutcome o = KillUnderLoad(1, "1 kill -9 of hubd");
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GE(o.kills, 1);
  ExpectEveryValueDelivered(o.counts, o.drained);
}

// 2. PostgreSQL stopped with `pg_ctl stop -m immediate` and started again:
// as 1, no publish answered OK while it was down, readiness false meanwhile,
// the fault visible in the metrics, and hubd recovers by itself.
TEST_F(ChaosTest, PostgresStoppedImmediately) {
  ASSERT_NO_FATAL_FAILURE(Boot());
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription());
  const pid_t pid = hubd_[0]->pid();
  Workload workload(Options(), history_);
  workload.Start();
  const absl::Duration d = std::max(FaultDuration(), absl::Seconds(20));
  const absl::Time until = absl::Now() + d;
  // The pace is a stop every 20-40 s; a run of the CI length gets one.
  const bool soak = d > absl::Minutes(1);
  std::vector<std::pair<absl::Time, absl::Time>> down;
  int not_ready = 0;
  for (;;) {
    const absl::Duration wait = soak ? Between(absl::Seconds(20), absl::Seconds(40))
                                     : Between(absl::Seconds(6), absl::Seconds(10));
    if (absl::Now() + wait + absl::Seconds(3) >= until) break;
    absl::SleepFor(wait);
    pg_->Stop("immediate");
    const absl::Time stopped = absl::Now();
    // /readyz turns to 503 within the health check's second.
    for (int i = 0; i < 40; ++i) {
      if (absl::StrContains(hub::testing::HttpGet(hubd_[0]->metrics_port(), "/readyz"),
                            "not ready")) {
        ++not_ready;
        break;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    absl::SleepFor(Between(absl::Seconds(1), absl::Seconds(3)));
    down.emplace_back(stopped, absl::Now());
    pg_->Start();
  }
  absl::SleepFor(until - absl::Now());
  const auto [c, drained] = Finish(workload);
  // An answer can be on its way when the stop begins; none may be sent
  // later than that while the database is down.
  const int answered_while_down = AnsweredWithin(down);
  const std::string metrics = hub::testing::HttpGet(hubd_[0]->metrics_port(), "/metrics");
  EXPECT_GE(down.size(), 1u);
  EXPECT_EQ(not_ready, static_cast<int>(down.size()));
  EXPECT_EQ(answered_while_down, 0);
  EXPECT_EQ(hubd_[0]->pid(), pid) << "hubd was restarted";
  EXPECT_TRUE(hubd_[0]->running());
  EXPECT_TRUE(absl::StrContains(metrics, "hub_database_errors_total{kind=\"connection\"}"))
      << "the fault does not show in the metrics";
  EXPECT_TRUE(drained);
  EXPECT_EQ(c.lost, 0);
  EXPECT_EQ(c.unexpected, 0);
  EXPECT_EQ(c.inconsistent_ids, 0);
  Report("2 PostgreSQL stopped (immediate)",
         absl::StrCat(down.size(), " stops in ", absl::FormatDuration(d)), c,
         absl::StrCat("0 answered OK while down; readiness false during all ", not_ready,
                      "; hubd never restarted"));
}

// 3. Consumers killed before acking 10 % of their deliveries, restarted each
// time: every message is acked in the end.
TEST_F(ChaosTest, ConsumersKilledBeforeAcking) {
  ASSERT_NO_FATAL_FAILURE(Boot());
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription(v1::AT_LEAST_ONCE, 2));
  WorkloadOptions o = Options();
  o.consumers = 0;
  o.publishers = 2;
  // About 4,000 values: a consumer dies after ten deliveries on average.
  o.batch_interval = absl::Milliseconds(25);
  Workload workload(o, history_);
  workload.Start();
  absl::SleepFor(absl::Seconds(5));
  workload.StopPublishing();

  std::atomic<bool> stop{false};
  std::atomic<int> deaths{0};
  std::vector<std::thread> consumers;
  for (int i = 0; i < 2; ++i) {
    consumers.emplace_back([&, i] {
      while (!stop) {
        ChildProcess consumer({hub::testing::TestConsumerPath(), hubd_[0]->address(), "readers",
                               "stream-crash", "10", absl::StrCat(Seed() + i)});
        while (!stop && !consumer.at_eof()) {
          const std::string line = consumer.ReadLine(absl::Milliseconds(200));
          if (absl::StartsWith(line, "ACK ")) history_.Delivered(line.substr(4));
        }
        if (consumer.at_eof()) ++deaths;
      }
    });
  }
  const bool drained = workload.Drain(absl::Seconds(150));
  stop = true;
  for (std::thread& t : consumers) t.join();
  const Counts c = history_.Check();
  EXPECT_TRUE(drained);
  EXPECT_EQ(c.lost, 0);
  EXPECT_EQ(c.unexpected, 0);
  EXPECT_GE(deaths.load(), 10);
  Report("3 consumers killed before acking 10 %", absl::StrCat(deaths.load(), " consumer kills"), c,
         "every acknowledged value acked by a consumer");
}

// 4. A consumer of an exactly-once subscription paused (SIGSTOP) beyond its
// lease and resumed: its late acks are refused, and no message is acked OK
// twice, so two valid leases never overlapped.
TEST_F(ChaosTest, PausedConsumerOnExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(Boot());
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription(v1::EXACTLY_ONCE, 2));
  WorkloadOptions o = Options();
  o.consumers = 0;
  o.publishers = 1;
  // About 100 values a second while the pauses run: enough in flight for a
  // pause to catch, little enough for the consumers to keep up.
  o.batch_interval = absl::Milliseconds(100);
  Workload workload(o, history_);
  workload.Start();

  absl::Mutex mu;
  std::map<std::string, int> ok;
  int refused = 0;
  std::vector<std::unique_ptr<ChildProcess>> consumers;
  std::vector<std::thread> readers;
  std::atomic<bool> stop{false};
  for (int i = 0; i < 2; ++i) {
    consumers.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{hub::testing::TestConsumerPath(), hubd_[0]->address(), "readers",
                                 "pull-loop", absl::StrCat(Seed() + i)}));
    readers.emplace_back([&, i] {
      while (!stop) {
        const std::string line = consumers[i]->ReadLine(absl::Milliseconds(200));
        if (line.empty()) continue;
        const std::pair<std::string, std::string> f = absl::StrSplit(line, absl::MaxSplits(' ', 1));
        absl::MutexLock lock(&mu);
        if (f.first == "OK") {
          ++ok[f.second];
          history_.Delivered(f.second);
        } else if (f.first == "EXPIRED" || f.first == "INVALID") {
          ++refused;
        }
      }
    });
  }
  int pauses = 0;
  const absl::Time until = absl::Now() + absl::Seconds(20);
  while (absl::Now() < until) {
    absl::SleepFor(Between(absl::Milliseconds(500), absl::Seconds(2)));
    ChildProcess& victim = *consumers[random_() % 2];
    victim.Signal(SIGSTOP);
    absl::SleepFor(Between(absl::Milliseconds(2500), absl::Seconds(4)));  // lease: 2 s
    victim.Signal(SIGCONT);
    ++pauses;
  }
  workload.StopPublishing();
  const bool drained = workload.Drain(absl::Seconds(60));
  stop = true;
  for (std::thread& t : readers) t.join();
  const Counts c = history_.Check();
  int twice = 0;
  {
    absl::MutexLock lock(&mu);
    for (const auto& [value, count] : ok) twice += count > 1;
  }
  EXPECT_TRUE(drained);
  EXPECT_EQ(c.lost, 0);
  EXPECT_EQ(twice, 0) << "a message was acked OK twice";
  EXPECT_GT(refused, 0) << "no pause landed between a delivery and its ack";
  EXPECT_GE(pauses, 5);
  Report("4 consumer paused beyond its lease (exactly-once)",
         absl::StrCat(pauses, " pauses of 2.5-4 s, lease 2 s"), c,
         absl::StrCat(refused, " late acks refused, 0 messages acked OK twice"));
}

// 5. Idempotency across hubd restarts: retries and replays of answered
// batches store one message per key, and every answer names the same id.
TEST_F(ChaosTest, IdempotencyAcrossRestarts) {
  ASSERT_NO_FATAL_FAILURE(Boot());
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription());
  WorkloadOptions o = Options();
  o.consumers = 0;
  o.publishers = 2;
  Workload workload(o, history_);
  workload.Start();
  const int kills =
      KillReplicas(absl::Now() + absl::Seconds(15), absl::Seconds(3), absl::Seconds(6));
  workload.StopPublishing();
  // Replay answered values, as a client would that never saw the answer.
  const std::map<std::string, std::string> answered = history_.Acknowledged();
  auto stub = hubd_[0]->Publisher();
  int replayed = 0;
  v1::PublishRequest request;
  request.set_topic("events");
  for (const auto& [value, id] : answered) {
    if (replayed++ % 3 != 0) continue;
    v1::Message* m = request.add_messages();
    m->set_data(value);
    m->set_idempotency_key(value);
    if (request.messages_size() < 100) continue;
    grpc::ClientContext ctx;
    v1::PublishResponse response;
    ASSERT_TRUE(stub->Publish(&ctx, request, &response).ok());
    for (int j = 0; j < request.messages_size(); ++j) {
      EXPECT_TRUE(response.results(j).duplicate());
      history_.Answered(request.messages(j).data(), response.results(j).message_id(), absl::Now());
    }
    request.clear_messages();
  }
  const Counts c = history_.Check();
  const int64_t doubled = Query(
      "SELECT count(*) FROM (SELECT idempotency_key FROM publish_keys "
      "GROUP BY topic_id, idempotency_key HAVING count(*) > 1) d");
  EXPECT_GE(kills, 2);
  EXPECT_EQ(c.inconsistent_ids, 0);
  EXPECT_EQ(doubled, 0);
  EXPECT_EQ(Query(hub::testing::kCountStoredMessages), c.acknowledged);
  Report("5 idempotency across hubd restarts", absl::StrCat(kills, " kills in 15 s"), c,
         absl::StrCat(c.failed_calls, " failed calls retried, ", answered.size() / 3,
                      " answered values replayed: one stored message per key, one id per key"),
         false);
}

// 6. Three replicas, one killed at random every 5-15 s: as 1.
TEST_F(ChaosTest, ReplicasWithKills) {
  const KillOutcome o = KillUnderLoad(3, "6 three replicas, one killed at a time");
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GE(o.kills, 1);
  ExpectEveryValueDelivered(o.counts, o.drained);
}

// 11. Scenario 1 through google.pubsub.v1: Google's Node client publishes
// (each value its `hub-idempotency-key`, a failed batch sent again) and
// consumes over StreamingPull while hubd is killed -9 every 5-15 s.
TEST_F(ChaosTest, KillNineOfHubdThroughPubSub) {
  ASSERT_NO_FATAL_FAILURE(Boot());
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription());
  ChildProcess load(
      {"/usr/bin/env", absl::StrCat("NODE_PATH=", HUB_SOURCE_DIR, "/.tools/node_modules"),
       absl::StrCat("PUBSUB_EMULATOR_HOST=", hubd_[0]->address()), "METADATA_SERVER_DETECTION=none",
       "node", absl::StrCat(HUB_SOURCE_DIR, "/tests/chaos/pubsub_load.js"), "events", "readers"});
  std::atomic<bool> stopped{false};
  std::thread reader([&] {
    for (std::string line; !(line = load.ReadLine(absl::Seconds(600))).empty();) {
      const std::vector<std::string> f = absl::StrSplit(line, ' ');
      if (f[0] == "SENT" && f.size() == 2) {
        history_.Sent(f[1]);
      } else if (f[0] == "ACK" && f.size() == 3) {
        history_.Answered(f[1], f[2], absl::Now());
      } else if (f[0] == "GOT" && f.size() == 2) {
        history_.Delivered(f[1]);
      } else if (f[0] == "FAIL") {
        history_.CallFailed("the Node client's error");
      } else if (f[0] == "STOPPED") {
        stopped = true;
      } else {
        ADD_FAILURE() << "pubsub_load.js: " << line;
      }
    }
  });
  const absl::Duration d = FaultDuration();
  const int kills = KillReplicas(absl::Now() + d, absl::Seconds(5), absl::Seconds(15));
  load.WriteLine("stop");
  const absl::Time limit = absl::Now() + absl::Seconds(180);
  while (!(stopped && history_.Missing() == 0) && absl::Now() < limit) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  const bool drained = stopped && history_.Missing() == 0;
  if (!drained) {
    // Scenario 11 has failed this way now and then (docs/reliability.md,
    // "Open"): where the undelivered messages are, for the next look.
    std::printf(
        "undelivered: %lld missing; the hub stores %lld messages, the cursor is at %lld of "
        "%lld, %lld lease rows hold %lld positions (%lld of them expired)\n",
        static_cast<long long>(history_.Missing()),
        static_cast<long long>(Query(hub::testing::kCountStoredMessages)),
        static_cast<long long>(Query("SELECT min(next_position) FROM subscription_cursors")),
        static_cast<long long>(Query("SELECT max(next_position) FROM topic_heads")),
        static_cast<long long>(Query("SELECT count(*) FROM leases")),
        static_cast<long long>(Query("SELECT COALESCE(sum(cardinality(pending)), 0) FROM leases")),
        static_cast<long long>(Query("SELECT COALESCE(sum(cardinality(pending)), 0) FROM leases "
                                     "WHERE expires_at < now()")));
  }
  load.WriteLine("exit");
  reader.join();
  EXPECT_EQ(load.Wait(), 0);
  const Counts c = history_.Check();
  EXPECT_GE(kills, 1);
  ExpectEveryValueDelivered(c, drained);
  Report("11 kill -9 of hubd, google.pubsub.v1 (Node client)",
         absl::StrCat(kills, " kills in ", absl::FormatDuration(d)), c,
         absl::StrCat(c.failed_calls, " failed calls retried; ",
                      static_cast<int64_t>(c.acknowledged / absl::ToDoubleSeconds(d)),
                      " msg/s acknowledged through the kills"));
}

// 12. The database fails over under load: pg_auto_failover's primary node
// (its keeper and postmaster) killed -9 every 5-10 s of the run, the monitor
// promoting the synchronous secondary, the killed node rejoining as the new
// secondary when there is time for another round. hubd is given both
// nodes and never restarted: as 1, and each failover's window without an
// acknowledged publish is reported.
TEST_F(ChaosTest, PrimaryFailsOverUnderLoad) {
  ASSERT_NO_FATAL_FAILURE(BootOnFormation());
  const pid_t pid = hubd_[0]->pid();
  Workload workload(Options(), history_);
  workload.Start();
  const absl::Duration d = FaultDuration();
  const absl::Time until = absl::Now() + d;
  std::vector<absl::Time> kills;
  for (;;) {
    absl::SleepFor(Between(absl::Seconds(5), absl::Seconds(10)));
    kills.push_back(absl::Now());
    const int killed = formation_->KillPrimary();
    formation_->AwaitPrimary(killed == 1 ? 2 : 1);
    // Another round needs the killed node back, rewound, as the secondary.
    if (absl::Now() + absl::Seconds(20) >= until) break;
    formation_->Rejoin(killed);
  }
  absl::SleepFor(std::max(absl::Seconds(3), until - absl::Now()));
  const auto [c, drained] = Finish(workload);
  // Each window: the longest time without an acknowledged publish from
  // the last one before the kill to a minute after it (answers of
  // publishes committed before the kill still arrive just after it).
  std::vector<absl::Time> answers = history_.AnswerTimes();
  std::sort(answers.begin(), answers.end());
  std::vector<std::string> windows;
  for (absl::Time kill : kills) {
    auto from = std::lower_bound(answers.begin(), answers.end(), kill);
    if (from != answers.begin()) --from;
    const auto to = std::upper_bound(from, answers.end(), kill + absl::Minutes(1));
    absl::Duration gap;
    for (auto a = from; a != to && std::next(a) != to; ++a) gap = std::max(gap, *std::next(a) - *a);
    windows.push_back(absl::StrFormat("%.1f s", absl::ToDoubleSeconds(gap)));
  }
  EXPECT_EQ(hubd_[0]->pid(), pid) << "hubd was restarted";
  ExpectEveryValueDelivered(c, drained);
  Report("12 primary killed -9, pg_auto_failover promotes its synchronous secondary",
         absl::StrCat(kills.size(), " failovers in ", absl::FormatDuration(d)), c,
         absl::StrCat(c.failed_calls, " failed calls retried; no publish acknowledged for ",
                      absl::StrJoin(windows, ", "), "; hubd never restarted"));
}

// 13. hubd's link to PostgreSQL partitioned (a fault-injecting proxy stops
// passing bytes both ways; connections stay open and new ones hang) for
// 10 s, then healed; once in a CI run, every 20-40 s in a soak. hubd is
// never restarted: as 1, and no publish acknowledged inside a partition.
TEST_F(ChaosTest, PartitionFromPostgresHealedAfterTenSeconds) {
  pg_ = std::make_unique<PostgresServer>();
  url_ = pg_->CreateDatabase();
  FaultProxy link(pg_->port());
  hubd_url_ = absl::StrReplaceAll(
      url_, {{absl::StrCat(":", pg_->port(), "/"), absl::StrCat(":", link.port(), "/")}});
  ASSERT_NO_FATAL_FAILURE(StartReplicas(1));
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription());
  const pid_t pid = hubd_[0]->pid();
  Workload workload(Options(), history_);
  workload.Start();
  const absl::Duration d = std::max(FaultDuration(), absl::Seconds(20));
  const absl::Time until = absl::Now() + d;
  const bool soak = d > absl::Minutes(1);
  std::vector<std::pair<absl::Time, absl::Time>> partitions;
  for (;;) {
    const absl::Duration wait =
        soak ? Between(absl::Seconds(20), absl::Seconds(40)) : absl::Seconds(3);
    if (absl::Now() + wait + absl::Seconds(13) >= until && !partitions.empty()) break;
    absl::SleepFor(wait);
    link.Set(FaultProxy::Mode::kPartition);
    const absl::Time from = absl::Now();
    absl::SleepFor(absl::Seconds(10));
    link.Set(FaultProxy::Mode::kPass);
    partitions.emplace_back(from, absl::Now());
  }
  absl::SleepFor(std::max(absl::Seconds(3), until - absl::Now()));
  const auto [c, drained] = Finish(workload);
  const int answered_inside = AnsweredWithin(partitions);
  EXPECT_EQ(answered_inside, 0);
  EXPECT_EQ(hubd_[0]->pid(), pid) << "hubd was restarted";
  ExpectEveryValueDelivered(c, drained);
  Report("13 hubd partitioned from PostgreSQL for 10 s, healed",
         absl::StrCat(partitions.size(), " partitions in ", absl::FormatDuration(d)), c,
         absl::StrCat(c.failed_calls,
                      " failed calls retried; 0 acknowledged inside a partition; "
                      "hubd never restarted"));
}

// 14. hubd through PgBouncer in transaction pooling mode (docs/deploy.md,
// "Through PgBouncer"): every 5-15 s (3-5 s in a CI run, so that both
// come) hubd is killed -9 and started again, or, in turn, PgBouncer is
// stopped and started again (every client connection it held breaks).
// As 1.
TEST_F(ChaosTest, ThroughPgBouncerWithKillsAndPoolerRestarts) {
  pg_ = std::make_unique<PostgresServer>();
  url_ = pg_->CreateDatabase();
  PgBouncer pooler(*pg_, 4);
  ASSERT_NO_FATAL_FAILURE(StartReplicas(1, {"--database_pooler_url=" + pooler.Through(url_)}));
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription());
  Workload workload(Options(), history_);
  workload.Start();
  const absl::Duration d = FaultDuration();
  const absl::Time until = absl::Now() + d;
  const bool soak = d > absl::Minutes(1);
  int kills = 0, restarts = 0;
  for (;;) {
    const absl::Duration wait = soak ? Between(absl::Seconds(5), absl::Seconds(15))
                                     : Between(absl::Seconds(3), absl::Seconds(5));
    if (absl::Now() + wait >= until) break;
    absl::SleepFor(wait);
    if ((kills + restarts) % 2 == 0) {
      hubd_[0]->Kill();
      absl::SleepFor(Between(absl::Milliseconds(200), absl::Seconds(1)));
      hubd_[0]->Start();
      ++kills;
    } else {
      pooler.Restart();
      ++restarts;
    }
  }
  absl::SleepFor(until - absl::Now());
  const auto [c, drained] = Finish(workload);
  EXPECT_GE(kills, 1);
  EXPECT_GE(restarts, 1);
  ExpectEveryValueDelivered(c, drained);
  Report(
      "14 through PgBouncer: hubd killed -9, PgBouncer restarted",
      absl::StrCat(kills, " kills and ", restarts, " pooler restarts in ", absl::FormatDuration(d)),
      c, absl::StrCat(c.failed_calls, " failed calls retried"));
}

// 15. A planned switchover under load, every 5-10 s: pg_auto_failover's
// `perform switchover` makes the synchronous secondary the primary and the
// old primary its secondary. As 1, and the only failed calls are
// UNAVAILABLE ones, retried.
TEST_F(ChaosTest, PlannedSwitchoverUnderLoad) {
  // Left out of CI runs for now: on this project's machines the old
  // primary's fast shutdown, which pg_auto_failover's keeper asks for,
  // began to hang now and then (the formation never settles; no shutdown
  // checkpoint is ever logged). Its cause is not found yet
  // (docs/reliability.md, scenario 15). A soak still runs it.
  if (FaultDuration() <= absl::Minutes(1)) {
    GTEST_SKIP() << "scenario 15 runs in soaks only until the hanging shutdown is understood";
  }
  ASSERT_NO_FATAL_FAILURE(BootOnFormation());
  const pid_t pid = hubd_[0]->pid();
  Workload workload(Options(), history_);
  workload.Start();
  const absl::Duration d = FaultDuration();
  const absl::Time until = absl::Now() + d;
  int switchovers = 0;
  for (;;) {
    const absl::Duration wait = Between(absl::Seconds(5), absl::Seconds(10));
    if (absl::Now() + wait + absl::Seconds(5) >= until && switchovers > 0) break;
    absl::SleepFor(wait);
    formation_->Switchover();
    ++switchovers;
  }
  absl::SleepFor(std::max(absl::Seconds(3), until - absl::Now()));
  const auto [c, drained] = Finish(workload);
  for (const auto& [code, n] : c.failures) {
    EXPECT_EQ(code, "UNAVAILABLE") << n << " calls failed so";
  }
  EXPECT_EQ(hubd_[0]->pid(), pid) << "hubd was restarted";
  ExpectEveryValueDelivered(c, drained);
  Report("15 planned switchover (pg_auto_failover)",
         absl::StrCat(switchovers, " switchovers in ", absl::FormatDuration(d)), c,
         absl::StrCat(c.failed_calls,
                      " calls failed, all UNAVAILABLE, retried; hubd never "
                      "restarted"));
}

// 16. The checker sees a failover loss: 1's workload on a primary with an
// asynchronous standby whose WAL receiver is stopped (SIGSTOP), so that it
// lags; 3 s later the primary is stopped (-m immediate), the receiver
// killed with what it had not read, and the standby promoted. hubd has both in its URL and follows.
// What the primary acknowledged past the standby's last received WAL is gone, and the checker must
// say so (docs/reliability.md: replication must be synchronous for an acknowledgement to survive a
// failover).
TEST_F(ChaosTest, AsynchronousStandbyLosesAcknowledgedMessages) {
  pg_ = std::make_unique<PostgresServer>();
  const std::string primary_url = pg_->CreateDatabase();
  std::unique_ptr<PostgresServer> standby = PostgresServer::StandbyOf(*pg_);
  url_ = absl::StrCat(
      absl::StrReplaceAll(primary_url,
                          {{absl::StrCat(":", pg_->port(), "/"),
                            absl::StrCat(":", pg_->port(), ",127.0.0.1:", standby->port(), "/")}}),
      "?target_session_attrs=read-write");
  ASSERT_NO_FATAL_FAILURE(StartReplicas(1));
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription());
  // Consumers start after the failover: a value delivered from the old
  // primary before it went would count as received, stored or not.
  WorkloadOptions o = Options();
  o.consumers_later = true;
  Workload workload(o, history_);
  workload.Start();
  absl::SleepFor(absl::Seconds(3));
  standby->SignalAuxiliary("walreceiver", SIGSTOP);
  absl::SleepFor(absl::Seconds(3));
  const int64_t acked_at_crash = history_.Check().acknowledged;
  pg_->Stop("immediate");
  // The WAL the stopped receiver has not read waits in its socket; on
  // loopback it would all arrive still. Killed, the receiver takes it
  // along (the standby restarts its processes and keeps what it wrote).
  standby->SignalAuxiliary("walreceiver", SIGKILL);
  standby->Promote();
  workload.StartConsumers();
  absl::SleepFor(absl::Seconds(5));
  workload.StopPublishing();
  // Waits for what can still come; the lost values never do.
  const bool drained = workload.Drain(absl::Seconds(20));
  workload.Stop();
  const Counts c = history_.Check();
  EXPECT_FALSE(drained);
  EXPECT_GT(c.lost, 0) << "an asynchronous failover lost nothing the checker could see";
  EXPECT_GT(c.acknowledged, acked_at_crash) << "hubd did not follow the promoted standby";
  EXPECT_EQ(c.unexpected, 0);
  Report(
      "16 asynchronous standby lagging (WAL receiver stopped), primary stopped, standby "
      "promoted",
      "1 failover", c,
      absl::StrCat("loss reported, as it must be: ", c.lost,
                   " acknowledged values were only on the old primary"));
}

// 17. The database's disk fills under load and is freed, again and again:
// the hub's database in a tablespace on a tmpfs (64 MiB; 1 GiB in a soak,
// where the messages themselves would fill the small one); every 3 s (10-20
// s in a soak) a ballast file leaves it 1 MiB, which the load fills; 5 s
// after the first refusal the ballast goes. As 1, hubd never restarted, and
// every failed call UNAVAILABLE.
TEST_F(ChaosTest, DiskFullAndFreed) {
  const absl::Duration d = FaultDuration();
  const bool soak = d > absl::Minutes(1);
  hub::testing::SmallFilesystem disk(soak ? 1024 : 64);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  pg_ = std::make_unique<PostgresServer>();
  hub::testing::QueryValue(pg_->Url("postgres"),
                           absl::StrCat("CREATE TABLESPACE small LOCATION '", disk.path(), "'"));
  hub::testing::QueryValue(pg_->Url("postgres"), "CREATE DATABASE events TABLESPACE small");
  url_ = pg_->Url("events");
  ASSERT_NO_FATAL_FAILURE(StartReplicas(1));
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription());
  const pid_t pid = hubd_[0]->pid();
  Workload workload(Options(), history_);
  workload.Start();
  const absl::Time until = absl::Now() + d;
  const std::string ballast = disk.path() + "/ballast";
  const auto full_errors = [&] {
    return hub::testing::MetricValue(*hubd_[0], "hub_database_errors_total{kind=\"disk_full\"}");
  };
  std::vector<std::string> until_full;  // per fill: how long the last MiB lasted
  for (;;) {
    const absl::Duration wait =
        soak ? Between(absl::Seconds(10), absl::Seconds(20)) : absl::Seconds(3);
    if (!until_full.empty() && absl::Now() + wait + absl::Seconds(10) >= until) break;
    absl::SleepFor(wait);
    const double refused_before = full_errors();
    ASSERT_EQ(hub::testing::RunCommand(
                  absl::StrCat("fallocate -l ", disk.free_bytes() - (1 << 20), " ", ballast))
                  .exit_code,
              0);
    const absl::Time filled = absl::Now();
    while (full_errors() == refused_before && absl::Now() < filled + absl::Seconds(30)) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_GT(full_errors(), refused_before) << "the load did not fill the last MiB in 30 s";
    until_full.push_back(absl::StrFormat("%.1f s", absl::ToDoubleSeconds(absl::Now() - filled)));
    absl::SleepFor(absl::Seconds(5));
    std::remove(ballast.c_str());
  }
  absl::SleepFor(std::max(absl::Seconds(5), until - absl::Now()));
  const auto [c, drained] = Finish(workload);
  for (const auto& [code, n] : c.failures) {
    EXPECT_EQ(code, "UNAVAILABLE") << n << " calls failed so";
  }
  EXPECT_EQ(hubd_[0]->pid(), pid) << "hubd was restarted";
  ExpectEveryValueDelivered(c, drained);
  Report("17 the database's disk full, then freed",
         absl::StrCat(until_full.size(), " fills to 1 MiB in ", absl::FormatDuration(d),
                      ", each freed 5 s after the first refusal"),
         c,
         absl::StrCat(c.failed_calls, " calls failed, all UNAVAILABLE, retried; ",
                      static_cast<int64_t>(full_errors()),
                      " writes refused for space; the last MiB lasted ",
                      absl::StrJoin(until_full, ", "), "; hubd never restarted"));
}

// 7. Ordering under kill -9: per key, deliveries in publish order. A run of
// a key whose acks were lost (hubd killed) is delivered again from its first
// unsettled message, so a key's deliveries may go back; what must hold:
// - a delivery that goes forward past everything delivered of its key is
//   the key's next message (the next one of those delivered at all): no
//   message of a key arrives ahead of an earlier one;
// - a delivery that goes back restarts at the key's first unsettled
//   message, which only moves forward: each go-back lands at or after the
//   previous one.
TEST_F(ChaosTest, OrderingUnderFaults) {
  ASSERT_NO_FATAL_FAILURE(Boot());
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription(v1::AT_LEAST_ONCE, 5, true));
  WorkloadOptions o = Options();
  o.publishers = 3;
  o.ordering_keys = 3;
  o.batch = 5;
  o.batch_interval = absl::Milliseconds(50);  // 300 values a second
  Workload workload(o, history_);
  workload.Start();
  const int kills =
      KillReplicas(absl::Now() + absl::Seconds(20), absl::Seconds(5), absl::Seconds(10));
  workload.StopPublishing();
  const bool drained = workload.Drain(absl::Seconds(120));
  workload.Stop();
  // Values are key/publisher/batch/place: order within a key is (batch, place).
  using Place = std::pair<int64_t, int64_t>;
  std::vector<std::pair<std::string, Place>> deliveries;
  std::map<std::string, std::set<Place>> delivered;  // per key, everything it delivered
  for (const std::string& value : history_.DeliveryOrder()) {
    const std::vector<std::string> f = absl::StrSplit(value, '/');
    deliveries.emplace_back(f[0], Place(std::stoll(f[2]), std::stoll(f[3])));
    delivered[f[0]].insert(deliveries.back().second);
  }
  struct KeyState {
    Place last, furthest, restart;
  };
  std::map<std::string, KeyState> keys;
  int out_of_order = 0, go_backs = 0;
  for (const auto& [key, at] : deliveries) {
    auto [it, first] = keys.try_emplace(key, KeyState{at, at, at});
    KeyState& k = it->second;
    const Place expected_first = *delivered[key].begin();
    if (first) {
      if (at != expected_first) ++out_of_order;
      continue;
    }
    if (at > k.furthest) {
      if (at != *delivered[key].upper_bound(k.furthest)) ++out_of_order;
      k.furthest = at;
    } else if (at < k.last) {
      ++go_backs;
      if (at < k.restart) ++out_of_order;
      k.restart = at;
    }
    k.last = at;
  }
  const Counts c = history_.Check();
  EXPECT_GE(kills, 1);
  EXPECT_TRUE(drained);
  EXPECT_EQ(c.lost, 0);
  EXPECT_EQ(out_of_order, 0);
  Report("7 ordering keys under kill -9", absl::StrCat(kills, " kills in 20 s"), c,
         absl::StrCat(keys.size(), " keys, 0 deliveries out of publish order, ", go_backs,
                      " runs delivered again from their first unsettled message"));
}

// 8. The checker can fail: scenario 1's workload against a PostgreSQL
// without durability (fsync and synchronous_commit off), crashed: it must
// report loss, where the normal settings (1, 2, 6) report none.
//
// A process crash alone rarely loses anything even so: the WAL writer hands
// each completed WAL page to the kernel within milliseconds, and the page
// cache outlives the processes. What a power cut would take, the WAL still
// in shared memory, is made to matter by stopping the WAL writer (SIGSTOP)
// first, with WAL buffers large enough that no backend has to write them
// and the background writer off; SIGKILL of the WAL writer then makes the
// postmaster crash and recover from what reached the kernel.
TEST_F(ChaosTest, CheckerCatchesLossWithoutDurability) {
  ASSERT_NO_FATAL_FAILURE(Boot(1,
                               "-c fsync=off -c synchronous_commit=off -c wal_writer_delay=10000ms "
                               "-c wal_buffers=256MB -c bgwriter_lru_maxpages=0"));
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription());
  WorkloadOptions o = Options();
  o.consumers_later = true;  // what was delivered before the crash would hide a loss
  o.batch = 50;
  Workload workload(o, history_);
  workload.Start();
  absl::SleepFor(absl::Seconds(2));
  ASSERT_NO_FATAL_FAILURE(pg_->SignalAuxiliary("walwriter", SIGSTOP));
  absl::SleepFor(absl::Seconds(2));
  ASSERT_NO_FATAL_FAILURE(pg_->SignalAuxiliary("walwriter", SIGKILL));
  absl::SleepFor(absl::Seconds(4));  // crash recovery, hubd reconnects
  workload.StopPublishing();
  workload.StartConsumers();
  // The lost values never come; the rest arrives within seconds.
  workload.Drain(absl::Seconds(8));
  workload.Stop();
  const Counts c = history_.Check();
  EXPECT_GT(c.lost, 0) << "the checker found no loss where durability was off";
  Report("8 self-check: fsync and synchronous_commit off, PostgreSQL crashed",
         "1 crash (WAL writer stopped, then killed)", c, "loss reported, as it must be");
}

// 9. A slow consumer and a client that stops reading its stream, while
// publishers push large messages: hubd's memory stays bounded, publishers
// are held back (flow control), nothing crashes.
TEST_F(ChaosTest, SlowConsumerAndFullClient) {
  ASSERT_NO_FATAL_FAILURE(Boot());
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription());
  // A full client: asks for everything, never reads.
  auto stub = v1::Subscriber::NewStub(hubd_[0]->Channel());
  grpc::ClientContext full_ctx;
  auto full = stub->StreamingPull(&full_ctx);
  v1::StreamingPullRequest first;
  first.set_subscription("readers");
  first.set_max_outstanding_messages(1000000);
  first.set_max_outstanding_bytes(int64_t{1} << 30);
  ASSERT_TRUE(full->Write(first));
  // A slow consumer: 20 ms per message.
  client::ConnectionOptions co;
  co.endpoint = hubd_[0]->address();
  client::Connection connection = *client::Connection::Open(co);
  client::Subscriber slow_subscriber(connection, "readers");
  client::SubscriberSession slow =
      slow_subscriber.Subscribe([](client::Message, client::AckHandler h) {
        absl::SleepFor(absl::Milliseconds(20));
        std::move(h).Ack();
      });
  client::PublisherOptions po;
  po.max_pending_messages = 200;
  po.reject_when_full = true;
  client::Publisher publisher(connection, "events", po);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> accepted{0}, held_back{0}, failed{0};
  std::thread publishing([&] {
    const std::string payload(64 * 1024, 'x');
    while (!stop) {
      publisher.Publish({.data = payload}, [&](absl::StatusOr<client::PublishAck> ack) {
        if (ack.ok()) {
          ++accepted;
        } else if (ack.status().code() == absl::StatusCode::kResourceExhausted) {
          ++held_back;
        } else {
          ++failed;
        }
      });
    }
  });
  double peak = 0;
  for (const absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until;) {
    peak = std::max(peak, RssMiB(hubd_[0]->pid()));
    absl::SleepFor(absl::Milliseconds(100));
  }
  stop = true;
  publishing.join();
  publisher.Flush();
  full_ctx.TryCancel();
  slow.Stop();
  EXPECT_TRUE(hubd_[0]->running());
  EXPECT_LT(peak, 256);
  EXPECT_GT(accepted.load(), 1000);
  EXPECT_GT(held_back.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  Counts c;
  c.attempted = accepted + held_back;
  c.acknowledged = accepted;
  Report("9 slow consumer and a client that stops reading", "10 s of 64 KiB publishes", c,
         absl::StrCat("hubd peak RSS ", static_cast<int>(peak), " MiB; ", held_back.load(),
                      " publishes held back by flow control; ", accepted.load() * 64 / 1024,
                      " MiB stored"),
         false);
}

// 10. Bad input: each limit of docs/api.md one past its bound, a name that is not
// UTF-8, an empty message, garbage on the gRPC port, 500 streams from a
// client that vanishes: the right code each time, hubd up and serving, and
// nothing of a refused request stored.
TEST_F(ChaosTest, BadInput) {
  ASSERT_NO_FATAL_FAILURE(Boot());
  ASSERT_NO_FATAL_FAILURE(CreateTopicAndSubscription());
  auto publisher = hubd_[0]->Publisher();
  auto subscriber = hubd_[0]->Subscriber();
  auto publish = [&](std::function<void(v1::PublishRequest&)> shape) {
    v1::PublishRequest r;
    r.set_topic("events");
    shape(r);
    grpc::ClientContext ctx;
    v1::PublishResponse out;
    return publisher->Publish(&ctx, r, &out).error_code();
  };
  auto one = [](v1::PublishRequest& r) -> v1::Message& {
    v1::Message* m = r.add_messages();
    m->set_data("x");
    return *m;
  };
  auto create_topic = [&](const std::string& name, int64_t retention_seconds) {
    v1::Topic t;
    t.set_name(name);
    if (retention_seconds > 0) t.mutable_message_retention()->set_seconds(retention_seconds);
    grpc::ClientContext ctx;
    v1::Topic out;
    return publisher->CreateTopic(&ctx, t, &out).error_code();
  };
  auto create_sub = [&](std::function<void(v1::Subscription&)> shape) {
    v1::Subscription s;
    s.set_name("refused");
    s.set_topic("events");
    shape(s);
    grpc::ClientContext ctx;
    v1::Subscription out;
    return subscriber->CreateSubscription(&ctx, s, &out).error_code();
  };
  const std::string kib(1024, 'k');
  const std::vector<std::pair<std::string, grpc::StatusCode>> outcomes = {
      {"name of 256 characters", create_topic(std::string(256, 'a'), 0)},
      {"name of 2 characters", create_topic("ab", 0)},
      {"name not UTF-8", create_topic("abc\xff\xfe", 0)},
      {"retention of 367 days", create_topic("longer", 367 * 86400)},
      {"ack deadline 601 s",
       create_sub([](v1::Subscription& s) { s.set_ack_deadline_seconds(601); })},
      {"101 delivery attempts", create_sub([](v1::Subscription& s) {
         s.mutable_dead_letter_policy()->set_dead_letter_topic("events");
         s.mutable_dead_letter_policy()->set_max_delivery_attempts(101);
       })},
      {"filter of 1025 bytes", create_sub([&](v1::Subscription& s) {
         s.set_filter("attributes:" + std::string(1014, 'f'));
       })},
      {"1001 messages", publish([&](v1::PublishRequest& r) {
         for (int i = 0; i < 1001; ++i) one(r);
       })},
      {"11 MB in one request", publish([&](v1::PublishRequest& r) {
         for (int i = 0; i < 11; ++i) one(r).set_data(std::string(1000000, 'd'));
       })},
      {"message of 10 MiB + 1", publish([&](v1::PublishRequest& r) {
         one(r).set_data(std::string(10 * 1024 * 1024 + 1, 'd'));
       })},
      {"101 attributes", publish([&](v1::PublishRequest& r) {
         v1::Message& m = one(r);
         for (int i = 0; i < 101; ++i) (*m.mutable_attributes())[absl::StrCat("a", i)] = "v";
       })},
      {"attribute key of 257 bytes", publish([&](v1::PublishRequest& r) {
         (*one(r).mutable_attributes())[std::string(257, 'k')] = "v";
       })},
      {"attribute value of 1025 bytes",
       publish([&](v1::PublishRequest& r) { (*one(r).mutable_attributes())["k"] = kib + "v"; })},
      {"ordering key of 1025 bytes",
       publish([&](v1::PublishRequest& r) { one(r).set_ordering_key(kib + "o"); })},
      {"idempotency key of 257 bytes",
       publish([&](v1::PublishRequest& r) { one(r).set_idempotency_key(std::string(257, 'i')); })},
      {"empty message", publish([](v1::PublishRequest& r) { r.add_messages(); })},
      {"no messages", publish([](v1::PublishRequest&) {})},
      {"pull of 1001",
       [&] {
         v1::PullResponse out;
         return hub::testing::Pull(*subscriber, "readers", 1001, absl::ZeroDuration(), &out)
             .error_code();
       }()},
      {"5001 ack ids",
       [&] {
         return hub::testing::Ack(*subscriber, "readers", std::vector<std::string>(5001, "1-1-1"))
             .error_code();
       }()},
      {"page size 1001",
       [&] {
         grpc::ClientContext ctx;
         v1::ListTopicsRequest r;
         r.set_page_size(1001);
         v1::ListTopicsResponse out;
         return publisher->ListTopics(&ctx, r, &out).error_code();
       }()},
  };
  int wrong = 0;
  for (const auto& [what, code] : outcomes) {
    EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT) << what;
    wrong += code != grpc::StatusCode::INVALID_ARGUMENT;
  }

  // Garbage on the gRPC port.
  std::mt19937 bytes(Seed());
  const int port = std::stoi(hubd_[0]->address().substr(hubd_[0]->address().rfind(':') + 1));
  for (int i = 0; i < 50; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      std::string junk(4096, '\0');
      for (char& ch : junk) ch = static_cast<char>(bytes());
      (void)!write(fd, junk.data(), junk.size());
    }
    close(fd);
  }

  // 500 streams from a client that then vanishes.
  {
    ChildProcess many(
        {hub::testing::TestConsumerPath(), hubd_[0]->address(), "readers", "streams", "500"});
    EXPECT_EQ(many.ReadLine(absl::Seconds(60)), "OPEN");
    many.Kill();
  }
  absl::SleepFor(absl::Seconds(2));
  const double rss = RssMiB(hubd_[0]->pid());

  // Nothing of a refused request was stored; hubd serves on.
  EXPECT_EQ(Query(hub::testing::kCountStoredMessages), 0);
  EXPECT_EQ(Query("SELECT count(*) FROM topics"), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM subscriptions"), 1);
  EXPECT_TRUE(hubd_[0]->running());
  ASSERT_TRUE(hub::testing::PublishOne(*publisher, "events", "after", "").ok());
  v1::PullResponse pulled;
  ASSERT_TRUE(hub::testing::Pull(*subscriber, "readers", 10, absl::Seconds(5), &pulled).ok());
  EXPECT_EQ(pulled.received_messages_size(), 1);
  EXPECT_LT(rss, 256);
  Counts c;
  Report("10 bad input",
         absl::StrCat(outcomes.size(),
                      " requests past a limit, 50 garbage "
                      "connections, 500 streams abandoned"),
         c,
         absl::StrCat(outcomes.size() - wrong, " of ", outcomes.size(),
                      " answered INVALID_ARGUMENT; nothing stored; hubd up at ",
                      static_cast<int>(rss), " MiB"),
         false);
}

}  // namespace
}  // namespace hub::chaos
