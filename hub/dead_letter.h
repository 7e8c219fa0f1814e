#ifndef HUB_DEAD_LETTER_H_
#define HUB_DEAD_LETTER_H_

#include <string>

#include "absl/strings/string_view.h"
#include "hub/types.h"

namespace hub {

// Attributes a dead letter carries besides its own (docs/semantics.md,
// "Dead letters").
inline constexpr char kDeadLetterSubscription[] = "hub.dead_letter.subscription";
inline constexpr char kDeadLetterAttempts[] = "hub.dead_letter.delivery_attempts";
inline constexpr char kDeadLetterReason[] = "hub.dead_letter.reason";
inline constexpr char kDeadLetterMessageId[] = "hub.dead_letter.message_id";

// The message published to the dead-letter topic for `original`, which left
// `subscription` after `attempts` deliveries for `reason`: its data, keys'
// ordering and attributes, plus where it came from. Its idempotency key
// belonged to the source topic and must not deduplicate there, so it has
// none, and it gets a message id of its own. Its delay was served: it is
// due at once.
Message DeadLetterMessage(Message original, absl::string_view subscription, int attempts,
                          absl::string_view reason);

}  // namespace hub

#endif  // HUB_DEAD_LETTER_H_
