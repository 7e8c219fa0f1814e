#include "client/internal/message_convert.h"

#include "common/proto_time.h"

namespace hub::client::internal {

void MessageToProto(Message message, v1::Message* out) {
  out->set_data(std::move(message.data));
  for (auto& [key, value] : message.attributes) (*out->mutable_attributes())[key] = value;
  out->set_ordering_key(std::move(message.ordering_key));
  out->set_idempotency_key(std::move(message.idempotency_key));
  if (message.delivery_delay != absl::ZeroDuration()) {
    ToProtoDuration(message.delivery_delay, out->mutable_delivery_delay());
  }
}

Message MessageFromProto(v1::Message proto) {
  Message m;
  m.data = std::move(*proto.mutable_data());
  m.attributes.insert(proto.attributes().begin(), proto.attributes().end());
  m.ordering_key = std::move(*proto.mutable_ordering_key());
  m.idempotency_key = std::move(*proto.mutable_idempotency_key());
  m.message_id = std::move(*proto.mutable_message_id());
  m.publish_time = FromProtoTime(proto.publish_time());
  if (proto.has_deliver_time()) m.deliver_time = FromProtoTime(proto.deliver_time());
  return m;
}

int64_t MessageBytes(const v1::Message& message) {
  int64_t bytes = static_cast<int64_t>(message.data().size() + message.ordering_key().size() +
                                       message.idempotency_key().size());
  for (const auto& [key, value] : message.attributes()) {
    bytes += static_cast<int64_t>(key.size() + value.size());
  }
  return bytes;
}

absl::Status AckStatusToStatus(v1::AckStatus status) {
  switch (status) {
    case v1::OK:
      return absl::OkStatus();
    case v1::EXPIRED:
      return absl::FailedPreconditionError(
          "the lease expired before the ack arrived; the message is redelivered");
    case v1::INVALID:
      return absl::InvalidArgumentError("the ack id is unknown or belongs to an earlier delivery");
    case v1::ACK_STATUS_UNSPECIFIED:
    case v1::AckStatus_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::AckStatus_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return absl::UnknownError("the hub answered the ack with no status");
}

}  // namespace hub::client::internal
