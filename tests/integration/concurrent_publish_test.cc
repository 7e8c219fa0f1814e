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
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/support/hub_test.h"
#include "tests/support/publish_sql.h"

namespace hub::testing {
namespace {

struct Outgoing {
  std::string data;
  std::string ordering_key;
  std::string idempotency_key;
};

struct Stored {
  int64_t position;
  bool duplicate;
};

// What hub_publish_number answered: the first position of each segment
// stored, or, when the stage found keys or the batch committed before (and
// stored nothing), each key's original position by its ordinal among the
// keyed messages, and the batch's verdict and original first position.
struct Numbered {
  std::map<int, int64_t> segments;
  std::map<int, int64_t> keys;
  std::string batch_verdict;
  int64_t batch_original = 0;
};

// hub_publish's first part on `tx`: the stage value, as text, for Number.
std::string Stage(pqxx::transaction_base& tx, const std::string& topic,
                  const std::vector<Outgoing>& messages, const std::string& producer = "",
                  int64_t first_sequence = 0, int batch_count = 0) {
  std::vector<Message> out;
  for (const Outgoing& m : messages) {
    Message message;
    message.data = m.data;
    message.ordering_key = m.ordering_key;
    message.idempotency_key = m.idempotency_key;
    out.push_back(std::move(message));
  }
  return tx
      .exec1(absl::StrCat("SELECT ", StageCall(topic, out, producer, first_sequence, batch_count),
                          "::text"))[0]
      .as<std::string>();
}

// The second part.
Numbered Number(pqxx::transaction_base& tx, const std::string& stage) {
  Numbered n;
  for (const auto& row : tx.exec_params(
           "SELECT kind, ordinal, position, verdict FROM hub_publish_number($1::hub_publish_stage)",
           stage)) {
    const std::string kind = row[0].as<std::string>();
    if (kind == "s") n.segments[row[1].as<int>()] = row[2].as<int64_t>();
    if (kind == "k") n.keys[row[1].as<int>()] = row[2].as<int64_t>();
    if (kind == "p") {
      n.batch_verdict = row[3].as<std::string>();
      n.batch_original = row[2].is_null() ? 0 : row[2].as<int64_t>();
    }
  }
  return n;
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
  const Numbered first = Number(paused, stage);
  paused.commit();
  later.join();

  EXPECT_EQ(first.segments, (std::map<int, int64_t>{{1, 1}}));
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
    held.exec("SELECT count(*) FROM segments");

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
  // sleeps between them, and one transaction in ten rolled back and sent
  // again; the publisher is a producer whose every batch takes the next
  // sequence numbers, and one committed batch in five is sent again too (a
  // retry whose first reply was lost). Messages of this publisher's
  // ordering keys go in order; a third carry keys shared by all
  // publishers, so concurrent transactions race on them.
  void PublishSql(int p) {
    std::mt19937 rng(static_cast<uint32_t>(p) * 7919u + 1u);
    auto sleep_ms = [&](int most) {
      absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(0, most)(rng)));
    };
    auto chance = [&](int in) { return std::uniform_int_distribution<int>(0, in - 1)(rng) == 0; };
    pqxx::connection conn(url_);
    const std::string producer = absl::StrCat("sql-", p);
    int64_t sequence = 0;
    std::map<std::string, int> next_seq;
    for (int n = 0; n < kTransactions; ++n) {
      std::vector<Outgoing> batch;
      std::vector<Sent> sent;
      std::set<std::string> keys;
      const int size = std::uniform_int_distribution<int>(1, 20)(rng);
      for (int i = 0; i < size; ++i) {
        Outgoing m{absl::StrCat("s", p, "-", n, "-", i), "", ""};
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
      const int64_t first_sequence = sequence;
      sequence += size;
      std::optional<std::vector<Stored>> committed;
      for (int attempt = 0; attempt < 20; ++attempt) {
        std::optional<std::vector<Stored>> stored;
        bool renumbered = false;
        try {
          stored = Publish(conn, batch, producer, first_sequence, committed, renumbered, sleep_ms,
                           chance);
        } catch (const std::exception& e) {
          absl::MutexLock lock(&mu_);
          errors_.push_back(absl::StrCat("publisher ", p, ": ", e.what()));
          break;
        }
        if (!stored) continue;  // rolled back: sent again
        absl::MutexLock lock(&mu_);
        renumbered_ += renumbered ? 1 : 0;
        if (committed) {
          // The retry of a committed batch: every message a duplicate, at
          // the position its first attempt was answered.
          ++retried_;
          for (size_t i = 0; i < batch.size(); ++i) {
            if (!(*stored)[i].duplicate || (*stored)[i].position != (*committed)[i].position) {
              errors_.push_back(absl::StrCat(batch[i].data, ": the retry answered ",
                                             (*stored)[i].position, " for ",
                                             (*committed)[i].position));
            }
          }
          break;
        }
        committed = stored;
        for (size_t i = 0; i < batch.size(); ++i) {
          sent[i].stored = (*stored)[i];
          if (!sent[i].ordering_key.empty()) sent[i].seq = next_seq[sent[i].ordering_key]++;
          sent_[batch[i].data] = sent[i];
        }
        if (!chance(5)) break;
      }
    }
  }

