#ifndef SERVICES_HEALTH_MONITOR_H_
#define SERVICES_HEALTH_MONITOR_H_

#include <atomic>
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace hub::services {

// Probes the database every `interval` and reports changes: readiness (and
// gRPC health) is SERVING only while the probe passes. Logs each change
// once, not each probe.
class HealthMonitor {
 public:
  using Probe = std::function<absl::Status()>;
  using OnChange = std::function<void(bool serving)>;

  HealthMonitor(Probe probe, OnChange on_change, absl::Duration interval);
  ~HealthMonitor();

  // Stops probing and reports not serving for good.
  void Stop();
  bool serving() const { return serving_.load(); }

 private:
  void Loop();

  const Probe probe_;
  const OnChange on_change_;
  const absl::Duration interval_;
  std::atomic<bool> serving_{false};
  bool serving_seen_ = false;  // the first probe always reports
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace hub::services

#endif  // SERVICES_HEALTH_MONITOR_H_
