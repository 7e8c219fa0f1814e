#ifndef TESTS_CHAOS_HISTORY_H_
#define TESTS_CHAOS_HISTORY_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

// What the chaos workload did and saw, and the checker over it (the queue
// workload of Jepsen): every publish carries a unique value; every call is
// recorded as ok, failed or unknown; afterwards every acknowledged value
// must have been received.
namespace hub::chaos {

struct Counts {
  int64_t attempted = 0;                    // distinct values sent at least once
  int64_t acknowledged = 0;                 // distinct values some call answered OK
  int64_t unknown = 0;                      // sent, never answered OK (maybe stored, maybe not)
  int64_t failed_calls = 0;                 // calls answered with an error or no answer
  std::map<std::string, int64_t> failures;  // failed calls by their code
  int64_t received = 0;                     // distinct values delivered
  int64_t deliveries = 0;
  int64_t lost = 0;              // acknowledged, never received
  int64_t unexpected = 0;        // received, never sent
  int64_t duplicates = 0;        // deliveries beyond the first of a value
  int64_t inconsistent_ids = 0;  // values whose OK answers named different message ids
};

class History {
 public:
  void Sent(const std::string& value);
  void Answered(const std::string& value, const std::string& message_id, absl::Time at);
  // A call failed with `code` (a gRPC status code's name, or what the
  // client said).
  void CallFailed(const std::string& code);
  void Delivered(const std::string& value);

  Counts Check() const;
  // Acknowledged values not received yet.
  int64_t Missing() const;
  // When each acknowledgement arrived, for checks against fault windows.
  std::vector<absl::Time> AnswerTimes() const;
  // Values in the order of their deliveries.
  std::vector<std::string> DeliveryOrder() const;
  // Values some call answered OK, and the message id it named.
  std::map<std::string, std::string> Acknowledged() const;

 private:
  mutable absl::Mutex mu_;
  std::set<std::string> sent_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> ids_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> answer_times_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> failures_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> delivered_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub::chaos

#endif  // TESTS_CHAOS_HISTORY_H_
