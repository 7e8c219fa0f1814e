#ifndef HUB_PG_SEGMENT_READS_H_
#define HUB_PG_SEGMENT_READS_H_

#include <cstdint>
#include <map>

#include "absl/types/span.h"
#include "hub/pg/connection.h"
#include "hub/types.h"

// Messages read out of segments (migrations/0012_segments.sql): the
// segments that hold the positions wanted are read in binary and only
// those positions' records are decoded.
namespace hub::pg {

// Messages by position, with message_id and publish_time set.
using MessagesAt = std::map<int64_t, Message>;

// Adds the messages at `positions` (any order; repeats allowed) to `out`;
// positions that retention removed are left out. Reads inside whatever
// transaction is open on `conn`.
void ReadMessages(Connection& conn, int64_t topic_id, absl::Span<const int64_t> positions,
                  MessagesAt& out);

// Adds every message at positions [from, to) to `out`.
void ReadRange(Connection& conn, int64_t topic_id, int64_t from, int64_t to, MessagesAt& out);

// Decodes the positions [from, to) of one segment row of a binary result:
// first position, publish time and records in columns `column`,
// `column` + 1 and `column` + 2. Throws on records that do not decode.
void DecodeSegmentRow(const BinaryResult& rows, int row, int column, int64_t from, int64_t to,
                      MessagesAt& out);

}  // namespace hub::pg

#endif  // HUB_PG_SEGMENT_READS_H_
