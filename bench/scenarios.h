#ifndef BENCH_SCENARIOS_H_
#define BENCH_SCENARIOS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/broker.h"
#include "bench/latency.h"

// The load shapes of docs/benchmarks.md, each run the same way against any
// Broker. Scenario code prepares nothing itself: the caller prepares the
// destination, so a scenario can also run on one that holds a backlog.
namespace hub::bench {

struct Load {
  absl::Duration duration = absl::Seconds(10);
  int message_bytes = 256;
  int batch = 100;
  int publishers = 8;
  // Consumers per subscription; 0: publish only.
  int consumers = 0;
  int subscriptions = 1;
  // After publishing stops, how long consumers get to receive everything.
  absl::Duration drain_limit = absl::Seconds(60);
  // Consumers start only when publishing stops: the publish rate is then the
  // write path's alone, and the drain shows every subscription receives.
  bool consume_after_publishing = false;
};

struct Outcome {
  int64_t published = 0;
  int64_t consumed = 0;     // over all subscriptions
  double publish_rate = 0;  // messages per second while publishing
  // Messages per second received while publishing, or, with
  // consume_after_publishing, while draining.
  double consume_rate = 0;
  LatencyRecorder::Summary publish_latency;   // one batch's publish call
  LatencyRecorder::Summary delivery_latency;  // publish to delivery
  bool drained = true;
  absl::Duration drain_time;
  std::string error;  // empty when every call succeeded
};

// Publishers (and consumers, if any) at full speed for `load.duration`,
// then, with consumers, until every subscription received every message.
// Each publisher opens a producer of the prepared destination, or, when
// `producers` are given (one per publisher), publishes through its own: P7
// prepares one destination per producer.
Outcome RunLoad(Broker& broker, const Load& load,
                std::vector<std::unique_ptr<Producer>> producers = {});

// `rate` single-message publishes per second spread over `publishers`
// threads on a fixed schedule, with one consumer when `consume` and the
// broker consumes.
Outcome RunFixedRate(Broker& broker, int rate, int publishers, absl::Duration duration,
                     int message_bytes, bool consume);

// Publishes `count` messages (rounded up to whole batches of 1,000) as fast
// as 8 publishers can, with nobody consuming: a backlog.
absl::Status Fill(Broker& broker, int64_t count, int message_bytes);

// The highest resident set size of process `pid` while `run` runs, in MiB.
double PeakRssMiB(int pid, const std::function<void()>& run);

// Holds a PostgreSQL transaction open (and with it the xmin horizon that
// vacuum may not pass) from construction to destruction.
class HeldTransaction {
 public:
  explicit HeldTransaction(const std::string& url);
  ~HeldTransaction();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hub::bench

#endif  // BENCH_SCENARIOS_H_
