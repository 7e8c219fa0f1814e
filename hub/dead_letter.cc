#include "hub/dead_letter.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace hub {

Message DeadLetterMessage(Message original, absl::string_view subscription, int attempts,
                          absl::string_view reason) {
  Message m = std::move(original);
  m.attributes[kDeadLetterSubscription] = std::string(subscription);
  m.attributes[kDeadLetterAttempts] = absl::StrCat(attempts);
  m.attributes[kDeadLetterReason] = std::string(reason);
  m.attributes[kDeadLetterMessageId] = m.message_id;
  m.idempotency_key.clear();
  m.delivery_delay = absl::ZeroDuration();
  m.message_id.clear();
  return m;
}

}  // namespace hub
