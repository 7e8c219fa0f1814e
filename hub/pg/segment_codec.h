#ifndef HUB_PG_SEGMENT_CODEC_H_
#define HUB_PG_SEGMENT_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "hub/types.h"

// The packed messages of a segment (hub/pg/segment.proto): each message is
// one length-delimited Record, so a run of whole records is itself a
// Segment. Written and read field by field, straight from and into the
// domain's Message: no protobuf object is built on the way.
namespace hub::pg {

// The most messages one segment holds (segments' check, migration 0012):
// readers find a position's segment within this distance before it.
inline constexpr size_t kMaxSegmentMessages = 1000;

// Appends `message` (data, attributes, ordering and idempotency keys) to
// `out` as the next record.
void AppendRecord(const Message& message, std::string& out);

// Calls `visit(position, message)` for each record of `records` whose
// position is in [from, to), in order, the first record being at `first`.
// Records outside the range are skipped unread. INTERNAL when the bytes
// are not a Segment.
absl::Status DecodeRecords(absl::string_view records, int64_t first, int64_t from, int64_t to,
                           absl::FunctionRef<void(int64_t, Message&&)> visit);

}  // namespace hub::pg

#endif  // HUB_PG_SEGMENT_CODEC_H_
