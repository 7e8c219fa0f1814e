#include "hub/pg/migrations.h"

#include <exception>
#include <set>

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "hub/pg/pg_errors.h"
#include "hub/pg/statements.h"

namespace hub::pg {
namespace {

// An arbitrary constant that names the hub's migration lock.
constexpr int64_t kMigrationLockKey = 0x6875625f6d6967;  // "hub_mig"

}  // namespace

absl::Status ApplyMigrations(pqxx::connection_base& conn, absl::Span<const Migration> migrations) {
  try {
    pqxx::nontransaction session(conn);
    session.exec_params(sql::kAdvisoryLock, kMigrationLockKey);
    absl::Status status = absl::OkStatus();
    try {
      session.exec(sql::kCreateMigrationsTable);
      std::set<int> applied;
      for (const auto& row : session.exec(sql::kAppliedMigrations)) {
        applied.insert(row[0].as<int>());
      }
      session.commit();
      for (const Migration& m : migrations) {
        if (applied.count(m.version) != 0) continue;
        pqxx::work tx(conn);
        tx.exec(std::string(m.sql));
        tx.exec_params(sql::kRecordMigration, m.version, std::string(m.name));
        tx.commit();
      }
    } catch (const std::exception& e) {
      status = StatusFromException(e);
    }
    pqxx::nontransaction unlock(conn);
    unlock.exec_params(sql::kAdvisoryUnlock.text, kMigrationLockKey);
    return status;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace hub::pg
