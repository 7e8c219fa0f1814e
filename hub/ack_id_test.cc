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

}  // namespace
}  // namespace hub
