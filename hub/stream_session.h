#ifndef HUB_STREAM_SESSION_H_
#define HUB_STREAM_SESSION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "hub/delivery_budget.h"
#include "hub/dispatcher.h"
#include "hub/hub_probe.h"
#include "hub/settlement.h"
#include "hub/stream_directory.h"
#include "hub/types.h"
#include "hub/work_queue.h"

namespace hub {

// Where a stream's deliveries go: the gRPC layer's writer. Called on the
// dispatcher's threads; neither call may block.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Sends messages leased to the stream. The session counts them unsent
  // until the sink says Sent.
  virtual void Send(Claimed leased, int64_t bytes) = 0;
  // Delivery is over: UNAVAILABLE at shutdown, NOT_FOUND when the
  // subscription was deleted, or the error of a failed claim.
  virtual void End(absl::Status status) = 0;
};

// Bytes the streams of one hub have handed their writers and the writers
// have not sent yet: a client that does not read holds them.
class UnsentBytes {
 public:
  explicit UnsentBytes(int64_t limit) : limit_(limit) {}
  int64_t Room() const { return std::max<int64_t>(0, limit_ - unsent_.load()); }
  void Add(int64_t bytes) { unsent_ += bytes; }
  void Sent(int64_t bytes) { unsent_ -= bytes; }

 private:
  const int64_t limit_;
  std::atomic<int64_t> unsent_{0};
};

// How a stream claims.
struct StreamLimits {
  int max_claim_batch = 100;
  int64_t max_claim_bytes = 4 * 1024 * 1024;
  // Responses a stream's writer may hold unsent: one being written and one
  // queued, so a claim overlaps a write but a stuck write stops claims.
  int max_unsent_responses = 2;
  // Its consumer's pull quota; null: none. A stream with no budget left is
  // claimed for again at the dispatcher's next poll.
  std::shared_ptr<DeliveryBudget> budget;
};

// What a stream is given to work with.
struct StreamParts {
  Dispatcher& dispatcher;
  Settlement& settlement;
  WorkQueue& work;
  HubProbe& probe;
  UnsentBytes& unsent;
  StreamDirectory& directory;
};

// The engine side of one StreamingPull: flow control, and the requests of
// the client. Messages are claimed for it by the dispatcher, as long as it
// has room: fewer than its outstanding limits held and not yet settled by
// the client, and its writer keeping up. A client that stops reading gets
// no new leases; what it holds expires and goes to others, not back to it.
class StreamSession final : public Waiter {
 public:
  StreamSession(StreamParts parts, StreamLimits limits, std::string subscription,
                absl::Duration ack_deadline, int64_t max_messages, int64_t max_bytes);
  ~StreamSession() override;

  // Starts delivering into `sink`, which must outlive Close.
  absl::Status Start(StreamSink* sink);

  // Applies a client request on the engine's work queue once committed;
  // `done` gets the ack results to report on the stream (exactly-once
  // subscriptions only), or INVALID_ARGUMENT for a malformed request, which
  // ends the stream.
  using Handled = std::function<void(absl::StatusOr<StreamOutcome>)>;
  void Handle(StreamRequest request, Handled done);

  // The sink's writer sent a response of `bytes` deliveries (or dropped it).
  void Sent(int64_t bytes);

  // Stops delivery. After it returns no call of the sink starts; false when
  // delivery had ended already (the sink's End was or is being called).
  bool Close();

  // Acks and deadline changes of unary calls (StreamDirectory): what the
  // stream holds of them is settled as if the stream had carried them, and
  // counts as its client's word.
  void AckedElsewhere(absl::Span<const AckResult> results);
  void DeadlinesChangedElsewhere(absl::Span<const std::string> ack_ids, int seconds);

  // Waiter, for the dispatcher.
  Room Wants() override;
  void Take(const SubscriptionRecord& sub, std::vector<Delivery> deliveries) override;
  void End(absl::Status status) override;

 private:
  struct Held {
    int64_t bytes;
    absl::Time delivered;
    absl::Time expires;
    absl::Time published;
    bool expired;  // counted in the lease metric
  };
  absl::StatusOr<StreamOutcome> Apply(const StreamRequest& request);
  void Release(absl::Span<const std::string> ack_ids);
  // Releases acked messages; those acked OK count toward end-to-end latency.
  void ReleaseAcked(absl::Span<const AckResult> results);
  void Extend(absl::Span<const std::string> ack_ids, int seconds);
  // Held messages leave on a nack (0 seconds) or get the new deadline.
  void ChangeDeadlines(absl::Span<const std::string> ack_ids, int seconds);
  // The client spoke: acked, nacked or changed a deadline.
  void Heard() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CountExpired(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells the dispatcher when the stream had run out of room.
  void RoomFreed();

  const StreamParts parts_;
  const StreamLimits limits_;
  const std::string name_;
  const absl::Duration ack_deadline_;
  const int64_t max_messages_;
  const int64_t max_bytes_;
  StreamSink* sink_ = nullptr;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Held> held_ ABSL_GUARDED_BY(mu_);
  int64_t held_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int unsent_responses_ ABSL_GUARDED_BY(mu_) = 0;
  // When the client last acked, nacked or changed a deadline; whether a
  // lease ran out unheard of since (see CountExpired).
  absl::Time last_heard_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool silent_ ABSL_GUARDED_BY(mu_) = false;
  int responses_ ABSL_GUARDED_BY(mu_) = 0;
  // Wants found no room since the last claim for it.
  bool starved_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ = false;
};

}  // namespace hub

#endif  // HUB_STREAM_SESSION_H_
