#include "services/convert.h"

#include <algorithm>
#include <utility>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace hub::services {

Labels LabelsFromProto(const google::protobuf::Map<std::string, std::string>& map) {
  return Labels(map.begin(), map.end());
}

void LabelsToProto(Labels labels, google::protobuf::Map<std::string, std::string>* out) {
  for (auto& [key, value] : labels) (*out)[key] = std::move(value);
}

absl::StatusOr<absl::Duration> DurationFromProto(const google::protobuf::Duration& d,
                                                 absl::string_view field) {
  const bool valid = d.nanos() > -1000000000 && d.nanos() < 1000000000 &&
                     !(d.seconds() > 0 && d.nanos() < 0) && !(d.seconds() < 0 && d.nanos() > 0) &&
                     d.seconds() >= google::protobuf::util::TimeUtil::kDurationMinSeconds &&
                     d.seconds() <= google::protobuf::util::TimeUtil::kDurationMaxSeconds;
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not a valid duration"));
  }
  return FromProtoDuration(d);
}

absl::StatusOr<TopicConfig> TopicFromProto(const v1::Topic& proto) {
  TopicConfig topic;
  topic.name = proto.name();
  if (proto.has_message_retention()) {
    ASSIGN_OR_RETURN(topic.message_retention,
                     DurationFromProto(proto.message_retention(), "message_retention"));
  }
  if (proto.has_dedup_window()) {
    ASSIGN_OR_RETURN(topic.dedup_window, DurationFromProto(proto.dedup_window(), "dedup_window"));
  }
  topic.labels = LabelsFromProto(proto.labels());
  if (proto.has_schema_settings()) {
    const v1::SchemaSettings& settings = proto.schema_settings();
    SchemaSettings& schema = topic.schema_settings;
    if (settings.schema().empty()) {
      return absl::InvalidArgumentError("schema_settings.schema is required");
    }
    schema.schema = settings.schema();
    schema.encoding =
        settings.encoding() == v1::BINARY ? SchemaEncoding::kBinary : SchemaEncoding::kJson;
    schema.first_revision_id = settings.first_revision_id();
    schema.last_revision_id = settings.last_revision_id();
  }
  return topic;
}

void TopicToProto(const TopicConfig& topic, v1::Topic* out) {
  out->set_name(topic.name);
  ToProtoDuration(topic.message_retention, out->mutable_message_retention());
  ToProtoDuration(topic.dedup_window, out->mutable_dedup_window());
  LabelsToProto(topic.labels, out->mutable_labels());
  const SchemaSettings& schema = topic.schema_settings;
  if (!schema.schema.empty()) {
    v1::SchemaSettings* settings = out->mutable_schema_settings();
    settings->set_schema(schema.schema);
    settings->set_encoding(static_cast<v1::SchemaEncoding>(schema.encoding));
    settings->set_first_revision_id(schema.first_revision_id);
    settings->set_last_revision_id(schema.last_revision_id);
  }
}

absl::StatusOr<SchemaRevision> SchemaFromProto(const v1::Schema& proto) {
  SchemaRevision schema;
  schema.name = proto.name();
  switch (proto.type()) {
    case v1::PROTOCOL_BUFFER:
      schema.type = SchemaType::kProtocolBuffer;
      break;
    case v1::AVRO:
      schema.type = SchemaType::kAvro;
      break;
    default:
      return absl::InvalidArgumentError("schema type must be PROTOCOL_BUFFER or AVRO");
  }
  schema.definition = proto.definition();
  return schema;
}

void SchemaToProto(const SchemaRevision& schema, bool with_definition, v1::Schema* out) {
  out->set_name(schema.name);
  out->set_type(static_cast<v1::SchemaType>(schema.type));
  if (with_definition) out->set_definition(schema.definition);
  out->set_revision_id(schema.revision_id);
  ToProtoTime(schema.revision_time, out->mutable_revision_create_time());
}

