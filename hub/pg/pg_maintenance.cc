// PgStore's housekeeping: message partitions made ahead of time, and
// retention (docs/design.md, "Retention").
#include <exception>

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "hub/pg/pg_errors.h"
#include "hub/pg/pg_store.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/statements.h"

namespace hub::pg {
namespace {

constexpr int64_t kPartitionLockKey = 0x6875625f707274;  // "hub_prt"
constexpr int64_t kRetentionLockKey = 0x6875625f726574;  // "hub_ret"

}  // namespace

std::optional<absl::Time> PartitionDay(absl::string_view table, absl::string_view name) {
  if (!absl::StartsWith(name, table) || !absl::StartsWith(name.substr(table.size()), "_p")) {
    return std::nullopt;
  }
  name.remove_prefix(table.size() + 2);
  if (name.size() != 8) return std::nullopt;
  // %Y would swallow all eight digits, so the date is read by hand.
  int year = 0, month = 0, mday = 0;
  if (!absl::SimpleAtoi(name.substr(0, 4), &year) || !absl::SimpleAtoi(name.substr(4, 2), &month) ||
      !absl::SimpleAtoi(name.substr(6, 2), &mday)) {
    return std::nullopt;
  }
  const absl::CivilDay day(year, month, mday);
  if (day.year() != year || day.month() != month || day.day() != mday) return std::nullopt;
  return absl::FromCivil(day, absl::UTCTimeZone());
}

absl::Status PgStore::EnsurePartitions(Connection& conn) {
  pqxx::work tx(conn);
  Exec(tx, sql::kAdvisoryXactLock, kPartitionLockKey);
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time today = absl::FromCivil(absl::ToCivilDay(absl::Now(), utc), utc);
  for (int day = 0; day <= options_.partitions_ahead_days; ++day) {
    for (const char* table : kPartitionedTables) {
      tx.exec(CreatePartitionSql(table, today + absl::Hours(24 * day)));
    }
  }
  tx.commit();
  return absl::OkStatus();
}

absl::StatusOr<MaintenanceReport> PgStore::Maintain() {
  MaintenanceReport report;
  RETURN_IF_ERROR(RunDirect([this, &report](Connection& conn) {
    report = MaintenanceReport{};
    RETURN_IF_ERROR(EnsurePartitions(conn));
    // One replica at a time; the others skip this round.
    bool locked;
    {
      pqxx::nontransaction session(conn);
      locked = Exec1(session, sql::kTryAdvisoryLock, kRetentionLockKey)[0].as<bool>();
    }
    if (!locked) return absl::OkStatus();
    absl::Status status = absl::OkStatus();
    try {
      ApplyRetention(conn, report);
    } catch (const std::exception& e) {
      status = StatusFromException(e);
    }
    pqxx::nontransaction unlock(conn);
    Exec(unlock, sql::kAdvisoryUnlock, kRetentionLockKey);
    return status;
  }));
  return report;
}

absl::Status PgStore::MarkActive(const std::vector<std::string>& subscriptions) {
  if (subscriptions.empty()) return absl::OkStatus();
  return Run(
      [&](Connection& conn) {
        pqxx::nontransaction tx(conn);
        Exec(tx, sql::kMarkActive, TextArray(subscriptions));
        return absl::OkStatus();
      },
      Commit::kRelaxed);  // lost in a crash, the next minute's mark makes up for it
}

void PgStore::ApplyRetention(Connection& conn, MaintenanceReport& report) {
  struct TopicRetention {
    int64_t id;
    int64_t retention_ms;
    // Shorter retentions of some of its subscriptions.
    std::vector<int64_t> shorter_ms;
  };
  std::vector<TopicRetention> topics;
  absl::Duration longest_window = absl::ZeroDuration();
  {
    pqxx::nontransaction read(conn);
    for (const auto& row : Exec(read, sql::kTopicRetentions)) {
      topics.push_back(TopicRetention{row[0].as<int64_t>(), row[1].as<int64_t>(),
                                      ParseIntArray(row[3].c_str())});
      longest_window = std::max(longest_window, absl::Milliseconds(row[2].as<int64_t>()));
    }
  }
  // Partitions hold every topic's segments of one day, so one goes when the
  // longest retention of the topics that exist has passed over it (segments
  // of deleted topics are never read again); keys and producer batches go
  // once the longest dedup window has.
  absl::Duration longest = absl::ZeroDuration();
  std::map<std::string, int64_t> expired;
  for (const TopicRetention& topic : topics) {
    longest = std::max(longest, absl::Milliseconds(topic.retention_ms));
    // Each group of its subscriptions with one retention in effect.
    ApplyRetentionToTopic(conn, topic.id, topic.retention_ms, topic.retention_ms, expired);
    for (const int64_t shorter_ms : topic.shorter_ms) {
      ApplyRetentionToTopic(conn, topic.id, shorter_ms, topic.retention_ms, expired);
    }
  }
  for (auto& [name, count] : expired) {
    if (count > 0) report.expired.emplace_back(name, count);
  }
  {
    pqxx::nontransaction tx(conn);
    Exec(tx, sql::kDeleteExpiredSnapshots);
    for (const auto& row : Exec(tx, sql::kDeleteUnusedSubscriptions)) {
      report.expired_subscriptions.push_back(row[0].as<std::string>());
    }
  }
  const absl::Time now = absl::Now();
  report.partitions_dropped =
      DropPartitionsBefore(conn, {{"segments", now - longest},
                                  {"publish_keys", now - longest_window},
                                  {"producer_batches", now - longest_window}});
}

void PgStore::ApplyRetentionToTopic(Connection& conn, int64_t topic_id, int64_t retention_ms,
                                    int64_t topic_retention_ms,
                                    std::map<std::string, int64_t>& expired) {
  pqxx::work tx(conn);
  // hubd's clock against the database's publish_time: any skew is small
  // next to a retention of minutes or more.
  const int64_t cutoff = absl::ToUnixMicros(absl::Now() - absl::Milliseconds(retention_ms));
  const int64_t first = Exec1(tx, sql::kFirstPositionSince, topic_id, cutoff)[0].as<int64_t>();
  for (const auto& row :
       Exec(tx, sql::kSkipExpired, topic_id, first, retention_ms, topic_retention_ms)) {
    expired[row[0].as<std::string>()] += row[1].as<int64_t>();
  }
  for (const auto& row :
       Exec(tx, sql::kLeasesWithExpired, topic_id, first, retention_ms, topic_retention_ms)) {
    const int64_t subscription_id = row[0].as<int64_t>();
    const int64_t lease_id = row[1].as<int64_t>();
    const RetainedPending retained = ApplyRetentionToPending(ParseIntArray(row[2].c_str()), first);
    expired[row[3].as<std::string>()] += retained.dropped;
    if (retained.kept.empty()) {
      Exec(tx, sql::kDeleteLeases, subscription_id, IntArray(std::vector<int64_t>{lease_id}));
    } else {
      Exec(tx, sql::kSetPending, subscription_id, lease_id, IntArray(retained.kept));
    }
  }
  // What retention removed cannot be redriven.
  Exec(tx, sql::kForgetExpiredDeadLetters, topic_id, first, retention_ms, topic_retention_ms);
  tx.commit();
}

int PgStore::DropPartitionsBefore(Connection& conn,
                                  const std::map<std::string, absl::Time>& horizons) {
  std::vector<std::string> tables, old_partitions;
  for (const auto& [table, horizon] : horizons) tables.push_back(table);
  {
    pqxx::nontransaction read(conn);
    for (const auto& row : Exec(read, sql::kPartitions, TextArray(tables))) {
      const std::string table = row[0].as<std::string>();
      const std::string name = row[1].as<std::string>();
      const std::optional<absl::Time> day = PartitionDay(table, name);
      const auto horizon = horizons.find(table);
      if (day && horizon != horizons.end() && *day + absl::Hours(24) <= horizon->second) {
        old_partitions.push_back(name);
      }
    }
  }
  for (const std::string& name : old_partitions) {
    pqxx::work tx(conn);
    tx.exec(sql::kPartitionLockTimeout);
    tx.exec(DropPartitionSql(tx.quote_name(name)));
    tx.commit();
  }
  return static_cast<int>(old_partitions.size());
}

}  // namespace hub::pg
