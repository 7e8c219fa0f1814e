#include "hub/pg/segment_codec.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hub/pg/segment.pb.h"

namespace hub::pg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::vector<std::pair<int64_t, Message>> Decode(absl::string_view records, int64_t first,
                                                int64_t from, int64_t to) {
  std::vector<std::pair<int64_t, Message>> out;
  const absl::Status status = DecodeRecords(
      records, first, from, to, [&](int64_t p, Message&& m) { out.emplace_back(p, std::move(m)); });
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

Message Sample(std::string data) {
  Message m;
  m.data = std::move(data);
  m.attributes = {{"kind", "order"}, {"empty", ""}, {"utf8", "\xc3\xa9t\xc3\xa9"}};
  m.ordering_key = "customer-7";
  m.idempotency_key = "order-42";
  m.delivery_delay = absl::Microseconds(90'000'123);
  return m;
}

TEST(SegmentCodecTest, RoundTripsEveryField) {
  std::string records;
  AppendRecord(Sample(std::string("bin\0ary", 7)), records);
  AppendRecord(Message{}, records);                      // every field empty
  AppendRecord(Sample(std::string(300, 'x')), records);  // lengths of two varint bytes

  const auto out = Decode(records, 41, 41, 44);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].first, 41);
  EXPECT_EQ(out[0].second.data, std::string("bin\0ary", 7));
  EXPECT_EQ(out[0].second.attributes, Sample("").attributes);
  EXPECT_EQ(out[0].second.ordering_key, "customer-7");
  EXPECT_EQ(out[0].second.idempotency_key, "order-42");
  EXPECT_EQ(out[0].second.delivery_delay, absl::Microseconds(90'000'123));
  EXPECT_EQ(out[1].first, 42);
  EXPECT_TRUE(out[1].second.data.empty());
  EXPECT_EQ(out[1].second.delivery_delay, absl::ZeroDuration());
  EXPECT_TRUE(out[1].second.attributes.empty());
  EXPECT_EQ(out[2].second.data, std::string(300, 'x'));
}

TEST(SegmentCodecTest, DecodesOnlyTheRangeAsked) {
  std::string records;
  for (int i = 0; i < 5; ++i) AppendRecord(Sample(std::to_string(i)), records);
  std::vector<int64_t> positions;
  for (const auto& [p, m] : Decode(records, 10, 12, 14)) {
    positions.push_back(p);
    EXPECT_EQ(m.data, std::to_string(p - 10));
  }
  EXPECT_THAT(positions, ElementsAre(12, 13));
  EXPECT_TRUE(Decode(records, 10, 20, 30).empty());
}

// The format is protobuf's: what the generated code of segment.proto
// writes decodes here, and what is written here parses there.
TEST(SegmentCodecTest, AgreesWithTheGeneratedCodeOfSegmentProto) {
  storage::Segment segment;
  storage::Record* r = segment.add_records();
  r->set_data("payload");
  (*r->mutable_attributes())["a"] = "1";
  (*r->mutable_attributes())["b"] = "2";
  r->set_ordering_key("k");
  segment.add_records()->set_idempotency_key("only-a-key");
  segment.add_records()->set_delivery_delay_micros(5'000'000);
  const auto out = Decode(segment.SerializeAsString(), 1, 1, 4);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].second.data, "payload");
  EXPECT_THAT(out[0].second.attributes, ElementsAre(Pair("a", "1"), Pair("b", "2")));
  EXPECT_EQ(out[0].second.ordering_key, "k");
  EXPECT_EQ(out[1].second.idempotency_key, "only-a-key");
  EXPECT_EQ(out[2].second.delivery_delay, absl::Seconds(5));

  std::string records;
  AppendRecord(Sample("x"), records);
  AppendRecord(Sample("y"), records);
  storage::Segment parsed;
  ASSERT_TRUE(parsed.ParseFromString(records));
  ASSERT_EQ(parsed.records_size(), 2);
  EXPECT_EQ(parsed.records(1).data(), "y");
  EXPECT_EQ(parsed.records(1).attributes().at("kind"), "order");
  EXPECT_EQ(parsed.records(1).attributes().at("empty"), "");
  EXPECT_EQ(parsed.records(1).ordering_key(), "customer-7");
  EXPECT_EQ(parsed.records(1).idempotency_key(), "order-42");
  EXPECT_EQ(parsed.records(1).delivery_delay_micros(), 90'000'123);
}

// A field a later hubd adds is skipped, whatever its wire type.
TEST(SegmentCodecTest, SkipsFieldsItDoesNotKnow) {
  std::string record = std::string("\x0a\x02hi", 4) + std::string("\x40\x96\x01", 3) +
                       std::string("\x35\x01\x02\x03\x04", 5) + std::string("\x3a\x01z", 3);
  std::string records = std::string(1, '\x0a') + static_cast<char>(record.size()) + record;
  const auto out = Decode(records, 1, 1, 2);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].second.data, "hi");
}

TEST(SegmentCodecTest, RefusesBytesThatAreNotASegment) {
  std::string records;
  AppendRecord(Sample("payload"), records);
  for (const std::string& bad : {records.substr(0, records.size() - 1), std::string("\x12\x01x", 3),
                                 std::string("\x0a\x05\x0a\x09xy", 6)}) {
    const absl::Status status =
        DecodeRecords(bad, 7, 7, 8, [](int64_t, Message&&) { ADD_FAILURE() << "decoded"; });
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
    EXPECT_THAT(std::string(status.message()), HasSubstr("position 7"));
  }
}

}  // namespace
}  // namespace hub::pg
