#include "hub/validation.h"

#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace hub {
namespace {

absl::Status Invalid(absl::string_view message) { return absl::InvalidArgumentError(message); }

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
         c == '~' || c == '+' || c == '%';
}

// PostgreSQL text cannot hold a NUL byte; rejecting it here keeps the error
// INVALID_ARGUMENT instead of a failed transaction.
absl::Status ValidateText(absl::string_view what, absl::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Invalid(absl::StrCat(what, " is ", text.size(), " bytes; the limit is ", max_bytes));
  }
  if (text.find('\0') != absl::string_view::npos) {
    return Invalid(absl::StrCat(what, " contains a NUL byte"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDuration(absl::string_view what, absl::Duration d, absl::Duration min,
                              absl::Duration max) {
  if (d < min || d > max) {
    return Invalid(absl::StrCat(what, " must be between ", absl::FormatDuration(min), " and ",
                                absl::FormatDuration(max), ", got ", absl::FormatDuration(d)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Shortened(absl::string_view text, size_t max_bytes, absl::string_view close) {
  if (text.size() <= max_bytes) return absl::StrCat(text, close);
  size_t cut = max_bytes;
  // Back to the first byte of a UTF-8 sequence, so the cut text stays text.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(text.substr(0, cut), "...", close, " (", text.size(), " bytes)");
}

std::string Quoted(absl::string_view caller_text) {
  return absl::StrCat("'", Shortened(caller_text, Limits::kMaxQuotedBytes, "'"));
}

absl::Status ValidateLabels(const Labels& labels) {
  if (labels.size() > Limits::kMaxLabels) {
    return Invalid(absl::StrCat("at most ", Limits::kMaxLabels, " labels are allowed"));
  }
  for (const auto& [key, value] : labels) {
    if (key.empty()) return Invalid("a label key is empty");
    RETURN_IF_ERROR(ValidateText("label key", key, Limits::kMaxLabelBytes));
    RETURN_IF_ERROR(ValidateText("label value", value, Limits::kMaxLabelBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateAttached(const SubscriptionRecord& sub) {
  if (!sub.config.detached) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("subscription ", sub.config.name, " is detached from its topic"));
}

std::string PubSubResourceName(absl::string_view home_namespace, absl::string_view name,
                               absl::string_view collection) {
  const size_t tilde = name.find('~');
  if (tilde == absl::string_view::npos) {
    return absl::StrCat("projects/", home_namespace, "/", collection, "/", name);
  }
  return absl::StrCat("projects/", name.substr(0, tilde), "/", collection, "/",
                      name.substr(tilde + 1));
}

int64_t MessageBytes(const Message& message) {
  int64_t bytes = static_cast<int64_t>(message.data.size() + message.ordering_key.size() +
                                       message.idempotency_key.size());
  for (const auto& [key, value] : message.attributes) {
    bytes += static_cast<int64_t>(key.size() + value.size());
  }
  return bytes;
}

bool IsProjectId(absl::string_view project) {
  if (project.empty() || project.size() > Limits::kMaxProjectIdLength ||
      !absl::ascii_islower(project[0])) {
    return false;
  }
  for (char c : project) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return false;
  }
  return true;
}

absl::Status ValidateResourceId(absl::string_view what, absl::string_view id) {
  RETURN_IF_ERROR(ValidateName(what, id));
  if (absl::StartsWith(id, "goog")) {
    return Invalid(
        absl::StrCat(what, " id ", Quoted(id), " starts with 'goog', which Pub/Sub keeps"));
  }
  return absl::OkStatus();
}

absl::Status ValidateNewName(absl::string_view what, absl::string_view name,
                             absl::string_view home_namespace) {
  RETURN_IF_ERROR(ValidateName(what, name));
  const size_t tilde = name.find('~');
  if (tilde == absl::string_view::npos) return ValidateResourceId(what, name);
  const absl::string_view project = name.substr(0, tilde);
  if (!IsProjectId(project) || project == home_namespace) {
    return Invalid(absl::StrCat(
        what, " name ", Quoted(name),
        ": what comes before '~' is the Pub/Sub project the name belongs to, a project id "
        "(a lowercase letter, then lowercase letters, digits and hyphens, at most 30) other "
        "than the home project ",
        home_namespace, ", whose names are the plain ones"));
  }
  return ValidateResourceId(what, name.substr(tilde + 1));
}

absl::Status ValidateName(absl::string_view what, absl::string_view name) {
  if (name.size() < Limits::kMinNameLength || name.size() > Limits::kMaxNameLength) {
    return Invalid(absl::StrCat(what, " name must be ", Limits::kMinNameLength, "..",
                                Limits::kMaxNameLength, " characters, got ", name.size()));
  }
  if (!absl::ascii_isalpha(static_cast<unsigned char>(name[0]))) {
    return Invalid(absl::StrCat(what, " name must start with a letter"));
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return Invalid(absl::StrCat(what, " name may hold only letters, digits and . _ - ~ + %"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTopicConfig(const TopicConfig& topic) {
  RETURN_IF_ERROR(ValidateName("topic", topic.name));
  RETURN_IF_ERROR(ValidateDuration("message_retention", topic.message_retention, absl::Minutes(1),
                                   kMaxRetention));
  RETURN_IF_ERROR(
      ValidateDuration("dedup_window", topic.dedup_window, absl::Seconds(1), kMaxRetention));
  return ValidateLabels(topic.labels);
}

absl::Status ValidateAckDeadline(int seconds) {
  if (seconds < Limits::kMinAckDeadlineSeconds || seconds > Limits::kMaxAckDeadlineSeconds) {
    return Invalid(absl::StrCat("ack_deadline_seconds must be ", Limits::kMinAckDeadlineSeconds,
                                "..", Limits::kMaxAckDeadlineSeconds, ", got ", seconds));
  }
  return absl::OkStatus();
}

absl::Status ValidateSubscriptionConfig(const SubscriptionConfig& sub) {
  RETURN_IF_ERROR(ValidateName("subscription", sub.name));
  RETURN_IF_ERROR(ValidateName("topic", sub.topic));
  RETURN_IF_ERROR(ValidateAckDeadline(sub.ack_deadline_seconds));
  RETURN_IF_ERROR(ValidateText("filter", sub.filter, Limits::kMaxFilterBytes));
  const DeadLetterPolicy& dlq = sub.dead_letter_policy;
  if (!dlq.topic.empty()) {
    RETURN_IF_ERROR(ValidateName("dead_letter_topic", dlq.topic));
    if (dlq.max_delivery_attempts < Limits::kMinDeliveryAttempts ||
        dlq.max_delivery_attempts > Limits::kMaxDeliveryAttempts) {
      return Invalid(absl::StrCat("max_delivery_attempts must be ", Limits::kMinDeliveryAttempts,
                                  "..", Limits::kMaxDeliveryAttempts));
    }
  }
  const RetryPolicy& retry = sub.retry_policy;
  RETURN_IF_ERROR(ValidateDuration("minimum_backoff", retry.minimum_backoff, absl::ZeroDuration(),
                                   kMaxBackoff));
  RETURN_IF_ERROR(ValidateDuration("maximum_backoff", retry.maximum_backoff, absl::ZeroDuration(),
                                   kMaxBackoff));
  if (retry.maximum_backoff < retry.minimum_backoff) {
    return Invalid("maximum_backoff must not be less than minimum_backoff");
  }
  if (sub.message_retention != absl::ZeroDuration()) {
    RETURN_IF_ERROR(ValidateDuration("message_retention", sub.message_retention,
                                     kMinSubscriptionRetention, kMaxSubscriptionRetention));
  }
  if (sub.expiration_ttl != absl::ZeroDuration()) {
    RETURN_IF_ERROR(ValidateDuration("expiration_ttl", sub.expiration_ttl, kMinExpirationTtl,
                                     kMaxExpirationTtl));
  }
  return ValidateLabels(sub.labels);
}

absl::Status ValidateSubscriptionStart(const SubscriptionStart& start, absl::Time now) {
  switch (start.kind) {
    case SubscriptionStart::Kind::kSnapshot:
      return ValidateName("start.snapshot", start.snapshot);
    case SubscriptionStart::Kind::kTime:
      // A later time would deliver what is published before it.
      if (start.time > now) return Invalid("start.time is after the hub's clock");
      return absl::OkStatus();
    case SubscriptionStart::Kind::kNext:
    case SubscriptionStart::Kind::kOldestRetained:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status ValidatePublish(absl::string_view topic, const std::vector<Message>& messages,
                             const Limits& limits) {
  RETURN_IF_ERROR(ValidateName("topic", topic));
  if (messages.empty() || messages.size() > static_cast<size_t>(Limits::kMaxMessagesPerPublish)) {
    return Invalid(absl::StrCat("a publish carries 1..", Limits::kMaxMessagesPerPublish,
                                " messages, got ", messages.size()));
  }
  int64_t total = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    const std::string where = absl::StrCat("messages[", i, "]");
    if (m.data.empty() && m.attributes.empty()) {
      return Invalid(absl::StrCat(where, " has neither data nor attributes"));
    }
    const auto key_attribute = m.attributes.find(kIdempotencyKeyAttribute);
    if (key_attribute != m.attributes.end() && key_attribute->second != m.idempotency_key) {
      return Invalid(absl::StrCat(where, " has attribute ", kIdempotencyKeyAttribute,
                                  ", which is the hub's: Pub/Sub consumers get the idempotency "
                                  "key under that name (set idempotency_key instead)"));
    }
    for (const char* name : {kDeliverTimeAttribute, kDeliveryDelayAttribute}) {
      if (m.attributes.count(name) != 0) {
        return Invalid(absl::StrCat(where, " has attribute ", name,
                                    ", which is the hub's: Pub/Sub consumers get a delayed "
                                    "message's time under ",
                                    kDeliverTimeAttribute,
                                    " (set deliver_time or delivery_delay instead)"));
      }
    }
    if (m.delivery_delay < absl::ZeroDuration()) {
      return Invalid(absl::StrCat(where, " has a negative delivery_delay"));
    }
    const size_t attributes =
        m.attributes.size() +
        (!m.idempotency_key.empty() && key_attribute == m.attributes.end() ? 1 : 0) +
        (m.delivery_delay > absl::ZeroDuration() ? 1 : 0);
    if (attributes > static_cast<size_t>(Limits::kMaxAttributes)) {
      return Invalid(absl::StrCat(
          where, " has ", attributes, " attributes; the limit is ", Limits::kMaxAttributes,
          " (an idempotency key and a delivery delay count as one each: Pub/Sub consumers get "
          "them as attributes ",
          kIdempotencyKeyAttribute, " and ", kDeliverTimeAttribute, ")"));
    }
    for (const auto& [key, value] : m.attributes) {
      if (key.empty()) {
        return Invalid(absl::StrCat(where, " has an empty attribute key"));
      }
      RETURN_IF_ERROR(
          ValidateText(absl::StrCat(where, " attribute key"), key, Limits::kMaxAttributeKeyBytes));
      RETURN_IF_ERROR(ValidateText(absl::StrCat(where, " attribute value"), value,
                                   Limits::kMaxAttributeValueBytes));
    }
    RETURN_IF_ERROR(ValidateText(absl::StrCat(where, " ordering_key"), m.ordering_key,
                                 Limits::kMaxOrderingKeyBytes));
    RETURN_IF_ERROR(ValidateText(absl::StrCat(where, " idempotency_key"), m.idempotency_key,
                                 Limits::kMaxIdempotencyKeyBytes));
    const int64_t bytes = MessageBytes(m);
    if (bytes > limits.max_message_bytes) {
      return Invalid(absl::StrCat(where, " is ", bytes, " bytes; the maximum message size is ",
                                  limits.max_message_bytes));
    }
    total += bytes;
  }
  if (total > Limits::kMaxPublishRequestBytes) {
    return Invalid(absl::StrCat("the request holds ", total, " bytes of messages; the limit is ",
                                Limits::kMaxPublishRequestBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidatePageSize(int page_size) {
  if (page_size < 0 || page_size > Limits::kMaxPageSize) {
    return Invalid(absl::StrCat("page_size must be 0..", Limits::kMaxPageSize));
  }
  return absl::OkStatus();
}

absl::Status ValidatePageToken(absl::string_view token) {
  // A token that is not a name cannot have come from us.
  if (!token.empty() && !ValidateName("page_token", token).ok()) {
    return Invalid("page_token is malformed");
  }
  return absl::OkStatus();
}

absl::Status ValidatePull(int max_messages, absl::Duration max_wait) {
  if (max_messages < 1 || max_messages > Limits::kMaxPullMessages) {
    return Invalid(absl::StrCat("max_messages must be 1..", Limits::kMaxPullMessages));
  }
  if (max_wait < absl::ZeroDuration() || max_wait > kMaxBackoff) {
    return Invalid("max_wait must be 0..600s");
  }
  return absl::OkStatus();
}

absl::Status ValidateAckIdCount(size_t count) {
  if (count > static_cast<size_t>(Limits::kMaxAckIdsPerRequest)) {
    return Invalid(absl::StrCat("at most ", Limits::kMaxAckIdsPerRequest, " ack ids per request"));
  }
  return absl::OkStatus();
}

absl::Status ValidateModifyDeadline(int seconds) {
  if (seconds < 0 || seconds > Limits::kMaxAckDeadlineSeconds) {
    return Invalid(
        absl::StrCat("ack_deadline_seconds must be 0..", Limits::kMaxAckDeadlineSeconds));
  }
  return absl::OkStatus();
}

absl::Status ValidateRejectReason(absl::string_view reason) {
  if (reason.size() > static_cast<size_t>(Limits::kMaxRejectReasonBytes) ||
      reason.find('\0') != absl::string_view::npos) {
    return Invalid(absl::StrCat("reason must be at most ", Limits::kMaxRejectReasonBytes,
                                " bytes without NUL"));
  }
  return absl::OkStatus();
}

absl::Status ValidateProducerBatch(const ProducerBatch& batch, size_t messages) {
  if (batch.producer.empty()) {
    if (batch.first_sequence != 0) return Invalid("first_sequence needs a producer");
    return absl::OkStatus();
  }
  const bool printable = std::all_of(batch.producer.begin(), batch.producer.end(),
                                     [](char c) { return c >= 0x21 && c <= 0x7e; });
  if (batch.producer.size() > static_cast<size_t>(Limits::kMaxProducerBytes) || !printable) {
    return Invalid(absl::StrCat("producer ", Quoted(batch.producer), " must be 1..",
                                Limits::kMaxProducerBytes,
                                " bytes of printable ASCII without spaces"));
  }
  if (batch.first_sequence < 0 ||
      batch.first_sequence > std::numeric_limits<int64_t>::max() - static_cast<int64_t>(messages)) {
    return Invalid(absl::StrCat("first_sequence ", batch.first_sequence,
                                " must be at least 0, and the batch's last within int64"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTransact(absl::Span<const std::string> ack_ids,
                              absl::Span<const TransactPublish> publishes, const Limits& limits) {
  RETURN_IF_ERROR(ValidateAckIdCount(ack_ids.size()));
  if (ack_ids.empty() && publishes.empty()) {
    return Invalid("a transaction needs ack ids or publishes");
  }
  // One transaction holds what one Publish may: its bounds apply to each
  // publish and to all of them together.
  int64_t bytes = 0;
  size_t messages = 0;
  for (const TransactPublish& p : publishes) {
    RETURN_IF_ERROR(ValidatePublish(p.topic, p.messages, limits));
    RETURN_IF_ERROR(ValidateProducerBatch(p.batch, p.messages.size()));
    for (const Message& m : p.messages) bytes += MessageBytes(m);
    messages += p.messages.size();
  }
  if (messages > static_cast<size_t>(Limits::kMaxMessagesPerPublish)) {
    return Invalid(absl::StrCat("the publishes of a transaction hold ", messages,
                                " messages; the limit is ", Limits::kMaxMessagesPerPublish));
  }
  if (bytes > Limits::kMaxPublishRequestBytes) {
    return Invalid("the publishes of a transaction hold more than 10 MiB");
  }
  return absl::OkStatus();
}

absl::Status ValidateStreamSettings(const StreamSettings& settings) {
  RETURN_IF_ERROR(ValidateName("subscription", settings.subscription));
  if (settings.ack_deadline_seconds != 0) {
    RETURN_IF_ERROR(ValidateAckDeadline(settings.ack_deadline_seconds));
  }
  if (settings.max_outstanding_messages < 0 || settings.max_outstanding_bytes < 0) {
    return Invalid("max_outstanding_messages and max_outstanding_bytes must not be negative");
  }
  return absl::OkStatus();
}

absl::Status ValidateStreamRequest(const StreamRequest& request) {
  if (request.modify_deadline_ack_ids.size() != request.modify_deadline_seconds.size()) {
    return Invalid("modify_deadline_ack_ids and modify_deadline_seconds must have the same length");
  }
  RETURN_IF_ERROR(ValidateAckIdCount(request.ack_ids.size() + request.nack_ids.size() +
                                     request.modify_deadline_ack_ids.size()));
  for (int32_t seconds : request.modify_deadline_seconds) {
    RETURN_IF_ERROR(ValidateModifyDeadline(seconds));
  }
  return absl::OkStatus();
}

}  // namespace hub
