#include "hub/pg/pg_store.h"

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>
#include <pqxx/binarystring>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/notification>
#include <pqxx/transaction>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "hub/pg/migrations.h"
#include "hub/pg/pg_errors.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/sql.h"
#include "hub/status_macros.h"

namespace hub::pg {
namespace {

constexpr int kConflictRetries = 3;
constexpr int64_t kPartitionLockKey = 0x6875625f707274;  // "hub_prt"
constexpr int64_t kRetentionLockKey = 0x6875625f726574;  // "hub_ret"
constexpr char kPartitionNameFormat[] = "messages_p%Y%m%d";

}  // namespace

void PrepareSession(pqxx::connection& conn) {
  const std::pair<const char*, const char*> statements[] = {
      {"create_topic", sql::kCreateTopic},
      {"get_topic", sql::kGetTopic},
      {"list_topics", sql::kListTopics},
      {"delete_topic", sql::kDeleteTopic},
      {"update_topic", sql::kUpdateTopic},
      {"topic_exists", sql::kTopicExists},
      {"create_subscription", sql::kCreateSubscription},
      {"get_subscription", sql::kGetSubscription},
      {"list_subscriptions", sql::kListSubscriptions},
      {"delete_subscription", sql::kDeleteSubscription},
      {"update_subscription", sql::kUpdateSubscription},
      {"subscription_exists", sql::kSubscriptionExists},
      {"publish", sql::kPublish},
      {"has_available_leases", sql::kHasAvailableLeases},
      {"lock_available_leases", sql::kLockAvailableLeases},
      {"lock_leases", sql::kLockLeases},
      {"rewrite_lease", sql::kRewriteLease},
      {"insert_lease", sql::kInsertLease},
      {"set_pending", sql::kSetPending},
      {"append_pending", sql::kAppendPending},
      {"delete_leases", sql::kDeleteLeases},
      {"lock_keyed_leases", sql::kLockKeyedLeases},
      {"fetch_messages", sql::kFetchMessages},
      {"lock_cursor", sql::kLockCursor},
      {"set_cursor", sql::kSetCursor},
      {"scan_messages", sql::kScanMessages},
      {"claim_new", sql::kClaimNew},
      {"acknowledge", sql::kAcknowledge},
      {"extend_leases", sql::kExtendLeases},
      {"first_position_since", sql::kFirstPositionSince},
      {"delete_all_leases", sql::kDeleteAllLeases},
      {"topic_retentions", sql::kTopicRetentions},
      {"skip_expired", sql::kSkipExpired},
      {"leases_with_expired", sql::kLeasesWithExpired},
      {"subscription_stats", sql::kSubscriptionStats},
  };
  for (const auto& [name, text] : statements) conn.prepare(name, text);
  // The store's statements look a few rows up by key, and these settings
  // keep plans made on tables' misleading statistics from doing otherwise
  // (docs/design.md, "Plans"; every connection prepares when a fresh hub
  // starts, on empty tables):
  // - no sequential scans: on an empty `leases` the plans read the whole
  //   table on each ack and each look for due leases;
  // - no bitmap scans: on a never analyzed `leases` acks and extensions
  //   took every row of the subscription (an index on subscription_id
  //   alone), dead versions included, where the primary key names each row;
  // - no JIT and no parallel workers: after an ANALYZE of 2,000,000
  //   messages the key lookup took 6.9 ms per batch instead of 0.5 ms
  //   (docs/benchmarks.md, P5).
  // hub_publish sets all but the bitmap scans for itself.
  pqxx::nontransaction session(conn);
  session.exec("SET enable_seqscan = off");
  session.exec("SET enable_bitmapscan = off");
  session.exec("SET jit = off");
  session.exec("SET max_parallel_workers_per_gather = 0");
}

namespace {

bool DropsConnection(DbErrorKind kind) {
  return kind == DbErrorKind::kConnection ||
         kind == DbErrorKind::kCommitUnknown ||
         kind == DbErrorKind::kServerShutdown;
}

}  // namespace

PgStore::PgStore(PgStoreOptions options, PgProbe& probe)
    : options_(std::move(options)),
      probe_(probe),
      pool_(options_.database_url, options_.pool_size, &PrepareSession,
            {[this](int in_use, int open, int waiting) {
               probe_.Pool(false, in_use, open, waiting);
             },
             [this](DbErrorKind kind) { probe_.Error(kind); }}),
      relaxed_pool_(
          options_.database_url, options_.pool_size,
          [](pqxx::connection& conn) {
            PrepareSession(conn);
            pqxx::nontransaction session(conn);
            session.exec("SET synchronous_commit = off");
          },
          {[this](int in_use, int open, int waiting) { probe_.Pool(true, in_use, open, waiting); },
           [this](DbErrorKind kind) { probe_.Error(kind); }}) {}

PgStore::~PgStore() {
  stopping_ = true;
  if (listener_.joinable()) listener_.join();
}

absl::Status PgStore::Run(
    const std::function<absl::Status(pqxx::connection&)>& fn, Commit commit) {
  ConnectionPool& pool = commit == Commit::kDurable ? pool_ : relaxed_pool_;
  for (int attempt = 1;; ++attempt) {
    ASSIGN_OR_RETURN(ConnectionPool::Handle conn, pool.Acquire());
    DbErrorKind kind;
    std::string what;
    const absl::Time start = absl::Now();
    try {
      absl::Status status = fn(*conn);
      probe_.Transaction(absl::Now() - start);
      return status;
    } catch (const std::exception& e) {
      kind = ClassifyException(e);
      what = e.what();
    }
    probe_.Error(kind);
    if (DropsConnection(kind)) conn.Discard();
    if (kind == DbErrorKind::kConflict && attempt < kConflictRetries) continue;
    return StatusFromDbError(kind, what);
  }
}

absl::Status PgStore::Migrate() {
  return Run([this](pqxx::connection& conn) {
    RETURN_IF_ERROR(ApplyMigrations(conn, EmbeddedMigrations()));
    return EnsurePartitions(conn);
  });
}

absl::Status PgStore::EnsurePartitions(pqxx::connection& conn) {
  pqxx::work tx(conn);
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", kPartitionLockKey);
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time today = absl::FromCivil(absl::ToCivilDay(absl::Now(), utc), utc);
  for (int day = 0; day <= options_.partitions_ahead_days; ++day) {
    const absl::Time from = today + absl::Hours(24 * day);
    const absl::Time to = from + absl::Hours(24);
    const char* kFormat = "%Y-%m-%d 00:00:00+00";
    tx.exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ",
                         absl::FormatTime(kPartitionNameFormat, from, utc),
                         " PARTITION OF messages FOR VALUES FROM ('",
                         absl::FormatTime(kFormat, from, utc), "') TO ('",
                         absl::FormatTime(kFormat, to, utc), "')"));
  }
  tx.commit();
  return absl::OkStatus();
}

