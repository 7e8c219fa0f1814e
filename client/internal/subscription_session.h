#ifndef CLIENT_INTERNAL_SUBSCRIPTION_SESSION_H_
#define CLIENT_INTERNAL_SUBSCRIPTION_SESSION_H_

#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/internal/hub_stub.h"
#include "client/internal/retry.h"
#include "client/options.h"
#include "client/subscriber.h"

namespace hub::client::internal {

absl::Status ValidateSubscriberOptions(const SubscriberOptions& options);

// One Subscribe call. Three kinds of threads share the state below:
// - the reader owns the stream: opens it (again after a break, with
//   backoff), takes deliveries into `held_` and `queue_`, and turns
//   exactly-once ack results into the callers' verdicts;
// - the writer sends what callers queued (acks, nacks) at most
//   ack_batch_delay late, and renews the leases of held messages;
// - max_concurrency handler threads run the application's handler; on an
//   ordered subscription one message of an ordering key at a time, in the
//   order received (the hub delivers runs of a key in one response).
// Stop drains in that order: handlers, final acks and nacks, the stream.
class SubscriptionSession : public std::enable_shared_from_this<SubscriptionSession> {
 public:
  static std::shared_ptr<SubscriptionSession> Start(std::shared_ptr<HubStub> stub,
                                                    std::string subscription,
                                                    SubscriberOptions options,
                                                    MessageHandler handler);
  ~SubscriptionSession();

  void Stop();
  absl::Status Wait();

  // For AckHandler. A delivery no longer held (after Stop) is refused with
  // FAILED_PRECONDITION: Stop has nacked it already.
  std::future<absl::Status> Ack(const std::string& ack_id);
  void Nack(const std::string& ack_id);
  absl::Status Reject(const std::string& ack_id, const std::string& reason);

 private:
  struct Held {
    absl::Time received;
    absl::Time lease_expires;
    std::string ordering_key;
  };
  struct Delivery {
    std::string ack_id;
    Message message;
    int attempt;
  };
  struct QueuedAck {
    std::string ack_id;
    std::promise<absl::Status> verdict;
  };

  SubscriptionSession(std::shared_ptr<HubStub> stub, std::string subscription,
                      SubscriberOptions options, MessageHandler handler);

  void ReadLoop();
  void WriteLoop();
  void HandlerLoop();
  // Sleeps up to `wait`; true when Stop was called meanwhile.
  bool SleepUnlessStopping(absl::Duration wait);
  absl::Status LearnGuarantee(Backoff& backoff);
  void TakeResponse(v1::StreamingPullResponse& response);
  // Blocks until the writer has something to send on a live stream; false
  // when the reader is done.
  bool AwaitWritableWork();
  // Builds the next request; `acks` gets the verdicts to give once it is
  // written; `finish` says the stream may be closed after it.
  v1::StreamingPullRequest TakeWork(std::vector<QueuedAck>& acks, bool& finish)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void QueueNack(const std::string& ack_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The first queued delivery a handler may take now: on an ordered
  // subscription, not one of a key whose earlier message a handler runs.
  std::deque<Delivery>::iterator NextRunnable() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After the stream ended: exactly-once acks sent without a verdict.
  void FailAwaitingVerdicts();
  // What could not go out on a stream goes out as unary calls, once.
  void SendLeftovers();

  const std::shared_ptr<HubStub> stub_;
  const std::string subscription_;
  const SubscriberOptions options_;
  const MessageHandler handler_;
  const absl::Duration lease_check_interval_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Held> held_ ABSL_GUARDED_BY(mu_);
  std::deque<Delivery> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<QueuedAck> acks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> nacks_ ABSL_GUARDED_BY(mu_);
  // What a stop gives back: nacked by unary calls once the stream has
  // ended, not on it. A nack on the stream makes the message due at once,
  // and the hub could hand it to this closing stream again, costing it a
  // second delivery attempt.
  std::vector<std::string> closing_nacks_ ABSL_GUARDED_BY(mu_);
  // When the oldest unsent ack or nack was queued.
  absl::Time oldest_unsent_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::Time next_lease_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool wake_writer_ ABSL_GUARDED_BY(mu_) = false;
  // Exactly-once acks sent on the current stream, awaiting the hub's verdict.
  absl::flat_hash_map<std::string, std::promise<absl::Status>> awaiting_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<PullStream> stream_ ABSL_GUARDED_BY(mu_);
  bool writes_done_ ABSL_GUARDED_BY(mu_) = false;
  bool exactly_once_ ABSL_GUARDED_BY(mu_) = false;
  bool ordered_ ABSL_GUARDED_BY(mu_) = false;
  // Ordering keys whose message a handler runs (ordered subscriptions).
  absl::flat_hash_set<std::string> running_keys_ ABSL_GUARDED_BY(mu_);
  int running_handlers_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool reader_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status result_ ABSL_GUARDED_BY(mu_);

  // Held by whoever writes on the stream, and by the reader when it retires
  // a stream, so no write overlaps Finish.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex stop_mu_;
  bool joined_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread reader_;
  std::thread writer_;
  std::vector<std::thread> handlers_;
};

}  // namespace hub::client::internal

#endif  // CLIENT_INTERNAL_SUBSCRIPTION_SESSION_H_