namespace {

absl::StatusOr<SubscriptionStart> SubscriptionStartFromProto(const v1::SubscriptionStart& proto) {
  SubscriptionStart start;
  switch (proto.at_case()) {
    case v1::SubscriptionStart::AT_NOT_SET:
      break;
    case v1::SubscriptionStart::kOldestRetained:
      if (!proto.oldest_retained()) {
        return absl::InvalidArgumentError("start.oldest_retained, when set, must be true");
      }
      start.kind = SubscriptionStart::Kind::kOldestRetained;
      break;
    case v1::SubscriptionStart::kTime: {
      start.kind = SubscriptionStart::Kind::kTime;
      ASSIGN_OR_RETURN(start.time, TimeFromProto(proto.time(), "start.time"));
      break;
    }
    case v1::SubscriptionStart::kSnapshot:
      start.kind = SubscriptionStart::Kind::kSnapshot;
      start.snapshot = proto.snapshot();
      break;
  }
  return start;
}

}  // namespace

absl::StatusOr<SubscriptionConfig> SubscriptionFromProto(const v1::Subscription& proto) {
  SubscriptionConfig sub;
  sub.name = proto.name();
  sub.topic = proto.topic();
  sub.ack_deadline_seconds = proto.ack_deadline_seconds();
  switch (proto.delivery_guarantee()) {
    case v1::DELIVERY_GUARANTEE_UNSPECIFIED:
    case v1::AT_LEAST_ONCE:
      sub.delivery_guarantee = DeliveryGuarantee::kAtLeastOnce;
      break;
    case v1::AT_MOST_ONCE:
      sub.delivery_guarantee = DeliveryGuarantee::kAtMostOnce;
      break;
    case v1::EXACTLY_ONCE:
      sub.delivery_guarantee = DeliveryGuarantee::kExactlyOnce;
      break;
    default:
      return absl::InvalidArgumentError("delivery_guarantee is not a known value");
  }
  sub.enable_message_ordering = proto.enable_message_ordering();
  sub.filter = proto.filter();
  if (proto.has_dead_letter_policy()) {
    sub.dead_letter_policy.topic = proto.dead_letter_policy().dead_letter_topic();
    sub.dead_letter_policy.max_delivery_attempts =
        proto.dead_letter_policy().max_delivery_attempts();
  }
  if (proto.has_retry_policy()) {
    ASSIGN_OR_RETURN(sub.retry_policy, RetryPolicyFromProto(proto.retry_policy()));
  }
  sub.labels = LabelsFromProto(proto.labels());
  if (proto.has_message_retention()) {
    ASSIGN_OR_RETURN(sub.message_retention,
                     DurationFromProto(proto.message_retention(), "message_retention"));
  }
  if (proto.has_expiration_ttl()) {
    ASSIGN_OR_RETURN(sub.expiration_ttl,
                     DurationFromProto(proto.expiration_ttl(), "expiration_ttl"));
  }
  ASSIGN_OR_RETURN(sub.start, SubscriptionStartFromProto(proto.start()));
  return sub;
}

void SubscriptionToProto(const SubscriptionConfig& sub, v1::Subscription* out) {
  out->set_name(sub.name);
  out->set_topic(sub.topic);
  out->set_ack_deadline_seconds(sub.ack_deadline_seconds);
  switch (sub.delivery_guarantee) {
    case DeliveryGuarantee::kAtMostOnce:
      out->set_delivery_guarantee(v1::AT_MOST_ONCE);
      break;
    case DeliveryGuarantee::kAtLeastOnce:
      out->set_delivery_guarantee(v1::AT_LEAST_ONCE);
      break;
    case DeliveryGuarantee::kExactlyOnce:
      out->set_delivery_guarantee(v1::EXACTLY_ONCE);
      break;
  }
  out->set_enable_message_ordering(sub.enable_message_ordering);
  out->set_filter(sub.filter);
  if (!sub.dead_letter_policy.topic.empty()) {
    out->mutable_dead_letter_policy()->set_dead_letter_topic(sub.dead_letter_policy.topic);
    out->mutable_dead_letter_policy()->set_max_delivery_attempts(
        sub.dead_letter_policy.max_delivery_attempts);
  }
  if (sub.retry_policy.maximum_backoff > absl::ZeroDuration()) {
    RetryPolicyToProto(sub.retry_policy, out->mutable_retry_policy());
  }
  LabelsToProto(sub.labels, out->mutable_labels());
  ToProtoDuration(sub.retention_in_effect, out->mutable_message_retention());
  if (sub.expiration_ttl > absl::ZeroDuration()) {
    ToProtoDuration(sub.expiration_ttl, out->mutable_expiration_ttl());
  }
}

