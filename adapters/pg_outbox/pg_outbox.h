#ifndef ADAPTERS_PG_OUTBOX_PG_OUTBOX_H_
#define ADAPTERS_PG_OUTBOX_PG_OUTBOX_H_

#include <map>
#include <memory>
#include <string>

#include <pqxx/connection>

#include "adapters/runtime/runtime.h"
#include "client/publisher.h"

namespace hub::adapters {

struct PgOutboxConfig {
  std::string database_url;  // or database_url_file
  std::string table = "outbox";
  std::string id_column = "id";            // orders the rows
  std::string payload_column = "payload";  // text or bytea
  // One topic for every row, or a column naming each row's.
  std::string topic;
  std::string topic_column;
  // The idempotency key is key_prefix + this column (default: the id).
  std::string key_column;
  std::string key_prefix;
  std::string ordering_key_column;
  std::string attributes_column;  // a json(b) object
  // After a row's message is committed: delete the row, or set
  // mark_column to now() (and read only rows where it is NULL).
  bool delete_published = true;
  std::string mark_column;
  int64_t batch_size = 500;
  absl::Duration poll_interval = absl::Milliseconds(500);

  static absl::StatusOr<PgOutboxConfig> Read(ConfigSection& section);
};

// Polls a legacy application's outbox table and publishes its rows
// (docs/adapters.md). A batch is read with FOR UPDATE SKIP LOCKED, published,
// and deleted or marked in the same transaction: a crash before the commit
// leaves the rows to be read again and published under the same keys,
// which the hub stores once.
class PgOutbox final : public Adapter {
 public:
  using Config = PgOutboxConfig;
  PgOutbox(PgOutboxConfig config, AdapterEnv& env);
  ~PgOutbox() override;

  absl::Status Run(const absl::Notification& stop) override;
  bool Ready() const override { return ready_.load(); }

 private:
  // Publishes one batch; how many rows it took.
  absl::StatusOr<int64_t> PublishBatch();
  client::Publisher& PublisherFor(const std::string& topic);

  const PgOutboxConfig config_;
  const client::Connection connection_;
  std::map<std::string, std::unique_ptr<client::Publisher>> publishers_;
  std::unique_ptr<pqxx::connection> db_;
  std::string select_sql_;
  std::string finish_sql_;
  std::atomic<bool> ready_{false};
  prometheus::Counter& published_;
  prometheus::Counter& duplicates_;
};

}  // namespace hub::adapters

#endif  // ADAPTERS_PG_OUTBOX_PG_OUTBOX_H_
