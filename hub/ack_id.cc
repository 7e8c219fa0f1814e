#include "hub/ack_id.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hub {

std::string EncodeAckId(const AckId& id) {
  return absl::StrCat(id.lease_id, "-", id.generation, "-", id.position);
}

std::optional<AckId> ParseAckId(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  if (parts.size() != 3) return std::nullopt;
  AckId id;
  if (!absl::SimpleAtoi(parts[0], &id.lease_id) || !absl::SimpleAtoi(parts[1], &id.generation) ||
      !absl::SimpleAtoi(parts[2], &id.position)) {
    return std::nullopt;
  }
  // Lease 0 of generation 0 is an at-most-once delivery, which keeps no
  // lease row; every other id names a row.
  const bool at_most_once = id.lease_id == 0 && id.generation == 0;
  if (!at_most_once && (id.lease_id <= 0 || id.generation <= 0)) return std::nullopt;
  if (id.position <= 0) return std::nullopt;
  // SimpleAtoi accepts "+1" and surrounding spaces; only our own encoding
  // round-trips.
  if (EncodeAckId(id) != text) return std::nullopt;
  return id;
}

}  // namespace hub
