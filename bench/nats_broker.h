#ifndef BENCH_NATS_BROKER_H_
#define BENCH_NATS_BROKER_H_

#include <memory>
#include <string>

#include "bench/broker.h"

namespace hub::bench {

// NATS JetStream (libnats): a file-storage stream, asynchronous publishes
// whose acks are awaited per batch, durable pull consumers with explicit
// acks, one per subscription (no copies). Debian's nats-server 2.9 cannot
// fsync per message: its acknowledgement means written, not synced.
class NatsBroker final : public Broker {
 public:
  explicit NatsBroker(std::string url) : url_(std::move(url)) {}
  std::string name() const override { return "NATS JetStream"; }
  std::string durability() const override {
    return "file storage, default sync (not fsynced before the ack)";
  }
  std::vector<std::string> processes() const override { return {"nats"}; }
  absl::Status Prepare(const std::string& name, int subscriptions) override;
  std::unique_ptr<Producer> NewProducer() override;
  std::unique_ptr<Consumer> NewConsumer(int index) override;

 private:
  const std::string url_;
  std::string stream_;
  std::string subject_;
};

}  // namespace hub::bench

#endif  // BENCH_NATS_BROKER_H_
