#ifndef SERVICES_CONVERT_H_
#define SERVICES_CONVERT_H_

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "hub/hub.h"
#include "hub/types.h"
#include "hub/v1/publisher.pb.h"
#include "hub/v1/subscriber.pb.h"

// proto <-> domain. Defaults of docs/api.md for fields the client left unset are
// applied here, where "unset" is still visible.
namespace hub::services {

absl::StatusOr<absl::Duration> DurationFromProto(const google::protobuf::Duration& d,
                                                 absl::string_view field);

absl::StatusOr<TopicConfig> TopicFromProto(const v1::Topic& proto);
void TopicToProto(const TopicConfig& topic, v1::Topic* out);

absl::StatusOr<SubscriptionConfig> SubscriptionFromProto(const v1::Subscription& proto);
void SubscriptionToProto(const SubscriptionConfig& sub, v1::Subscription* out);

Message MessageFromProto(const v1::Message& proto);
void DeliveryToProto(const Delivery& delivery, v1::ReceivedMessage* out);

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
