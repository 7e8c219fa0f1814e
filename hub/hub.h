#ifndef HUB_HUB_H_
#define HUB_HUB_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "hub/claim_gate.h"
#include "hub/group_commit.h"
#include "hub/hub_probe.h"
#include "hub/store.h"
#include "hub/types.h"
#include "hub/validation.h"
#include "hub/wake_up_board.h"

namespace hub {

struct HubOptions {
  Limits limits;
  // Publish transactions that may run at once, for different topics; each
  // takes every request queued for the topics it commits.
  int publish_committers = 2;
  // Bounds of one group-commit transaction.
  int64_t max_publish_batch_bytes = 32 * kMiB;
  int max_ack_batch = 10000;
  // Largest number of messages one claim leases (one lease row).
  int max_claim_batch = 100;
  // Data one Pull response or one claim of a stream carries at most (a
  // single larger message still goes out alone).
  int64_t max_claim_bytes = 4 * kMiB;
  // How often an idle waiter looks again without a wake-up: bounds the delay
  // of redelivering expired leases and of a missed notification.
  absl::Duration poll_interval = absl::Seconds(1);
  absl::Duration maintenance_interval = absl::Minutes(1);
  // How often the backlog gauges of every subscription are read from the
  // store (one query over cursors, heads and lease rows).
  absl::Duration stats_interval = absl::Seconds(10);
  // StreamingPull flow control when the client sets none.
  int64_t default_max_outstanding_messages = 1000;
  int64_t default_max_outstanding_bytes = 10 * kMiB;
};

// What a StreamingPull client asks for in its first request.
struct StreamSettings {
  std::string subscription;
  int ack_deadline_seconds = 0;  // 0: the subscription's
  int64_t max_outstanding_messages = 0;
  int64_t max_outstanding_bytes = 0;
};

// Acks, nacks and deadline changes a StreamingPull request carries.
struct StreamRequest {
  std::vector<std::string> ack_ids;
  std::vector<std::string> nack_ids;
  std::vector<std::string> modify_deadline_ack_ids;
  std::vector<int32_t> modify_deadline_seconds;
};

// One publish of a Transact call.
struct TransactPublish {
  std::string topic;
  std::vector<Message> messages;
};

struct TransactOutcome {
  std::vector<AckResult> ack_results;
  std::vector<std::vector<PublishResult>> publish_results;
};

class Hub;

// The engine side of one StreamingPull: flow control and the claim loop.
// One thread calls Next, another Handle; Close may come from either.
class StreamSession {
 public:
  StreamSession(Hub& hub, SubscriptionRecord sub, absl::Duration ack_deadline,
                int64_t max_messages, int64_t max_bytes);
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
  void Release(absl::Span<const std::string> ack_ids);
  // Releases acked messages; those acked OK count toward end-to-end latency.
  void ReleaseAcked(absl::Span<const AckResult> results);
  bool HasRoom() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropExpired(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The subscription as of the last refresh; changes made by
  // UpdateSubscription reach an open stream within a poll interval.
  absl::StatusOr<SubscriptionRecord> CurrentSubscription();

  Hub& hub_;
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

// The engine: validates requests, decides, and drives the store. Knows
// nothing of gRPC.
class Hub {
 public:
  Hub(Store& store, HubOptions options, HubProbe& probe);
  ~Hub();

  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Stops handing out messages, wakes every waiter and commits what is
  // queued. Calls made afterwards fail with UNAVAILABLE.
  void Shutdown();

  absl::StatusOr<TopicConfig> CreateTopic(const TopicConfig& topic);
  absl::StatusOr<TopicConfig> GetTopic(absl::string_view name);
  absl::StatusOr<Page<TopicConfig>> ListTopics(int page_size,
                                               absl::string_view page_token);
  absl::Status DeleteTopic(absl::string_view name);
  // Changes the fields named in `paths` (message_retention, dedup_window,
  // labels); any other path is INVALID_ARGUMENT.
  absl::StatusOr<TopicConfig> UpdateTopic(const TopicConfig& topic,
                                          const std::vector<std::string>& paths);

  absl::StatusOr<SubscriptionConfig> CreateSubscription(
      const SubscriptionConfig& sub);
  absl::StatusOr<SubscriptionConfig> GetSubscription(absl::string_view name);
  absl::StatusOr<Page<SubscriptionConfig>> ListSubscriptions(
      absl::string_view topic, int page_size, absl::string_view page_token);
  absl::Status DeleteSubscription(absl::string_view name);
  // Changes ack_deadline_seconds, filter, dead_letter_policy, retry_policy
  // or labels; topic, delivery_guarantee and enable_message_ordering are
  // fixed at creation.
  absl::StatusOr<SubscriptionConfig> UpdateSubscription(
      const SubscriptionConfig& sub, const std::vector<std::string>& paths);

  absl::StatusOr<SubscriptionStats> GetSubscriptionStats(absl::string_view name);

  absl::StatusOr<std::vector<PublishResult>> Publish(
      std::string topic, std::vector<Message> messages);

  absl::StatusOr<std::vector<Delivery>> Pull(absl::string_view subscription,
                                             int max_messages,
                                             absl::Duration max_wait);
  absl::StatusOr<std::vector<AckResult>> Acknowledge(
      absl::string_view subscription, const std::vector<std::string>& ack_ids);
  absl::StatusOr<std::vector<AckResult>> ModifyAckDeadline(
      absl::string_view subscription, const std::vector<std::string>& ack_ids,
      int ack_deadline_seconds);

  absl::StatusOr<std::vector<AckResult>> Reject(
      absl::string_view subscription, const std::vector<std::string>& ack_ids,
      absl::string_view reason);
  absl::Status Seek(absl::string_view subscription, absl::Time time);
  absl::StatusOr<TransactOutcome> Transact(absl::string_view subscription,
                                           const std::vector<std::string>& ack_ids,
                                           std::vector<TransactPublish> publishes);

  absl::StatusOr<std::unique_ptr<StreamSession>> OpenStream(
      const StreamSettings& settings);

  const HubOptions& options() const { return options_; }

 private:
  friend class StreamSession;

  struct AckItem {
    int64_t subscription_id;
    std::vector<AckId> ids;
  };

  // Parses ack ids; the results start as INVALID for malformed ones and OK
  // for the rest.
  // Acks refused (expired, invalid) count in the metrics.
  void CountRefusals(absl::string_view subscription, absl::Span<const AckResult> results);
  static std::vector<AckResult> ParseAckIds(
      const std::vector<std::string>& ack_ids, std::vector<AckId>& parsed);
  // Acks or rejects by the subscription's guarantee: at-most-once has
  // nothing to ack, plain at-least-once acks go through the ack batcher,
  // everything else is settled with a checked outcome per id.
  absl::StatusOr<std::vector<AckResult>> SettleIds(
      const SubscriptionRecord& sub, const std::vector<std::string>& ack_ids,
      SettleKind kind, absl::string_view reason);
  absl::Status ValidateDeadLetterTopic(const SubscriptionConfig& sub);
  absl::Status ModifyParsed(const SubscriptionRecord& sub,
                            absl::Span<const AckId> ids, int seconds);
  // One claim, waiting up to `deadline` for messages to arrive.
  absl::StatusOr<std::vector<Delivery>> ClaimOrWait(
      const SubscriptionRecord& sub, int max_messages, int64_t max_bytes,
      absl::Duration ack_deadline, absl::Time deadline);
  absl::Status CheckRunning();
  void MaintenanceLoop();
  void StatsLoop();

  Store& store_;
  const HubOptions options_;
  HubProbe& probe_;
  WakeUpBoard wake_ups_;
  ClaimGate claims_;
  std::atomic<bool> shutting_down_{false};
  GroupCommitter<PublishItem> publisher_;
  GroupCommitter<AckItem> acker_;
  absl::Notification stop_maintenance_;
  std::thread maintenance_;
  std::thread stats_;
};

}  // namespace hub

#endif  // HUB_HUB_H_
