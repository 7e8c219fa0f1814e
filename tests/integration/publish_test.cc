// Publish: limits, all-or-nothing, idempotency keys, and the late-commit
// (skip) test of invariant P in docs/design.md.
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "hub/pg/statements.h"
#include "tests/support/hub_test.h"
#include "tests/support/publish_sql.h"

namespace hub::testing {
namespace {

class PublishTest : public HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  }

  grpc::Status Publish(const v1::PublishRequest& req, v1::PublishResponse* resp) {
    grpc::ClientContext ctx;
    return publisher_->Publish(&ctx, req, resp);
  }

  // `batches` requests of 1000 messages, each with a key of its own.
  void PublishKeyed(int batches);
};

// Sets on `tx` what function `name` sets for itself (plan_cache_mode,
// enable_seqscan and the rest), so that its statements explain as it runs
// them.
// The settings of hubd's sessions, in which the publish functions run.
void UseStoreSettings(pqxx::transaction_base& tx) {
  for (const char* setting : pg::sql::kSessionSettings) tx.exec(setting);
}

v1::PublishRequest RequestOf(int count, const std::string& data = "x") {
  v1::PublishRequest req;
  req.set_topic("orders");
  for (int i = 0; i < count; ++i) req.add_messages()->set_data(data);
  return req;
}

void PublishTest::PublishKeyed(int batches) {
  for (int batch = 0; batch < batches; ++batch) {
    v1::PublishRequest req = RequestOf(1000);
    for (int i = 0; i < 1000; ++i) {
      req.mutable_messages(i)->set_idempotency_key(absl::StrCat("k", batch, "-", i));
    }
    v1::PublishResponse resp;
    ASSERT_TRUE(Publish(req, &resp).ok());
  }
}

