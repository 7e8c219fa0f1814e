#include "adapters/pg_outbox/pg_outbox.h"

#include <exception>
#include <future>

#include <nlohmann/json.hpp>
#include <pqxx/binarystring>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace hub::adapters {
namespace {

constexpr pqxx::oid kByteaOid = 17;

// "schema.table" or "table", each part quoted: the names come from a
// configuration file, and quoting keeps odd ones (and mistakes) from
// becoming SQL.
std::string QuoteQualified(pqxx::connection& db, const std::string& name) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(name, '.'))
    parts.push_back(db.quote_name(std::string(part)));
  return absl::StrJoin(parts, ".");
}

std::string ColumnOrNull(pqxx::connection& db, const std::string& column) {
  return column.empty() ? "NULL" : db.quote_name(column) + "::text";
}

}  // namespace

absl::StatusOr<PgOutboxConfig> PgOutboxConfig::Read(ConfigSection& section) {
  PgOutboxConfig c;
  c.database_url = section.String("database_url", "");
  if (std::string url = section.FileContents("database_url_file"); !url.empty()) {
    c.database_url = url;
  }
  if (c.database_url.empty()) section.Fail("database_url", "(or database_url_file) is required");
  c.table = section.String("table", c.table);
  c.id_column = section.String("id_column", c.id_column);
  c.payload_column = section.String("payload_column", c.payload_column);
  c.topic = section.String("topic", "");
  c.topic_column = section.String("topic_column", "");
  if (c.topic.empty() == c.topic_column.empty()) {
    section.Fail("topic", "or topic_column is required, not both");
  }
  c.key_column = section.String("key_column", c.id_column);
  c.key_prefix = section.String("key_prefix", c.table + ":");
  c.ordering_key_column = section.String("ordering_key_column", "");
  c.attributes_column = section.String("attributes_column", "");
  std::string after = section.String("after_publish", "delete");
  if (after != "delete" && after != "mark") section.Fail("after_publish", "must be delete or mark");
  c.delete_published = after == "delete";
  c.mark_column = section.String("mark_column", "");
  if (!c.delete_published && c.mark_column.empty()) {
    section.Fail("mark_column", "is required with after_publish: mark");
  }
  c.batch_size = section.Int("batch_size", c.batch_size, 1, 10000);
  c.poll_interval = section.Duration("poll_interval", c.poll_interval);
  RETURN_IF_ERROR(section.Finish());
  return c;
}

PgOutbox::PgOutbox(PgOutboxConfig config, AdapterEnv& env)
    : config_(std::move(config)),
      connection_(env.connection),
      published_(env.Outcome("published")),
      duplicates_(env.Outcome("duplicate")) {}

PgOutbox::~PgOutbox() = default;

client::Publisher& PgOutbox::PublisherFor(const std::string& topic) {
  auto& publisher = publishers_[topic];
  if (!publisher) {
    publisher = std::make_unique<client::Publisher>(
        connection_, topic, KeyedSourcePublisherOptions(config_.batch_size));
  }
  return *publisher;
}

