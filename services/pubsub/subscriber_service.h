#ifndef SERVICES_PUBSUB_SUBSCRIBER_SERVICE_H_
#define SERVICES_PUBSUB_SUBSCRIBER_SERVICE_H_

#include "google/pubsub/v1/pubsub.grpc.pb.h"
#include "hub/hub.h"
#include "services/auth/access_control.h"
#include "services/pubsub/call_helpers.h"
#include "services/pubsub/convert.h"
#include "services/pubsub/names.h"
#include "services/stream_quota.h"

namespace hub::services::pubsub {

using SubscriberBase = gps::Subscriber::WithCallbackMethod_StreamingPull<
    gps::Subscriber::WithCallbackMethod_Pull<gps::Subscriber::Service>>;

// google.pubsub.v1.Subscriber over the engine (docs/pubsub.md). Pull and
// StreamingPull run on gRPC's callback API and the engine's dispatcher, as
// hub.v1's do: a waiting call holds no thread. Streams count against the
// same per-principal cap as hub.v1's.
class SubscriberService final : public SubscriberBase {
  using Context = grpc::ServerContext;

 public:
  SubscriberService(Hub& hub, const auth::AccessControl& access, const Names& names,
                    StreamQuota& streams)
      : hub_(hub), access_(access), names_(names), gate_(access, names), streams_(streams) {}

  grpc::Status CreateSubscription(Context* context, const gps::Subscription* request,
                                  gps::Subscription* response) override;
  grpc::Status GetSubscription(Context* context, const gps::GetSubscriptionRequest* request,
                               gps::Subscription* response) override;
  grpc::Status UpdateSubscription(Context* context, const gps::UpdateSubscriptionRequest* request,
                                  gps::Subscription* response) override;
  grpc::Status ListSubscriptions(Context* context, const gps::ListSubscriptionsRequest* request,
                                 gps::ListSubscriptionsResponse* response) override;
  grpc::Status DeleteSubscription(Context* context, const gps::DeleteSubscriptionRequest* request,
                                  google::protobuf::Empty* response) override;
  grpc::Status ModifyAckDeadline(Context* context, const gps::ModifyAckDeadlineRequest* request,
                                 google::protobuf::Empty* response) override;
  grpc::Status Acknowledge(Context* context, const gps::AcknowledgeRequest* request,
                           google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* Pull(grpc::CallbackServerContext* context,
                                 const gps::PullRequest* request,
                                 gps::PullResponse* response) override;
  grpc::ServerBidiReactor<gps::StreamingPullRequest, gps::StreamingPullResponse>* StreamingPull(
      grpc::CallbackServerContext* context) override;
  grpc::Status ModifyPushConfig(Context* context, const gps::ModifyPushConfigRequest* request,
                                google::protobuf::Empty* response) override;
  grpc::Status GetSnapshot(Context* context, const gps::GetSnapshotRequest* request,
                           gps::Snapshot* response) override;
  grpc::Status ListSnapshots(Context* context, const gps::ListSnapshotsRequest* request,
                             gps::ListSnapshotsResponse* response) override;
  grpc::Status CreateSnapshot(Context* context, const gps::CreateSnapshotRequest* request,
                              gps::Snapshot* response) override;
  grpc::Status UpdateSnapshot(Context* context, const gps::UpdateSnapshotRequest* request,
                              gps::Snapshot* response) override;
  grpc::Status DeleteSnapshot(Context* context, const gps::DeleteSnapshotRequest* request,
                              google::protobuf::Empty* response) override;
  grpc::Status Seek(Context* context, const gps::SeekRequest* request,
                    gps::SeekResponse* response) override;

 private:
  // Runs `call(snapshot)` once the caller may `action` the snapshot. A
  // caller who may not hears PERMISSION_DENIED whether it exists or not.
  template <typename Call>
  grpc::Status OnSnapshot(Context* context, const std::string& resource, auth::Action action,
                          Call call);
  // Acks or deadline changes done: on an exactly-once subscription, ids
  // that failed make the call fail with Pub/Sub's ErrorInfo per id.
  grpc::Status Settled(const std::string& subscription,
                       const absl::StatusOr<std::vector<AckResult>>& results);

  Hub& hub_;
  const auth::AccessControl& access_;
  const Names& names_;
  const Gate gate_;
  StreamQuota& streams_;
};

}  // namespace hub::services::pubsub

#endif  // SERVICES_PUBSUB_SUBSCRIBER_SERVICE_H_
