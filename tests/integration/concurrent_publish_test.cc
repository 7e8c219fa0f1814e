// Several publish transactions per topic at once (docs/design.md,
// "Positions"): a publisher paused between its writes and its numbering, a
// randomized checker of overlapping publishes, aborts and claims, and the
// checker's mutation check (given positions straight from the reservation
// sequence, it must fail).
#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "hub/pg/pg_values.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

using pg::IntArray;
using pg::TextArray;

struct Outgoing {
  std::string data;
  std::string ordering_key;
  std::string idempotency_key;
};

struct Stored {
  int64_t position;
  bool duplicate;
};

// hub_publish's first part on `tx`: the stage value, as text, for Number.
std::string Stage(pqxx::transaction_base& tx, const std::string& topic,
                  const std::vector<Outgoing>& messages) {
  std::vector<std::string> topics, ordering_keys, idempotency_keys;
  std::vector<int32_t> offsets, lengths;
  std::vector<std::optional<std::string>> attributes;
  std::string blob;
  for (const Outgoing& m : messages) {
    topics.push_back(topic);
    offsets.push_back(static_cast<int32_t>(blob.size()) + 1);
    lengths.push_back(static_cast<int32_t>(m.data.size()));
    blob += m.data;
    attributes.push_back(std::nullopt);
    ordering_keys.push_back(m.ordering_key);
    idempotency_keys.push_back(m.idempotency_key);
  }
  return tx
      .exec_params1(
          "SELECT hub_publish_stage($1::text[], convert_to($2, 'UTF8'), $3::int[], $4::int[], "
          "$5::jsonb[], $6::text[], $7::text[])::text",
          TextArray(topics), blob, IntArray(offsets), IntArray(lengths), TextArray(attributes),
          TextArray(ordering_keys), TextArray(idempotency_keys))[0]
      .as<std::string>();
}

// The second part: each message's position and whether it was a duplicate,
// in request order.
std::vector<Stored> Number(pqxx::transaction_base& tx, const std::string& stage, size_t count) {
  std::vector<Stored> out(count, Stored{0, false});
  for (const auto& row : tx.exec_params(
           "SELECT ord, position, duplicate FROM hub_publish_number($1::hub_publish_stage)",
           stage)) {
    out[row[0].as<size_t>() - 1] = Stored{row[1].as<int64_t>(), row[2].as<bool>()};
  }
  return out;
}

class ConcurrentPublishTest : public HubTest {
 protected:
  // hubd's own publishes of a topic overlap too.
  std::vector<std::string> ExtraFlags() override { return {"--publish_transactions_per_topic=2"}; }

  void SetUp() override {
    HubTest::SetUp();
    ASSERT_TRUE(CreateTopic(*publisher_, "orders").ok());
  }

  void CreateSub(const std::string& name, bool ordered) {
    v1::Subscription sub;
    sub.set_name(name);
    sub.set_topic("orders");
    sub.set_ack_deadline_seconds(60);
    sub.set_enable_message_ordering(ordered);
    grpc::ClientContext ctx;
    v1::Subscription out;
    ASSERT_TRUE(subscriber_->CreateSubscription(&ctx, sub, &out).ok());
  }

  // Pulls and acks until `count` messages came or `within` passed; their ids
  // in the order received.
  std::vector<std::string> PullIds(const std::string& sub, size_t count,
                                   absl::Duration within = absl::Seconds(10)) {
    std::vector<std::string> ids;
    const absl::Time deadline = absl::Now() + within;
    while (ids.size() < count && absl::Now() < deadline) {
      v1::PullResponse resp;
      if (!Pull(*subscriber_, sub, 100, absl::Milliseconds(500), &resp).ok()) continue;
      std::vector<std::string> acks;
      for (const auto& m : resp.received_messages()) {
        ids.push_back(m.message().message_id());
        acks.push_back(m.ack_id());
      }
      if (!acks.empty()) {
        EXPECT_TRUE(Ack(*subscriber_, sub, acks).ok());
      }
    }
    return ids;
  }

  // Whether some backend waits on an advisory lock: a publish that wrote its
  // rows and waits for the transaction reserved before it.
  bool APublishWaits() {
    return CountRows("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'") > 0;
  }

