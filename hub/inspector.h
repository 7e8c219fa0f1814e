#ifndef HUB_INSPECTOR_H_
#define HUB_INSPECTOR_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hub/store.h"
#include "hub/types.h"
#include "hub/wake_up_board.h"

namespace hub {

// A message's state on one subscription, from what the store knows of it
// at `now`: a dead letter first, then a lease (in flight while it runs,
// waiting once it ran out), then the cursor, the filter and the
// subscription's retention.
SubscriptionFate FateOf(const MessageOnSubscription& facts, const Message& message,
                        int64_t position, absl::Time now);

// Which of a topic's messages a browse shows: from a message id or a time
// (neither: the oldest stored), up to one (exclusive) or a time
// (inclusive), those an attribute filter matches.
struct TopicBrowse {
  std::string topic;
  std::string start_message_id;
  std::optional<absl::Time> start_time;
  std::string end_message_id;
  std::optional<absl::Time> end_time;
  std::string filter;
  int page_size = 0;
  std::string page_token;
};

// A message of a subscription's browse, with its state there.
struct SubscriptionMessage {
  Message message;
  SubscriptionFate fate;
};

// Looks at messages without consuming them (no lease taken, no attempt
// counted), and takes dead letters back to their subscription
// (docs/operations.md, "Looking at messages").
class Inspector {
 public:
  Inspector(Store& store, WakeUpBoard& wake_ups) : store_(store), wake_ups_(wake_ups) {}

  absl::StatusOr<MessageFate> GetMessageFate(absl::string_view topic, absl::string_view message_id);
  absl::StatusOr<Page<Message>> ListMessages(const TopicBrowse& browse);
  // kWaiting, kInFlight or kDeadLettered.
  absl::StatusOr<Page<SubscriptionMessage>> ListSubscriptionMessages(const SubscriptionRecord& sub,
                                                                     MessageState state,
                                                                     int page_size,
                                                                     absl::string_view page_token);
  // Exactly one of `message_ids`, `filter` and `all`.
  absl::StatusOr<RedriveResult> Redrive(const SubscriptionRecord& sub,
                                        const std::vector<std::string>& message_ids,
                                        absl::string_view filter, bool all);

 private:
  Store& store_;
  WakeUpBoard& wake_ups_;
};

}  // namespace hub

#endif  // HUB_INSPECTOR_H_
