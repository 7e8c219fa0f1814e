#ifndef HUB_HUB_PROBE_H_
#define HUB_HUB_PROBE_H_

#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "absl/strings/string_view.h"

namespace hub {

// The engine's metrics. The engine calls these methods and knows nothing of
// Prometheus; labels are topic and subscription names only (bounded).
class HubProbe {
 public:
  explicit HubProbe(prometheus::Registry& registry);

  // Messages that left a subscription unacknowledged because they outlived
  // their topic's retention.
  void ExpiredUnacknowledged(absl::string_view subscription, int64_t count);
  void PartitionsDropped(int count);

 private:
  prometheus::Family<prometheus::Counter>& expired_;
  prometheus::Counter& partitions_dropped_;
};

}  // namespace hub

#endif  // HUB_HUB_PROBE_H_