  // A publish through hubd of `data`, on a thread; its message ids once done.
  std::thread PublishInBackground(std::vector<std::string> data, std::vector<std::string>* ids,
                                  std::atomic<bool>* done) {
    return std::thread([this, data = std::move(data), ids, done] {
      v1::PublishRequest req;
      req.set_topic("orders");
      for (const std::string& d : data) req.add_messages()->set_data(d);
      v1::PublishResponse resp;
      grpc::ClientContext ctx;
      auto stub = hubd_->Publisher();
      EXPECT_TRUE(stub->Publish(&ctx, req, &resp).ok());
      for (const auto& r : resp.results()) ids->push_back(r.message_id());
      *done = true;
    });
  }

  void AwaitWaitingPublish() {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!APublishWaits()) {
      ASSERT_LT(absl::Now(), deadline) << "the later publish never waited for the paused one";
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
};

// A publisher pauses after writing positions 1..3; a later publish through
// hubd writes 4..6 and waits for it; a claim meanwhile gets nothing (the
// cursor does not move past the paused rows); once the first commits, both
// subscriptions receive 1..6 once each, in order.
TEST_F(ConcurrentPublishTest, APausedPublishHoldsBackLaterOnesAndNothingIsSkipped) {
  CreateSub("plain", false);
  CreateSub("ordered", true);
  pqxx::connection conn(url_);
  pqxx::work paused(conn);
  const std::string stage =
      Stage(paused, "orders", {{"A1", "", ""}, {"A2", "", ""}, {"A3", "", ""}});

  std::vector<std::string> later_ids;
  std::atomic<bool> later_done{false};
  std::thread later = PublishInBackground({"B1", "B2", "B3"}, &later_ids, &later_done);
  ASSERT_NO_FATAL_FAILURE(AwaitWaitingPublish());

  EXPECT_TRUE(PullIds("plain", 1, absl::Seconds(1)).empty())
      << "a claim saw a message while 1..3 were unnumbered";
  EXPECT_FALSE(later_done.load()) << "the later publish committed before the earlier one";
  const std::vector<Stored> first = Number(paused, stage, 3);
  paused.commit();
  later.join();

  EXPECT_EQ(first[0].position, 1);
  EXPECT_EQ(first[2].position, 3);
  EXPECT_EQ(later_ids, (std::vector<std::string>{"4", "5", "6"}));
  const std::vector<std::string> all = {"1", "2", "3", "4", "5", "6"};
  EXPECT_EQ(PullIds("plain", 6), all);
  EXPECT_EQ(PullIds("ordered", 6), all);
}

// The same pause ending in an abort: the later publish is numbered into the
// positions the aborted one had reserved, so no gap is left, and the next
// publish's reservation guesses right again.
TEST_F(ConcurrentPublishTest, APublishAfterAnAbortedOneTakesItsPositions) {
  CreateSub("plain", false);
  {
    pqxx::connection conn(url_);
    pqxx::work paused(conn);
    Stage(paused, "orders", {{"A1", "", ""}, {"A2", "", ""}, {"A3", "", ""}});
    std::vector<std::string> later_ids;
    std::atomic<bool> later_done{false};
    std::thread later = PublishInBackground({"B1", "B2"}, &later_ids, &later_done);
    ASSERT_NO_FATAL_FAILURE(AwaitWaitingPublish());
    EXPECT_TRUE(PullIds("plain", 1, absl::Seconds(1)).empty());
    paused.abort();
    later.join();
    EXPECT_EQ(later_ids, (std::vector<std::string>{"1", "2"}));
  }
  v1::PublishResponse next;
  ASSERT_TRUE(PublishOne(*publisher_, "orders", "C", "", &next).ok());
  EXPECT_EQ(next.results(0).message_id(), "3");
  EXPECT_EQ(CountRows("SELECT last_value FROM hub_reservations_1"), 3);
  EXPECT_EQ(PullIds("plain", 3), (std::vector<std::string>{"1", "2", "3"}));
}

// What the randomized checker found wrong, one line each; empty when the
// run kept every promise.
class Checker {
 public:
  Checker(const std::string& url, HubProcess& hubd) : url_(url), hubd_(hubd) {}

  std::vector<std::string> Run() {
    Consume("plain");
    Consume("ordered");
    pqxx::connection holder(url_);
    pqxx::work held(holder);  // holds the xmin horizon through the run
    held.exec("SELECT count(*) FROM messages");

    std::vector<std::thread> publishers;
    for (int p = 0; p < kSqlPublishers; ++p) publishers.emplace_back([this, p] { PublishSql(p); });
    for (int p = 0; p < kHubPublishers; ++p) publishers.emplace_back([this, p] { PublishHub(p); });
    for (std::thread& t : publishers) t.join();
    held.abort();
    Drain();
    for (auto& c : consumers_) c->Stop();
    return Check();
  }

