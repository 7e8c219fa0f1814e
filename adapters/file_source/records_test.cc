#include "adapters/file_source/records.h"
#include "common/testing/status_matchers.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace hub::adapters {
namespace {

using ::hub::testing::StatusIs;

std::vector<std::string> Split(absl::string_view chunk, size_t max_record_bytes, bool take_tail,
                               size_t* consumed, absl::string_view delimiter = "\n",
                               size_t max_records = 100) {
  std::vector<RecordSpan> spans;
  *consumed = SplitRecords(chunk, delimiter, max_record_bytes, take_tail, max_records, &spans);
  std::vector<std::string> records;
  for (const RecordSpan& span : spans) {
    records.emplace_back(chunk.substr(span.begin, span.length));
  }
  return records;
}

TEST(SplitRecordsTest, CompleteLinesOnlyAndTheRestWaits) {
  size_t consumed = 0;
  EXPECT_EQ(Split("a\nbb\nccc", 100, false, &consumed), (std::vector<std::string>{"a", "bb"}));
  EXPECT_EQ(consumed, 5u);
}

TEST(SplitRecordsTest, EmptyLinesAreRecordsOfNoBytes) {
  size_t consumed = 0;
  EXPECT_EQ(Split("\n\nx\n", 100, false, &consumed), (std::vector<std::string>{"", "", "x"}));
  EXPECT_EQ(consumed, 4u);
}

TEST(SplitRecordsTest, TakeTailTakesTheLastRecordWithoutDelimiter) {
  size_t consumed = 0;
  EXPECT_EQ(Split("a\nbb", 100, true, &consumed), (std::vector<std::string>{"a", "bb"}));
  EXPECT_EQ(consumed, 4u);
}

TEST(SplitRecordsTest, LongRecordsAreCutAtTheLimit) {
  size_t consumed = 0;
  EXPECT_EQ(Split("abcdefg\nxy\n", 3, false, &consumed),
            (std::vector<std::string>{"abc", "def", "g", "xy"}));
  EXPECT_EQ(consumed, 11u);
  // Fewer bytes than the limit and no delimiter: wait for more.
  EXPECT_TRUE(Split("ab", 3, false, &consumed).empty());
  EXPECT_EQ(consumed, 0u);
  // A tail longer than the limit is cut too.
  EXPECT_EQ(Split("abcd", 3, true, &consumed), (std::vector<std::string>{"abc", "d"}));
}

TEST(SplitRecordsTest, MultiByteDelimiterAndRecordLimit) {
  size_t consumed = 0;
  EXPECT_EQ(Split("one||two||three", 100, false, &consumed, "||"),
            (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(consumed, 10u);
  EXPECT_EQ(Split("a\nb\nc\n", 100, false, &consumed, "\n", 2),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(consumed, 4u);
}

class PositionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/positions-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    path_ = std::string(dir) + "/positions";
  }
  std::string path_;
};

TEST_F(PositionsTest, MissingFileIsEmpty) {
  auto loaded = LoadPositions(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->empty());
}

TEST_F(PositionsTest, SavedPositionsLoadBack) {
  std::vector<FilePosition> saved = {{"8.1-12-99", 2, 4096, "/var/log/app.log"},
                                     {"8.1-13-0", 0, 0, "/var/log/with\ttab.log"}};
  ASSERT_TRUE(SavePositions(path_, saved).ok());
  auto loaded = LoadPositions(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].identity, "8.1-12-99");
  EXPECT_EQ((*loaded)[0].generation, 2);
  EXPECT_EQ((*loaded)[0].offset, 4096);
  EXPECT_EQ((*loaded)[1].path, "/var/log/with\ttab.log");
}

TEST_F(PositionsTest, DamagedFileIsAnErrorNotAFreshStart) {
  std::ofstream(path_) << "8.1-12-99\tnot-a-number\t10\t/x\n";
  auto loaded = LoadPositions(path_);
  EXPECT_THAT(loaded, StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace hub::adapters
