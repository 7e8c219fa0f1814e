#include "services/console/rate_history.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <gtest/gtest.h>

namespace hub::services {
namespace {

class RateHistoryTest : public ::testing::Test {
 protected:
  prometheus::Registry registry_;
  prometheus::Family<prometheus::Counter>& published_ =
      prometheus::BuildCounter().Name("hub_published_messages_total").Register(registry_);
  prometheus::Family<prometheus::Counter>& acks_ =
      prometheus::BuildCounter().Name("hub_acks_total").Register(registry_);
  const absl::Time t0_ = absl::FromUnixSeconds(1000);
};

TEST_F(RateHistoryTest, EachStepIsTheCountersRiseOverItsSeconds) {
  RateHistory rates(registry_, absl::Seconds(10), 3);
  published_.Add({{"topic", "orders"}}).Increment(500);  // before the first sample: not a rate
  rates.Sample(t0_);
  EXPECT_TRUE(rates.Published("orders").empty());
  published_.Add({{"topic", "orders"}}).Increment(100);
  acks_.Add({{"subscription", "billing"}}).Increment(40);  // new since: counted from zero
  rates.Sample(t0_ + absl::Seconds(10));
  EXPECT_EQ(rates.Published("orders"), std::vector<double>({10.0}));
  EXPECT_EQ(rates.Acked("billing"), std::vector<double>({4.0}));
  rates.Sample(t0_ + absl::Seconds(20));
  published_.Add({{"topic", "orders"}}).Increment(20);
  rates.Sample(t0_ + absl::Seconds(25));
  EXPECT_EQ(rates.Published("orders"), std::vector<double>({10.0, 0.0, 4.0}));
}

TEST_F(RateHistoryTest, KeepsTheLastStepsAndForgetsWhatIsGone) {
  RateHistory rates(registry_, absl::Seconds(10), 2);
  prometheus::Counter& orders = published_.Add({{"topic", "orders"}});
  for (int i = 0; i < 4; ++i) {
    orders.Increment(10 * i);
    rates.Sample(t0_ + absl::Seconds(10 * i));
  }
  EXPECT_EQ(rates.Published("orders"), std::vector<double>({2.0, 3.0}));
  published_.Remove(&orders);
  rates.Sample(t0_ + absl::Seconds(40));
  EXPECT_TRUE(rates.Published("orders").empty());
  EXPECT_TRUE(rates.Acked("nobody").empty());
}

}  // namespace
}  // namespace hub::services
