#include "hub/pg/pg_store.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <pqxx/binarystring>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "hub/pg/migrations.h"
#include "hub/pg/pg_errors.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/statements.h"

namespace hub::pg {
namespace {

constexpr int kConflictRetries = 3;

}  // namespace

void PrepareSession(pqxx::connection& conn) {
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
  //   (docs/benchmarks.md, P5).
  // hub_publish sets all but the bitmap scans for itself.
  pqxx::nontransaction session(conn);
  for (const char* setting : sql::kSessionSettings) session.exec(setting);
}

namespace {

bool DropsConnection(DbErrorKind kind) {
  return kind == DbErrorKind::kConnection || kind == DbErrorKind::kCommitUnknown ||
         kind == DbErrorKind::kServerShutdown;
}

}  // namespace

PgStore::PgStore(PgStoreOptions options, PgProbe& probe)
    : options_(std::move(options)),
      probe_(probe),
      pool_(
          options_.database_url, options_.pool_size, &PrepareSession,
          {[this](int in_use, int open, int waiting) { probe_.Pool(false, in_use, open, waiting); },
           [this](DbErrorKind kind) { probe_.Error(kind); }}),
      relaxed_pool_(
          options_.database_url, options_.pool_size,
          [](pqxx::connection& conn) {
            PrepareSession(conn);
            pqxx::nontransaction session(conn);
            session.exec(sql::kRelaxedCommit);
          },
          {[this](int in_use, int open, int waiting) { probe_.Pool(true, in_use, open, waiting); },
           [this](DbErrorKind kind) { probe_.Error(kind); }}),
      announcer_(options_.database_url) {}

PgStore::~PgStore() = default;

absl::Status PgStore::Run(const std::function<absl::Status(pqxx::connection&)>& fn, Commit commit) {
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
    return ReportDbError(kind, what);
  }
}

absl::Status PgStore::Migrate() {
  return Run([this](pqxx::connection& conn) {
    RETURN_IF_ERROR(ApplyMigrations(conn, EmbeddedMigrations()));
    return EnsurePartitions(conn);
  });
}

absl::Status PgStore::Ping() {
  return Run([](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    Exec(tx, sql::kPing);
    return absl::OkStatus();
  });
}

void PgStore::WriteMessages(pqxx::transaction_base& tx, absl::Span<PublishItem* const> items) {
  size_t messages = 0, bytes = 0;
  for (const PublishItem* item : items) {
    messages += item->messages.size();
    for (const Message& m : item->messages) bytes += m.data.size();
  }
  // The parameters are written in one pass, from views of the items (which
  // outlive the call): a batch's values are not copied before they are sent.
  ArrayLiteral topics, offsets, lengths, attributes, ordering_keys, idempotency_keys;
  std::string blob;
  blob.reserve(bytes);
  // Each message's ordinal in the call (from 1), or, for the second use of a
  // key within this batch, the negated ordinal of its first use: it is a
  // duplicate of that one, which needs no database to tell.
  std::vector<int64_t> ordinals;
  ordinals.reserve(messages);
  size_t sent = 0;
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, int64_t> first_use;
  for (PublishItem* item : items) {
    item->status = absl::OkStatus();
    item->results.clear();
    for (const Message& m : item->messages) {
      if (!m.idempotency_key.empty()) {
        auto [it, inserted] = first_use.try_emplace(
            std::pair<absl::string_view, absl::string_view>(item->topic, m.idempotency_key),
            static_cast<int64_t>(sent) + 1);
        if (!inserted) {
          ordinals.push_back(-it->second);
          continue;
        }
      }
      ordinals.push_back(static_cast<int64_t>(++sent));
      topics.AddText(item->topic);
      offsets.AddInt(static_cast<int64_t>(blob.size()) + 1);
      lengths.AddInt(static_cast<int64_t>(m.data.size()));
      blob += m.data;
      if (m.attributes.empty()) {
        attributes.AddNull();
      } else {
        attributes.AddText(LabelsToJson(m.attributes));
      }
      ordering_keys.AddText(m.ordering_key);
      idempotency_keys.AddText(m.idempotency_key);
    }
  }
  // ordinal -> (topic id, result); messages of a topic that is gone have no
  // row: their item is NOT_FOUND, the other items are stored.
  std::vector<std::optional<std::pair<int64_t, PublishResult>>> stored(sent + 1);
  for (const auto& row :
       Exec(tx, sql::kPublish, std::move(topics).Finish(),
            pqxx::binarystring(blob.data(), blob.size()), std::move(offsets).Finish(),
            std::move(lengths).Finish(), std::move(attributes).Finish(),
            std::move(ordering_keys).Finish(), std::move(idempotency_keys).Finish())) {
    stored[row[0].as<size_t>()] =
        std::pair(row[1].as<int64_t>(), PublishResult{row[2].as<std::string>(), row[3].as<bool>()});
  }
  size_t next = 0;
  for (PublishItem* item : items) {
    item->results.reserve(item->messages.size());
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
  RETURN_IF_ERROR(Run([&](pqxx::connection& conn) {
    // One statement in its own implicit transaction: the answer arrives
    // after its commit, in one round trip.
    pqxx::nontransaction tx(conn);
    WriteMessages(tx, items);
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
