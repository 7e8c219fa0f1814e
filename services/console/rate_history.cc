#include "services/console/rate_history.h"

#include <set>

#include "absl/time/clock.h"

namespace hub::services {

RateHistory::RateHistory(prometheus::Registry& registry, absl::Duration step, int steps)
    : registry_(registry), step_(step), steps_(static_cast<size_t>(steps)) {}

RateHistory::~RateHistory() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void RateHistory::Start() {
  thread_ = std::thread([this] {
    do {
      Sample(absl::Now());
    } while (!stop_.WaitForNotificationWithTimeout(step_));
  });
}

void RateHistory::Sample(absl::Time now) {
  const std::vector<prometheus::MetricFamily> collected = registry_.Collect();
  absl::MutexLock lock(&mu_);
  // The first sample only sets where counting starts.
  const double seconds =
      sampled_at_ == absl::InfinitePast() ? 0 : absl::ToDoubleSeconds(now - sampled_at_);
  Advance(collected, "hub_published_messages_total", "topic", seconds, published_);
  Advance(collected, "hub_acks_total", "subscription", seconds, acked_);
  sampled_at_ = now;
}

void RateHistory::Advance(const std::vector<prometheus::MetricFamily>& collected,
                          const std::string& name, const std::string& label, double seconds,
                          Family& family) {
  std::set<std::string> seen;
  for (const prometheus::MetricFamily& f : collected) {
    if (f.name != name) continue;
    for (const prometheus::ClientMetric& metric : f.metric) {
      for (const prometheus::ClientMetric::Label& l : metric.label) {
        if (l.name != label) continue;
        seen.insert(l.value);
        const double value = metric.counter.value;
        auto [it, added] = family.try_emplace(l.value, Series{value, {}});
        // A series that appears between two samples started from zero.
        const double before = added ? 0 : it->second.last;
        if (seconds > 0) {
          it->second.rates.push_back(std::max(0.0, value - before) / seconds);
          if (it->second.rates.size() > steps_) it->second.rates.pop_front();
        }
        it->second.last = value;
      }
    }
  }
  // Topics and subscriptions that are gone, with their series.
  for (auto it = family.begin(); it != family.end();) {
    it = seen.count(it->first) != 0 ? std::next(it) : family.erase(it);
  }
}

std::vector<double> RateHistory::Rates(const Family& family, const std::string& key) const {
  auto it = family.find(key);
  if (it == family.end()) return {};
  return {it->second.rates.begin(), it->second.rates.end()};
}

std::vector<double> RateHistory::Published(const std::string& topic) const {
  absl::MutexLock lock(&mu_);
  return Rates(published_, topic);
}

std::vector<double> RateHistory::Acked(const std::string& subscription) const {
  absl::MutexLock lock(&mu_);
  return Rates(acked_, subscription);
}

}  // namespace hub::services
