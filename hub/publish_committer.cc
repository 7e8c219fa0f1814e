#include "hub/publish_committer.h"

#include <utility>

#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "hub/validation.h"

namespace hub {
namespace {

int64_t BytesOf(const std::vector<Message>& messages) {
  int64_t bytes = 0;
  for (const Message& m : messages) bytes += MessageBytes(m);
  return bytes;
}

}  // namespace

PublishCommitter::PublishCommitter(Store& store, HubProbe& probe, int committers, int per_topic,
                                   int64_t max_batch_bytes)
    : store_(store),
      probe_(probe),
      committer_(
          committers, static_cast<size_t>(max_batch_bytes),
          [this](absl::Span<PublishItem* const> items) {
            absl::Status committed = store_.Publish(items);
            if (committed.ok()) {
              int64_t messages = 0;
              for (const PublishItem* item : items) messages += item->messages.size();
              probe_.PublishTransaction(static_cast<int>(items.size()), messages);
            }
            return committed;
          },
          // A topic's transactions overlap up to `per_topic`; beyond that,
          // what queues waits to form one transaction, not more small ones.
          [](const PublishItem& item) { return item.topic; }, per_topic) {}

absl::StatusOr<std::vector<PublishResult>> PublishCommitter::Publish(std::string topic,
                                                                     std::vector<Message> messages,
                                                                     ProducerBatch batch) {
  const absl::Time start = absl::Now();
  const int64_t bytes = BytesOf(messages);
  PublishItem item{std::move(topic), std::move(messages), {}, 0, {}, std::move(batch)};
  RETURN_IF_ERROR(committer_.Submit(item, static_cast<size_t>(bytes)));
  RETURN_IF_ERROR(item.status);
  probe_.Published(item.topic, item.results, bytes);
  probe_.PublishLatency(absl::Now() - start);
  return std::move(item.results);
}

void PublishCommitter::Committed(absl::Span<const PublishItem> items) {
  for (const PublishItem& item : items) {
    probe_.Published(item.topic, item.results, BytesOf(item.messages));
  }
}

}  // namespace hub