  // One attempt of `batch`, as hubd's store makes it: the two parts in a
  // transaction, with sleeps between the steps; when they found keys or the
  // batch committed before (and stored nothing), that transaction commits
  // and another stores the rest. The transaction that stores is rolled
  // back one time in ten, and so is one that conflicts (as the store
  // retries it): nullopt then. Each message's answer otherwise.
  // `committed` is what the batch's first attempt was answered, if it
  // committed.
  template <typename Sleep, typename Chance>
  std::optional<std::vector<Stored>> Publish(pqxx::connection& conn,
                                             const std::vector<Outgoing>& batch,
                                             const std::string& producer, int64_t first_sequence,
                                             const std::optional<std::vector<Stored>>& committed,
                                             bool& renumbered, Sleep sleep_ms, Chance chance) {
    std::vector<Stored> out(batch.size(), Stored{0, false});
    std::vector<size_t> left(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) left[i] = i;
    while (!left.empty()) {
      std::vector<Outgoing> rest;
      for (size_t i : left) rest.push_back(batch[i]);
      Numbered n;
      try {
        pqxx::work tx(conn);
        sleep_ms(3);
        // The batch is always the whole batch, from its first message left.
        const std::string stage =
            Stage(tx, "orders", rest, producer, first_sequence, static_cast<int>(batch.size()));
        sleep_ms(8);
        n = Number(tx, stage);
        if (!n.segments.empty()) {
          const auto first = tx.exec_params1("SELECT ($1::hub_publish_stage).firsts[1]", stage)[0];
          renumbered = !first.is_null() && first.as<int64_t>() != n.segments.begin()->second;
          sleep_ms(8);
          if (chance(10)) {
            tx.abort();
            return std::nullopt;
          }
          tx.commit();
          for (size_t k = 0; k < left.size(); ++k) {
            out[left[k]] = Stored{n.segments.at(1) + static_cast<int64_t>(k), false};
          }
          return out;
        }
        tx.commit();
      } catch (const pqxx::transaction_rollback&) {
        return std::nullopt;
      }
      if (!n.batch_verdict.empty()) {
        if (n.batch_verdict != "duplicate" || !committed) {
          throw std::runtime_error(absl::StrCat("batch ", producer, "/", first_sequence, ": ",
                                                n.batch_verdict,
                                                committed ? "" : " before it committed"));
        }
        // Its first stored message is where the batch was found.
        for (const Stored& s : *committed) {
          if (s.duplicate) continue;
          if (s.position != n.batch_original) {
            throw std::runtime_error(absl::StrCat("batch ", producer, "/", first_sequence,
                                                  " found at ", n.batch_original, ", stored from ",
                                                  s.position));
          }
          break;
        }
        for (size_t i = 0; i < batch.size(); ++i) out[i] = Stored{(*committed)[i].position, true};
        return out;
      }
      // Keys found: those messages are duplicates; the rest go again.
      std::vector<size_t> next;
      int ordinal = 0;
      for (size_t i : left) {
        if (!batch[i].idempotency_key.empty()) {
          auto it = n.keys.find(++ordinal);
          if (it != n.keys.end()) {
            out[i] = Stored{it->second, true};
            continue;
          }
        }
        next.push_back(i);
      }
      if (next.size() == left.size())
        throw std::runtime_error("a stage found nothing, stored nothing");
      left = std::move(next);
    }
    return out;
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
        "(SELECT next_position FROM topic_heads) FROM hub_messages");
    const int64_t count = span[0].as<int64_t>(), low = span[1].as<int64_t>(),
                  high = span[2].as<int64_t>(), head = span[3].as<int64_t>();
    if (low != 1 || high != count || head != high + 1) {
      bad.push_back(
          absl::StrCat("positions: ", count, " rows from ", low, " to ", high, ", head ", head));
    }
    const int64_t repeated =
        tx.exec1(
              "SELECT count(*) FROM (SELECT idempotency_key FROM hub_messages "
              "WHERE idempotency_key <> '' GROUP BY 1 HAVING count(*) > 1) d")[0]
            .as<int64_t>();
    if (repeated > 0) bad.push_back(absl::StrCat(repeated, " idempotency keys stored twice"));

