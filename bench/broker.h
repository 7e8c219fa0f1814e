#ifndef BENCH_BROKER_H_
#define BENCH_BROKER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

// One system under test, as the scenarios drive it. Every system gets the
// same payloads, batch sizes and concurrency; what "acknowledged" means is
// each system's own (docs/benchmarks.md says which durability each has).
namespace hub::bench {

class Producer {
 public:
  virtual ~Producer() = default;
  // Stores the payloads as one batch; returns once the system acknowledged
  // all of them.
  virtual absl::Status Publish(const std::vector<std::string>& payloads) = 0;
};

class Consumer {
 public:
  virtual ~Consumer() = default;
  // Receives until `stop`, calling `on_message` for each message and then
  // acknowledging it (in batches, as the system allows). Returns when
  // stopped, or on an error.
  virtual absl::Status Run(const std::atomic<bool>& stop,
                           const std::function<void(absl::string_view payload)>& on_message) = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;
  virtual std::string name() const = 0;
  // How durable an acknowledged publish is, for the report.
  virtual std::string durability() const = 0;
  // Whether it has a consuming side (the raw PostgreSQL ceiling has not).
  virtual bool consumes() const { return true; }
  // The server processes it runs on, by the names bench/run gives their
  // pids ("postgres", "hubd", "rabbitmq", "nats"), for the CPU figures.
  virtual std::vector<std::string> processes() const = 0;
  // A fresh, empty destination named `name` with `subscriptions`
  // independent consumer groups, each receiving every message.
  virtual absl::Status Prepare(const std::string& name, int subscriptions) = 0;
  virtual std::unique_ptr<Producer> NewProducer() = 0;
  // A consumer of subscription `index` (0-based) of the prepared destination.
  virtual std::unique_ptr<Consumer> NewConsumer(int index) = 0;
};

}  // namespace hub::bench

#endif  // BENCH_BROKER_H_
