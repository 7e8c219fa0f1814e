#include "bench/latency.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

namespace hub::bench {

void LatencyRecorder::Record(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  micros_.push_back(absl::ToInt64Microseconds(d));
}

void LatencyRecorder::Record(const std::vector<int64_t>& micros) {
  absl::MutexLock lock(&mu_);
  micros_.insert(micros_.end(), micros.begin(), micros.end());
}

LatencyRecorder::Summary LatencyRecorder::Summarize() {
  absl::MutexLock lock(&mu_);
  Summary s;
  s.count = static_cast<int64_t>(micros_.size());
  if (micros_.empty()) return s;
  std::sort(micros_.begin(), micros_.end());
  auto at = [&](double q) {
    const size_t i = std::min(micros_.size() - 1, static_cast<size_t>(q * micros_.size()));
    return micros_[i] / 1000.0;
  };
  s.p50_ms = at(0.50);
  s.p99_ms = at(0.99);
  s.p999_ms = at(0.999);
  s.max_ms = micros_.back() / 1000.0;
  return s;
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Payload(size_t size) {
  std::string p(std::max(size, sizeof(int64_t)), 'x');
  const int64_t now = NowNanos();
  std::memcpy(p.data(), &now, sizeof(now));
  return p;
}

absl::Duration Age(const char* payload, size_t size) {
  if (size < sizeof(int64_t)) return absl::ZeroDuration();
  int64_t sent = 0;
  std::memcpy(&sent, payload, sizeof(sent));
  return absl::Nanoseconds(NowNanos() - sent);
}

}  // namespace hub::bench
