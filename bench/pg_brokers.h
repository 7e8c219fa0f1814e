#ifndef BENCH_PG_BROKERS_H_
#define BENCH_PG_BROKERS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/broker.h"

// The two PostgreSQL baselines, on the same cluster and settings as the hub.
namespace hub::bench {

// Lets the cluster of `url` finish what earlier runs left it: waits until
// no autovacuum worker runs (at most `limit`), then checkpoints. Every
// system shares the machine and the hub and the baselines share the
// cluster, so without this one system's run pays for the vacuum and the
// checkpoint of the one before it (in a full run, the vacuum of raw
// PostgreSQL's 8 million rows landed in the hub's P1). Returns the time it
// took.
absl::StatusOr<absl::Duration> SettlePostgres(const std::string& url, absl::Duration limit);

// Drops every table and sequence of the baselines' database at `url`.
absl::Status DropBaselineTables(const std::string& url);

// The ceilings: batched INSERTs through libpq, one transaction per batch,
// nothing else; publishing only. Either one row per message, in the shape
// of the hub's first message table (topic, position, time, payload,
// attributes, keys) with its (topic, position) index, or PostgreSQL's own
// limit for this load: one row per batch, its payloads in one bytea stored
// as the hub stores its segments (out of line, uncompressed), with a
// (topic, position) index.
class RawPostgres final : public Broker {
 public:
  enum class Rows { kPerMessage, kPerBatch };
  RawPostgres(std::string url, Rows rows) : url_(std::move(url)), rows_(rows) {}
  std::string name() const override {
    return rows_ == Rows::kPerMessage ? "raw PostgreSQL" : "raw PostgreSQL, one row per batch";
  }
  std::string durability() const override { return "commit (fsync) per batch"; }
  bool consumes() const override { return false; }
  std::vector<std::string> processes() const override { return {"postgres"}; }
  absl::Status Prepare(const std::string& name, int subscriptions) override;
  std::unique_ptr<Producer> NewProducer() override;
  std::unique_ptr<Consumer> NewConsumer(int) override { return nullptr; }

 private:
  const std::string url_;
  const Rows rows_;
  std::string table_;  // of the prepared destination
};

// The SKIP LOCKED queue (pgmq's technique): one table per subscription, a
// read that takes a batch FOR UPDATE SKIP LOCKED and pushes its visibility
// timeout, a DELETE of the batch on ack. Fan-out writes each message into
// every subscription's table.
class SkipLockedQueue final : public Broker {
 public:
  explicit SkipLockedQueue(std::string url) : url_(std::move(url)) {}
  std::string name() const override { return "SKIP LOCKED queue"; }
  std::string durability() const override { return "commit (fsync) per batch"; }
  std::vector<std::string> processes() const override { return {"postgres"}; }
  absl::Status Prepare(const std::string& name, int subscriptions) override;
  std::unique_ptr<Producer> NewProducer() override;
  std::unique_ptr<Consumer> NewConsumer(int index) override;

 private:
  const std::string url_;
  std::string name_;
  int subscriptions_ = 0;
};

}  // namespace hub::bench

#endif  // BENCH_PG_BROKERS_H_
