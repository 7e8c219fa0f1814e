#ifndef SERVICES_CONSOLE_RATE_HISTORY_H_
#define SERVICES_CONSOLE_RATE_HISTORY_H_

#include <deque>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/registry.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace hub::services {

// The publish rate of every topic and the ack rate of every subscription
// over the last `steps` steps, from this hubd's own counters
// (hub_published_messages_total, hub_acks_total): what the console draws.
// A replica sees what it served only (docs/console.md, "Rates").
class RateHistory {
 public:
  RateHistory(prometheus::Registry& registry, absl::Duration step, int steps);
  ~RateHistory();

  RateHistory(const RateHistory&) = delete;
  RateHistory& operator=(const RateHistory&) = delete;

  // Samples every step on a thread of its own until destroyed.
  void Start();

  // Messages per second of each step, oldest first; empty before the
  // second sample that saw the series.
  std::vector<double> Published(const std::string& topic) const;
  std::vector<double> Acked(const std::string& subscription) const;
  absl::Duration step() const { return step_; }

  // One sample taken at `now` (the thread's, or a test's).
  void Sample(absl::Time now);

 private:
  struct Series {
    double last = 0;
    std::deque<double> rates;
  };
  using Family = std::map<std::string, Series>;
  // The family `name`'s series by the value of `label`, moved on to `now`.
  void Advance(const std::vector<prometheus::MetricFamily>& collected, const std::string& name,
               const std::string& label, double seconds, Family& family)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<double> Rates(const Family& family, const std::string& key) const;

  prometheus::Registry& registry_;
  const absl::Duration step_;
  const size_t steps_;
  mutable absl::Mutex mu_;
  absl::Time sampled_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Family published_ ABSL_GUARDED_BY(mu_);
  Family acked_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace hub::services

#endif  // SERVICES_CONSOLE_RATE_HISTORY_H_