TEST_F(PublishTest, ResultsComeInRequestOrderWithDistinctIds) {
  v1::PublishRequest req = RequestOf(3);
  v1::PublishResponse resp;
  ASSERT_TRUE(Publish(req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 3);
  std::set<std::string> ids;
  for (const auto& r : resp.results()) {
    EXPECT_FALSE(r.duplicate());
    ids.insert(r.message_id());
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_LT(std::stoll(resp.results(0).message_id()), std::stoll(resp.results(2).message_id()));
  EXPECT_EQ(StoredMessages(), 3);
}

// Each case is one past a limit of docs/api.md, in an otherwise valid request
// that carries other valid messages: nothing of it may be stored.
TEST_F(PublishTest, EveryLimitIsInvalidArgumentAndStoresNothing) {
  struct Case {
    const char* name;
    std::function<void(v1::PublishRequest&)> spoil;
  };
  const std::vector<Case> cases = {
      {"no messages", [](v1::PublishRequest& r) { r.clear_messages(); }},
      {"1001 messages", [](v1::PublishRequest& r) { r = RequestOf(1001); }},
      {"empty message", [](v1::PublishRequest& r) { r.add_messages(); }},
      {"101 attributes",
       [](v1::PublishRequest& r) {
         auto* m = r.add_messages();
         for (int i = 0; i < 101; ++i) (*m->mutable_attributes())[absl::StrCat("k", i)] = "v";
       }},
      {"attribute key of 257 bytes",
       [](v1::PublishRequest& r) {
         (*r.add_messages()->mutable_attributes())[std::string(257, 'k')] = "v";
       }},
      {"empty attribute key",
       [](v1::PublishRequest& r) { (*r.add_messages()->mutable_attributes())[""] = "v"; }},
      {"attribute value of 1025 bytes",
       [](v1::PublishRequest& r) {
         (*r.add_messages()->mutable_attributes())["k"] = std::string(1025, 'v');
       }},
      {"ordering key of 1025 bytes",
       [](v1::PublishRequest& r) {
         auto* m = r.add_messages();
         m->set_data("x");
         m->set_ordering_key(std::string(1025, 'o'));
       }},
      {"idempotency key of 257 bytes",
       [](v1::PublishRequest& r) {
         auto* m = r.add_messages();
         m->set_data("x");
         m->set_idempotency_key(std::string(257, 'i'));
       }},
      {"NUL in an ordering key",
       [](v1::PublishRequest& r) {
         auto* m = r.add_messages();
         m->set_data("x");
         m->set_ordering_key(std::string("a\0b", 3));
       }},
      {"one message over 10 MiB",
       [](v1::PublishRequest& r) {
         r.add_messages()->set_data(std::string(10 * 1024 * 1024 + 1, 'd'));
       }},
      {"over 10 MiB in all",
       [](v1::PublishRequest& r) { r = RequestOf(11, std::string(1000 * 1000, 'd')); }},
      {"bad topic name", [](v1::PublishRequest& r) { r.set_topic("no such/topic"); }},
  };
  for (const Case& c : cases) {
    v1::PublishRequest req = RequestOf(2);
    c.spoil(req);
    v1::PublishResponse resp;
    EXPECT_EQ(Publish(req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
  }
  EXPECT_EQ(StoredMessages(), 0);
  EXPECT_EQ(CountRows("SELECT next_position FROM topic_heads"), 1);
}

TEST_F(PublishTest, LargestAllowedMessageIsStored) {
  v1::PublishRequest req = RequestOf(1, std::string(10 * 1024 * 1024, 'd'));
  v1::PublishResponse resp;
  ASSERT_TRUE(Publish(req, &resp).ok());
  EXPECT_EQ(CountRows("SELECT sum(octet_length(data)) FROM hub_messages"), 10 * 1024 * 1024);
}

TEST_F(PublishTest, MissingTopicIsNotFound) {
  v1::PublishRequest req = RequestOf(1);
  req.set_topic("missing");
  v1::PublishResponse resp;
  EXPECT_EQ(Publish(req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PublishTest, SameKeyTwiceStoresOneMessage) {
  v1::PublishResponse first, second;
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "a", "order-1", &first).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "a", "order-1", &second).ok());
  EXPECT_FALSE(first.results(0).duplicate());
  EXPECT_TRUE(second.results(0).duplicate());
  EXPECT_EQ(first.results(0).message_id(), second.results(0).message_id());
  EXPECT_EQ(StoredMessages(), 1);
}

// A producer batch: `count` messages "<prefix>0".. from `first`, the one
// at `keyed` (if any) with key "<prefix>-key".
v1::PublishRequest Batch(const std::string& producer, int64_t first, int count,
                         const std::string& prefix, int keyed = -1) {
  v1::PublishRequest req;
  req.set_topic("orders");
  req.set_producer(producer);
  req.set_first_sequence(first);
  for (int i = 0; i < count; ++i) {
    auto* m = req.add_messages();
    m->set_data(absl::StrCat(prefix, i));
    if (i == keyed) m->set_idempotency_key(prefix + "-key");
  }
  return req;
}

grpc::Status Send(v1::Publisher::Stub& stub, const v1::PublishRequest& req,
                  v1::PublishResponse* resp) {
  grpc::ClientContext ctx;
  return stub.Publish(&ctx, req, resp);
}

// docs/api.md, "Producers": the same batch again is answered with its first
// ids, one of its messages being a duplicate by its own key included; a
// batch that overlaps a remembered one, or lies below all 16 remembered,
// is refused and stores nothing; gaps are fine.
TEST_F(PublishTest, AProducerBatchSentAgainIsAnsweredWithItsFirstIds) {
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "before", "b-key").ok());  // position 1
  v1::PublishResponse first, again;
  ASSERT_TRUE(Send(*publisher_, Batch("p1", 0, 5, "b"), &first).ok());
  ASSERT_TRUE(Send(*publisher_, Batch("p1", 0, 5, "b"), &again).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(first.results(i).duplicate()) << i;
    ids.push_back(first.results(i).message_id());
    EXPECT_TRUE(again.results(i).duplicate()) << i;
    EXPECT_EQ(again.results(i).message_id(), first.results(i).message_id()) << i;
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"2", "3", "4", "5", "6"}));
  v1::PublishResponse keyed, keyed_again;
  ASSERT_TRUE(Send(*publisher_, Batch("p1", 5, 3, "c", 1), &keyed).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "other", "d-key").ok());
  ASSERT_TRUE(Send(*publisher_, Batch("p1", 5, 3, "c", 1), &keyed_again).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(keyed_again.results(i).message_id(), keyed.results(i).message_id()) << i;
    EXPECT_TRUE(keyed_again.results(i).duplicate()) << i;
  }
  // A message whose key was used before the batch keeps its own id, and
  // its batch's run goes on after it.
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "e", "e-key").ok());
  v1::PublishResponse mixed, mixed_again;
  ASSERT_TRUE(Send(*publisher_, Batch("p1", 8, 3, "e", 1), &mixed).ok());
  ASSERT_TRUE(Send(*publisher_, Batch("p1", 8, 3, "e", 1), &mixed_again).ok());
  EXPECT_TRUE(mixed.results(1).duplicate());
  EXPECT_FALSE(mixed.results(0).duplicate());
  EXPECT_FALSE(mixed.results(2).duplicate());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(mixed_again.results(i).message_id(), mixed.results(i).message_id()) << i;
  }
  const int64_t stored = StoredMessages();

  v1::PublishResponse refused;
  grpc::Status overlap = Send(*publisher_, Batch("p1", 4, 3, "f"), &refused);
  EXPECT_EQ(overlap.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << overlap.error_message();
  for (int64_t first_sequence = 100; first_sequence < 116; ++first_sequence) {
    ASSERT_TRUE(Send(*publisher_, Batch("p1", first_sequence, 1, "g"), &refused).ok());
  }
  // Every batch of the dedup window is remembered, not only the latest:
  // the first one, sent again after sixteen more, keeps its ids.
  v1::PublishResponse oldest;
  ASSERT_TRUE(Send(*publisher_, Batch("p1", 0, 5, "b"), &oldest).ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(oldest.results(i).duplicate()) << i;
    EXPECT_EQ(oldest.results(i).message_id(), ids[i]) << i;
  }
  // A batch in a gap of the sequence numbers is new; one overlapping the
  // latest batches is refused like one overlapping the first.
  ASSERT_TRUE(Send(*publisher_, Batch("p1", 50, 1, "h"), &refused).ok());
  EXPECT_FALSE(refused.results(0).duplicate());
  grpc::Status overlap_late = Send(*publisher_, Batch("p1", 114, 3, "j"), &refused);
  EXPECT_EQ(overlap_late.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << overlap_late.error_message();
  EXPECT_EQ(StoredMessages(), stored + 17);
  // Another producer's sequence numbers are its own.
  ASSERT_TRUE(Send(*publisher_, Batch("p2", 0, 5, "i"), &refused).ok());
  EXPECT_FALSE(refused.results(0).duplicate());
}

TEST_F(PublishTest, ProducerFieldsOutOfBoundsAreInvalidArgument) {
  v1::PublishResponse resp;
  for (const v1::PublishRequest& req :
       {Batch(std::string(129, 'p'), 0, 1, "x"), Batch("with space", 0, 1, "x"),
        Batch("p", -1, 1, "x"), Batch("", 3, 1, "x")}) {
    const grpc::Status status = Send(*publisher_, req, &resp);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << req.producer();
  }
  EXPECT_EQ(StoredMessages(), 0);
}

TEST_F(PublishTest, SameKeyTwiceInOneRequestStoresOneMessage) {
  v1::PublishRequest req;
  req.set_topic("orders");
  for (const char* key : {"k1", "k2", "k1"}) {
    auto* m = req.add_messages();
    m->set_data("x");
    m->set_idempotency_key(key);
  }
  v1::PublishResponse resp;
  ASSERT_TRUE(Publish(req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 3);
  EXPECT_FALSE(resp.results(0).duplicate());
  EXPECT_FALSE(resp.results(1).duplicate());
  EXPECT_TRUE(resp.results(2).duplicate());
  EXPECT_EQ(resp.results(2).message_id(), resp.results(0).message_id());
  EXPECT_EQ(StoredMessages(), 2);
}

TEST_F(PublishTest, SameKeysConcurrentlyFromTwoConnectionsStoreOneMessageEach) {
  constexpr int kKeys = 200;
  absl::Mutex mu;
  std::map<std::string, std::vector<std::string>> ids_by_key;
  std::atomic<int> failures{0};
  auto run = [&] {
    auto stub = hubd_->Publisher();  // its own connection
    for (int i = 0; i < kKeys; ++i) {
      const std::string key = absl::StrCat("key-", i);
      v1::PublishResponse resp;
      if (!PublishOne(*stub, "orders", key, key, &resp).ok()) {
        ++failures;
        continue;
      }
      absl::MutexLock lock(&mu);
      ids_by_key[key].push_back(resp.results(0).message_id());
    }
  };
  std::thread a(run), b(run);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(StoredMessages(), kKeys);
  ASSERT_EQ(ids_by_key.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, ids] : ids_by_key) {
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_EQ(ids[0], ids[1]) << key;
  }
}

TEST_F(PublishTest, KeysAreScopedToTheirTopic) {
  ASSERT_TRUE(CreateTopic(*publisher_, "payments").ok());
  v1::PublishResponse a, b;
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "x", "shared", &a).ok());
  ASSERT_TRUE(PublishOne(*publisher_, "payments", "x", "shared", &b).ok());
  EXPECT_FALSE(b.results(0).duplicate());
  EXPECT_EQ(StoredMessages(), 2);
}

