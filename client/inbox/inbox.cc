#include "client/inbox/inbox.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace hub::client {
namespace {

// A PostgreSQL text[] literal: every element quoted, quotes and
// backslashes escaped.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

absl::Status Unavailable(const std::exception& e) {
  return absl::UnavailableError(absl::StrCat("inbox database: ", e.what()));
}

}  // namespace

// The inbox table in the consumer's database, over one connection that is
// opened again after it breaks.
class Inbox::PgStore final : public inbox::InboxStore {
 public:
  PgStore(std::string url, std::string subscription, std::string table)
      : url_(std::move(url)), subscription_(std::move(subscription)), table_(std::move(table)) {}

  absl::Status Migrate() {
    try {
      pqxx::work tx(Connection());
      const std::string t = tx.quote_name(table_);
      // Consumers starting together must not race to create the table.
      tx.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", table_);
      tx.exec(absl::StrCat("CREATE TABLE IF NOT EXISTS ", t,
                           " (subscription text NOT NULL, message_id text NOT NULL, "
                           "received_at timestamptz NOT NULL DEFAULT now(), "
                           "PRIMARY KEY (subscription, message_id))"));
      tx.exec(absl::StrCat("CREATE INDEX IF NOT EXISTS ", tx.quote_name(table_ + "_received_at"),
                           " ON ", t, " (received_at)"));
      tx.commit();
      return absl::OkStatus();
    } catch (const std::exception& e) {
      conn_.reset();
      return Unavailable(e);
    }
  }

  absl::Status Begin() override {
    try {
      tx_ = std::make_unique<pqxx::work>(Connection());
      return absl::OkStatus();
    } catch (const std::exception& e) {
      conn_.reset();
      return Unavailable(e);
    }
  }

  absl::StatusOr<std::vector<std::string>> Record(const std::vector<std::string>& ids) override {
    try {
      std::vector<std::string> fresh;
      for (const auto& row : tx_->exec_params(
               absl::StrCat("INSERT INTO ", tx_->quote_name(table_),
                            " (subscription, message_id) SELECT $1, unnest($2::text[]) "
                            "ON CONFLICT DO NOTHING RETURNING message_id"),
               subscription_, TextArray(ids))) {
        fresh.push_back(row[0].as<std::string>());
      }
      return fresh;
    } catch (const std::exception& e) {
      return Unavailable(e);
    }
  }

  absl::Status Commit() override {
    try {
      tx_->commit();
      tx_.reset();
      return absl::OkStatus();
    } catch (const std::exception& e) {
      // Committed or not (in doubt): either way the redelivery is decided
      // by the inbox row.
      tx_.reset();
      conn_.reset();
      return Unavailable(e);
    }
  }

  void Rollback() override {
    try {
      if (tx_) tx_->abort();
    } catch (const std::exception&) {
      conn_.reset();
    }
    tx_.reset();
  }

  pqxx::work& tx() { return *tx_; }

  absl::StatusOr<int64_t> Sweep(absl::Duration retention) {
    try {
      pqxx::work tx(Connection());
      const pqxx::result r = tx.exec_params(
          absl::StrCat(
              "DELETE FROM ", tx.quote_name(table_),
              " WHERE subscription = $1 AND received_at < now() - make_interval(secs => $2)"),
          subscription_, absl::ToDoubleSeconds(retention));
      tx.commit();
      return static_cast<int64_t>(r.affected_rows());
    } catch (const std::exception& e) {
      conn_.reset();
      return Unavailable(e);
    }
  }

 private:
  pqxx::connection& Connection() {
    if (!conn_ || !conn_->is_open()) conn_ = std::make_unique<pqxx::connection>(url_);
    return *conn_;
  }

  const std::string url_;
  const std::string subscription_;
  const std::string table_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> tx_;
};

absl::StatusOr<std::unique_ptr<Inbox>> Inbox::Open(const std::string& database_url,
                                                   std::string subscription, Handler handler,
                                                   InboxOptions options) {
  if (options.max_batch < 1) return absl::InvalidArgumentError("max_batch must be at least 1");
  auto store = std::make_unique<PgStore>(database_url, std::move(subscription), options.table);
  if (absl::Status s = store->Migrate(); !s.ok()) return s;
  return std::unique_ptr<Inbox>(
      new Inbox(std::move(store), std::move(handler), std::move(options)));
}

Inbox::Inbox(std::unique_ptr<PgStore> store, Handler handler, InboxOptions options)
    : options_(std::move(options)),
      store_(std::move(store)),
      processor_(
          *store_,
          [this, handler = std::move(handler)](const Message& m) -> absl::Status {
            try {
              return handler(store_->tx(), m);
            } catch (const std::exception& e) {
              return absl::InternalError(absl::StrCat("inbox handler: ", e.what()));
            }
          },
          options_.on_committed),
      worker_([this] { Work(); }) {}

Inbox::~Inbox() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  worker_.join();
  // Whatever is still queued goes back to the hub at once.
  for (inbox::InboxItem& item : queue_) std::move(item.nack)();
}

MessageHandler Inbox::AsMessageHandler() {
  return [this](Message message, AckHandler handler) {
    // AnyInvocable holds move-only state, but one AckHandler serves two
    // callbacks, of which exactly one runs.
    auto shared = std::make_shared<AckHandler>(std::move(handler));
    inbox::InboxItem item{std::move(message), [shared] { std::move(*shared).Ack(); },
                          [shared] { std::move(*shared).Nack(); }};
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(item));
  };
}

absl::StatusOr<int64_t> Inbox::Sweep() { return store_->Sweep(options_.retention); }

void Inbox::Work() {
  absl::Time next_sweep = absl::Now() + options_.sweep_interval;
  for (;;) {
    std::vector<inbox::InboxItem> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(1));
      if (stopping_) return;
      if (!queue_.empty() && static_cast<int>(queue_.size()) < options_.max_batch) {
        // Let a batch fill for a moment: one commit for many messages.
        auto full = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || static_cast<int>(queue_.size()) >= options_.max_batch;
        };
        mu_.AwaitWithTimeout(absl::Condition(&full), options_.max_delay);
      }
      while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    processor_.Process(std::move(batch));
    if (absl::Now() >= next_sweep) {
      // A failed sweep is tried again at the next interval.
      Sweep().status().IgnoreError();
      next_sweep = absl::Now() + options_.sweep_interval;
    }
  }
}

}  // namespace hub::client
