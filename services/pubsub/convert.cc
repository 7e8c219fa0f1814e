#include "services/pubsub/convert.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "hub/validation.h"
#include "services/convert.h"

namespace hub::services::pubsub {
namespace {

absl::Status Invalid(absl::string_view message) { return absl::InvalidArgumentError(message); }

absl::Status NotHere(absl::string_view what) {
  return absl::UnimplementedError(
      absl::StrCat(what,
                   " is not served by the hub; a pull subscription with the webhook sink adapter "
                   "(docs/adapters.md) delivers a subscription to an HTTP endpoint"));
}

// Pub/Sub's defaults where the hub's differ (docs/pubsub.md).
constexpr int kDefaultAckDeadlineSeconds = 10;
constexpr int kDefaultMaxDeliveryAttempts = 5;

absl::Status CheckServedSubscription(const gps::Subscription& proto) {
  if (!proto.push_config().push_endpoint().empty()) return NotHere("push delivery (push_config)");
  if (proto.has_bigquery_config()) return NotHere("bigquery_config");
  if (proto.has_cloud_storage_config()) return NotHere("cloud_storage_config");
  if (proto.has_bigtable_config()) return NotHere("bigtable_config");
  if (proto.message_transforms_size() > 0) {
    return Invalid("message_transforms are not supported by the hub");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TopicConfig> TopicFromPubSub(const gps::Topic& proto, const Names& names) {
  if (!proto.kms_key_name().empty()) return Invalid("kms_key_name is not supported by the hub");
  if (proto.has_ingestion_data_source_settings()) {
    return Invalid("ingestion_data_source_settings are not supported by the hub");
  }
  if (proto.message_transforms_size() > 0) {
    return Invalid("message_transforms are not supported by the hub");
  }
  if (proto.message_storage_policy().allowed_persistence_regions_size() > 0) {
    return Invalid(
        "message_storage_policy is not supported: messages are stored in the hub's "
        "PostgreSQL");
  }
  TopicConfig topic;
  ASSIGN_OR_RETURN(topic.name, names.Topic(proto.name()));
  if (proto.has_message_retention_duration()) {
    ASSIGN_OR_RETURN(topic.message_retention, DurationFromProto(proto.message_retention_duration(),
                                                                "message_retention_duration"));
  }
  topic.labels = LabelsFromProto(proto.labels());
  if (proto.has_schema_settings()) {
    const gps::SchemaSettings& settings = proto.schema_settings();
    SchemaSettings& schema = topic.schema_settings;
    if (settings.schema().empty()) return Invalid("schema_settings.schema is required");
    ASSIGN_OR_RETURN(schema.schema, names.Schema(settings.schema()));
    // Pub/Sub reads an unspecified encoding as JSON.
    schema.encoding =
        settings.encoding() == gps::BINARY ? SchemaEncoding::kBinary : SchemaEncoding::kJson;
    schema.first_revision_id = settings.first_revision_id();
    schema.last_revision_id = settings.last_revision_id();
  }
  return topic;
}

void TopicToPubSub(const TopicConfig& topic, const Names& names, gps::Topic* out) {
  out->set_name(names.TopicResource(topic.name));
  LabelsToProto(topic.labels, out->mutable_labels());
  ToProtoDuration(topic.message_retention, out->mutable_message_retention_duration());
  out->set_state(gps::Topic::ACTIVE);
  const SchemaSettings& schema = topic.schema_settings;
  if (!schema.schema.empty()) {
    gps::SchemaSettings* settings = out->mutable_schema_settings();
    settings->set_schema(schema.schema == kDeletedSchema ? kDeletedSchema
                                                         : names.SchemaResource(schema.schema));
    settings->set_encoding(static_cast<gps::Encoding>(schema.encoding));
    settings->set_first_revision_id(schema.first_revision_id);
    settings->set_last_revision_id(schema.last_revision_id);
  }
}

absl::StatusOr<std::vector<std::string>> TopicPaths(const google::protobuf::FieldMask& mask) {
  std::vector<std::string> paths;
  for (const std::string& path : mask.paths()) {
    if (path == "labels") {
      paths.push_back("labels");
    } else if (path == "message_retention_duration") {
      paths.push_back("message_retention");
    } else if (path == "schema_settings") {
      paths.push_back("schema_settings");
    } else {
      return Invalid(
          absl::StrCat("update_mask path ", Quoted(path), " cannot be updated by the hub"));
    }
  }
  return paths;
}

absl::StatusOr<DeadLetterPolicy> DeadLetterFromPubSub(const gps::DeadLetterPolicy& proto,
                                                      const Names& names) {
  DeadLetterPolicy dlq;
  if (proto.dead_letter_topic().empty()) return dlq;
  ASSIGN_OR_RETURN(dlq.topic, names.Topic(proto.dead_letter_topic()));
  dlq.max_delivery_attempts = proto.max_delivery_attempts() == 0 ? kDefaultMaxDeliveryAttempts
                                                                 : proto.max_delivery_attempts();
  return dlq;
}

absl::StatusOr<SubscriptionConfig> SubscriptionFromPubSub(const gps::Subscription& proto,
                                                          const Names& names) {
  RETURN_IF_ERROR(CheckServedSubscription(proto));
  if (proto.detached()) return Invalid("detached is set by DetachSubscription only");
  SubscriptionConfig sub;
  ASSIGN_OR_RETURN(sub.name, names.Subscription(proto.name()));
  ASSIGN_OR_RETURN(sub.topic, names.Topic(proto.topic()));
  sub.ack_deadline_seconds =
      proto.ack_deadline_seconds() == 0 ? kDefaultAckDeadlineSeconds : proto.ack_deadline_seconds();
  sub.delivery_guarantee = proto.enable_exactly_once_delivery() ? DeliveryGuarantee::kExactlyOnce
                                                                : DeliveryGuarantee::kAtLeastOnce;
  sub.enable_message_ordering = proto.enable_message_ordering();
  sub.filter = proto.filter();
  ASSIGN_OR_RETURN(sub.dead_letter_policy, DeadLetterFromPubSub(proto.dead_letter_policy(), names));
  if (proto.has_retry_policy()) {
    ASSIGN_OR_RETURN(sub.retry_policy, RetryPolicyFromProto(proto.retry_policy()));
  }
  sub.labels = LabelsFromProto(proto.labels());
  if (proto.has_message_retention_duration()) {
    ASSIGN_OR_RETURN(sub.message_retention, DurationFromProto(proto.message_retention_duration(),
                                                              "message_retention_duration"));
  }
  // Unset, or without a ttl: never expires (off by default, unlike
  // Google's 31 days; docs/pubsub.md).
  if (proto.expiration_policy().has_ttl()) {
    ASSIGN_OR_RETURN(sub.expiration_ttl,
                     DurationFromProto(proto.expiration_policy().ttl(), "expiration_policy.ttl"));
  }
  return sub;
}

void SubscriptionToPubSub(const SubscriptionConfig& sub, const Names& names,
                          gps::Subscription* out) {
  out->set_name(names.SubscriptionResource(sub.name));
  out->set_topic(names.TopicResource(sub.topic));
  out->set_ack_deadline_seconds(sub.ack_deadline_seconds);
  // Acknowledged messages stay for the retention in effect whatever the
  // subscription says, so a seek back in time finds them, as Google's
  // service does on a topic with a retention of its own (every hub topic).
  out->set_retain_acked_messages(true);
  ToProtoDuration(sub.retention_in_effect, out->mutable_message_retention_duration());
  LabelsToProto(sub.labels, out->mutable_labels());
  out->set_enable_message_ordering(sub.enable_message_ordering);
  // Empty: never expires.
  gps::ExpirationPolicy* expiration = out->mutable_expiration_policy();
  if (sub.expiration_ttl > absl::ZeroDuration()) {
    ToProtoDuration(sub.expiration_ttl, expiration->mutable_ttl());
  }
  out->set_filter(sub.filter);
  if (!sub.dead_letter_policy.topic.empty()) {
    out->mutable_dead_letter_policy()->set_dead_letter_topic(
        names.TopicResource(sub.dead_letter_policy.topic));
    out->mutable_dead_letter_policy()->set_max_delivery_attempts(
        sub.dead_letter_policy.max_delivery_attempts);
  }
  if (sub.retry_policy.maximum_backoff > absl::ZeroDuration()) {
    RetryPolicyToProto(sub.retry_policy, out->mutable_retry_policy());
  }
  out->set_detached(sub.detached);
  out->set_enable_exactly_once_delivery(sub.delivery_guarantee == DeliveryGuarantee::kExactlyOnce);
  out->set_state(gps::Subscription::ACTIVE);
}

absl::StatusOr<std::vector<std::string>> SubscriptionPaths(
    const gps::Subscription& update, const google::protobuf::FieldMask& mask) {
  std::vector<std::string> paths;
  for (const std::string& path : mask.paths()) {
    if (path == "ack_deadline_seconds" || path == "labels" || path == "filter" ||
        path == "dead_letter_policy" || path == "retry_policy") {
      paths.push_back(path);
    } else if (path == "message_retention_duration") {
      paths.push_back("message_retention");
    } else if (path == "enable_exactly_once_delivery") {
      paths.push_back("delivery_guarantee");  // the engine says it is fixed
    } else if (path == "expiration_policy") {
      paths.push_back("expiration_ttl");
    } else if (path == "push_config" || path == "retain_acked_messages" ||
               path == "bigquery_config" || path == "cloud_storage_config" ||
               path == "bigtable_config") {
      // Refused when they ask for what the hub does not do; otherwise they
      // say what is true already.
      RETURN_IF_ERROR(CheckServedSubscription(update));
    } else {
      return Invalid(
          absl::StrCat("update_mask path ", Quoted(path), " cannot be updated by the hub"));
    }
  }
  return paths;
}

absl::StatusOr<SnapshotConfig> SnapshotFromPubSub(
    absl::string_view name, const google::protobuf::Map<std::string, std::string>& labels,
    const Names& names) {
  SnapshotConfig snapshot;
  ASSIGN_OR_RETURN(snapshot.name, names.Snapshot(name));
  snapshot.labels = LabelsFromProto(labels);
  return snapshot;
}

void SnapshotToPubSub(const SnapshotConfig& snapshot, const Names& names, gps::Snapshot* out) {
  out->set_name(names.SnapshotResource(snapshot.name));
  out->set_topic(names.TopicResource(snapshot.topic));
  ToProtoTime(snapshot.expire_time, out->mutable_expire_time());
  LabelsToProto(snapshot.labels, out->mutable_labels());
}

namespace {

// A delivery time or delay given as an attribute leaves the attributes for
// the message's delay.
absl::Status TakeDelay(Message& m, size_t index, absl::Time now) {
  auto at = m.attributes.find(kDeliverTimeAttribute);
  auto delay = m.attributes.find(kDeliveryDelayAttribute);
  if (at == m.attributes.end() && delay == m.attributes.end()) return absl::OkStatus();
  const std::string where = absl::StrCat("messages[", index, "] attribute ");
  if (at != m.attributes.end() && delay != m.attributes.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, kDeliverTimeAttribute, " and ", kDeliveryDelayAttribute, ": give one of the two"));
  }
  if (at != m.attributes.end()) {
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, at->second, &t, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(where, kDeliverTimeAttribute, " ",
                                                     Quoted(at->second),
                                                     " is not an RFC 3339 time: ", error));
    }
    m.delivery_delay = std::max(t - now, absl::ZeroDuration());
    m.attributes.erase(at);
    return absl::OkStatus();
  }
  if (!absl::ParseDuration(delay->second, &m.delivery_delay) ||
      m.delivery_delay == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(where, kDeliveryDelayAttribute, " ",
                                                   Quoted(delay->second),
                                                   " is not a duration such as 30s or 1h30m"));
  }
  m.attributes.erase(delay);
  return absl::OkStatus();
}

}  // namespace

