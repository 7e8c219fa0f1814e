#include "hub/pg/pg_errors.h"

#include <atomic>

#include <pqxx/except>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace hub::pg {

DbErrorKind ClassifySqlState(absl::string_view sqlstate) {
  if (sqlstate == "23505") return DbErrorKind::kUniqueViolation;
  if (sqlstate == "23503") return DbErrorKind::kForeignKeyViolation;
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    return DbErrorKind::kConflict;
  }
  if (sqlstate == "57014") return DbErrorKind::kCanceled;
  // 25006 read_only_sql_transaction: a write reached a server in recovery,
  // a standby, or a primary its failover manager demoted.
  if (sqlstate == "25006") return DbErrorKind::kReadOnly;
  // Class 08: connection exception.
  if (absl::StartsWith(sqlstate, "08")) return DbErrorKind::kConnection;
  // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
  if (absl::StartsWith(sqlstate, "57P")) return DbErrorKind::kServerShutdown;
  // 53100 disk_full: a write could not extend a file. The server stays up
  // and reads go on; writes resume once space is freed.
  if (sqlstate == "53100") return DbErrorKind::kDiskFull;
  // The rest of class 53: out of memory, too many connections.
  if (absl::StartsWith(sqlstate, "53")) return DbErrorKind::kResources;
  return DbErrorKind::kOther;
}

DbErrorKind ClassifyException(const std::exception& e) {
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return DbErrorKind::kCommitUnknown;
  }
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr) {
    return DbErrorKind::kCommitUnknown;
  }
  // Serialization failures and deadlocks (libpqxx 6 throws these apart from
  // sql_error).
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr) {
    return DbErrorKind::kConflict;
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return DbErrorKind::kConnection;
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    return ClassifySqlState(sql->sqlstate());
  }
  return DbErrorKind::kOther;
}

absl::Status StatusFromDbError(DbErrorKind kind) {
  switch (kind) {
    case DbErrorKind::kConnection:
      return absl::UnavailableError("database unavailable");
    case DbErrorKind::kCommitUnknown:
      return absl::UnavailableError(
          "database connection lost during commit; retry with the same idempotency keys");
    case DbErrorKind::kConflict:
      return absl::AbortedError("transaction conflict, retry");
    case DbErrorKind::kUniqueViolation:
      return absl::AlreadyExistsError("the resource already exists");
    case DbErrorKind::kForeignKeyViolation:
      return absl::NotFoundError("a resource the call names is gone");
    case DbErrorKind::kServerShutdown:
      return absl::UnavailableError("database is restarting");
    case DbErrorKind::kReadOnly:
      return absl::UnavailableError("database is a read-only standby; looking for the primary");
    case DbErrorKind::kCanceled:
      return absl::UnavailableError("database statement canceled");
    case DbErrorKind::kDiskFull:
      return absl::UnavailableError("database disk full; writes resume once space is freed");
    case DbErrorKind::kResources:
      return absl::UnavailableError("database out of resources");
    case DbErrorKind::kOther:
      return absl::InternalError("database error");
  }
  return absl::InternalError("unclassified database error");
}

absl::Status ReportDbError(DbErrorKind kind, absl::string_view detail) {
  // One line per kind a second at most: an outage fails every call at once.
  static std::atomic<int64_t> last_logged[static_cast<int>(DbErrorKind::kOther) + 1] = {};
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  std::atomic<int64_t>& last = last_logged[static_cast<int>(kind)];
  int64_t before = last.load();
  if (now > before && last.compare_exchange_strong(before, now)) {
    Log(kind == DbErrorKind::kOther ? LogLevel::kError : LogLevel::kWarning, "database_error",
        {{"kind", std::string(DbErrorKindName(kind))}, {"detail", std::string(detail)}});
  }
  return StatusFromDbError(kind);
}

absl::Status StatusFromException(const std::exception& e) {
  return ReportDbError(ClassifyException(e), e.what());
}

absl::string_view DbErrorKindName(DbErrorKind kind) {
  switch (kind) {
    case DbErrorKind::kConnection:
      return "connection";
    case DbErrorKind::kCommitUnknown:
      return "commit_unknown";
    case DbErrorKind::kConflict:
      return "conflict";
    case DbErrorKind::kUniqueViolation:
      return "unique_violation";
    case DbErrorKind::kForeignKeyViolation:
      return "foreign_key_violation";
    case DbErrorKind::kServerShutdown:
      return "server_shutdown";
    case DbErrorKind::kReadOnly:
      return "read_only";
    case DbErrorKind::kCanceled:
      return "canceled";
    case DbErrorKind::kDiskFull:
      return "disk_full";
    case DbErrorKind::kResources:
      return "resources";
    case DbErrorKind::kOther:
      return "other";
  }
  return "unknown";
}

}  // namespace hub::pg
