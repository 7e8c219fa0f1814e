// Values as the store writes and reads them, without a database.
#include "hub/pg/pg_values.h"

#include <stdexcept>

#include <gtest/gtest.h>

namespace hub::pg {
namespace {

// The stored numbers are part of the schema: this table is the contract.
TEST(PgValuesTest, DeliveryGuaranteesAreStoredByTheirFixedNumbers) {
  const std::pair<DeliveryGuarantee, int> table[] = {
      {DeliveryGuarantee::kAtMostOnce, 0},
      {DeliveryGuarantee::kAtLeastOnce, 1},
      {DeliveryGuarantee::kExactlyOnce, 2},
  };
  for (const auto& [guarantee, stored] : table) {
    EXPECT_EQ(StoredGuarantee(guarantee), stored) << stored;
    EXPECT_EQ(GuaranteeFromStored(stored), guarantee) << stored;
  }
  EXPECT_THROW(GuaranteeFromStored(3), std::runtime_error);
  EXPECT_THROW(GuaranteeFromStored(-1), std::runtime_error);
}

TEST(PgValuesTest, PartitionDaysAreReadFromTheirNames) {
  EXPECT_EQ(PartitionDay("segments", "segments_p20261201"),
            absl::FromCivil(absl::CivilDay(2026, 12, 1), absl::UTCTimeZone()));
  EXPECT_EQ(PartitionDay("publish_keys", "publish_keys_p20261201"),
            absl::FromCivil(absl::CivilDay(2026, 12, 1), absl::UTCTimeZone()));
  for (const char* name :
       {"segments_p2026120", "segments_p202612011", "segments_default", "segments_p20261301",
        "segments_p20260230", "publish_keys_p20261201", "leases"}) {
    EXPECT_EQ(PartitionDay("segments", name), std::nullopt) << name;
  }
}

TEST(PgValuesTest, ArraysRoundTrip) {
  EXPECT_EQ(IntArray(std::vector<int64_t>{1, -2, 3}), "{1,-2,3}");
  EXPECT_EQ(ParseIntArray("{1,-2,3}"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_TRUE(ParseIntArray("{}").empty());
  EXPECT_EQ(TextArray(std::vector<std::string>{"a\"b", "c\\d"}), R"({"a\"b","c\\d"})");
  EXPECT_EQ(TextArray(std::vector<std::string>{}), "{}");
}

// What the publish builds in one pass: every escape in a run of text, and
// empty texts as elements of their own.
TEST(PgValuesTest, ArrayLiteralsEscapeEveryQuoteAndBackslash) {
  ArrayLiteral texts;
  texts.AddText(R"(\"x\"")");
  texts.AddText("");
  texts.AddText("plain");
  EXPECT_EQ(std::move(texts).Finish(), R"({"\\\"x\\\"\"","","plain"})");
  ArrayLiteral ints;
  ints.AddInt(-7);
  ints.AddInt(int64_t{1} << 40);
  EXPECT_EQ(std::move(ints).Finish(), "{-7,1099511627776}");
  EXPECT_EQ(ArrayLiteral().Finish(), "{}");
}

}  // namespace
}  // namespace hub::pg
