#include "hub/hub_probe.h"

namespace hub {

HubProbe::HubProbe(prometheus::Registry& registry)
    : expired_(prometheus::BuildCounter()
                   .Name("hub_messages_expired_unacknowledged_total")
                   .Help("Messages that left a subscription unacknowledged "
                         "because they outlived the topic's retention")
                   .Register(registry)),
      partitions_dropped_(prometheus::BuildCounter()
                              .Name("hub_retention_partitions_dropped_total")
                              .Help("Message partitions dropped by retention")
                              .Register(registry)
                              .Add({})) {}

void HubProbe::ExpiredUnacknowledged(absl::string_view subscription, int64_t count) {
  expired_.Add({{"subscription", std::string(subscription)}})
      .Increment(static_cast<double>(count));
}

void HubProbe::PartitionsDropped(int count) {
  partitions_dropped_.Increment(count);
}

}  // namespace hub
