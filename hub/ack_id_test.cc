#include "hub/ack_id.h"

#include <gtest/gtest.h>

namespace hub {
namespace {

TEST(AckIdTest, RoundTrips) {
  const AckId id{12345, 3, 9876543210};
  const std::optional<AckId> parsed = ParseAckId(EncodeAckId(id));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, id);
}

TEST(AckIdTest, RejectsAnythingItDidNotProduce) {
  for (const char* text : {"", "1-2", "1-2-3-4", "a-b-c", "1--3", "+1-2-3", " 1-2-3", "1-2-3 ",
                           "0-1-1", "1-0-1", "1-1-0", "-1-1-1", "1-99999999999-1", "01-1-1"}) {
    EXPECT_FALSE(ParseAckId(text).has_value()) << text;
  }
}

TEST(AckIdTest, AtMostOnceDeliveriesNameNoLease) {
  const std::optional<AckId> parsed = ParseAckId(EncodeAckId(AckId{0, 0, 42}));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->position, 42);
  EXPECT_FALSE(ParseAckId("0-0-0").has_value());
}

}  // namespace
}  // namespace hub