// The idempotency attribute is stored as the message's key, not twice: it
// comes back as the attribute on delivery (DeliveriesToPubSub), and hub.v1
// consumers see it as idempotency_key.
absl::StatusOr<std::vector<Message>> MessagesFromPubSub(
    google::protobuf::RepeatedPtrField<gps::PubsubMessage>& protos, absl::Time now) {
  std::vector<Message> messages;
  messages.reserve(protos.size());
  for (int i = 0; i < protos.size(); ++i) {
    gps::PubsubMessage& proto = protos[i];
    Message& m = messages.emplace_back();
    m.data = std::move(*proto.mutable_data());
    m.attributes = LabelsFromProto(proto.attributes());
    m.ordering_key = std::move(*proto.mutable_ordering_key());
    RETURN_IF_ERROR(TakeDelay(m, static_cast<size_t>(i), now));
    if (auto key = m.attributes.find(kIdempotencyKeyAttribute); key != m.attributes.end()) {
      m.idempotency_key = key->second;
      // Kept when it is all the message holds, which must hold something.
      if (!m.data.empty() || m.attributes.size() > 1) m.attributes.erase(key);
    }
  }
  return messages;
}

void DeliveriesToPubSub(Claimed claimed,
                        google::protobuf::RepeatedPtrField<gps::ReceivedMessage>* out) {
  const bool counts_attempts = !claimed.subscription.dead_letter_policy.topic.empty();
  for (Delivery& d : claimed.deliveries) {
    gps::ReceivedMessage* r = out->Add();
    r->set_ack_id(std::move(d.ack_id));
    gps::PubsubMessage* m = r->mutable_message();
    m->set_data(std::move(d.message.data));
    LabelsToProto(std::move(d.message.attributes), m->mutable_attributes());
    if (!d.message.idempotency_key.empty()) {
      (*m->mutable_attributes())[kIdempotencyKeyAttribute] = std::move(d.message.idempotency_key);
    }
    if (d.message.delivery_delay > absl::ZeroDuration()) {
      (*m->mutable_attributes())[kDeliverTimeAttribute] =
          absl::FormatTime(absl::RFC3339_full, DeliverTime(d.message), absl::UTCTimeZone());
    }
    m->set_message_id(std::move(d.message.message_id));
    ToProtoTime(d.message.publish_time, m->mutable_publish_time());
    m->set_ordering_key(std::move(d.message.ordering_key));
    if (counts_attempts) r->set_delivery_attempt(d.delivery_attempt);
  }
}

}  // namespace hub::services::pubsub