absl::Status PgOutbox::Run(const absl::Notification& stop) {
  while (!stop.HasBeenNotified()) {
    absl::StatusOr<int64_t> taken = PublishBatch();
    if (!taken.ok()) {
      // A message the hub will never take, or a configuration that does
      // not fit the table: stop loudly rather than skip a business event or
      // retry forever (docs/adapters.md).
      if (absl::IsInvalidArgument(taken.status())) return taken.status();
      ready_ = false;
      Log(LogLevel::kWarning, "pg_outbox_batch_failed", {{"error", taken.status().ToString()}});
    }
    // A full batch says there is more: read on without waiting.
    if (!taken.ok() || *taken < config_.batch_size) {
      stop.WaitForNotificationWithTimeout(config_.poll_interval);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PgOutbox::PublishBatch() {
  try {
    if (db_ == nullptr || !db_->is_open()) {
      db_ = std::make_unique<pqxx::connection>(config_.database_url);
      pqxx::connection& db = *db_;
      const std::string table = QuoteQualified(db, config_.table);
      std::string where =
          config_.delete_published
              ? ""
              : absl::StrCat(" WHERE ", db.quote_name(config_.mark_column), " IS NULL");
      select_sql_ = absl::StrCat("SELECT ctid::text, ", ColumnOrNull(db, config_.key_column), ", ",
                                 db.quote_name(config_.payload_column), ", ",
                                 ColumnOrNull(db, config_.topic_column), ", ",
                                 ColumnOrNull(db, config_.ordering_key_column), ", ",
                                 ColumnOrNull(db, config_.attributes_column), " FROM ", table,
                                 where, " ORDER BY ", db.quote_name(config_.id_column), " LIMIT ",
                                 config_.batch_size, " FOR UPDATE SKIP LOCKED");
      // The rows stay locked until commit, so their ctids stay theirs.
      finish_sql_ =
          config_.delete_published
              ? absl::StrCat("DELETE FROM ", table, " WHERE ctid = ANY($1::tid[])")
              : absl::StrCat("UPDATE ", table, " SET ", db.quote_name(config_.mark_column),
                             " = now() WHERE ctid = ANY($1::tid[])");
      Log(LogLevel::kInfo, "pg_outbox_connected", {{"table", config_.table}});
    }
    pqxx::work txn(*db_);
    pqxx::result rows = txn.exec(select_sql_);
    ready_ = true;
    if (rows.empty()) return 0;
    std::vector<std::future<absl::StatusOr<client::PublishAck>>> acks;
    std::vector<std::string> ctids;
    for (const pqxx::row& row : rows) {
      ctids.push_back(absl::StrCat("\"", row[0].c_str(), "\""));
      client::Message message;
      message.idempotency_key = absl::StrCat(config_.key_prefix, row[1].c_str());
      message.data = row[2].type() == kByteaOid ? pqxx::binarystring(row[2]).str()
                                                : std::string(row[2].c_str(), row[2].size());
      const std::string topic = row[3].is_null() ? config_.topic : row[3].c_str();
      if (!row[4].is_null()) message.ordering_key = row[4].c_str();
      if (!row[5].is_null()) {
        nlohmann::json attributes = nlohmann::json::parse(row[5].c_str(), nullptr, false);
        if (!attributes.is_object()) {
          return absl::InvalidArgumentError(absl::StrCat("row ", message.idempotency_key, ": ",
                                                         config_.attributes_column,
                                                         " is not a JSON object"));
        }
        for (const auto& [name, value] : attributes.items()) {
          message.attributes[name] = value.is_string() ? value.get<std::string>() : value.dump();
        }
      }
      acks.push_back(PublisherFor(topic).Publish(std::move(message)));
    }
    absl::Status failed;
    int64_t duplicates = 0;
    for (auto& ack : acks) {
      absl::StatusOr<client::PublishAck> result = ack.get();
      if (!result.ok() && failed.ok()) failed = result.status();
      if (result.ok() && result->duplicate) ++duplicates;
    }
    // The transaction rolls back with `txn`: the rows are read again.
    RETURN_IF_ERROR(failed);
    txn.exec_params(finish_sql_, absl::StrCat("{", absl::StrJoin(ctids, ","), "}"));
    txn.commit();
    published_.Increment(static_cast<double>(acks.size() - duplicates));
    duplicates_.Increment(static_cast<double>(duplicates));
    return static_cast<int64_t>(acks.size());
  } catch (const pqxx::sql_error& e) {
    db_.reset();
    // Class 42 (no such table or column, no permission): the configuration
    // does not fit the database, which waiting will not change.
    if (e.sqlstate().rfind("42", 0) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("outbox query: ", e.what()));
    }
    return absl::UnavailableError(absl::StrCat("outbox: ", e.what()));
  } catch (const pqxx::broken_connection& e) {
    db_.reset();
    return absl::UnavailableError(absl::StrCat("outbox database: ", e.what()));
  } catch (const std::exception& e) {
    db_.reset();
    return absl::UnavailableError(absl::StrCat("outbox: ", e.what()));
  }
}

}  // namespace hub::adapters
