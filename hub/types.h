#ifndef HUB_TYPES_H_
#define HUB_TYPES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hub/delivery_budget.h"

// Domain types of the engine. They mirror the API's resources but carry no
// gRPC or protobuf dependency, so the engine and the store stay testable
// without either.
namespace hub {

class Filter;

using Labels = std::map<std::string, std::string>;

enum class SchemaType { kProtocolBuffer = 1, kAvro = 2 };
enum class SchemaEncoding { kJson = 1, kBinary = 2 };

// One revision of a schema (docs/schemas.md): its definition as the user
// wrote it, under an id the hub gives it.
struct SchemaRevision {
  std::string name;
  SchemaType type = SchemaType::kProtocolBuffer;
  std::string definition;
  std::string revision_id;   // output only
  absl::Time revision_time;  // output only: when it was committed
};

// The name a topic's schema takes once the schema is deleted, as Pub/Sub
// reports it; publishing to the topic is then FAILED_PRECONDITION.
inline constexpr char kDeletedSchema[] = "_deleted-schema_";

// What a topic's messages must be: valid in `encoding` against a revision
// of `schema` between the first and last revision (empty: the oldest, the
// newest). No schema when `schema` is empty.
struct SchemaSettings {
  std::string schema;
  SchemaEncoding encoding = SchemaEncoding::kJson;
  std::string first_revision_id;
  std::string last_revision_id;
};

// The access policy stored for one resource through the IAM calls
// (docs/security.md, "Stored bindings"): the engine keeps and versions it;
// the services read its bindings (JSON text).
struct AccessPolicy {
  std::string resource;  // "topic:orders", "subscription:billing", ...
  int64_t version = 0;   // 0: none stored
  std::string bindings = "[]";
};

struct TopicConfig {
  std::string name;
  absl::Duration message_retention = absl::Hours(24 * 7);
  absl::Duration dedup_window = absl::Hours(24);
  Labels labels;
  SchemaSettings schema_settings;
};

enum class DeliveryGuarantee { kAtMostOnce, kAtLeastOnce, kExactlyOnce };

struct DeadLetterPolicy {
  std::string topic;  // empty: no dead-letter topic
  int max_delivery_attempts = 0;
};

struct RetryPolicy {
  absl::Duration minimum_backoff = absl::ZeroDuration();
  absl::Duration maximum_backoff = absl::ZeroDuration();
};

// Where a new subscription's delivery starts.
struct SubscriptionStart {
  enum class Kind {
    kNext,            // the next message published (the default)
    kOldestRetained,  // the oldest message its retention in effect keeps
    kTime,            // the first message published at or after `time`
    kSnapshot,        // the acknowledgement state of `snapshot`
  };
  Kind kind = Kind::kNext;
  absl::Time time;
  std::string snapshot;
};

struct SubscriptionConfig {
  std::string name;
  std::string topic;
  int ack_deadline_seconds = 30;
  DeliveryGuarantee delivery_guarantee = DeliveryGuarantee::kAtLeastOnce;
  bool enable_message_ordering = false;
  std::string filter;
  DeadLetterPolicy dead_letter_policy;
  RetryPolicy retry_policy;
  Labels labels;
  // How long its backlog keeps an unacknowledged message; zero: the
  // topic's retention. Never longer than the topic's in effect.
  absl::Duration message_retention = absl::ZeroDuration();
  // Output only: the retention in effect, the shorter of the two.
  absl::Duration retention_in_effect = absl::ZeroDuration();
  // How long it may go unused before it is deleted; zero: never.
  absl::Duration expiration_ttl = absl::ZeroDuration();
  // Input of creation only: where its delivery starts.
  SubscriptionStart start;
  // Output only: DetachSubscription dropped its messages; it delivers
  // nothing more.
  bool detached = false;
};

// A subscription's acknowledgement state at one moment (its cursor and the
// positions its leases held), to seek any subscription of the topic back to.
struct SnapshotConfig {
  std::string name;
  std::string topic;       // output only: the subscription's topic
  absl::Time expire_time;  // output only: when its oldest message leaves the topic
  Labels labels;
  // The principal that created it: set by the caller's layer at creation.
  std::string creator;
};

// Which names a list returns. A name's namespace is what comes before its
// first '~', or "" when it has none; the Pub/Sub API maps each project onto
// one (docs/pubsub.md, "Names").
struct NameScope {
  bool all = true;
  std::string name_space;

  static NameScope All() { return {}; }
  static NameScope In(std::string name_space) { return {false, std::move(name_space)}; }

