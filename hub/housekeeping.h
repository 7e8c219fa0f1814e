#ifndef HUB_HOUSEKEEPING_H_
#define HUB_HOUSEKEEPING_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "hub/hub_probe.h"
#include "hub/store.h"

namespace hub {

// The engine's background work, one thread each: the store's maintenance
// (partitions, retention, expired subscriptions) every
// `maintenance_interval`, after marking the subscriptions `used` names as
// used, the backlog gauges
// of every subscription every `stats_interval`, and every
// `dead_letter_interval` the move of messages out of attempts to their
// dead-letter topics, which must not wait for a consumer to claim again (a
// poison message that kills its consumer is the case where none does).
class Housekeeping {
 public:
  using Used = std::function<std::vector<std::string>()>;
  Housekeeping(Store& store, HubProbe& probe, absl::Duration maintenance_interval,
               absl::Duration stats_interval, absl::Duration dead_letter_interval, Used used);
  ~Housekeeping() { Stop(); }

  Housekeeping(const Housekeeping&) = delete;
  Housekeeping& operator=(const Housekeeping&) = delete;

  void Stop();

 private:
  void MaintenanceLoop();
  void StatsLoop();
  void DeadLetterLoop();

  Store& store_;
  HubProbe& probe_;
  const absl::Duration maintenance_interval_;
  const absl::Duration stats_interval_;
  const absl::Duration dead_letter_interval_;
  const Used used_;
  absl::Notification stop_;
  std::thread maintenance_;
  std::thread stats_;
  std::thread dead_letters_;
};

}  // namespace hub

#endif  // HUB_HOUSEKEEPING_H_
