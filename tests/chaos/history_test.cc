// The checker's arithmetic, on histories made by hand.
#include "tests/chaos/history.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace hub::chaos {
namespace {

TEST(HistoryTest, CountsLostUnexpectedDuplicatesAndUnknowns) {
  History h;
  for (const char* v : {"a", "b", "c", "d"}) h.Sent(v);
  h.Answered("a", "1", absl::Now());
  h.Answered("b", "2", absl::Now());
  h.Answered("c", "3", absl::Now());  // "d" never answered: unknown
  h.CallFailed("UNAVAILABLE");
  h.Delivered("a");
  h.Delivered("a");   // a duplicate
  h.Delivered("d");   // unknown but stored: fine
  h.Delivered("zz");  // never sent: unexpected
  const Counts c = h.Check();
  EXPECT_EQ(c.attempted, 4);
  EXPECT_EQ(c.acknowledged, 3);
  EXPECT_EQ(c.unknown, 1);
  EXPECT_EQ(c.failed_calls, 1);
  EXPECT_EQ(c.failures, (std::map<std::string, int64_t>{{"UNAVAILABLE", 1}}));
  EXPECT_EQ(c.lost, 2);  // b and c
  EXPECT_EQ(c.unexpected, 1);
  EXPECT_EQ(c.duplicates, 1);
  EXPECT_EQ(c.deliveries, 4);
  EXPECT_EQ(c.received, 3);
  EXPECT_EQ(h.Missing(), 2);
}

TEST(HistoryTest, AValueAnsweredWithTwoIdsIsInconsistent) {
  History h;
  h.Sent("a");
  h.Answered("a", "7", absl::Now());
  h.Answered("a", "7", absl::Now());  // a retry answered with the same id
  EXPECT_EQ(h.Check().inconsistent_ids, 0);
  h.Answered("a", "8", absl::Now());
  EXPECT_EQ(h.Check().inconsistent_ids, 1);
}

}  // namespace
}  // namespace hub::chaos