  bool Holds(absl::string_view name) const {
    if (all) return true;
    const size_t tilde = name.find('~');
    return (tilde == absl::string_view::npos ? absl::string_view() : name.substr(0, tilde)) ==
           name_space;
  }
};

// A subscription as the store knows it: configuration plus the internal ids
// that delivery works with.
struct SubscriptionRecord {
  int64_t id = 0;
  int64_t topic_id = 0;
  SubscriptionConfig config;
  // config.filter, parsed; never null.
  std::shared_ptr<const Filter> filter;
};

struct Message {
  std::string data;
  Labels attributes;
  std::string ordering_key;
  std::string idempotency_key;
  // Delayed delivery (docs/api.md, "Delayed delivery"): no subscription
  // gets the message before publish_time + delivery_delay. Zero: at once.
  absl::Duration delivery_delay;
  std::string message_id;   // output only
  absl::Time publish_time;  // output only
};

// The earliest time `message` (as stored) may be delivered.
inline absl::Time DeliverTime(const Message& message) {
  return message.publish_time + message.delivery_delay;
}

// A publish's messages as one batch of a producer (docs/api.md,
// "Producers"): the producer's id, and the sequence number of the first
// message, the others following it. None when `producer` is empty.
struct ProducerBatch {
  std::string producer;
  int64_t first_sequence = 0;
};

struct PublishResult {
  std::string message_id;
  bool duplicate = false;
};

struct Delivery {
  std::string ack_id;
  Message message;
  int delivery_attempt = 1;
};

// What one claim leased for one consumer, with the subscription as the
// claim read it (how a translation reports deliveries may depend on it).
// A message's state on one subscription (docs/operations.md, "A
// message's fate").
enum class MessageState {
  kWaiting,       // not delivered yet (a delayed message until its time too), or due again
  kInFlight,      // leased to a consumer
  kAcknowledged,  // behind the cursor and held by no lease
  kFilteredOut,   // the subscription's filter does not match it
  kDeadLettered,  // sent to the dead-letter topic
  kExpired,       // behind the cursor and older than the retention in effect
};

// Where a message went when it left a subscription for its dead-letter
// topic.
struct DeadLetterRecord {
  std::string topic;       // the dead-letter topic
  std::string message_id;  // the letter's id there
  std::string reason;
  int attempts = 0;
  absl::Time time;
};

// A lease row that holds a message.
struct HeldLease {
  int attempt = 0;  // deliveries so far
  absl::Time expires_at;
  absl::Time available_at;
};

struct SubscriptionFate {
  std::string subscription;
  MessageState state = MessageState::kWaiting;
  int delivery_attempt = 0;  // deliveries so far
  // kInFlight: when the lease runs out; kWaiting after a failed attempt:
  // when it is due again. InfinitePast otherwise.
  absl::Time lease_expire_time = absl::InfinitePast();
  absl::Time next_delivery_time = absl::InfinitePast();
  std::optional<DeadLetterRecord> dead_letter;
};

struct MessageFate {
  Message message;
  std::vector<SubscriptionFate> subscriptions;
};

// Which dead letters a redrive takes back (exactly one of them).
struct RedriveSelection {
  std::vector<int64_t> positions;
  std::shared_ptr<const Filter> filter;  // on the original attributes; null: none
  bool all = false;
};

struct RedriveResult {
  std::vector<std::string> message_ids;  // redriven, of the subscription's topic
  // Dead letters of the selection left for another call (a call takes at
  // most Limits::kMaxRedrive).
  bool more = false;
};

struct Claimed {
  SubscriptionConfig subscription;
  std::vector<Delivery> deliveries;
};

enum class AckStatus { kOk, kExpired, kInvalid };

struct AckResult {
  std::string ack_id;
  AckStatus status = AckStatus::kInvalid;
};

// Backlog and lag of one subscription (the GetSubscriptionStats RPC and the
// per-subscription gauges).
struct SubscriptionStats {
  std::string subscription;
  std::string topic;
  int64_t backlog_messages = 0;
  int64_t unacked_messages = 0;
  std::optional<absl::Time> oldest_unacked_publish_time;
  int64_t dead_lettered_messages = 0;
  // Data bytes of the backlog and unacked messages together; read only
  // when one subscription is asked for and its unacknowledged messages
  // span at most a million positions (nullopt otherwise: the sum reads
  // every size of the span).
  std::optional<int64_t> unacked_bytes;
};

// A hubd seen through its database: the connections that carry its
// application name ("hubd HOST PID", docs/console.md).
struct Replica {
  std::string name;
  int connections = 0;
  int active = 0;              // running a statement now
  absl::Time connected_since;  // its oldest connection's start
};

// What a StreamingPull client asks for in its first request.
struct StreamSettings {
  std::string subscription;
  int ack_deadline_seconds = 0;  // 0: the subscription's
  int64_t max_outstanding_messages = 0;
  int64_t max_outstanding_bytes = 0;
  // The consumer's pull quota; null: none.
  std::shared_ptr<DeliveryBudget> budget;
};

// Acks, nacks and deadline changes a StreamingPull request carries.
struct StreamRequest {
  std::vector<std::string> ack_ids;
  std::vector<std::string> nack_ids;
  std::vector<std::string> modify_deadline_ack_ids;
  std::vector<int32_t> modify_deadline_seconds;
};

// The verdicts of a stream request on an exactly-once subscription (other
// streams get none): its acks, and its deadline changes and nacks.
struct StreamOutcome {
  std::vector<AckResult> acks;
  std::vector<AckResult> deadline_changes;
};

// One publish of a Transact call.
struct TransactPublish {
  std::string topic;
  std::vector<Message> messages;
  ProducerBatch batch;
};

struct TransactOutcome {
  std::vector<AckResult> ack_results;
  std::vector<std::vector<PublishResult>> publish_results;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // empty on the last page
};

}  // namespace hub

#endif  // HUB_TYPES_H_
