#include "hub/pg/segment_reads.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/segment_codec.h"
#include "hub/pg/statements.h"

namespace hub::pg {
namespace {

// Reads the segments covering the ranges [lows[i], highs[i]) (sorted,
// disjoint) and decodes the positions of the ranges, and only those.
void ReadRanges(Connection& conn, int64_t topic_id, const std::vector<int64_t>& lows,
                const std::vector<int64_t>& highs, MessagesAt& out) {
  if (lows.empty()) return;
  const std::string topic = absl::StrCat(topic_id);
  const std::string low_text = IntArray(lows), high_text = IntArray(highs);
  const BinaryResult rows =
      ExecBinary(conn, sql::kReadSegments,
                 {Param::Text(topic), Param::Text(low_text), Param::Text(high_text)});
  // Two ranges may share a segment: it is decoded once.
  std::set<int64_t> seen;
  for (int row = 0; row < rows.size(); ++row) {
    const int64_t first = rows.Int64(row, 0);
    if (!seen.insert(first).second) continue;
    // The ranges that end after the segment's first position and start
    // before its last possible one.
    for (size_t r = static_cast<size_t>(std::upper_bound(highs.begin(), highs.end(), first) -
                                        highs.begin());
         r < lows.size() && lows[r] < first + static_cast<int64_t>(kMaxSegmentMessages); ++r) {
      DecodeSegmentRow(rows, row, 0, lows[r], highs[r], out);
    }
  }
}

}  // namespace

void DecodeSegmentRow(const BinaryResult& rows, int row, int column, int64_t from, int64_t to,
                      MessagesAt& out) {
  const int64_t first = rows.Int64(row, column);
  const absl::Time publish_time = absl::FromUnixMicros(rows.UnixMicros(row, column + 1));
  const absl::Status status =
      DecodeRecords(rows.Bytes(row, column + 2), first, from, to, [&](int64_t p, Message&& m) {
        m.message_id = absl::StrCat(p);
        m.publish_time = publish_time;
        out.emplace(p, std::move(m));
      });
  if (!status.ok()) throw std::runtime_error(std::string(status.message()));
}

void ReadMessages(Connection& conn, int64_t topic_id, absl::Span<const int64_t> positions,
                  MessagesAt& out) {
  std::vector<int64_t> wanted(positions.begin(), positions.end());
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  // Runs of consecutive positions, one index range each.
  std::vector<int64_t> lows, highs;
  for (int64_t p : wanted) {
    if (!highs.empty() && highs.back() == p) {
      ++highs.back();
    } else {
      lows.push_back(p);
      highs.push_back(p + 1);
    }
  }
  ReadRanges(conn, topic_id, lows, highs, out);
}

void ReadRange(Connection& conn, int64_t topic_id, int64_t from, int64_t to, MessagesAt& out) {
  if (from >= to) return;
  ReadRanges(conn, topic_id, {from}, {to}, out);
}

}  // namespace hub::pg