 private:
  static constexpr int kSqlPublishers = 5;
  static constexpr int kHubPublishers = 2;
  static constexpr int kTransactions = 40;

  struct Sent {
    std::string ordering_key;
    int seq;  // order within its ordering key
    std::string idempotency_key;
    Stored stored;
  };

  void Consume(const std::string& sub) {
    for (int i = 0; i < 2; ++i) {
      consumers_.push_back(
          std::make_unique<StreamConsumer>([this] { return hubd_.Channel(); }, sub,
                                           [this, sub](const v1::ReceivedMessage& m) {
                                             absl::MutexLock lock(&mu_);
                                             received_[sub].push_back(m.message().data());
                                             return StreamConsumer::Reply::kAck;
                                           }));
    }
  }

  // Random steps of hub_publish's two parts in a transaction of its own,
  // sleeps between them, and one transaction in ten rolled back. Messages
  // of this publisher's ordering keys go in order; a third carry keys
  // shared by all publishers, so concurrent transactions race on them.
  void PublishSql(int p) {
    std::mt19937 rng(static_cast<uint32_t>(p) * 7919u + 1u);
    auto sleep_ms = [&](int most) {
      absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(0, most)(rng)));
    };
    pqxx::connection conn(url_);
    std::map<std::string, int> next_seq;
    for (int n = 0; n < kTransactions; ++n) {
      std::vector<Outgoing> batch;
      std::vector<Sent> sent;
      std::set<std::string> keys;
      const int size = std::uniform_int_distribution<int>(1, 20)(rng);
      for (int i = 0; i < size; ++i) {
        Outgoing m{absl::StrCat("s", p, "-", n, "-", i), "", absl::StrCat("u", p, "-", n, "-", i)};
        Sent s{"", 0, "", {}};
        const int kind = std::uniform_int_distribution<int>(0, 2)(rng);
        if (kind == 0) {
          m.ordering_key = absl::StrCat("k", p, "-", i % 3);
          s.ordering_key = m.ordering_key;
        } else if (kind == 1) {
          m.idempotency_key =
              absl::StrCat("shared", std::uniform_int_distribution<int>(0, 60)(rng));
          if (!keys.insert(m.idempotency_key).second) m.idempotency_key = "";
        }
        s.idempotency_key = m.idempotency_key;
        batch.push_back(m);
        sent.push_back(s);
      }
      try {
        pqxx::work tx(conn);
        sleep_ms(3);
        const std::string stage = Stage(tx, "orders", batch);
        sleep_ms(8);
        const std::vector<Stored> stored = Number(tx, stage, batch.size());
        // Whether the rows were numbered other than reserved (the path
        // after an abort, or a reservation that was overtaken).
        const auto first = tx.exec_params1("SELECT ($1::hub_publish_stage).firsts[1]", stage)[0];
        int64_t lowest = 0;
        for (const Stored& st : stored) {
          if (!st.duplicate && (lowest == 0 || st.position < lowest)) lowest = st.position;
        }
        const bool renumbered = !first.is_null() && lowest != 0 && lowest != first.as<int64_t>();
        sleep_ms(8);
        if (std::uniform_int_distribution<int>(0, 9)(rng) == 0) {
          tx.abort();
          continue;
        }
        tx.commit();
        absl::MutexLock lock(&mu_);
        renumbered_ += renumbered ? 1 : 0;
        for (size_t i = 0; i < batch.size(); ++i) {
          sent[i].stored = stored[i];
          if (!sent[i].ordering_key.empty()) sent[i].seq = next_seq[sent[i].ordering_key]++;
          sent_[batch[i].data] = sent[i];
        }
      } catch (const std::exception& e) {
        absl::MutexLock lock(&mu_);
        errors_.push_back(absl::StrCat("publisher ", p, ": ", e.what()));
      }
    }
  }

  // Publishes through hubd: its group commit, several transactions per
  // topic, keys both unique and shared.
  void PublishHub(int p) {
    auto stub = hubd_.Publisher();
    std::mt19937 rng(static_cast<uint32_t>(p) * 104729u + 7u);
    for (int n = 0; n < kTransactions; ++n) {
      v1::PublishRequest req;
      req.set_topic("orders");
      std::set<std::string> keys;
      for (int i = 0; i < 10; ++i) {
        auto* m = req.add_messages();
        m->set_data(absl::StrCat("h", p, "-", n, "-", i));
        std::string key = absl::StrCat("shared", std::uniform_int_distribution<int>(0, 60)(rng));
        if (i % 2 == 0 || !keys.insert(key).second) key = absl::StrCat("hu", p, "-", n, "-", i);
        m->set_idempotency_key(key);
      }
      v1::PublishResponse resp;
      grpc::ClientContext ctx;
      const grpc::Status status = stub->Publish(&ctx, req, &resp);
      absl::MutexLock lock(&mu_);
      if (!status.ok()) {
        errors_.push_back(absl::StrCat("hub publisher ", p, ": ", status.error_message()));
        continue;
      }
      for (int i = 0; i < req.messages_size(); ++i) {
        sent_[req.messages(i).data()] =
            Sent{"", 0, req.messages(i).idempotency_key(),
                 Stored{std::stoll(resp.results(i).message_id()), resp.results(i).duplicate()}};
      }
    }
  }

  size_t StoredCount() {
    absl::MutexLock lock(&mu_);
    size_t n = 0;
    for (const auto& [data, s] : sent_) n += s.stored.duplicate ? 0 : 1;
    return n;
  }

  // Until both subscriptions received as many messages as were stored, or
  // nothing new came for 5 s.
  void Drain() {
    const size_t expected = StoredCount();
    size_t last = 0;
    absl::Time progress = absl::Now();
    while (absl::Now() - progress < absl::Seconds(5)) {
      size_t got;
      {
        absl::MutexLock lock(&mu_);
        got = std::min(received_["plain"].size(), received_["ordered"].size());
      }
      if (got >= expected) return;
      if (got != last) {
        last = got;
        progress = absl::Now();
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  std::vector<std::string> Check() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> bad = errors_;
    pqxx::connection conn(url_);
    pqxx::work tx(conn);
    // No gap: the stored positions are exactly 1..head-1.
    const auto span = tx.exec1(
        "SELECT count(*), coalesce(min(position), 1), coalesce(max(position), 0), "
        "(SELECT next_position FROM topic_heads) FROM messages");
    const int64_t count = span[0].as<int64_t>(), low = span[1].as<int64_t>(),
                  high = span[2].as<int64_t>(), head = span[3].as<int64_t>();
    if (low != 1 || high != count || head != high + 1) {
      bad.push_back(
          absl::StrCat("positions: ", count, " rows from ", low, " to ", high, ", head ", head));
    }
    const int64_t repeated =
        tx.exec1(
              "SELECT count(*) FROM (SELECT idempotency_key FROM messages "
              "WHERE idempotency_key <> '' GROUP BY 1 HAVING count(*) > 1) d")[0]
            .as<int64_t>();
    if (repeated > 0) bad.push_back(absl::StrCat(repeated, " idempotency keys stored twice"));

    std::map<int64_t, std::pair<std::string, std::string>> rows;  // position -> data, key
    for (const auto& row :
         tx.exec("SELECT position, convert_from(data, 'UTF8'), idempotency_key FROM messages")) {
      rows[row[0].as<int64_t>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
    }
    size_t stored = 0;
    for (const auto& [data, s] : sent_) {
      auto it = rows.find(s.stored.position);
      if (s.stored.duplicate) {
        if (it == rows.end() || it->second.second != s.idempotency_key) {
          bad.push_back(absl::StrCat(data, ": duplicate of position ", s.stored.position,
                                     ", which does not hold its key"));
        }
        continue;
      }
      ++stored;
      if (it == rows.end() || it->second.first != data) {
        bad.push_back(absl::StrCat(data, ": answered position ", s.stored.position,
                                   ", which holds ",
                                   it == rows.end() ? "nothing" : it->second.first));
      }
    }
    if (stored != rows.size()) {
      bad.push_back(absl::StrCat(rows.size(), " rows stored, ", stored, " publishes committed"));
    }

    // Every stored message delivered once to each subscription; on the
    // ordered one, each key's messages in publish order.
    for (const std::string sub : {"plain", "ordered"}) {
      std::map<std::string, int> times;
      std::map<std::string, int> last_seq;
      for (const std::string& data : received_[sub]) {
        ++times[data];
        auto it = sent_.find(data);
        if (sub == "ordered" && it != sent_.end() && !it->second.ordering_key.empty()) {
          auto [last, first] = last_seq.try_emplace(it->second.ordering_key, -1);
          if (it->second.seq <= last->second) {
            bad.push_back(absl::StrCat(sub, ": ", data, " (", it->second.ordering_key, " #",
                                       it->second.seq, ") after #", last->second));
          }
          last->second = std::max(last->second, it->second.seq);
        }
      }
      size_t missing = 0, twice = 0;
      for (const auto& [position, row] : rows) {
        const int n = times[row.first];
        missing += n == 0 ? 1 : 0;
        twice += n > 1 ? 1 : 0;
      }
      if (missing > 0)
        bad.push_back(absl::StrCat(sub, ": ", missing, " stored messages never delivered"));
      if (twice > 0) bad.push_back(absl::StrCat(sub, ": ", twice, " messages delivered twice"));
    }
    size_t duplicates = 0;
    for (const auto& [data, s] : sent_) duplicates += s.stored.duplicate ? 1 : 0;
    std::printf(
        "[ figures ] checker: %zu messages stored at %lld positions, %zu answered duplicate, "
        "%d transactions renumbered, %zu and %zu deliveries\n",
        stored, static_cast<long long>(high), duplicates, renumbered_, received_["plain"].size(),
        received_["ordered"].size());
    return bad;
  }

  const std::string url_;
  HubProcess& hubd_;
  std::vector<std::unique_ptr<StreamConsumer>> consumers_;
  absl::Mutex mu_;
  std::map<std::string, Sent> sent_ ABSL_GUARDED_BY(mu_);  // by data, committed only
  std::map<std::string, std::vector<std::string>> received_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> errors_ ABSL_GUARDED_BY(mu_);
  int renumbered_ ABSL_GUARDED_BY(mu_) = 0;

 public:
  // Committed transactions whose rows were renumbered under the lock.
  int renumbered() {
    absl::MutexLock lock(&mu_);
    return renumbered_;
  }
};

TEST_F(ConcurrentPublishTest, RandomizedCheckerFindsNoGapDuplicateOrReorder) {
  CreateSub("plain", false);
  CreateSub("ordered", true);
  Checker checker(url_, *hubd_);
  const std::vector<std::string> bad = checker.Run();
  EXPECT_TRUE(bad.empty()) << absl::StrJoin(bad, "\n");
  // The aborts made later transactions take their positions: the path that
  // renumbers under the lock ran, and the checker saw its results.
  EXPECT_GT(checker.renumbered(), 0);
}

// The mutation check: hub_publish_number replaced by one that keeps the
// reserved positions (numbers from a plain sequence: no wait for the
// transaction before, no numbering under the head lock, which it only moves
// forward). The checker must catch it.
TEST_F(ConcurrentPublishTest, CheckerFailsWhenPositionsComeFromAPlainSequence) {
  CreateSub("plain", false);
  CreateSub("ordered", true);
  QueryValue(url_, R"sql(
CREATE OR REPLACE FUNCTION hub_publish_number(s hub_publish_stage)
RETURNS TABLE (ord bigint, topic_id bigint, "position" bigint, duplicate boolean)
LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE topic_heads h SET next_position = greatest(h.next_position, x.first + x.count)
  FROM unnest(s.tids, s.firsts, s.counts) AS x (tid, first, count) WHERE h.topic_id = x.tid;
  RETURN QUERY
  SELECT r.ord, r.tid, r.pos, false
  FROM unnest(s.row_ords, s.row_tids, s.row_positions) AS r (ord, tid, pos)
  UNION ALL
  SELECT k.ord, k.tid, k.pos, true
  FROM unnest(s.known_ords, s.known_tids, s.known_positions) AS k (ord, tid, pos);
END
$fn$;
SELECT 1)sql");
  const std::vector<std::string> bad = Checker(url_, *hubd_).Run();
  std::printf(
      "[ figures ] mutant: %zu violations found\n%s\n", bad.size(),
      absl::StrJoin(bad.begin(), bad.begin() + std::min<size_t>(bad.size(), 8), "\n").c_str());
  EXPECT_FALSE(bad.empty()) << "the checker passed positions from a plain sequence";
}

}  // namespace
}  // namespace hub::testing
