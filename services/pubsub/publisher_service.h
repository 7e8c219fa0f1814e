#ifndef SERVICES_PUBSUB_PUBLISHER_SERVICE_H_
#define SERVICES_PUBSUB_PUBLISHER_SERVICE_H_

#include "google/pubsub/v1/pubsub.grpc.pb.h"
#include "hub/hub.h"
#include "services/auth/access_control.h"
#include "services/pubsub/call_helpers.h"
#include "services/pubsub/convert.h"
#include "services/pubsub/names.h"

namespace hub::services::pubsub {

// google.pubsub.v1.Publisher over the engine: names mapped, the same access
// checks as hub.v1's, then translation (docs/pubsub.md).
class PublisherService final : public ::google::pubsub::v1::Publisher::Service {
  using Context = grpc::ServerContext;

 public:
  PublisherService(Hub& hub, const auth::AccessControl& access, const Names& names)
      : hub_(hub), access_(access), names_(names), gate_(access, names) {}

  grpc::Status CreateTopic(Context* context, const gps::Topic* request,
                           gps::Topic* response) override;
  grpc::Status UpdateTopic(Context* context, const gps::UpdateTopicRequest* request,
                           gps::Topic* response) override;
  grpc::Status Publish(Context* context, const gps::PublishRequest* request,
                       gps::PublishResponse* response) override;
  grpc::Status GetTopic(Context* context, const gps::GetTopicRequest* request,
                        gps::Topic* response) override;
  grpc::Status ListTopics(Context* context, const gps::ListTopicsRequest* request,
                          gps::ListTopicsResponse* response) override;
  grpc::Status ListTopicSubscriptions(Context* context,
                                      const gps::ListTopicSubscriptionsRequest* request,
                                      gps::ListTopicSubscriptionsResponse* response) override;
  grpc::Status ListTopicSnapshots(Context* context, const gps::ListTopicSnapshotsRequest* request,
                                  gps::ListTopicSnapshotsResponse* response) override;
  grpc::Status DeleteTopic(Context* context, const gps::DeleteTopicRequest* request,
                           google::protobuf::Empty* response) override;
  grpc::Status DetachSubscription(Context* context, const gps::DetachSubscriptionRequest* request,
                                  gps::DetachSubscriptionResponse* response) override;

 private:
  Hub& hub_;
  const auth::AccessControl& access_;
  const Names& names_;
  const Gate gate_;
};

}  // namespace hub::services::pubsub

#endif  // SERVICES_PUBSUB_PUBLISHER_SERVICE_H_
