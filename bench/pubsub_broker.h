#ifndef BENCH_PUBSUB_BROKER_H_
#define BENCH_PUBSUB_BROKER_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "bench/broker.h"

namespace hub::bench {

// The hub through its Pub/Sub API (google.pubsub.v1, docs/pubsub.md), on
// Google's generated stubs as a Pub/Sub client library drives them: one
// Publish request per batch, each message with its idempotency attribute
// (the same work as HubBroker's keys), and StreamingPull with the acks of
// each response sent back on the stream. Beside HubBroker in one run it
// gives the cost of the translation.
class PubSubBroker final : public Broker {
 public:
  // `project`: hubd's --pubsub_project, so that the names are plain ones.
  PubSubBroker(std::shared_ptr<grpc::Channel> channel, std::string project)
      : channel_(std::move(channel)), project_(std::move(project)) {}

  std::string name() const override { return "hub via google.pubsub.v1"; }
  std::string durability() const override {
    return "PostgreSQL commit (fsync) before the ack; idempotency attribute per message";
  }
  std::vector<std::string> processes() const override { return {"hubd", "postgres"}; }
  absl::Status Prepare(const std::string& name, int subscriptions) override;
  std::unique_ptr<Producer> NewProducer() override;
  std::unique_ptr<Consumer> NewConsumer(int index) override;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  const std::string project_;
  std::string topic_;
};

}  // namespace hub::bench

#endif  // BENCH_PUBSUB_BROKER_H_
