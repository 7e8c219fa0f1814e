#ifndef TESTS_CHAOS_WORKLOAD_H_
#define TESTS_CHAOS_WORKLOAD_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "client/connection.h"
#include "client/subscriber.h"
#include "tests/chaos/history.h"

namespace hub::chaos {

struct WorkloadOptions {
  // One hubd or several, comma-separated (the client balances them).
  std::string endpoint;
  std::string topic;
  std::string subscription;
  int publishers = 4;
  int batch = 10;
  // In-process consumers of `subscription` (0: the scenario brings its own).
  int consumers = 2;
  // With ordering: every batch carries one ordering key, each publisher
  // owning `ordering_keys` keys and publishing them in turn.
  int ordering_keys = 0;
  // Each publisher's pause between batches (0: as fast as answers come);
  // spreads a bounded number of values over the faults.
  absl::Duration batch_interval = absl::ZeroDuration();
  absl::Duration call_timeout = absl::Seconds(5);
  // A batch still unanswered after this long is given up (its values stay
  // unknown).
  absl::Duration give_up = absl::Seconds(120);
  // Consumers start with StartConsumers rather than with Start.
  bool consumers_later = false;
};

// Publishers with unique values (each value its own idempotency key) and
// consumers acking all they receive, recording everything in a History.
// A publish call that fails is retried with the same keys until answered,
// as a client would; every attempt is recorded.
class Workload {
 public:
  Workload(WorkloadOptions options, History& history);
  ~Workload();

  void Start();
  void StartConsumers();
  // Publishers stop after their batch in hand has been answered.
  void StopPublishing();
  // Waits until every acknowledged value was delivered; false at `limit`.
  bool Drain(absl::Duration limit);
  void Stop();

  int64_t batches_answered() const { return batches_answered_.load(); }

 private:
  void Publish(int index);

  const WorkloadOptions options_;
  History& history_;
  client::Connection connection_;
  std::atomic<bool> stop_publishing_{false};
  std::atomic<int64_t> batches_answered_{0};
  std::vector<std::thread> publishers_;
  std::vector<client::SubscriberSession> consumers_;
};

}  // namespace hub::chaos

#endif  // TESTS_CHAOS_WORKLOAD_H_
