#include "hub/hub_probe.h"

#include <algorithm>

namespace hub {
namespace {

using prometheus::Histogram;

// Publish and end-to-end latencies: a millisecond to a minute.
const Histogram::BucketBoundaries kLatencySeconds = {
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60};
const Histogram::BucketBoundaries kBatchSizes = {1,   2,   5,    10,   20,   50,   100,
                                                 200, 500, 1000, 2000, 5000, 10000};

prometheus::Family<prometheus::Counter>& Counter(prometheus::Registry& registry,
                                                 const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Gauge>& Gauge(prometheus::Registry& registry,
                                             const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Labels Topic(absl::string_view topic) { return {{"topic", std::string(topic)}}; }
prometheus::Labels Sub(absl::string_view sub) { return {{"subscription", std::string(sub)}}; }

}  // namespace

HubProbe::HubProbe(prometheus::Registry& registry)
    : published_messages_(Counter(registry, "hub_published_messages_total",
                                  "Messages committed to a topic, duplicates not included")),
      published_bytes_(Counter(registry, "hub_published_bytes_total",
                               "Bytes of data and attributes committed to a topic")),
      publish_duplicates_(Counter(registry, "hub_publish_duplicates_total",
                                  "Published messages whose idempotency key was already "
                                  "stored: answered with the stored id, not stored again")),
      publish_latency_(prometheus::BuildHistogram()
                           .Name("hub_publish_duration_seconds")
                           .Help("From a Publish reaching the engine to its commit")
                           .Register(registry)
                           .Add({}, kLatencySeconds)),
      batch_sizes_(prometheus::BuildHistogram()
                       .Name("hub_group_commit_batch_size")
                       .Help("What one group-commit transaction carried, by kind: publish "
                             "requests, their messages, acks")
                       .Register(registry)),
      publish_requests_per_tx_(batch_sizes_.Add({{"kind", "publish_requests"}}, kBatchSizes)),
      publish_messages_per_tx_(batch_sizes_.Add({{"kind", "publish_messages"}}, kBatchSizes)),
      acks_per_tx_(batch_sizes_.Add({{"kind", "acks"}}, kBatchSizes)),
      deliveries_(Counter(registry, "hub_deliveries_total",
                          "Messages handed to consumers, redeliveries included")),
      redeliveries_(Counter(registry, "hub_redeliveries_total",
                            "Deliveries beyond a message's first (lease ran out, nack)")),
      acks_(Counter(registry, "hub_acks_total", "Acknowledgements accepted")),
      ack_refusals_(Counter(registry, "hub_ack_refusals_total",
                            "Acknowledgements refused: expired (the lease had run out, on "
                            "exactly-once subscriptions) or invalid (a malformed ack id, or, "
                            "where acks are checked, one naming no pending delivery)")),
      nacks_(
          Counter(registry, "hub_nacks_total", "Messages handed back for redelivery (deadline 0)")),
      lease_expirations_(Counter(registry, "hub_lease_expirations_total",
                                 "Leases that ran out while a stream of this replica "
                                 "held the message unacknowledged")),
      end_to_end_(prometheus::BuildHistogram()
                      .Name("hub_end_to_end_latency_seconds")
                      .Help("From publish to the ack, for messages acked on a stream")
                      .Register(registry)
                      .Add({}, kLatencySeconds)),
      streams_(Gauge(registry, "hub_streaming_pull_streams", "Open StreamingPull streams")),
      backlog_(Gauge(registry, "hub_subscription_backlog_messages",
                     "Messages not yet delivered to a subscription (ready)")),
      unacked_(Gauge(registry, "hub_subscription_unacked_messages",
                     "Messages delivered and not yet acknowledged (in flight)")),
      oldest_unacked_age_(Gauge(registry, "hub_subscription_oldest_unacked_age_seconds",
                                "Age of the oldest message not yet acknowledged; 0 when "
                                "there is none")),
      expired_(Counter(registry, "hub_messages_expired_unacknowledged_total",
                       "Messages that left a subscription unacknowledged because they "
                       "outlived the topic's retention")),
      partitions_dropped_(Counter(registry, "hub_retention_partitions_dropped_total",
                                  "Message partitions dropped by retention")
                              .Add({})),
      subscriptions_expired_(Counter(registry, "hub_subscriptions_expired_total",
                                     "Subscriptions deleted for going unused past their "
                                     "expiration ttl")
                                 .Add({})) {}

void HubProbe::Published(absl::string_view topic, const std::vector<PublishResult>& results,
                         int64_t bytes) {
  const auto duplicates = std::count_if(results.begin(), results.end(),
                                        [](const PublishResult& r) { return r.duplicate; });
  published_messages_.Add(Topic(topic))
      .Increment(static_cast<double>(results.size() - static_cast<size_t>(duplicates)));
  published_bytes_.Add(Topic(topic)).Increment(static_cast<double>(bytes));
  publish_duplicates_.Add(Topic(topic)).Increment(static_cast<double>(duplicates));
}

void HubProbe::PublishLatency(absl::Duration took) {
  publish_latency_.Observe(absl::ToDoubleSeconds(took));
}

void HubProbe::PublishTransaction(int requests, int64_t messages) {
  publish_requests_per_tx_.Observe(requests);
  publish_messages_per_tx_.Observe(static_cast<double>(messages));
}

void HubProbe::AckTransaction(int64_t acks) { acks_per_tx_.Observe(static_cast<double>(acks)); }

void HubProbe::Delivered(absl::string_view subscription, const std::vector<Delivery>& deliveries) {
  if (deliveries.empty()) return;
  const auto again = std::count_if(deliveries.begin(), deliveries.end(),
                                   [](const Delivery& d) { return d.delivery_attempt > 1; });
  deliveries_.Add(Sub(subscription)).Increment(static_cast<double>(deliveries.size()));
  redeliveries_.Add(Sub(subscription)).Increment(static_cast<double>(again));
}

void HubProbe::Acked(absl::string_view subscription, int64_t count) {
  acks_.Add(Sub(subscription)).Increment(static_cast<double>(count));
}

void HubProbe::AckRefused(absl::string_view subscription, AckStatus status, int64_t count) {
  ack_refusals_
      .Add({{"subscription", std::string(subscription)},
            {"reason", status == AckStatus::kExpired ? "expired" : "invalid"}})
      .Increment(static_cast<double>(count));
}

void HubProbe::Nacked(absl::string_view subscription, int64_t count) {
  nacks_.Add(Sub(subscription)).Increment(static_cast<double>(count));
}

void HubProbe::LeasesExpired(absl::string_view subscription, int64_t count) {
  lease_expirations_.Add(Sub(subscription)).Increment(static_cast<double>(count));
}

void HubProbe::EndToEnd(absl::Duration took) { end_to_end_.Observe(absl::ToDoubleSeconds(took)); }

void HubProbe::StreamOpened(absl::string_view subscription) {
  streams_.Add(Sub(subscription)).Increment();
}

void HubProbe::StreamClosed(absl::string_view subscription) {
  streams_.Add(Sub(subscription)).Decrement();
}

void HubProbe::SubscriptionStatsRefreshed(const std::vector<SubscriptionStats>& stats,
                                          absl::Time now) {
  absl::MutexLock lock(&mu_);
  std::set<std::string> seen;
  for (const SubscriptionStats& s : stats) {
    const prometheus::Labels labels = {{"subscription", s.subscription}, {"topic", s.topic}};
    backlog_.Add(labels).Set(static_cast<double>(s.backlog_messages));
    unacked_.Add(labels).Set(static_cast<double>(s.unacked_messages));
    oldest_unacked_age_.Add(labels).Set(
        s.oldest_unacked_publish_time
            ? std::max(0.0, absl::ToDoubleSeconds(now - *s.oldest_unacked_publish_time))
            : 0.0);
    seen.insert(s.subscription + '\n' + s.topic);
  }
  // A deleted subscription must not keep reporting its last backlog.
  for (const std::string& key : stats_subscriptions_) {
    if (seen.count(key) != 0) continue;
    const size_t split = key.find('\n');
    const prometheus::Labels labels = {{"subscription", key.substr(0, split)},
                                       {"topic", key.substr(split + 1)}};
    backlog_.Remove(&backlog_.Add(labels));
    unacked_.Remove(&unacked_.Add(labels));
    oldest_unacked_age_.Remove(&oldest_unacked_age_.Add(labels));
  }
  stats_subscriptions_ = std::move(seen);
}

void HubProbe::ExpiredUnacknowledged(absl::string_view subscription, int64_t count) {
  expired_.Add(Sub(subscription)).Increment(static_cast<double>(count));
}

void HubProbe::PartitionsDropped(int count) { partitions_dropped_.Increment(count); }

void HubProbe::SubscriptionExpired() { subscriptions_expired_.Increment(); }

}  // namespace hub