absl::StatusOr<MaintenanceReport> PgStore::Maintain() {
  MaintenanceReport report;
  RETURN_IF_ERROR(Run([this, &report](pqxx::connection& conn) {
    report = MaintenanceReport{};
    RETURN_IF_ERROR(EnsurePartitions(conn));
    // One replica at a time; the others skip this round.
    bool locked;
    {
      pqxx::nontransaction session(conn);
      locked = session.exec_params1("SELECT pg_try_advisory_lock($1)", kRetentionLockKey)[0]
                   .as<bool>();
    }
    if (!locked) return absl::OkStatus();
    absl::Status status = absl::OkStatus();
    try {
      ApplyRetention(conn, report);
    } catch (const std::exception& e) {
      status = StatusFromException(e);
    }
    pqxx::nontransaction unlock(conn);
    unlock.exec_params("SELECT pg_advisory_unlock($1)", kRetentionLockKey);
    return status;
  }));
  return report;
}

void PgStore::ApplyRetention(pqxx::connection& conn, MaintenanceReport& report) {
  std::map<std::string, int64_t> expired;
  int64_t longest_retention_ms = Millis(TopicConfig{}.message_retention);
  {
    pqxx::nontransaction read(conn);
    std::vector<std::pair<int64_t, int64_t>> topics;
    for (const auto& row : read.exec_prepared("topic_retentions")) {
      topics.emplace_back(row[0].as<int64_t>(), row[1].as<int64_t>());
      longest_retention_ms = std::max(longest_retention_ms, row[1].as<int64_t>());
    }
    read.commit();
    for (const auto& [topic_id, retention_ms] : topics) {
      pqxx::work tx(conn);
      // hubd's clock against the database's publish_time: any skew is small
      // next to a retention of minutes or more.
      const int64_t cutoff =
          absl::ToUnixMicros(absl::Now() - absl::Milliseconds(retention_ms));
      const int64_t first =
          tx.exec_prepared1("first_position_since", topic_id, cutoff)[0].as<int64_t>();
      for (const auto& row : tx.exec_prepared("skip_expired", topic_id, first)) {
        expired[row[0].as<std::string>()] += row[1].as<int64_t>();
      }
      for (const auto& row : tx.exec_prepared("leases_with_expired", topic_id, first)) {
        std::vector<int64_t> rest;
        int64_t dropped = 0;
        for (int64_t p : ParseIntArray(row[2].c_str())) {
          if (p < first) {
            ++dropped;
          } else {
            rest.push_back(p);
          }
        }
        expired[row[3].as<std::string>()] += dropped;
        if (rest.empty()) {
          tx.exec_prepared("delete_leases", row[0].as<int64_t>(),
                           IntArray(std::vector<int64_t>{row[1].as<int64_t>()}));
        } else {
          tx.exec_prepared("set_pending", row[0].as<int64_t>(), row[1].as<int64_t>(),
                           IntArray(rest));
        }
      }
      tx.commit();
    }
  }
  for (auto& [name, count] : expired) {
    if (count > 0) report.expired.emplace_back(name, count);
  }

  // Whole partitions older than the longest retention of any topic.
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time horizon = absl::Now() - absl::Milliseconds(longest_retention_ms);
  std::vector<std::string> old_partitions;
  {
    pqxx::nontransaction read(conn);
    for (const auto& row : read.exec(sql::kMessagePartitions)) {
      const std::string name = row[0].as<std::string>();
      // %Y would swallow all eight digits, so the date is read by hand.
      const absl::string_view digits = absl::string_view(name).substr(10);
      int year = 0, month = 0, mday = 0;
      if (!absl::StartsWith(name, "messages_p") || digits.size() != 8 ||
          !absl::SimpleAtoi(digits.substr(0, 4), &year) ||
          !absl::SimpleAtoi(digits.substr(4, 2), &month) ||
          !absl::SimpleAtoi(digits.substr(6, 2), &mday)) {
        continue;
      }
      const absl::Time day = absl::FromCivil(absl::CivilDay(year, month, mday), utc);
      if (day + absl::Hours(24) <= horizon) old_partitions.push_back(name);
    }
  }
  for (const std::string& name : old_partitions) {
    pqxx::work tx(conn);
    // Dropping locks the parent table; never wait long for it.
    tx.exec("SET LOCAL lock_timeout = '5s'");
    tx.exec(absl::StrCat("DROP TABLE IF EXISTS ", tx.quote_name(name)));
    tx.commit();
    ++report.partitions_dropped;
  }
}

