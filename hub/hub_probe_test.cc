#include "hub/hub_probe.h"

#include <prometheus/text_serializer.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hub {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Scrape(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

SubscriptionStats Stats(const std::string& sub, int64_t backlog, int64_t unacked,
                        std::optional<absl::Time> oldest) {
  return SubscriptionStats{sub, "orders", backlog, unacked, oldest};
}

TEST(HubProbeTest, BacklogGaugesFollowTheSubscriptionsThatExist) {
  prometheus::Registry registry;
  HubProbe probe(registry);
  const absl::Time now = absl::FromUnixSeconds(1000);
  probe.SubscriptionStatsRefreshed(
      {Stats("billing", 7, 2, now - absl::Seconds(90)), Stats("shipping", 0, 0, std::nullopt)},
      now);
  std::string text = Scrape(registry);
  EXPECT_THAT(
      text,
      HasSubstr(R"(hub_subscription_backlog_messages{subscription="billing",topic="orders"} 7)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(hub_subscription_unacked_messages{subscription="billing",topic="orders"} 2)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(hub_subscription_oldest_unacked_age_seconds{subscription="billing",topic="orders"} 90)"));
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(hub_subscription_oldest_unacked_age_seconds{subscription="shipping",topic="orders"} 0)"));

  // billing deleted: its series go, rather than report a stale backlog.
  probe.SubscriptionStatsRefreshed({Stats("shipping", 3, 0, std::nullopt)}, now);
  text = Scrape(registry);
  EXPECT_THAT(text, Not(HasSubstr(R"(subscription="billing")")));
  EXPECT_THAT(
      text,
      HasSubstr(R"(hub_subscription_backlog_messages{subscription="shipping",topic="orders"} 3)"));
}

TEST(HubProbeTest, PublishCountsDuplicatesApart) {
  prometheus::Registry registry;
  HubProbe probe(registry);
  probe.Published("orders", {{"m1", false}, {"m2", true}, {"m3", false}}, 300);
  const std::string text = Scrape(registry);
  EXPECT_THAT(text, HasSubstr(R"(hub_published_messages_total{topic="orders"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(hub_publish_duplicates_total{topic="orders"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(hub_published_bytes_total{topic="orders"} 300)"));
}

TEST(HubProbeTest, DeliveriesCountRedeliveriesApart) {
  prometheus::Registry registry;
  HubProbe probe(registry);
  std::vector<Delivery> deliveries(3);
  deliveries[1].delivery_attempt = 2;
  probe.Delivered("billing", deliveries);
  const std::string text = Scrape(registry);
  EXPECT_THAT(text, HasSubstr(R"(hub_deliveries_total{subscription="billing"} 3)"));
  EXPECT_THAT(text, HasSubstr(R"(hub_redeliveries_total{subscription="billing"} 1)"));
}

}  // namespace
}  // namespace hub
