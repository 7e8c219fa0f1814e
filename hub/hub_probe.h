#ifndef HUB_HUB_PROBE_H_
#define HUB_HUB_PROBE_H_

#include <set>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hub/types.h"

namespace hub {

// The engine's metrics (docs/operations.md lists them). The engine calls
// these methods and knows nothing of Prometheus. Labels are topic and
// subscription names and small fixed sets only: no message ids, no keys.
// Counters count what was committed, once per call, never per message.
class HubProbe {
 public:
  explicit HubProbe(prometheus::Registry& registry);

  // One Publish (or a Transact's publish to one topic), committed.
  void Published(absl::string_view topic, const std::vector<PublishResult>& results, int64_t bytes);
  void PublishLatency(absl::Duration took);
  // One group-commit transaction: the requests and messages it carried.
  void PublishTransaction(int requests, int64_t messages);
  void AckTransaction(int64_t acks);

  void Delivered(absl::string_view subscription, const std::vector<Delivery>& deliveries);
  void Acked(absl::string_view subscription, int64_t count);
  void AckRefused(absl::string_view subscription, AckStatus status, int64_t count);
  void Nacked(absl::string_view subscription, int64_t count);
  // Leases that ran out while a stream of this replica held the message.
  void LeasesExpired(absl::string_view subscription, int64_t count);
  // From publish to the ack, for a message acked on a stream.
  void EndToEnd(absl::Duration took);
  void StreamOpened(absl::string_view subscription);
  void StreamClosed(absl::string_view subscription);

  // The latest backlog figures of every subscription; subscriptions that
  // are gone lose their series.
  void SubscriptionStatsRefreshed(const std::vector<SubscriptionStats>& stats, absl::Time now);

  // Messages that left a subscription unacknowledged because they outlived
  // their topic's retention.
  void ExpiredUnacknowledged(absl::string_view subscription, int64_t count);
  void PartitionsDropped(int count);
  // A subscription deleted for going unused past its expiration ttl.
  void SubscriptionExpired();

 private:
  prometheus::Family<prometheus::Counter>& published_messages_;
  prometheus::Family<prometheus::Counter>& published_bytes_;
  prometheus::Family<prometheus::Counter>& publish_duplicates_;
  prometheus::Histogram& publish_latency_;
  prometheus::Family<prometheus::Histogram>& batch_sizes_;
  prometheus::Histogram& publish_requests_per_tx_;
  prometheus::Histogram& publish_messages_per_tx_;
  prometheus::Histogram& acks_per_tx_;
  prometheus::Family<prometheus::Counter>& deliveries_;
  prometheus::Family<prometheus::Counter>& redeliveries_;
  prometheus::Family<prometheus::Counter>& acks_;
  prometheus::Family<prometheus::Counter>& ack_refusals_;
  prometheus::Family<prometheus::Counter>& nacks_;
  prometheus::Family<prometheus::Counter>& lease_expirations_;
  prometheus::Histogram& end_to_end_;
  prometheus::Family<prometheus::Gauge>& streams_;
  prometheus::Family<prometheus::Gauge>& backlog_;
  prometheus::Family<prometheus::Gauge>& unacked_;
  prometheus::Family<prometheus::Gauge>& oldest_unacked_age_;
  prometheus::Family<prometheus::Counter>& expired_;
  prometheus::Counter& partitions_dropped_;
  prometheus::Counter& subscriptions_expired_;

  absl::Mutex mu_;
  std::set<std::string> stats_subscriptions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub

#endif  // HUB_HUB_PROBE_H_
