#ifndef BENCH_HUB_BROKER_H_
#define BENCH_HUB_BROKER_H_

#include <memory>
#include <string>

#include "bench/broker.h"
#include "client/connection.h"
#include "hub/v1/resources.pb.h"

namespace hub::bench {

// The hub through the client library, as a service would use it:
// Publisher (one batch per Publish call, deduplicated as a producer batch,
// its default; with `keyed`, each message also carries an idempotency key of
// its own) and Subscriber (StreamingPull, batched acks).
class HubBroker final : public Broker {
 public:
  struct Variant {
    bool exactly_once = false;
    bool keyed = false;
    // > 0: subscriptions deliver in order, and each producer gives its
    // batches these many ordering keys in turn, one key per batch.
    int ordering_keys = 0;
    // BINARY or JSON: the topic has a Protocol Buffers schema (kEventSchema
    // in hub_broker.cc) in that encoding, and each payload is sent as an
    // event of it; unspecified: no schema.
    v1::SchemaEncoding schema = v1::SCHEMA_ENCODING_UNSPECIFIED;
  };
  HubBroker(client::Connection connection, Variant variant)
      : connection_(std::move(connection)), variant_(variant) {}

  std::string name() const override;
  std::string durability() const override;
  std::vector<std::string> processes() const override { return {"hubd", "postgres"}; }
  absl::Status Prepare(const std::string& name, int subscriptions) override;
  std::unique_ptr<Producer> NewProducer() override;
  std::unique_ptr<Consumer> NewConsumer(int index) override;

 private:
  client::Connection connection_;
  const Variant variant_;
  std::string topic_;
};

}  // namespace hub::bench

#endif  // BENCH_HUB_BROKER_H_
