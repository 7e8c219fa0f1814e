#ifndef SERVICES_CONVERT_H_
#define SERVICES_CONVERT_H_

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "hub/hub.h"
#include "hub/types.h"
#include "hub/v1/publisher.pb.h"
#include "hub/v1/subscriber.pb.h"

// proto <-> domain. Defaults of docs/api.md for fields the client left unset are
// applied here, where "unset" is still visible.
namespace hub::services {

// The request of a synchronous unary handler, to move payloads out of
// instead of copying them. gRPC passes it as const, but the object is the
// call's own and was never const: RpcMethodHandler::Deserialize
// (grpcpp/support/method_handler.h) constructs it for this call in the
// call's arena and destroys it after the handler returns, and nothing reads
// it after the handler (CallInterceptor looks at the received message
// before). So writing to it is defined behaviour.
template <typename Request>
Request& SpendRequest(const Request* request) {
  return *const_cast<Request*>(request);
}

absl::StatusOr<absl::Duration> DurationFromProto(const google::protobuf::Duration& d,
                                                 absl::string_view field);

Labels LabelsFromProto(const google::protobuf::Map<std::string, std::string>& map);
// By value: a delivery's attributes are moved in, other callers' copied.
void LabelsToProto(Labels labels, google::protobuf::Map<std::string, std::string>* out);

// A retry policy of hub.v1 or of Pub/Sub (the same message in both): a bound
// left unset takes Pub/Sub's default, 10 s and 600 s.
template <typename Proto>
absl::StatusOr<RetryPolicy> RetryPolicyFromProto(const Proto& proto) {
  RetryPolicy retry{absl::Seconds(10), absl::Seconds(600)};
  if (proto.has_minimum_backoff()) {
    ASSIGN_OR_RETURN(retry.minimum_backoff,
                     DurationFromProto(proto.minimum_backoff(), "minimum_backoff"));
  }
  if (proto.has_maximum_backoff()) {
    ASSIGN_OR_RETURN(retry.maximum_backoff,
                     DurationFromProto(proto.maximum_backoff(), "maximum_backoff"));
  }
  return retry;
}
template <typename Proto>
void RetryPolicyToProto(const RetryPolicy& retry, Proto* out) {
  ToProtoDuration(retry.minimum_backoff, out->mutable_minimum_backoff());
  ToProtoDuration(retry.maximum_backoff, out->mutable_maximum_backoff());
}

absl::StatusOr<TopicConfig> TopicFromProto(const v1::Topic& proto);
void TopicToProto(const TopicConfig& topic, v1::Topic* out);
// A request's schema: name, type (required) and definition.
absl::StatusOr<SchemaRevision> SchemaFromProto(const v1::Schema& proto);
void SchemaToProto(const SchemaRevision& schema, bool with_definition, v1::Schema* out);

absl::StatusOr<SubscriptionConfig> SubscriptionFromProto(const v1::Subscription& proto);
void SubscriptionToProto(const SubscriptionConfig& sub, v1::Subscription* out);

// Moves the payloads out of `protos`. A delivery time becomes a delay from
// `now` (none once it has passed); INVALID_ARGUMENT for a time or duration
// that is not one.
absl::StatusOr<std::vector<Message>> MessagesFromProto(
    google::protobuf::RepeatedPtrField<v1::Message>& protos, absl::Time now);
// Moves the payload and the rest into the response: the delivery is spent.
void DeliveryToProto(Delivery&& delivery, v1::ReceivedMessage* out);
// Moves the payload.
void MessageToProto(Message&& message, v1::Message* out);
v1::MessageState MessageStateToProto(MessageState state);
// WAITING, IN_FLIGHT or DEAD_LETTERED, what a subscription's browse lists.
absl::StatusOr<MessageState> MessageStateFromProto(v1::MessageState state);
void SubscriptionFateToProto(const SubscriptionFate& fate, v1::SubscriptionFate* out);
void SnapshotToProto(const SnapshotConfig& snapshot, v1::Snapshot* out);
// A claim's deliveries, each as DeliveryToProto makes it (Pull and
// StreamingPull alike).
void DeliveriesToProto(Claimed claimed,
                       google::protobuf::RepeatedPtrField<v1::ReceivedMessage>* out);

void PublishResultsToProto(const std::vector<PublishResult>& results, v1::PublishResponse* out);

v1::AckStatus AckStatusToProto(AckStatus status);
void AckResultsToProto(const std::vector<AckResult>& results,
                       google::protobuf::RepeatedPtrField<v1::AckResult>* out);

// `now` gives the age of the oldest unacknowledged message.
void SubscriptionStatsToProto(const SubscriptionStats& stats, absl::Time now,
                              v1::SubscriptionStats* out);

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask);

absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& t,
                                         absl::string_view field);

StreamRequest StreamRequestFromProto(const v1::StreamingPullRequest& proto);
// The flow control and deadline a stream's first request asks for.
StreamSettings StreamSettingsFromProto(const v1::StreamingPullRequest& first);

}  // namespace hub::services

#endif  // SERVICES_CONVERT_H_
