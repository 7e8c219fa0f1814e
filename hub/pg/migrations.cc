#include "hub/pg/migrations.h"

#include <exception>
#include <set>

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "hub/pg/pg_errors.h"

namespace hub::pg {
namespace {

// An arbitrary constant that names the hub's migration lock.
constexpr int64_t kMigrationLockKey = 0x6875625f6d6967;  // "hub_mig"

constexpr char kCreateMigrationsTable[] = R"sql(
CREATE TABLE IF NOT EXISTS hub_schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()))sql";

}  // namespace

absl::Status ApplyMigrations(pqxx::connection& conn,
                             absl::Span<const Migration> migrations) {
  try {
    pqxx::nontransaction session(conn);
    session.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
    absl::Status status = absl::OkStatus();
    try {
      session.exec(kCreateMigrationsTable);
      std::set<int> applied;
      for (const auto& row :
           session.exec("SELECT version FROM hub_schema_migrations")) {
        applied.insert(row[0].as<int>());
      }
      session.commit();
      for (const Migration& m : migrations) {
        if (applied.count(m.version) != 0) continue;
        pqxx::work tx(conn);
        tx.exec(std::string(m.sql));
        tx.exec_params(
            "INSERT INTO hub_schema_migrations (version, name) VALUES ($1, $2)",
            m.version, std::string(m.name));
        tx.commit();
      }
    } catch (const std::exception& e) {
      status = StatusFromException(e);
    }
    pqxx::nontransaction unlock(conn);
    unlock.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
    return status;
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace hub::pg
