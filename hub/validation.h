#ifndef HUB_VALIDATION_H_
#define HUB_VALIDATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "hub/types.h"

// The limits of docs/api.md, checked before anything is written. Every failure
// is INVALID_ARGUMENT with a message that names the field and the bound.
namespace hub {

inline constexpr int64_t kMiB = 1024 * 1024;

struct Limits {
  static constexpr int kMinNameLength = 3;
  static constexpr int kMaxNameLength = 255;
  static constexpr int kMaxMessagesPerPublish = 1000;
  static constexpr int64_t kMaxPublishRequestBytes = 10 * kMiB;
  static constexpr int64_t kMaxConfigurableMessageBytes = 10 * kMiB;
  static constexpr int kMaxAttributes = 100;
  static constexpr int kMaxAttributeKeyBytes = 256;
  static constexpr int kMaxAttributeValueBytes = 1024;
  static constexpr int kMaxOrderingKeyBytes = 1024;
  static constexpr int kMaxIdempotencyKeyBytes = 256;
  static constexpr int kDefaultAckDeadlineSeconds = 30;
  static constexpr int kMinAckDeadlineSeconds = 1;
  static constexpr int kMaxAckDeadlineSeconds = 600;
  static constexpr int kMaxPullMessages = 1000;
  static constexpr int kMaxPageSize = 1000;
  static constexpr int kDefaultPageSize = 100;
  static constexpr int kMinDeliveryAttempts = 1;
  static constexpr int kMaxDeliveryAttempts = 100;
  static constexpr int kDefaultDeliveryAttempts = 20;
  static constexpr int kMaxLabels = 64;
  static constexpr int kMaxLabelBytes = 63;
  // Pub/Sub's clients send up to 3000 (Node) in one request.
  static constexpr int kMaxAckIdsPerRequest = 5000;
  static constexpr int kMaxFilterBytes = 1024;
  static constexpr int kMaxRejectReasonBytes = 1024;
  static constexpr int kMaxProjectIdLength = 30;
  // The most of one piece of caller text a status message repeats.
  static constexpr int kMaxQuotedBytes = 200;
  // A producer id (docs/api.md, "Producers").
  static constexpr int kMaxProducerBytes = 128;
  // Schemas, as Pub/Sub bounds them (docs/schemas.md).
  static constexpr size_t kMaxSchemaDefinitionBytes = 300 * 1024;
  static constexpr int kMaxSchemaRevisions = 20;
  // Dead letters one Redrive takes back, and message ids it may name.
  static constexpr int kMaxRedrive = 1000;
  // Positions one page of a topic's browse scans at most, matching its
  // filter or not: a page may hold fewer messages than asked.
  static constexpr int kMaxBrowseScan = 10000;

