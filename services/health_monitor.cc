#include "services/health_monitor.h"

#include <string>

#include "common/log.h"

namespace hub::services {

HealthMonitor::HealthMonitor(Probe probe, OnChange on_change, absl::Duration interval)
    : probe_(std::move(probe)),
      on_change_(std::move(on_change)),
      interval_(interval),
      thread_([this] { Loop(); }) {}

HealthMonitor::~HealthMonitor() { Stop(); }

void HealthMonitor::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
  if (serving_.exchange(false)) on_change_(false);
}

void HealthMonitor::Loop() {
  do {
    const absl::Status status = probe_();
    const bool serving = status.ok();
    if (serving_.exchange(serving) != serving || !serving_seen_) {
      serving_seen_ = true;
      on_change_(serving);
      if (serving) {
        Log(LogLevel::kInfo, "database_reachable");
      } else {
        Log(LogLevel::kError, "database_unreachable", {{"error", std::string(status.message())}});
      }
    }
  } while (!stop_.WaitForNotificationWithTimeout(interval_));
}

}  // namespace hub::services