absl::Status PgStore::Ping() {
  return Run([](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT 1");
    return absl::OkStatus();
  });
}

absl::Status PgStore::CreateTopic(const TopicConfig& topic) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    try {
      tx.exec_prepared("create_topic", topic.name, Millis(topic.message_retention),
                       Millis(topic.dedup_window), LabelsToJson(topic.labels));
    } catch (const pqxx::unique_violation&) {
      return absl::AlreadyExistsError(absl::StrCat("topic ", topic.name, " already exists"));
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<TopicConfig> PgStore::GetTopic(absl::string_view name) {
  TopicConfig topic;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("get_topic", std::string(name));
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("topic ", name, " not found"));
    }
    topic = TopicFromRow(r[0]);
    return absl::OkStatus();
  }));
  return topic;
}

absl::StatusOr<std::vector<TopicConfig>> PgStore::ListTopics(
    absl::string_view after, int limit) {
  std::vector<TopicConfig> topics;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    topics.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row :
         tx.exec_prepared("list_topics", std::string(after), limit)) {
      topics.push_back(TopicFromRow(row));
    }
    return absl::OkStatus();
  }));
  return topics;
}

absl::Status PgStore::DeleteTopic(absl::string_view name) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("delete_topic", std::string(name));
    tx.commit();
    if (r.affected_rows() == 0) {
      return absl::NotFoundError(absl::StrCat("topic ", name, " not found"));
    }
    return absl::OkStatus();
  });
}

