#include "tests/chaos/history.h"

namespace hub::chaos {

void History::Sent(const std::string& value) {
  absl::MutexLock lock(&mu_);
  sent_.insert(value);
}

void History::Answered(const std::string& value, const std::string& message_id, absl::Time at) {
  absl::MutexLock lock(&mu_);
  ids_[value].insert(message_id);
  answer_times_.push_back(at);
}

void History::CallFailed(const std::string& code) {
  absl::MutexLock lock(&mu_);
  ++failures_[code];
}

void History::Delivered(const std::string& value) {
  absl::MutexLock lock(&mu_);
  ++delivered_[value];
  order_.push_back(value);
}

Counts History::Check() const {
  absl::MutexLock lock(&mu_);
  Counts c;
  c.attempted = static_cast<int64_t>(sent_.size());
  c.acknowledged = static_cast<int64_t>(ids_.size());
  c.unknown = c.attempted - c.acknowledged;
  c.failures = failures_;
  for (const auto& [code, n] : failures_) c.failed_calls += n;
  c.received = static_cast<int64_t>(delivered_.size());
  for (const auto& [value, ids] : ids_) {
    if (delivered_.count(value) == 0) ++c.lost;
    if (ids.size() > 1) ++c.inconsistent_ids;
  }
  for (const auto& [value, count] : delivered_) {
    c.deliveries += count;
    c.duplicates += count - 1;
    if (sent_.count(value) == 0) ++c.unexpected;
  }
  return c;
}

int64_t History::Missing() const {
  absl::MutexLock lock(&mu_);
  int64_t missing = 0;
  for (const auto& [value, ids] : ids_) missing += delivered_.count(value) == 0;
  return missing;
}

std::vector<absl::Time> History::AnswerTimes() const {
  absl::MutexLock lock(&mu_);
  return answer_times_;
}

std::vector<std::string> History::DeliveryOrder() const {
  absl::MutexLock lock(&mu_);
  return order_;
}

std::map<std::string, std::string> History::Acknowledged() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, std::string> out;
  for (const auto& [value, ids] : ids_) out[value] = *ids.begin();
  return out;
}

}  // namespace hub::chaos