    std::map<int64_t, std::pair<std::string, std::string>> rows;  // position -> data, key
    for (const auto& row : tx.exec(
             "SELECT position, convert_from(data, 'UTF8'), idempotency_key FROM hub_messages")) {
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
        "%d transactions renumbered, %d committed batches sent again, %zu and %zu deliveries\n",
        stored, static_cast<long long>(high), duplicates, renumbered_, retried_,
        received_["plain"].size(), received_["ordered"].size());
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
  int retried_ ABSL_GUARDED_BY(mu_) = 0;

 public:
  // Committed transactions whose rows were renumbered under the lock.
  int renumbered() {
    absl::MutexLock lock(&mu_);
    return renumbered_;
  }
  // Committed batches that were sent again and answered.
  int retried() {
    absl::MutexLock lock(&mu_);
    return retried_;
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
  EXPECT_GT(checker.retried(), 0);
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
RETURNS TABLE (kind text, ordinal int, topic_id bigint, "position" bigint, verdict text)
LANGUAGE plpgsql AS $fn$
BEGIN
  IF s.found_kinds IS NOT NULL THEN
    RETURN QUERY SELECT * FROM unnest(s.found_kinds, s.found_ordinals, s.found_tids,
                                      s.found_positions, s.found_verdicts);
    RETURN;
  END IF;
  UPDATE topic_heads h SET next_position = greatest(h.next_position, x.first + x.count)
  FROM unnest(s.tids, s.firsts, s.counts) AS x (tid, first, count) WHERE h.topic_id = x.tid;
  RETURN QUERY
  SELECT 's'::text, g::int, t.tid, t.first + s.segment_offsets[g], NULL::text
  FROM generate_subscripts(s.segment_tids, 1) AS g
  JOIN unnest(s.tids, s.firsts) AS t (tid, first) ON t.tid = s.segment_tids[g]
  WHERE t.first IS NOT NULL;
END
$fn$;
SELECT 1)sql");
  const std::vector<std::string> bad = Checker(url_, *hubd_).Run();
  std::printf(
      "[ figures ] mutant: %zu violations found\n%s\n", bad.size(),
      absl::StrJoin(bad.begin(), bad.begin() + std::min<size_t>(bad.size(), 8), "\n").c_str());
  EXPECT_FALSE(bad.empty()) << "the checker passed positions from a plain sequence";
}

// The second mutation check: the producer check looking below the batch's
// first sequence number instead of below its end, so that it finds the
// batch before and never the batch itself. A batch sent again after its
// commit is then stored again, and the checker must say so.
TEST_F(ConcurrentPublishTest, CheckerFailsWhenTheProducerCheckComparesTheWrongRange) {
  CreateSub("plain", false);
  CreateSub("ordered", true);
  const std::string definition =
      QueryValue(url_, "SELECT pg_get_functiondef('hub_producer_verdict'::regproc)");
  const std::string mutant = absl::StrReplaceAll(
      definition, {{"x.first_sequence < p_sequence + p_count", "x.first_sequence < p_sequence"}});
  ASSERT_NE(mutant, definition);
  QueryValue(url_, mutant);
  const std::vector<std::string> bad = Checker(url_, *hubd_).Run();
  std::printf(
      "[ figures ] producer mutant: %zu violations found\n%s\n", bad.size(),
      absl::StrJoin(bad.begin(), bad.begin() + std::min<size_t>(bad.size(), 8), "\n").c_str());
  EXPECT_FALSE(bad.empty()) << "the checker passed a producer check of the wrong range";
}

}  // namespace
}  // namespace hub::testing
