#include "hub/inspector.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "hub/filter.h"
#include "hub/validation.h"

namespace hub {
namespace {

// A message id is its position, in decimal.
absl::StatusOr<int64_t> PositionOf(absl::string_view what, absl::string_view message_id) {
  int64_t position = 0;
  if (!absl::SimpleAtoi(message_id, &position) || position < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be a message id the hub gave, got ", Quoted(message_id)));
  }
  return position;
}

int PageLimit(int page_size) { return page_size == 0 ? Limits::kDefaultPageSize : page_size; }

absl::StatusOr<Filter> ParseFilter(absl::string_view filter) {
  if (filter.size() > static_cast<size_t>(Limits::kMaxFilterBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter must be at most ", Limits::kMaxFilterBytes, " bytes"));
  }
  return Filter::Parse(filter);
}

}  // namespace

SubscriptionFate FateOf(const MessageOnSubscription& facts, const Message& message,
                        int64_t position, absl::Time now) {
  SubscriptionFate fate;
  fate.subscription = facts.sub.config.name;
  if (facts.dead_letter) {
    fate.state = MessageState::kDeadLettered;
    fate.delivery_attempt = facts.dead_letter->attempts;
    fate.dead_letter = facts.dead_letter;
    return fate;
  }
  if (facts.lease) {
    fate.delivery_attempt = facts.lease->attempt;
    if (facts.lease->expires_at > now) {
      fate.state = MessageState::kInFlight;
      fate.lease_expire_time = facts.lease->expires_at;
    } else {
      fate.state = MessageState::kWaiting;
      // Never delivered (a restored or redriven row) is due at once, unless
      // it waits for a delivery time: the row's (the earliest of its
      // messages', or its key's head's, rounded up to a millisecond), and
      // the message's own.
      if (facts.lease->attempt > 0 || facts.lease->available_at > now) {
        fate.next_delivery_time = facts.lease->available_at;
      }
      if (DeliverTime(message) > now) {
        fate.next_delivery_time = std::max(fate.next_delivery_time, DeliverTime(message));
      }
    }
    return fate;
  }
  if (!facts.sub.filter->Matches(message.attributes)) {
    fate.state = MessageState::kFilteredOut;
  } else if (position >= facts.cursor) {
    fate.state = MessageState::kWaiting;
    if (DeliverTime(message) > now) fate.next_delivery_time = DeliverTime(message);
  } else if (message.publish_time < now - facts.sub.config.retention_in_effect) {
    fate.state = MessageState::kExpired;
  } else {
    fate.state = MessageState::kAcknowledged;
  }
  return fate;
}

absl::StatusOr<MessageFate> Inspector::GetMessageFate(absl::string_view topic,
                                                      absl::string_view message_id) {
  RETURN_IF_ERROR(ValidateName("topic", topic));
  ASSIGN_OR_RETURN(const int64_t position, PositionOf("message_id", message_id));
  ASSIGN_OR_RETURN(StoredMessage stored, store_.GetMessage(topic, position));
  MessageFate fate;
  const absl::Time now = absl::Now();
  for (const MessageOnSubscription& on : stored.subscriptions) {
    fate.subscriptions.push_back(FateOf(on, stored.message, position, now));
  }
  fate.message = std::move(stored.message);
  return fate;
}

absl::StatusOr<Page<Message>> Inspector::ListMessages(const TopicBrowse& browse) {
  RETURN_IF_ERROR(ValidateName("topic", browse.topic));
  RETURN_IF_ERROR(ValidatePageSize(browse.page_size));
  ASSIGN_OR_RETURN(const Filter filter, ParseFilter(browse.filter));
  if (!browse.start_message_id.empty() && browse.start_time) {
    return absl::InvalidArgumentError("give start_message_id or start_time, not both");
  }
  if (!browse.end_message_id.empty() && browse.end_time) {
    return absl::InvalidArgumentError("give end_message_id or end_time, not both");
  }
  int64_t from = 0;
  if (!browse.page_token.empty()) {
    ASSIGN_OR_RETURN(from, PositionOf("page_token", browse.page_token));
  } else if (!browse.start_message_id.empty()) {
    ASSIGN_OR_RETURN(from, PositionOf("start_message_id", browse.start_message_id));
  } else if (browse.start_time) {
    ASSIGN_OR_RETURN(from, store_.PositionAt(browse.topic, *browse.start_time));
  }
  int64_t end = INT64_MAX;
  if (!browse.end_message_id.empty()) {
    ASSIGN_OR_RETURN(end, PositionOf("end_message_id", browse.end_message_id));
  }
  const int limit = PageLimit(browse.page_size);
  Page<Message> page;
  // Windows of one page's size, up to the scan bound: a filter that matches
  // little ends a page early rather than read the whole topic.
  int64_t scanned = 0;
  while (static_cast<int>(page.items.size()) < limit && scanned < Limits::kMaxBrowseScan) {
    const int64_t span = std::min<int64_t>(limit, end - from);
    if (span <= 0) return page;
    ASSIGN_OR_RETURN(Store::TopicWindow window, store_.ReadTopic(browse.topic, from, span));
    scanned += window.end - from;
    for (Message& m : window.messages) {
      if (browse.end_time && m.publish_time > *browse.end_time) return page;
      if (!filter.Matches(m.attributes)) continue;
      page.items.push_back(std::move(m));
      if (static_cast<int>(page.items.size()) == limit) {
        const int64_t next = std::stoll(page.items.back().message_id) + 1;
        if (next < std::min(end, window.head)) page.next_page_token = absl::StrCat(next);
        return page;
      }
    }
    if (window.end >= window.head || window.end <= from) return page;
    from = window.end;
  }
  if (from < end) page.next_page_token = absl::StrCat(from);
  return page;
}

absl::StatusOr<Page<SubscriptionMessage>> Inspector::ListSubscriptionMessages(
    const SubscriptionRecord& sub, MessageState state, int page_size,
    absl::string_view page_token) {
  RETURN_IF_ERROR(ValidatePageSize(page_size));
  if (state != MessageState::kWaiting && state != MessageState::kInFlight &&
      state != MessageState::kDeadLettered) {
    return absl::InvalidArgumentError("state must be WAITING, IN_FLIGHT or DEAD_LETTERED");
  }
  int64_t after = -1;
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(after, PositionOf("page_token", page_token));
  }
  ASSIGN_OR_RETURN(Store::InspectPage found,
                   store_.InspectSubscription(sub, state, after, PageLimit(page_size)));
  Page<SubscriptionMessage> page;
  const absl::Time now = absl::Now();
  for (InspectedMessage& m : found.messages) {
    const int64_t position = std::stoll(m.message.message_id);
    // What the page holds is in `state`: a message in the backlog is at or
    // after the cursor, one a lease or dead letter holds behind it.
    const int64_t cursor = state == MessageState::kWaiting && !m.lease ? position : position + 1;
    SubscriptionFate fate = FateOf(MessageOnSubscription{sub, cursor, m.lease, m.dead_letter},
                                   m.message, position, now);
    page.items.push_back(SubscriptionMessage{std::move(m.message), std::move(fate)});
  }
  if (found.next_after) page.next_page_token = absl::StrCat(*found.next_after);
  return page;
}

absl::StatusOr<RedriveResult> Inspector::Redrive(const SubscriptionRecord& sub,
                                                 const std::vector<std::string>& message_ids,
                                                 absl::string_view filter, bool all) {
  if (static_cast<int>(!message_ids.empty()) + static_cast<int>(!filter.empty()) +
          static_cast<int>(all) !=
      1) {
    return absl::InvalidArgumentError("redrive needs exactly one of message_ids, filter and all");
  }
  if (sub.config.enable_message_ordering) {
    return absl::FailedPreconditionError(
        "redrive does not take messages back to an ordered subscription: their keys' later "
        "messages went on without them (republish them instead)");
  }
  if (message_ids.size() > static_cast<size_t>(Limits::kMaxRedrive)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a redrive names at most ", Limits::kMaxRedrive, " message ids"));
  }
  RedriveSelection selection;
  selection.all = all;
  for (const std::string& id : message_ids) {
    ASSIGN_OR_RETURN(const int64_t position, PositionOf("message_ids", id));
    selection.positions.push_back(position);
  }
  if (!filter.empty()) {
    ASSIGN_OR_RETURN(Filter parsed, ParseFilter(filter));
    selection.filter = std::make_shared<const Filter>(std::move(parsed));
  }
  ASSIGN_OR_RETURN(RedriveResult result, store_.Redrive(sub, selection, Limits::kMaxRedrive));
  if (!result.message_ids.empty()) wake_ups_.Notify(sub.topic_id);
  return result;
}

}  // namespace hub