  // The configured maximum size of one message (data, attributes and keys):
  // by default what Google's Pub/Sub takes (10 MB, here 10 MiB), so that a
  // service moved from it is not refused.
  int64_t max_message_bytes = kMaxConfigurableMessageBytes;
};

// Durations a topic or subscription may carry.
inline constexpr absl::Duration kMaxRetention = absl::Hours(24 * 366);
inline constexpr absl::Duration kMaxBackoff = absl::Seconds(600);
// A subscription's own retention, as Pub/Sub bounds it (zero: the topic's).
inline constexpr absl::Duration kMinSubscriptionRetention = absl::Minutes(10);
inline constexpr absl::Duration kMaxSubscriptionRetention = absl::Hours(24 * 31);
// How long a subscription may go unused before it is deleted, as Pub/Sub's
// expiration_policy bounds it (zero: never).
inline constexpr absl::Duration kMinExpirationTtl = absl::Hours(24);
inline constexpr absl::Duration kMaxExpirationTtl = absl::Hours(24 * 365);

// The attribute that carries a message's idempotency key through the Pub/Sub
// API: Pub/Sub's message has no such field, and the stock clients retry a
// publish whose answer was lost. Pub/Sub consumers get the key as this
// attribute, so it counts as one against kMaxAttributes, and no message
// may carry another value under the name.
inline constexpr char kIdempotencyKeyAttribute[] = "hub-idempotency-key";
// Delayed delivery through the Pub/Sub API (docs/pubsub.md): a publisher
// gives one of these; consumers of a delayed message get the time it was
// due under kDeliverTimeAttribute, so a delay counts as one attribute
// against kMaxAttributes. Stored messages carry neither.
inline constexpr char kDeliverTimeAttribute[] = "hub-deliver-time";
inline constexpr char kDeliveryDelayAttribute[] = "hub-delivery-delay";

// The size a message counts against the limits: its data, attribute keys and
// values, and both keys.
int64_t MessageBytes(const Message& message);

// Caller text (a name, a path, an ack id) as an error message may repeat
// it: in quotes, and past Limits::kMaxQuotedBytes cut at a character
// boundary, with "..." and its whole length. gRPC never sends a status
// message of about 64 KiB or more: the call would hang instead.
std::string Quoted(absl::string_view caller_text);
// `text` and then `close`; past `max_bytes`, `text` is cut the same way.
std::string Shortened(absl::string_view text, size_t max_bytes, absl::string_view close = "");

absl::Status ValidateName(absl::string_view what, absl::string_view name);

// Whether `project` is a Pub/Sub project id the hub accepts: a lowercase
// letter, then lowercase letters, digits and hyphens, at most 30 in all.
bool IsProjectId(absl::string_view project);
// A Pub/Sub resource id: ValidateName's rules, and no "goog" first (Pub/Sub
// keeps those).
absl::Status ValidateResourceId(absl::string_view what, absl::string_view id);
// The name a topic, subscription or snapshot is created with: every hub
// name is a Pub/Sub name too, one to one (docs/pubsub.md, "Names"). Before
// a first '~' comes a project id other than `home_namespace` (whose names
// are the plain ones), and what follows, or the whole name without one, is
// a resource id. Names made before this rule stay reachable: only creation
// asks it.
absl::Status ValidateNewName(absl::string_view what, absl::string_view name,
                             absl::string_view home_namespace);
// The Pub/Sub resource name of a hub name in `collection` ("topics",
// "schemas", ...): the inverse of ValidateNewName's mapping.
std::string PubSubResourceName(absl::string_view home_namespace, absl::string_view name,
                               absl::string_view collection);
absl::Status ValidateLabels(const Labels& labels);
absl::Status ValidateTopicConfig(const TopicConfig& topic);
absl::Status ValidateSubscriptionConfig(const SubscriptionConfig& sub);
// Where a new subscription starts: a snapshot's valid name, a time not
// after `now`.
absl::Status ValidateSubscriptionStart(const SubscriptionStart& start, absl::Time now);
absl::Status ValidatePublish(absl::string_view topic, const std::vector<Message>& messages,
                             const Limits& limits);
// A producer id of at most Limits::kMaxProducerBytes of printable ASCII, a
// first sequence number of at least 0, the batch's last one within int64;
// no sequence number without a producer.
absl::Status ValidateProducerBatch(const ProducerBatch& batch, size_t messages);
absl::Status ValidatePageSize(int page_size);
// Page tokens are the last name of the previous page.
absl::Status ValidatePageToken(absl::string_view token);
absl::Status ValidateAckDeadline(int seconds);
absl::Status ValidatePull(int max_messages, absl::Duration max_wait);
absl::Status ValidateAckIdCount(size_t count);
// A deadline change: 0 (a nack) up to the longest ack deadline.
absl::Status ValidateModifyDeadline(int seconds);
absl::Status ValidateRejectReason(absl::string_view reason);
// Each publish as Publish checks it, and all of them together within one
// publish request's bytes.
absl::Status ValidateTransact(absl::Span<const std::string> ack_ids,
                              absl::Span<const TransactPublish> publishes, const Limits& limits);
absl::Status ValidateStreamSettings(const StreamSettings& settings);
absl::Status ValidateStreamRequest(const StreamRequest& request);
// A detached subscription takes no delivery calls (FAILED_PRECONDITION).
absl::Status ValidateAttached(const SubscriptionRecord& sub);

}  // namespace hub

#endif  // HUB_VALIDATION_H_
