#ifndef HUB_HOUSEKEEPING_H_
#define HUB_HOUSEKEEPING_H_

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "hub/hub_probe.h"
#include "hub/store.h"

namespace hub {

// The engine's background work, one thread each: the store's maintenance
// (partitions, retention) every `maintenance_interval`, and the backlog
// gauges of every subscription every `stats_interval`.
class Housekeeping {
 public:
  Housekeeping(Store& store, HubProbe& probe, absl::Duration maintenance_interval,
               absl::Duration stats_interval);
  ~Housekeeping() { Stop(); }

  Housekeeping(const Housekeeping&) = delete;
  Housekeeping& operator=(const Housekeeping&) = delete;

  void Stop();

 private:
  void MaintenanceLoop();
  void StatsLoop();

  Store& store_;
  HubProbe& probe_;
  const absl::Duration maintenance_interval_;
  const absl::Duration stats_interval_;
  absl::Notification stop_;
  std::thread maintenance_;
  std::thread stats_;
};

}  // namespace hub

#endif  // HUB_HOUSEKEEPING_H_