absl::Status PgStore::CreateSubscription(const SubscriptionConfig& sub) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result r;
    try {
      r = tx.exec_prepared(
          "create_subscription", sub.name, sub.topic, sub.ack_deadline_seconds,
          static_cast<int>(sub.delivery_guarantee), sub.enable_message_ordering,
          sub.filter, sub.dead_letter_policy.topic,
          sub.dead_letter_policy.max_delivery_attempts,
          Millis(sub.retry_policy.minimum_backoff),
          Millis(sub.retry_policy.maximum_backoff), LabelsToJson(sub.labels));
    } catch (const pqxx::unique_violation&) {
      return absl::AlreadyExistsError(absl::StrCat("subscription ", sub.name, " already exists"));
    }
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("topic ", sub.topic, " not found"));
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<SubscriptionRecord> PgStore::GetSubscription(
    absl::string_view name) {
  SubscriptionRecord record;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("get_subscription", std::string(name));
    if (r.empty()) {
      return absl::NotFoundError(
          absl::StrCat("subscription ", name, " not found"));
    }
    record = SubscriptionFromRow(r[0]);
    return absl::OkStatus();
  }));
  return record;
}

absl::StatusOr<std::vector<SubscriptionConfig>> PgStore::ListSubscriptions(
    absl::string_view topic, absl::string_view after, int limit) {
  std::vector<SubscriptionConfig> subs;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    subs.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec_prepared("list_subscriptions",
                                            std::string(topic),
                                            std::string(after), limit)) {
      subs.push_back(SubscriptionFromRow(row).config);
    }
    if (subs.empty() && !topic.empty() &&
        tx.exec_prepared("topic_exists", std::string(topic)).empty()) {
      return absl::NotFoundError(absl::StrCat("topic ", topic, " not found"));
    }
    return absl::OkStatus();
  }));
  return subs;
}

absl::Status PgStore::DeleteSubscription(absl::string_view name) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("delete_subscription", std::string(name));
    tx.commit();
    if (r.affected_rows() == 0) {
      return absl::NotFoundError(
          absl::StrCat("subscription ", name, " not found"));
    }
    return absl::OkStatus();
  });
}

void PgStore::WriteMessages(pqxx::transaction_base& tx, absl::Span<PublishItem* const> items) {
  std::vector<std::string> topics, ordering_keys, idempotency_keys;
  std::vector<int32_t> offsets, lengths;
  std::vector<std::optional<std::string>> attributes;
  std::string blob;
  // Each message's ordinal in the call (from 1), or, for the second use of a
  // key within this batch, the negated ordinal of its first use: it is a
  // duplicate of that one, which needs no database to tell.
  std::vector<int64_t> ordinals;
  std::map<std::pair<std::string, std::string>, int64_t> first_use;
  for (PublishItem* item : items) {
    item->status = absl::OkStatus();
    item->results.clear();
    for (const Message& m : item->messages) {
      if (!m.idempotency_key.empty()) {
        auto [it, inserted] = first_use.try_emplace({item->topic, m.idempotency_key},
                                                    static_cast<int64_t>(topics.size()) + 1);
        if (!inserted) {
          ordinals.push_back(-it->second);
          continue;
        }
      }
      topics.push_back(item->topic);
      ordinals.push_back(static_cast<int64_t>(topics.size()));
      offsets.push_back(static_cast<int32_t>(blob.size()) + 1);
      lengths.push_back(static_cast<int32_t>(m.data.size()));
      blob += m.data;
      attributes.push_back(m.attributes.empty() ? std::nullopt
                                                : std::optional(LabelsToJson(m.attributes)));
      ordering_keys.push_back(m.ordering_key);
      idempotency_keys.push_back(m.idempotency_key);
    }
  }
  // ordinal -> (topic id, result); messages of a topic that is gone have no
  // row: their item is NOT_FOUND, the other items are stored.
  std::vector<std::optional<std::pair<int64_t, PublishResult>>> stored(topics.size() + 1);
  for (const auto& row : tx.exec_prepared(
           "publish", TextArray(topics), pqxx::binarystring(blob.data(), blob.size()),
           IntArray(offsets), IntArray(lengths), TextArray(attributes),
           TextArray(ordering_keys), TextArray(idempotency_keys))) {
    stored[row[0].as<size_t>()] =
        std::pair(row[1].as<int64_t>(), PublishResult{row[2].as<std::string>(), row[3].as<bool>()});
  }
  size_t next = 0;
  for (PublishItem* item : items) {
    for (size_t i = 0; i < item->messages.size(); ++i) {
      const int64_t ordinal = ordinals[next++];
      const auto& result = stored[static_cast<size_t>(ordinal < 0 ? -ordinal : ordinal)];
      if (!result) {
        item->status = absl::NotFoundError(absl::StrCat("topic ", item->topic, " not found"));
        continue;
      }
      item->topic_id = result->first;
      item->results.push_back({result->second.message_id, result->second.duplicate || ordinal < 0});
    }
  }
}

