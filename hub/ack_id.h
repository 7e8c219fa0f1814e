#ifndef HUB_ACK_ID_H_
#define HUB_ACK_ID_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

// An ack id names one delivery attempt of one message: the lease row the
// delivery belongs to, the row's generation at delivery time and the
// message's position (docs/design.md, "Delivery: batch leases"). An
// at-most-once delivery keeps no lease: its id is 0-0-<position>. Clients
// treat it as opaque.
namespace hub {

struct AckId {
  int64_t lease_id = 0;
  int32_t generation = 0;
  int64_t position = 0;

  friend bool operator==(const AckId&, const AckId&) = default;
};

std::string EncodeAckId(const AckId& id);

// nullopt for anything EncodeAckId cannot have produced.
std::optional<AckId> ParseAckId(absl::string_view text);

}  // namespace hub

#endif  // HUB_ACK_ID_H_
