#include "tests/support/publish_sql.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "hub/pg/pg_values.h"
#include "hub/pg/segment_codec.h"

namespace hub::testing {
namespace {

std::string Literal(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "''"}}), "'");
}

}  // namespace

std::string StageCall(const std::string& topic, const std::vector<Message>& messages,
                      const std::string& producer, int64_t first_sequence, int batch_count) {
  constexpr size_t kSegment = pg::kMaxSegmentMessages;
  pg::ArrayLiteral topics, lengths, counts, sizes, key_segments, key_indexes, keys;
  pg::ArrayLiteral batch_segments, batch_indexes, producers, sequences, batch_counts;
  std::string records;
  for (size_t from = 0; from < messages.size(); from += kSegment) {
    const size_t to = std::min(messages.size(), from + kSegment);
    const size_t before = records.size();
    for (size_t i = from; i < to; ++i) {
      pg::AppendRecord(messages[i], records);
      sizes.AddInt(static_cast<int64_t>(messages[i].data.size()));
      if (!messages[i].idempotency_key.empty()) {
        key_segments.AddInt(static_cast<int64_t>(from / kSegment + 1));
        key_indexes.AddInt(static_cast<int64_t>(i - from));
        keys.AddText(messages[i].idempotency_key);
      }
    }
    topics.AddText(topic);
    lengths.AddInt(static_cast<int64_t>(records.size() - before));
    counts.AddInt(static_cast<int64_t>(to - from));
  }
  if (!producer.empty()) {
    batch_segments.AddInt(1);
    batch_indexes.AddInt(0);
    producers.AddText(producer);
    sequences.AddInt(first_sequence);
    batch_counts.AddInt(batch_count > 0 ? batch_count : static_cast<int64_t>(messages.size()));
  }
  return absl::StrCat(
      "hub_publish_stage(", Literal(std::move(topics).Finish()), ", '\\x",
      absl::BytesToHexString(records), "'::bytea, ", Literal(std::move(lengths).Finish()), ", ",
      Literal(std::move(counts).Finish()), ", ", Literal(std::move(sizes).Finish()), ", ",
      Literal(std::move(key_segments).Finish()), ", ", Literal(std::move(key_indexes).Finish()),
      ", ", Literal(std::move(keys).Finish()), ", ", Literal(std::move(batch_segments).Finish()),
      ", ", Literal(std::move(batch_indexes).Finish()), ", ",
      Literal(std::move(producers).Finish()), ", ", Literal(std::move(sequences).Finish()), ", ",
      Literal(std::move(batch_counts).Finish()), ")");
}

std::vector<Message> NumberedMessages(int count, const std::string& prefix,
                                      const std::string& key_prefix) {
  std::vector<Message> out(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    out[static_cast<size_t>(i)].data = absl::StrCat(prefix, i);
    if (!key_prefix.empty())
      out[static_cast<size_t>(i)].idempotency_key = absl::StrCat(key_prefix, i);
  }
  return out;
}

}  // namespace hub::testing
