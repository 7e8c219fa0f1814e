#ifndef HUB_STREAM_SESSION_H_
#define HUB_STREAM_SESSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "hub/hub_probe.h"
#include "hub/types.h"

namespace hub {

// What a stream needs of the engine: the subscription, claims, and the
// settling of what it delivered.
class StreamBackend {
 public:
  virtual ~StreamBackend() = default;
  virtual absl::StatusOr<SubscriptionRecord> LoadSubscription(absl::string_view name) = 0;
  virtual absl::StatusOr<std::vector<Delivery>> ClaimOrWait(const SubscriptionRecord& sub,
                                                            int max_messages, int64_t max_bytes,
                                                            absl::Duration ack_deadline,
                                                            absl::Time deadline) = 0;
  virtual absl::StatusOr<std::vector<AckResult>> Ack(const SubscriptionRecord& sub,
                                                     const std::vector<std::string>& ack_ids) = 0;
  virtual absl::Status ModifyDeadline(const SubscriptionRecord& sub,
                                      const std::vector<std::string>& ack_ids, int seconds) = 0;
};

// How a stream claims.
struct StreamLimits {
  // Also how often the subscription's configuration is read again, so that
  // UpdateSubscription reaches an open stream.
  absl::Duration poll_interval = absl::Seconds(1);
  int max_claim_batch = 100;
  int64_t max_claim_bytes = 4 * 1024 * 1024;
};

// The engine side of one StreamingPull: flow control and the claim loop.
// One thread calls Next, another Handle; Close may come from either.
class StreamSession {
 public:
  StreamSession(StreamBackend& backend, HubProbe& probe, StreamLimits limits,
                SubscriptionRecord sub, absl::Duration ack_deadline, int64_t max_messages,
                int64_t max_bytes);
  ~StreamSession();

  // Blocks until there are messages to send and room for them. An error
  // ends the stream: UNAVAILABLE on shutdown or Close, NOT_FOUND when the
  // subscription was deleted.
  absl::StatusOr<std::vector<Delivery>> Next();

  // Applies a client request once committed. Returns the ack results to
  // report on the stream (exactly-once subscriptions only), or
  // INVALID_ARGUMENT for a malformed request, which ends the stream.
  absl::StatusOr<std::vector<AckResult>> Handle(const StreamRequest& request);

  void Close();

 private:
  struct Held {
    int64_t bytes;
    absl::Time expires;
    absl::Time published;
  };
  // What a claim may take now: messages and bytes.
  struct Room {
    int messages = 0;
    int64_t bytes = 0;
  };
  // Waits up to a poll interval for room; nullopt when there is none yet.
  absl::StatusOr<std::optional<Room>> WaitForRoom();
  void Hold(const std::vector<Delivery>& deliveries);
  void Release(absl::Span<const std::string> ack_ids);
  // Releases acked messages; those acked OK count toward end-to-end latency.
  void ReleaseAcked(absl::Span<const AckResult> results);
  void Extend(absl::Span<const std::string> ack_ids, int seconds);
  bool HasRoom() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropExpired(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The subscription as of the last refresh; changes made by
  // UpdateSubscription reach an open stream within a poll interval.
  absl::StatusOr<SubscriptionRecord> CurrentSubscription();

  StreamBackend& backend_;
  HubProbe& probe_;
  const StreamLimits limits_;
  const std::string name_;
  const absl::Duration ack_deadline_;
  const int64_t max_messages_;
  const int64_t max_bytes_;
  absl::Mutex mu_;
  SubscriptionRecord sub_ ABSL_GUARDED_BY(mu_);
  absl::Time refreshed_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Held> held_ ABSL_GUARDED_BY(mu_);
  int64_t held_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hub

#endif  // HUB_STREAM_SESSION_H_
