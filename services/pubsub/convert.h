#ifndef SERVICES_PUBSUB_CONVERT_H_
#define SERVICES_PUBSUB_CONVERT_H_

#include <string>
#include <vector>

#include <google/protobuf/field_mask.pb.h>

#include "absl/status/statusor.h"
#include "google/pubsub/v1/pubsub.pb.h"
#include "hub/types.h"
#include "services/pubsub/names.h"

// google.pubsub.v1 <-> domain, field by field as docs/pubsub.md tables them:
// what the hub has is mapped, what it does not is refused with the field's
// name, never dropped.
namespace hub::services::pubsub {

namespace gps = ::google::pubsub::v1;

absl::StatusOr<TopicConfig> TopicFromPubSub(const gps::Topic& proto, const Names& names);
void TopicToPubSub(const TopicConfig& topic, const Names& names, gps::Topic* out);
// An update_mask of Pub/Sub's topic fields as the engine's paths.
absl::StatusOr<std::vector<std::string>> TopicPaths(const google::protobuf::FieldMask& mask);

// Unset without a topic; 0 attempts is Pub/Sub's default, 5.
absl::StatusOr<DeadLetterPolicy> DeadLetterFromPubSub(const gps::DeadLetterPolicy& proto,
                                                      const Names& names);
absl::StatusOr<SubscriptionConfig> SubscriptionFromPubSub(const gps::Subscription& proto,
                                                          const Names& names);
void SubscriptionToPubSub(const SubscriptionConfig& sub, const Names& names,
                          gps::Subscription* out);
// An update_mask of Pub/Sub's subscription fields as the engine's paths;
// `update` is checked for what the paths it names may not hold. Paths that
// only restate what holds (an expiration_policy without ttl, say) map to
// none.
absl::StatusOr<std::vector<std::string>> SubscriptionPaths(const gps::Subscription& update,
                                                           const google::protobuf::FieldMask& mask);

absl::StatusOr<SnapshotConfig> SnapshotFromPubSub(
    absl::string_view name, const google::protobuf::Map<std::string, std::string>& labels,
    const Names& names);
void SnapshotToPubSub(const SnapshotConfig& snapshot, const Names& names, gps::Snapshot* out);

// Moves the payloads out of `protos`. The attributes kDeliverTimeAttribute
// (RFC 3339) and kDeliveryDelayAttribute (a duration such as 30s or 1h30m)
// become the message's delay, from `now` for a time (none once it has
// passed); INVALID_ARGUMENT when a value is not one, or both are given.
absl::StatusOr<std::vector<Message>> MessagesFromPubSub(
    google::protobuf::RepeatedPtrField<gps::PubsubMessage>& protos, absl::Time now);
// Pub/Sub fills delivery_attempt only on subscriptions with a dead-letter
// policy. Moves the payloads into the response: the claim is spent.
void DeliveriesToPubSub(Claimed claimed,
                        google::protobuf::RepeatedPtrField<gps::ReceivedMessage>* out);

}  // namespace hub::services::pubsub

#endif  // SERVICES_PUBSUB_CONVERT_H_