absl::StatusOr<std::vector<Message>> MessagesFromProto(
    google::protobuf::RepeatedPtrField<v1::Message>& protos, absl::Time now) {
  std::vector<Message> messages;
  messages.reserve(protos.size());
  for (int i = 0; i < protos.size(); ++i) {
    v1::Message& proto = protos[i];
    Message& m = messages.emplace_back();
    m.data = std::move(*proto.mutable_data());
    m.attributes = LabelsFromProto(proto.attributes());
    m.ordering_key = std::move(*proto.mutable_ordering_key());
    m.idempotency_key = std::move(*proto.mutable_idempotency_key());
    switch (proto.delivery_case()) {
      case v1::Message::kDeliverTime: {
        ASSIGN_OR_RETURN(
            const absl::Time at,
            TimeFromProto(proto.deliver_time(), absl::StrCat("messages[", i, "].deliver_time")));
        m.delivery_delay = std::max(at - now, absl::ZeroDuration());
        break;
      }
      case v1::Message::kDeliveryDelay: {
        ASSIGN_OR_RETURN(m.delivery_delay,
                         DurationFromProto(proto.delivery_delay(),
                                           absl::StrCat("messages[", i, "].delivery_delay")));
        break;
      }
      case v1::Message::DELIVERY_NOT_SET:
        break;
    }
  }
  return messages;
}

void MessageToProto(Message&& in, v1::Message* m) {
  m->set_data(std::move(in.data));
  LabelsToProto(std::move(in.attributes), m->mutable_attributes());
  m->set_ordering_key(std::move(in.ordering_key));
  m->set_idempotency_key(std::move(in.idempotency_key));
  m->set_message_id(std::move(in.message_id));
  // A message retention removed is known by its id alone.
  if (in.publish_time != absl::Time()) ToProtoTime(in.publish_time, m->mutable_publish_time());
  if (in.delivery_delay > absl::ZeroDuration()) {
    ToProtoTime(DeliverTime(in), m->mutable_deliver_time());
  }
}

void DeliveryToProto(Delivery&& delivery, v1::ReceivedMessage* out) {
  out->set_ack_id(std::move(delivery.ack_id));
  out->set_delivery_attempt(delivery.delivery_attempt);
  MessageToProto(std::move(delivery.message), out->mutable_message());
}

v1::MessageState MessageStateToProto(MessageState state) {
  switch (state) {
    case MessageState::kWaiting:
      return v1::MESSAGE_STATE_WAITING;
    case MessageState::kInFlight:
      return v1::MESSAGE_STATE_IN_FLIGHT;
    case MessageState::kAcknowledged:
      return v1::MESSAGE_STATE_ACKNOWLEDGED;
    case MessageState::kFilteredOut:
      return v1::MESSAGE_STATE_FILTERED_OUT;
    case MessageState::kDeadLettered:
      return v1::MESSAGE_STATE_DEAD_LETTERED;
    case MessageState::kExpired:
      return v1::MESSAGE_STATE_EXPIRED;
  }
  return v1::MESSAGE_STATE_UNSPECIFIED;
}

absl::StatusOr<MessageState> MessageStateFromProto(v1::MessageState state) {
  switch (state) {
    case v1::MESSAGE_STATE_WAITING:
      return MessageState::kWaiting;
    case v1::MESSAGE_STATE_IN_FLIGHT:
      return MessageState::kInFlight;
    case v1::MESSAGE_STATE_DEAD_LETTERED:
      return MessageState::kDeadLettered;
    default:
      return absl::InvalidArgumentError(
          "state must be MESSAGE_STATE_WAITING, MESSAGE_STATE_IN_FLIGHT or "
          "MESSAGE_STATE_DEAD_LETTERED");
  }
}

void SnapshotToProto(const SnapshotConfig& snapshot, v1::Snapshot* out) {
  out->set_name(snapshot.name);
  out->set_topic(snapshot.topic);
  ToProtoTime(snapshot.expire_time, out->mutable_expire_time());
  LabelsToProto(snapshot.labels, out->mutable_labels());
}

