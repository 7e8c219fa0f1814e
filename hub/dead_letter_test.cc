#include "hub/dead_letter.h"

#include <gtest/gtest.h>

namespace hub {
namespace {

TEST(DeadLetterMessageTest, CarriesWhereItCameFromAndNoKeyOfTheSourceTopic) {
  Message original;
  original.data = "order 42";
  original.attributes = {{"kind", "order"}};
  original.ordering_key = "customer-7";
  original.idempotency_key = "order-42";
  original.message_id = "17";
  original.delivery_delay = absl::Minutes(5);
  const Message letter = DeadLetterMessage(original, "billing", 5, "lease_expired");
  EXPECT_EQ(letter.data, "order 42");
  EXPECT_EQ(letter.ordering_key, "customer-7");
  EXPECT_EQ(letter.attributes, (Labels{{"kind", "order"},
                                       {"hub.dead_letter.subscription", "billing"},
                                       {"hub.dead_letter.delivery_attempts", "5"},
                                       {"hub.dead_letter.reason", "lease_expired"},
                                       {"hub.dead_letter.message_id", "17"}}));
  EXPECT_TRUE(letter.idempotency_key.empty());
  EXPECT_TRUE(letter.message_id.empty());
  EXPECT_EQ(letter.delivery_delay, absl::ZeroDuration()) << "a dead letter is due at once";
}

}  // namespace
}  // namespace hub
