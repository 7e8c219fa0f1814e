#ifndef SERVICES_SUBSCRIBER_SERVICE_H_
#define SERVICES_SUBSCRIBER_SERVICE_H_

#include "hub/hub.h"
#include "hub/v1/subscriber.grpc.pb.h"
#include "services/auth/access_control.h"
#include "services/stream_quota.h"

namespace hub::services {

// hub.v1.Subscriber over the engine. Translation only. Pull and
// StreamingPull are on gRPC's callback API: a waiting call holds no thread.
class SubscriberService final
    : public v1::Subscriber::WithCallbackMethod_StreamingPull<
          v1::Subscriber::WithCallbackMethod_Pull<v1::Subscriber::Service>> {
 public:
  // `streams` caps the streams of each principal, hub.v1's and Pub/Sub's
  // together.
  SubscriberService(Hub& hub, const auth::AccessControl& access, StreamQuota& streams)
      : hub_(hub), access_(access), streams_(streams) {}

  grpc::Status CreateSubscription(grpc::ServerContext* context, const v1::Subscription* request,
                                  v1::Subscription* response) override;
  grpc::Status GetSubscription(grpc::ServerContext* context,
                               const v1::GetSubscriptionRequest* request,
                               v1::Subscription* response) override;
  grpc::Status ListSubscriptions(grpc::ServerContext* context,
                                 const v1::ListSubscriptionsRequest* request,
                                 v1::ListSubscriptionsResponse* response) override;
  grpc::Status UpdateSubscription(grpc::ServerContext* context,
                                  const v1::UpdateSubscriptionRequest* request,
                                  v1::Subscription* response) override;
  grpc::Status Reject(grpc::ServerContext* context, const v1::RejectRequest* request,
                      v1::RejectResponse* response) override;
  grpc::Status Seek(grpc::ServerContext* context, const v1::SeekRequest* request,
                    v1::SeekResponse* response) override;
  grpc::Status Transact(grpc::ServerContext* context, const v1::TransactRequest* request,
                        v1::TransactResponse* response) override;
  grpc::Status GetSubscriptionStats(grpc::ServerContext* context,
                                    const v1::GetSubscriptionStatsRequest* request,
                                    v1::SubscriptionStats* response) override;
  grpc::Status DeleteSubscription(grpc::ServerContext* context,
                                  const v1::DeleteSubscriptionRequest* request,
                                  google::protobuf::Empty* response) override;
  grpc::Status GetMessageFate(grpc::ServerContext* context,
                              const v1::GetMessageFateRequest* request,
                              v1::MessageFate* response) override;
  grpc::Status ListMessages(grpc::ServerContext* context, const v1::ListMessagesRequest* request,
                            v1::ListMessagesResponse* response) override;
  grpc::Status ListSubscriptionMessages(grpc::ServerContext* context,
                                        const v1::ListSubscriptionMessagesRequest* request,
                                        v1::ListSubscriptionMessagesResponse* response) override;
  grpc::Status Redrive(grpc::ServerContext* context, const v1::RedriveRequest* request,
                       v1::RedriveResponse* response) override;
  grpc::Status CreateSnapshot(grpc::ServerContext* context,
                              const v1::CreateSnapshotRequest* request,
                              v1::Snapshot* response) override;
  grpc::Status ListSnapshots(grpc::ServerContext* context, const v1::ListSnapshotsRequest* request,
                             v1::ListSnapshotsResponse* response) override;
  grpc::Status DeleteSnapshot(grpc::ServerContext* context,
                              const v1::DeleteSnapshotRequest* request,
                              google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* Pull(grpc::CallbackServerContext* context,
                                 const v1::PullRequest* request,
                                 v1::PullResponse* response) override;
  grpc::ServerBidiReactor<v1::StreamingPullRequest, v1::StreamingPullResponse>* StreamingPull(
      grpc::CallbackServerContext* context) override;
  grpc::Status Acknowledge(grpc::ServerContext* context, const v1::AcknowledgeRequest* request,
                           v1::AcknowledgeResponse* response) override;
  grpc::Status ModifyAckDeadline(grpc::ServerContext* context,
                                 const v1::ModifyAckDeadlineRequest* request,
                                 v1::ModifyAckDeadlineResponse* response) override;

 private:
  Hub& hub_;
  const auth::AccessControl& access_;
  StreamQuota& streams_;
};

}  // namespace hub::services

#endif  // SERVICES_SUBSCRIBER_SERVICE_H_
