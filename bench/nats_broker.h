#ifndef BENCH_NATS_BROKER_H_
#define BENCH_NATS_BROKER_H_

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/broker.h"

namespace hub::bench {

// NATS JetStream (libnats): a file-storage stream, asynchronous publishes
// whose acks are awaited per batch, durable pull consumers with explicit
// acks, one per subscription (no copies). Debian's nats-server 2.9 cannot
// fsync per message: its acknowledgement means written, not synced. With
// `replicas` 3 (a three-node cluster, P8), a publish is acknowledged once a
// majority of the stream's replicas has it.
class NatsBroker final : public Broker {
 public:
  explicit NatsBroker(std::string url, int replicas = 1)
      : url_(std::move(url)), replicas_(replicas) {}
  std::string name() const override {
    return replicas_ == 1 ? "NATS JetStream"
                          : absl::StrCat("NATS JetStream, ", replicas_, " replicas");
  }
  std::string durability() const override {
    return replicas_ == 1 ? "file storage, default sync (not fsynced before the ack)"
                          : "file storage on a majority of the replicas (not fsynced)";
  }
  std::vector<std::string> processes() const override {
    return {replicas_ == 1 ? "nats" : "nats_cluster"};
  }
  absl::Status Prepare(const std::string& name, int subscriptions) override;
  std::unique_ptr<Producer> NewProducer() override;
  std::unique_ptr<Consumer> NewConsumer(int index) override;

 private:
  const std::string url_;
  const int replicas_;
  std::string stream_;
  std::string subject_;
};

}  // namespace hub::bench

#endif  // BENCH_NATS_BROKER_H_
