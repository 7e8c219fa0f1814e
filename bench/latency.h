#ifndef BENCH_LATENCY_H_
#define BENCH_LATENCY_H_

#include <cstdint>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hub::bench {

// Every latency sample of a run (microseconds), for exact percentiles;
// a run's samples fit in memory (tens of millions of bytes at most).
class LatencyRecorder {
 public:
  void Record(absl::Duration d);
  void Record(const std::vector<int64_t>& micros);
  struct Summary {
    int64_t count = 0;
    double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  };
  Summary Summarize();

 private:
  absl::Mutex mu_;
  std::vector<int64_t> micros_ ABSL_GUARDED_BY(mu_);
};

// Monotonic nanoseconds, shared by producers and consumers of one process:
// each payload starts with its send time so the consumer can take the
// publish-to-deliver latency.
int64_t NowNanos();
std::string Payload(size_t size);
// The latency of a payload made by Payload(), at the time of the call.
absl::Duration Age(const char* payload, size_t size);

}  // namespace hub::bench

#endif  // BENCH_LATENCY_H_
