#ifndef HUB_STREAM_DIRECTORY_H_
#define HUB_STREAM_DIRECTORY_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "hub/types.h"

namespace hub {

class StreamSession;

// The open streams of each subscription, so that acks, nacks and deadline
// changes made by unary calls reach the stream that holds the messages:
// Pub/Sub's client libraries settle what a StreamingPull delivered through
// Acknowledge and ModifyAckDeadline, and the stream's flow control and its
// silence rules must count them as its client's word.
class StreamDirectory {
 public:
  void Add(const std::string& subscription, StreamSession* stream);
  // Idempotent; after it returns no call reaches `stream`.
  void Remove(const std::string& subscription, StreamSession* stream);

  // Acks settled (their verdicts) and deadlines changed to `seconds` (0: a
  // nack) outside any stream.
  void Acked(const std::string& subscription, absl::Span<const AckResult> results);
  void DeadlinesChanged(const std::string& subscription, absl::Span<const std::string> ack_ids,
                        int seconds);

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::flat_hash_set<StreamSession*>> streams_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace hub

#endif  // HUB_STREAM_DIRECTORY_H_
