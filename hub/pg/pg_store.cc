#include "hub/pg/pg_store.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "hub/pg/migrations.h"
#include "hub/pg/pg_errors.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/statements.h"

namespace hub::pg {
namespace {

constexpr int kConflictRetries = 3;
// Migrations and maintenance, one at a time each.
constexpr int kDirectPoolSize = 2;

}  // namespace

void PrepareSession(Connection& conn) {
  for (const Statement* statement : sql::kPrepared) conn.prepare(statement->name, statement->text);
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
  //   (docs/benchmarks.md, P5);
  // - generic plans only: a custom plan of the publish functions' insert
  //   bound the batch's payloads as constants and took 0.9 s to make.
  // The publish functions run with these settings rather than their own,
  // which PL/pgSQL would save and restore at every call (migration 0012).
  pqxx::nontransaction session(conn);
  for (const char* setting : sql::kSessionSettings) session.exec(setting);
}

namespace {

const std::string& PooledUrl(const PgStoreOptions& options) {
  return options.pooler_url.empty() ? options.database_url : options.pooler_url;
}

ConnectionPool::Setup PooledSetup(const PgStoreOptions& options, bool relaxed) {
  if (!options.pooler_url.empty()) {
    // Nothing to prepare or set: the pooler keeps no session for it, and
    // relaxed commits are durable ones there.
    return [](Connection& conn) { conn.UseUnnamedStatements(); };
  }
  if (!relaxed) return &PrepareSession;
  return [](Connection& conn) {
    PrepareSession(conn);
    pqxx::nontransaction session(conn);
    session.exec(sql::kRelaxedCommit);
  };
}

bool DropsConnection(DbErrorKind kind) {
  // A read-only server is no longer the primary: a new connection finds
  // the one that is (a multi-host URL with target_session_attrs=read-write).
  return kind == DbErrorKind::kConnection || kind == DbErrorKind::kCommitUnknown ||
         kind == DbErrorKind::kServerShutdown || kind == DbErrorKind::kReadOnly;
}

// A pooled session through a pooler in transaction mode keeps no setting
// of its own: the role's defaults in this database carry them to every
// server session the pooler opens (docs/deploy.md, "Through PgBouncer").
// Any role may set its own defaults. Only when some are missing: replicas
// starting together would otherwise all update one catalog row at once.
void SetRoleDefaults(Connection& conn) {
  std::vector<std::string> wanted;  // as pg_db_role_setting keeps them: name=value
  for (absl::string_view setting : sql::kSessionSettings) {
    wanted.push_back(absl::StrReplaceAll(absl::StripPrefix(setting, "SET "), {{" = ", "="}}));
  }
  pqxx::nontransaction session(conn);
  const pqxx::row state = session.exec_params1(
      "SELECT current_database(), COALESCE((SELECT s.setconfig @> $1::text[] "
      "FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
      "WHERE d.datname = current_database() AND s.setrole = "
      "(SELECT oid FROM pg_roles WHERE rolname = current_user)), false)",
      TextArray(wanted));
  if (state[1].as<bool>()) return;
  const std::string database = conn.quote_name(state[0].as<std::string>());
  for (const char* setting : sql::kSessionSettings) {
    session.exec(absl::StrCat("ALTER ROLE CURRENT_USER IN DATABASE ", database, " ", setting));
  }
}

}  // namespace

PgStore::PgStore(PgStoreOptions options, PgProbe& probe)
    : options_(std::move(options)),
      probe_(probe),
      pool_(
          PooledUrl(options_), options_.pool_size, PooledSetup(options_, false),
          {[this](int in_use, int open, int waiting) { probe_.Pool(false, in_use, open, waiting); },
           [this](DbErrorKind kind) { probe_.Error(kind); }}),
      relaxed_pool_(
          PooledUrl(options_), options_.pool_size, PooledSetup(options_, true),
          {[this](int in_use, int open, int waiting) { probe_.Pool(true, in_use, open, waiting); },
           [this](DbErrorKind kind) { probe_.Error(kind); }}),
      announcer_(options_.database_url) {
  if (!options_.pooler_url.empty()) {
    direct_pool_ = std::make_unique<ConnectionPool>(
        options_.database_url, kDirectPoolSize,
        [](Connection& conn) {
          SetRoleDefaults(conn);
          PrepareSession(conn);
        },
        ConnectionPool::Observer{{}, [this](DbErrorKind kind) { probe_.Error(kind); }});
  }
}

PgStore::~PgStore() = default;

absl::Status PgStore::Run(const std::function<absl::Status(Connection&)>& fn, Commit commit) {
  return RunOn(commit == Commit::kDurable ? pool_ : relaxed_pool_, fn);
}

absl::Status PgStore::RunDirect(const std::function<absl::Status(Connection&)>& fn) {
  return RunOn(direct_pool_ != nullptr ? *direct_pool_ : pool_, fn);
}

absl::Status PgStore::RunOn(ConnectionPool& pool,
                            const std::function<absl::Status(Connection&)>& fn) {
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
    return ReportDbError(kind, what);
  }
}

absl::Status PgStore::Migrate() {
  return RunDirect([this](Connection& conn) {
    RETURN_IF_ERROR(ApplyMigrations(conn, EmbeddedMigrations()));
    return EnsurePartitions(conn);
  });
}

absl::Status PgStore::Ping() {
  return Run([](Connection& conn) {
    pqxx::nontransaction tx(conn);
    Exec(tx, sql::kPing);
    return absl::OkStatus();
  });
}

absl::Status PgStore::Publish(absl::Span<PublishItem* const> items) {
  RETURN_IF_ERROR(Run([&](Connection& conn) {
    // No transaction around it: the statement that stores commits by
    // itself, and the answer arrives after that commit, in one round trip.
    WriteMessages(conn, items);
    return absl::OkStatus();
  }));
  AnnounceStored(items);
  return absl::OkStatus();
}

void PgStore::WatchPublishes(std::function<void(int64_t)> on_publish) {
  announcer_.Watch(std::move(on_publish));
}

void PgStore::AnnounceStored(absl::Span<PublishItem* const> items) {
  std::vector<int64_t> topics;
  for (const PublishItem* item : items) {
    const bool stored =
        item->status.ok() && std::any_of(item->results.begin(), item->results.end(),
                                         [](const PublishResult& r) { return !r.duplicate; });
    if (stored) topics.push_back(item->topic_id);
  }
  // A group commit holds many requests for one topic; waiters hear of it once.
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  announcer_.Committed(topics);
}

}  // namespace hub::pg
