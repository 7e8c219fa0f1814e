#include "client/inbox/inbox_processor.h"

#include <set>
#include <utility>

namespace hub::client::inbox {

InboxProcessor::InboxProcessor(InboxStore& store, Handler handler, Committed committed)
    : store_(store), handler_(std::move(handler)), committed_(std::move(committed)) {}

absl::Status InboxProcessor::Attempt(std::vector<InboxItem>& items, InboxOutcome& outcome) {
  if (absl::Status s = store_.Begin(); !s.ok()) return s;
  std::vector<std::string> ids;
  for (const InboxItem& item : items) ids.push_back(item.message.message_id);
  absl::StatusOr<std::vector<std::string>> fresh = store_.Record(ids);
  if (!fresh.ok()) {
    store_.Rollback();
    return fresh.status();
  }
  std::set<std::string> is_new(fresh->begin(), fresh->end());
  int handled = 0;
  for (const InboxItem& item : items) {
    // A batch may carry the same message twice (a redelivery that overtook
    // the first ack): the handler runs for its first copy only.
    if (is_new.erase(item.message.message_id) == 0) continue;
    if (absl::Status s = handler_(item.message); !s.ok()) {
      store_.Rollback();
      return s;
    }
    ++handled;
  }
  if (absl::Status s = store_.Commit(); !s.ok()) return s;
  if (committed_) committed_(ids);
  outcome.handled += handled;
  outcome.duplicates += static_cast<int>(items.size()) - handled;
  for (InboxItem& item : items) std::move(item.ack)();
  return absl::OkStatus();
}

InboxOutcome InboxProcessor::Process(std::vector<InboxItem> items) {
  InboxOutcome outcome;
  if (items.empty()) return outcome;
  if (Attempt(items, outcome).ok()) return outcome;
  if (items.size() == 1) {
    ++outcome.failed;
    std::move(items.front().nack)();
    return outcome;
  }
  // Find the failing one(s): each on its own.
  for (InboxItem& item : items) {
    std::vector<InboxItem> one;
    one.push_back(std::move(item));
    if (!Attempt(one, outcome).ok()) {
      ++outcome.failed;
      std::move(one.front().nack)();
    }
  }
  return outcome;
}

}  // namespace hub::client::inbox
