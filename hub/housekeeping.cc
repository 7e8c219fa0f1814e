#include "hub/housekeeping.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace hub {

Housekeeping::Housekeeping(Store& store, HubProbe& probe, absl::Duration maintenance_interval,
                           absl::Duration stats_interval, absl::Duration dead_letter_interval,
                           Used used)
    : store_(store),
      probe_(probe),
      maintenance_interval_(maintenance_interval),
      stats_interval_(stats_interval),
      dead_letter_interval_(dead_letter_interval),
      used_(std::move(used)),
      maintenance_([this] { MaintenanceLoop(); }),
      stats_([this] { StatsLoop(); }),
      dead_letters_([this] { DeadLetterLoop(); }) {}

void Housekeeping::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (maintenance_.joinable()) maintenance_.join();
  if (stats_.joinable()) stats_.join();
  if (dead_letters_.joinable()) dead_letters_.join();
}

void Housekeeping::MaintenanceLoop() {
  while (!stop_.WaitForNotificationWithTimeout(maintenance_interval_)) {
    // A failure here is retried at the next interval; partitions are made
    // days ahead, so one missed round costs nothing. A mark that failed is
    // lost, which a ttl of a day or more does not feel.
    store_.MarkActive(used_()).IgnoreError();
    absl::StatusOr<MaintenanceReport> report = store_.Maintain();
    if (!report.ok()) {
      Log(LogLevel::kWarning, "maintenance_failed",
          {{"error", std::string(report.status().message())}});
      continue;
    }
    for (const auto& [subscription, count] : report->expired) {
      probe_.ExpiredUnacknowledged(subscription, count);
      Log(LogLevel::kWarning, "messages_expired_unacknowledged",
          {{"subscription", subscription}, {"count", absl::StrCat(count)}});
    }
    for (const std::string& subscription : report->expired_subscriptions) {
      probe_.SubscriptionExpired();
      Log(LogLevel::kInfo, "subscription_expired", {{"subscription", subscription}});
    }
    probe_.PartitionsDropped(report->partitions_dropped);
    if (report->partitions_dropped > 0) {
      Log(LogLevel::kInfo, "partitions_dropped",
          {{"count", absl::StrCat(report->partitions_dropped)}});
    }
  }
}

void Housekeeping::StatsLoop() {
  do {
    // A failure leaves the gauges as they were; the database's absence shows
    // in readiness and in hub_database_errors_total.
    absl::StatusOr<std::vector<SubscriptionStats>> stats = store_.GetSubscriptionStats("");
    if (stats.ok()) probe_.SubscriptionStatsRefreshed(*stats, absl::Now());
  } while (!stop_.WaitForNotificationWithTimeout(stats_interval_));
}

void Housekeeping::DeadLetterLoop() {
  while (!stop_.WaitForNotificationWithTimeout(dead_letter_interval_)) {
    // A failure is retried at the next interval; what waits is counted by
    // the backlog gauges, and the database's absence shows in readiness.
    store_.MoveDeadLetters().IgnoreError();
  }
}

}  // namespace hub
