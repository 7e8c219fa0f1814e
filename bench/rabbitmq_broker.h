#ifndef BENCH_RABBITMQ_BROKER_H_
#define BENCH_RABBITMQ_BROKER_H_

#include <memory>
#include <string>

#include "bench/broker.h"

namespace hub::bench {

// RabbitMQ over AMQP 0.9.1 (librabbitmq): durable queues, persistent
// messages, publisher confirms awaited per batch, manual acks, prefetch 300.
// Fan-out goes through a fanout exchange into one queue per subscription.
class RabbitMqBroker final : public Broker {
 public:
  RabbitMqBroker(std::string host, int port) : host_(std::move(host)), port_(port) {}
  std::string name() const override { return "RabbitMQ"; }
  std::string durability() const override {
    return "durable queue, persistent messages, confirm after fsync";
  }
  std::vector<std::string> processes() const override { return {"rabbitmq"}; }
  absl::Status Prepare(const std::string& name, int subscriptions) override;
  std::unique_ptr<Producer> NewProducer() override;
  std::unique_ptr<Consumer> NewConsumer(int index) override;

 private:
  const std::string host_;
  const int port_;
  std::string name_;
  int subscriptions_ = 0;
};

}  // namespace hub::bench

#endif  // BENCH_RABBITMQ_BROKER_H_
