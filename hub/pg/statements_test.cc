#include "hub/pg/statements.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace hub::pg {
namespace {

// A statement is prepared and run by its name: two of one name would run
// one of them in place of the other.
TEST(StatementsTest, EveryPreparedStatementHasANameOfItsOwn) {
  std::set<std::string> names;
  for (const Statement* statement : sql::kPrepared) {
    EXPECT_TRUE(names.insert(statement->name).second) << statement->name;
    EXPECT_NE(std::string(statement->text).find_first_not_of(" \n"), std::string::npos)
        << statement->name;
  }
}

TEST(StatementsTest, PartitionsAreMadeForOneUtcDay) {
  const absl::Time day = absl::FromCivil(absl::CivilDay(2026, 12, 31), absl::UTCTimeZone());
  EXPECT_EQ(CreatePartitionSql("segments", day),
            "CREATE TABLE IF NOT EXISTS segments_p20261231 PARTITION OF segments FOR VALUES "
            "FROM ('2026-12-31 00:00:00+00') TO ('2027-01-01 00:00:00+00')");
  EXPECT_EQ(PartitionName("publish_keys", day), "publish_keys_p20261231");
}

}  // namespace
}  // namespace hub::pg