absl::Status PgStore::Publish(absl::Span<PublishItem* const> items) {
  return Run([&](pqxx::connection& conn) {
    // One statement in its own implicit transaction: the answer arrives
    // after its commit, in one round trip.
    pqxx::nontransaction tx(conn);
    WriteMessages(tx, items);
    return absl::OkStatus();
  });
}

absl::Status PgStore::UpdateTopic(const TopicConfig& topic) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared("update_topic", topic.name,
                                      Millis(topic.message_retention),
                                      Millis(topic.dedup_window), LabelsToJson(topic.labels));
    tx.commit();
    if (r.affected_rows() == 0) {
      return absl::NotFoundError(absl::StrCat("topic ", topic.name, " not found"));
    }
    return absl::OkStatus();
  });
}

absl::Status PgStore::UpdateSubscription(const SubscriptionConfig& sub) {
  return Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_prepared(
        "update_subscription", sub.name, sub.ack_deadline_seconds, sub.filter,
        sub.dead_letter_policy.topic, sub.dead_letter_policy.max_delivery_attempts,
        Millis(sub.retry_policy.minimum_backoff), Millis(sub.retry_policy.maximum_backoff),
        LabelsToJson(sub.labels));
    tx.commit();
    if (r.affected_rows() == 0) {
      return absl::NotFoundError(absl::StrCat("subscription ", sub.name, " not found"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<SubscriptionStats>> PgStore::GetSubscriptionStats(
    absl::string_view name) {
  std::vector<SubscriptionStats> stats;
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    stats.clear();
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec_prepared("subscription_stats", std::string(name))) {
      SubscriptionStats s{row[0].as<std::string>(), row[1].as<std::string>(),
                          row[2].as<int64_t>(), row[3].as<int64_t>(), std::nullopt};
      if (!row[4].is_null()) {
        s.oldest_unacked_publish_time = absl::FromUnixMicros(row[4].as<int64_t>());
      }
      stats.push_back(std::move(s));
    }
    if (stats.empty() && !name.empty()) {
      return absl::NotFoundError(absl::StrCat("subscription ", name, " not found"));
    }
    return absl::OkStatus();
  }));
  return stats;
}

namespace {

class PublishReceiver final : public pqxx::notification_receiver {
 public:
  PublishReceiver(pqxx::connection_base& conn,
                  const std::function<void(int64_t)>& on_publish)
      : pqxx::notification_receiver(conn, "hub_publish"),
        on_publish_(on_publish) {}

  void operator()(const std::string& payload, int /*backend_pid*/) override {
    int64_t topic_id = 0;
    if (absl::SimpleAtoi(payload, &topic_id)) on_publish_(topic_id);
  }

 private:
  const std::function<void(int64_t)>& on_publish_;
};

}  // namespace

void PgStore::WatchPublishes(std::function<void(int64_t)> on_publish) {
  listener_ = std::thread([this, on_publish = std::move(on_publish)] {
    ListenLoop(on_publish);
  });
}

void PgStore::ListenLoop(std::function<void(int64_t)> on_publish) {
  // Waiters poll as well, so a notification lost while this connection is
  // re-established costs at most one poll interval.
  while (!stopping_) {
    try {
      pqxx::connection conn(options_.database_url);
      PublishReceiver receiver(conn, on_publish);
      while (!stopping_) conn.await_notification(0, 200000);
    } catch (const std::exception&) {
      for (int i = 0; i < 10 && !stopping_; ++i) {
        absl::SleepFor(absl::Milliseconds(100));
      }
    }
  }
}

}  // namespace hub::pg