TEST_F(PublishTest, KeyOutsideTheDedupWindowIsStoredAgain) {
  grpc::ClientContext ctx;
  v1::Topic topic;
  topic.set_name("short");
  topic.mutable_dedup_window()->set_seconds(1);
  v1::Topic out;
  ASSERT_TRUE(publisher_->CreateTopic(&ctx, topic, &out).ok());
  v1::PublishResponse first, second;
  ASSERT_TRUE(PublishOne(*publisher_, "short", "x", "k", &first).ok());
  absl::SleepFor(absl::Milliseconds(1200));
  ASSERT_TRUE(PublishOne(*publisher_, "short", "x", "k", &second).ok());
  EXPECT_FALSE(second.results(0).duplicate());
  EXPECT_NE(first.results(0).message_id(), second.results(0).message_id());
  EXPECT_EQ(StoredMessages(), 2);
}

// The key lookup of every publish must go through the key index,
// also with a plan made while the table was empty and kept while it grew
// unanalyzed: plans that walked another index, scanned the partition or
// hash-joined every keyed message made each batch of keys cost tens to
// hundreds of milliseconds (docs/design.md, "Publish").
TEST_F(PublishTest, KeyLookupUsesTheKeyIndexOnAnUnanalyzedTable) {
  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  // Costs that make JIT compilation and parallel workers look worthwhile to
  // any plan, as a large analyzed partition made them for the lookup; the
  // function's settings must keep both out.
  for (const char* cheap :
       {"SET jit_above_cost = 0", "SET parallel_setup_cost = 0", "SET parallel_tuple_cost = 0",
        "SET min_parallel_index_scan_size = 0", "SET min_parallel_table_scan_size = 0"}) {
    tx.exec(cheap);
  }
  // hub_publish_stage runs hub_known_keys with the store's settings,
  // prepared, with the keys as one array parameter: explained the same way.
  UseStoreSettings(tx);
  tx.exec(
      "PREPARE known(bigint, text[], bigint) AS "
      "SELECT * FROM hub_known_keys($1, $2, $3, 0, '0'::xid)");
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back(absl::StrCat("\"missing-", i, "\""));
  const std::string topic = QueryValue(url_, "SELECT id FROM topics WHERE name = 'orders'");
  auto explain = [&] {
    return Explain(tx, absl::StrCat("EXECUTE known(", topic, ", ",
                                    tx.quote(absl::StrCat("{", absl::StrJoin(keys, ","), "}")),
                                    ", 86400000)"));
  };
  const std::string on_empty = explain();  // the generic plan is made now
  ASSERT_NO_FATAL_FAILURE(PublishKeyed(20));
  for (const std::string& plan : {on_empty, explain()}) {
    EXPECT_NE(plan.find("idempotency_key_idx"), std::string::npos) << plan;
    EXPECT_NE(plan.find("Index Cond: (idempotency_key = ANY"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("JIT:"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("Gather"), std::string::npos) << plan;
  }
}

// The small SQL functions of a publish must be inlined into the statements
// that call them: one that is not runs as a query of its own, parsed and
// planned again in every transaction (hub_reservations was, three times per
// publish, until migration 0009; docs/benchmarks.md, "Profiles of
// 2026-12-02"). In a generic plan an inlined function shows as its body.
TEST_F(PublishTest, ItsSmallFunctionsAreInlined) {
  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  tx.exec("SET plan_cache_mode = force_generic_plan");
  for (const char* function : {"hub_reservations", "hub_lock_key"}) {
    tx.exec(absl::StrCat("PREPARE ", function, "_call(bigint) AS SELECT ", function, "($1)"));
    const std::string plan = Explain(tx, absl::StrCat("(VERBOSE) EXECUTE ", function, "_call(7)"));
    EXPECT_EQ(plan.find(absl::StrCat(function, "(")), std::string::npos) << plan;
    EXPECT_NE(plan.find("$1"), std::string::npos) << plan;
  }
  // The producer check, as hub_publish_number calls it: planned into the
  // statement, not planned again at each call (migration 0013).
  tx.exec(
      "PREPARE verdict_call(bigint, text, bigint, int) AS SELECT v.verdict FROM topics t "
      "CROSS JOIN LATERAL hub_producer_verdict(t.id, $2, $3, $4, 1000) v WHERE t.id = $1");
  const std::string plan = Explain(tx, "(VERBOSE) EXECUTE verdict_call(1, 'p', 1, 1)");
  EXPECT_EQ(plan.find("hub_producer_verdict"), std::string::npos) << plan;
}

// Every publish leaves a version of its topic's head row that cannot be
// pruned while some transaction holds the xmin horizon back, and each index
// lookup of the row walks all of them. hub_publish must look the row up a
// fixed number of times per topic, not once per message: looked up per
// message, a batch of 200 read about 5,000 more buffers after half a minute
// of a held transaction (docs/benchmarks.md, P5). auto_explain
// reports every scan of the function's statements with its loop count.
TEST_F(PublishTest, HeadRowIsLookedUpPerTopicNotPerMessage) {
  pqxx::connection conn(url_);
  struct Plans : pqxx::errorhandler {
    using pqxx::errorhandler::errorhandler;
    bool operator()(const char msg[]) noexcept override {
      text += msg;
      return true;
    }
    std::string text;
  } plans(conn);
  pqxx::nontransaction tx(conn);
  for (const char* setting :
       {"LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
        "SET auto_explain.log_nested_statements = on", "SET auto_explain.log_analyze = on",
        "SET auto_explain.log_timing = off", "SET auto_explain.log_level = notice",
        // The plans hubd's sessions made on a fresh database in the
        // benchmark joined each message to the head row by nested loop;
        // without other join methods, in the order written, this session
        // plans the same whatever the tables' statistics say.
        "SET enable_hashjoin = off", "SET enable_mergejoin = off", "SET enable_material = off",
        "SET join_collapse_limit = 1"}) {
    tx.exec(setting);
  }
  // The scans of topic_heads in the plans of one call of `count` messages,
  // each counted as often as it looped.
  auto head_lookups = [&](int count) {
    plans.text.clear();
    tx.exec(absl::StrCat("SELECT count(*) FROM hub_publish_number(",
                         StageCall("orders", NumberedMessages(count, "m")), ")"));
    int64_t lookups = 0;
    for (absl::string_view line : absl::StrSplit(plans.text, '\n')) {
      const size_t loops = line.find("loops=");
      if (!absl::StrContains(line, " on topic_heads ") || loops == absl::string_view::npos) {
        continue;
      }
      int64_t n = 0;
      EXPECT_TRUE(absl::SimpleAtoi(line.substr(loops + 6, line.find(')', loops) - loops - 6), &n))
          << line;
      lookups += n;
    }
    return lookups;
  };
  const int64_t one = head_lookups(1);
  const int64_t batch = head_lookups(200);
  EXPECT_GT(one, 0) << plans.text;
  EXPECT_EQ(batch, one) << plans.text;
  EXPECT_EQ(StoredMessages(), 201);
}

// A publish that commits late must still be delivered. The test holds
// publish A inside its transaction (its insert of a message waits on a
// table lock the test holds) while publishes B and C are made and a
// consumer pulls. A cursor over positions from a plain sequence would see B
// and C commit first, move past A and never deliver it. With positions
// allocated under the topic lock, B and C cannot commit before A, and all
// three arrive.
TEST_F(PublishTest, LateCommitIsNotSkipped) {
  ASSERT_TRUE(CreateSubscription(*subscriber_, "billing", "orders").ok());
  pqxx::connection blocker(url_);
  pqxx::work hold(blocker);
  hold.exec("LOCK TABLE segments IN SHARE ROW EXCLUSIVE MODE");

  std::atomic<int> published{0};
  std::thread late([&] {
    if (PublishOne(*hubd_->Publisher(), "orders", "A", "late-key").ok()) ++published;
  });
  // Wait until A's transaction is blocked on the lock, holding its position.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (CountRows("SELECT count(*) FROM pg_locks WHERE NOT granted") == 0) {
    ASSERT_LT(absl::Now(), deadline) << "publish A never reached the lock";
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::thread later([&] {
    auto stub = hubd_->Publisher();
    if (PublishOne(*stub, "orders", "B", "").ok()) ++published;
    if (PublishOne(*stub, "orders", "C", "").ok()) ++published;
  });

  absl::Mutex mu;
  std::vector<std::string> received;
  StreamConsumer consumer([this] { return hubd_->Channel(); }, "billing",
                          [&](const v1::ReceivedMessage& m) {
                            absl::MutexLock lock(&mu);
                            received.push_back(m.message().data());
                            return StreamConsumer::Reply::kAck;
                          });
  absl::SleepFor(absl::Seconds(1));
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(received.empty()) << "a later publish committed before A";
  }
  hold.abort();  // releases the lock: A, then B and C commit

  const absl::Time drain = absl::Now() + absl::Seconds(10);
  for (;;) {
    {
      absl::MutexLock lock(&mu);
      if (received.size() >= 3 || absl::Now() > drain) break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  late.join();
  later.join();
  consumer.Stop();
  EXPECT_EQ(published.load(), 3);
  absl::MutexLock lock(&mu);
  std::multiset<std::string> got(received.begin(), received.end());
  EXPECT_EQ(got, (std::multiset<std::string>{"A", "B", "C"}));
}

}  // namespace
}  // namespace hub::testing
