#ifndef HUB_PUBLISH_COMMITTER_H_
#define HUB_PUBLISH_COMMITTER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "hub/group_commit.h"
#include "hub/hub_probe.h"
#include "hub/store.h"
#include "hub/types.h"

namespace hub {

// Publishes, coalesced into shared transactions (group commit), answered
// after the commit (which the store announces to the waiters).
class PublishCommitter {
 public:
  // `committers` transactions may run at once, `per_topic` of them with one
  // topic's publishes; each takes every request queued for the topics it
  // commits, up to `max_batch_bytes`.
  PublishCommitter(Store& store, HubProbe& probe, int committers, int per_topic,
                   int64_t max_batch_bytes);

  // Commits what is queued; later publishes fail with UNAVAILABLE.
  void Stop() { committer_.Stop(); }

  // Stores validated messages; NOT_FOUND when the topic does not exist.
  absl::StatusOr<std::vector<PublishResult>> Publish(std::string topic,
                                                     std::vector<Message> messages,
                                                     ProducerBatch batch);

  // Counts items committed elsewhere (a Transact).
  void Committed(absl::Span<const PublishItem> items);

 private:
  Store& store_;
  HubProbe& probe_;
  GroupCommitter<PublishItem> committer_;
};

}  // namespace hub

#endif  // HUB_PUBLISH_COMMITTER_H_
