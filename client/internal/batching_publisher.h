#ifndef CLIENT_INTERNAL_BATCHING_PUBLISHER_H_
#define CLIENT_INTERNAL_BATCHING_PUBLISHER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/internal/hub_stub.h"
#include "client/message.h"
#include "client/options.h"

namespace hub::client::internal {

// Options outside what the hub accepts (docs/client.md lists the bounds).
absl::Status ValidatePublisherOptions(const PublisherOptions& options);

// The Publisher's machinery. Messages collect in one open batch per lane
// (the unordered lane, and one per ordering key); a batch is sealed when it
// is full or has waited max_hold_time, then sent by one of
// max_concurrent_batches sender threads with retries. A keyed lane has at
// most one batch in flight, so a key's messages are stored in order, and
// after a failure it refuses messages until ResumePublish.
class BatchingPublisher {
 public:
  using Callback = std::function<void(absl::StatusOr<PublishAck>)>;

  BatchingPublisher(std::shared_ptr<HubStub> stub, std::string topic, PublisherOptions options);
  ~BatchingPublisher();

  BatchingPublisher(const BatchingPublisher&) = delete;
  BatchingPublisher& operator=(const BatchingPublisher&) = delete;

  // Calls `done` once, on a library thread or (for a refusal) at once.
  void Publish(Message message, Callback done);
  // Sends every open batch now and waits until everything published before
  // the call has its answer.
  void Flush();
  void ResumePublish(const std::string& ordering_key);
  // Publisher::Cancel.
  void Cancel();

 private:
  struct Item {
    v1::Message message;
    int64_t bytes;
    uint64_t seq;
    Callback done;
  };
  struct Batch {
    uint64_t id = 0;
    std::string ordering_key;
    std::vector<Item> items;
    int64_t bytes = 0;
  };
  struct Lane {
    std::optional<Batch> open;
    // Keyed lanes only: sealed batches behind the one in flight.
    std::deque<Batch> waiting;
    bool in_flight = false;
    // Keyed lanes only: why the key refuses messages until ResumePublish.
    absl::Status paused;
  };
  // A sealed batch's answer, and the callbacks to run outside the lock.
  using Completions = std::vector<std::pair<Callback, absl::StatusOr<PublishAck>>>;

  bool HasRoom(int64_t bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Seal(Lane& lane) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Dispatch(Batch batch, Lane& lane) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fails every queued message of a paused key.
  void FailQueued(Lane& lane, Completions& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finish(Item& item, absl::StatusOr<PublishAck> result, Completions& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropLaneIfIdle(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<v1::PublishResponse> SendWithRetries(const v1::PublishRequest& request);
  void Complete(Batch batch, const absl::StatusOr<v1::PublishResponse>& response);
  // Sender `index` sends one batch at a time, as producer
  // "<session>-<index>" (docs/client.md, "Retries").
  void SenderLoop(int index);
  void TimerLoop();

  const std::shared_ptr<HubStub> stub_;
  const std::string topic_;
  const PublisherOptions options_;
  const absl::Status options_status_;
  // A random id of this publisher, unique across processes: its senders'
  // producer ids start with it.
  const std::string session_;

  absl::Mutex mu_;
  std::map<std::string, Lane> lanes_ ABSL_GUARDED_BY(mu_);
  std::deque<Batch> ready_ ABSL_GUARDED_BY(mu_);
  // Open batches by the time they must be sealed; hold times are equal, so
  // the deque stays in deadline order.
  std::deque<std::tuple<absl::Time, std::string, uint64_t>> timers_ ABSL_GUARDED_BY(mu_);
  int64_t pending_messages_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Sequence numbers of messages without an answer yet (Flush waits on it).
  std::set<uint64_t> unanswered_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_batch_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> senders_;
  std::thread timer_;
};

}  // namespace hub::client::internal

#endif  // CLIENT_INTERNAL_BATCHING_PUBLISHER_H_