void SubscriptionFateToProto(const SubscriptionFate& fate, v1::SubscriptionFate* out) {
  out->set_subscription(fate.subscription);
  out->set_state(MessageStateToProto(fate.state));
  out->set_delivery_attempt(fate.delivery_attempt);
  if (fate.lease_expire_time != absl::InfinitePast()) {
    ToProtoTime(fate.lease_expire_time, out->mutable_lease_expire_time());
  }
  if (fate.next_delivery_time != absl::InfinitePast()) {
    ToProtoTime(fate.next_delivery_time, out->mutable_next_delivery_time());
  }
  if (fate.dead_letter) {
    v1::DeadLetter* d = out->mutable_dead_letter();
    d->set_topic(fate.dead_letter->topic);
    d->set_message_id(fate.dead_letter->message_id);
    d->set_reason(fate.dead_letter->reason);
    d->set_delivery_attempts(fate.dead_letter->attempts);
    ToProtoTime(fate.dead_letter->time, d->mutable_dead_letter_time());
  }
}

void DeliveriesToProto(Claimed claimed,
                       google::protobuf::RepeatedPtrField<v1::ReceivedMessage>* out) {
  for (Delivery& d : claimed.deliveries) DeliveryToProto(std::move(d), out->Add());
}

void SubscriptionStatsToProto(const SubscriptionStats& stats, absl::Time now,
                              v1::SubscriptionStats* out) {
  out->set_subscription(stats.subscription);
  out->set_topic(stats.topic);
  out->set_backlog_messages(stats.backlog_messages);
  out->set_unacked_messages(stats.unacked_messages);
  if (stats.unacked_bytes) out->set_unacked_bytes(*stats.unacked_bytes);
  out->set_dead_lettered_messages(stats.dead_lettered_messages);
  if (stats.oldest_unacked_publish_time) {
    ToProtoTime(*stats.oldest_unacked_publish_time, out->mutable_oldest_unacked_publish_time());
    ToProtoDuration(std::max(absl::ZeroDuration(), now - *stats.oldest_unacked_publish_time),
                    out->mutable_oldest_unacked_age());
  }
}

void PublishResultsToProto(const std::vector<PublishResult>& results, v1::PublishResponse* out) {
  for (const PublishResult& r : results) {
    v1::PublishResult* p = out->add_results();
    p->set_message_id(r.message_id);
    p->set_duplicate(r.duplicate);
  }
}

v1::AckStatus AckStatusToProto(AckStatus status) {
  switch (status) {
    case AckStatus::kOk:
      return v1::OK;
    case AckStatus::kExpired:
      return v1::EXPIRED;
    case AckStatus::kInvalid:
      return v1::INVALID;
  }
  return v1::ACK_STATUS_UNSPECIFIED;
}

void AckResultsToProto(const std::vector<AckResult>& results,
                       google::protobuf::RepeatedPtrField<v1::AckResult>* out) {
  for (const AckResult& r : results) {
    v1::AckResult* p = out->Add();
    p->set_ack_id(r.ack_id);
    p->set_status(AckStatusToProto(r.status));
  }
}

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return std::vector<std::string>(mask.paths().begin(), mask.paths().end());
}

absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& t,
                                         absl::string_view field) {
  if (t.nanos() < 0 || t.nanos() >= 1000000000 ||
      t.seconds() < google::protobuf::util::TimeUtil::kTimestampMinSeconds ||
      t.seconds() > google::protobuf::util::TimeUtil::kTimestampMaxSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not a valid timestamp"));
  }
  return FromProtoTime(t);
}

StreamRequest StreamRequestFromProto(const v1::StreamingPullRequest& proto) {
  StreamRequest r;
  r.ack_ids.assign(proto.ack_ids().begin(), proto.ack_ids().end());
  r.nack_ids.assign(proto.nack_ids().begin(), proto.nack_ids().end());
  r.modify_deadline_ack_ids.assign(proto.modify_deadline_ack_ids().begin(),
                                   proto.modify_deadline_ack_ids().end());
  r.modify_deadline_seconds.assign(proto.modify_deadline_seconds().begin(),
                                   proto.modify_deadline_seconds().end());
  return r;
}

StreamSettings StreamSettingsFromProto(const v1::StreamingPullRequest& first) {
  StreamSettings settings;
  settings.subscription = first.subscription();
  settings.ack_deadline_seconds = first.stream_ack_deadline_seconds();
  settings.max_outstanding_messages = first.max_outstanding_messages();
  settings.max_outstanding_bytes = first.max_outstanding_bytes();
  return settings;
}

}  // namespace hub::services
