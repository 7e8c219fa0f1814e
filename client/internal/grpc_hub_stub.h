#ifndef CLIENT_INTERNAL_GRPC_HUB_STUB_H_
#define CLIENT_INTERNAL_GRPC_HUB_STUB_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"
#include "client/internal/hub_stub.h"
#include "client/options.h"
#include "hub/v1/publisher.grpc.pb.h"
#include "hub/v1/schemas.grpc.pb.h"
#include "hub/v1/subscriber.grpc.pb.h"

namespace hub::client::internal {

// grpc::Status -> absl::Status: the codes are the same list; an exhaustive
// switch keeps it so if either side grows.
absl::StatusCode FromGrpcCode(grpc::StatusCode code);
absl::Status FromGrpcStatus(const grpc::Status& status);

// A channel to options.endpoint with TLS as configured; fails when a
// certificate or key file cannot be read.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ConnectionOptions& options);

// HubStub over a gRPC channel: each call gets the configured deadline and
// the bearer token.
class GrpcHubStub : public HubStub {
 public:
  GrpcHubStub(std::shared_ptr<grpc::Channel> channel, const ConnectionOptions& options);

  absl::StatusOr<v1::Topic> CreateTopic(const v1::Topic& request) override;
  absl::StatusOr<v1::Topic> GetTopic(const v1::GetTopicRequest& request) override;
  absl::StatusOr<v1::ListTopicsResponse> ListTopics(const v1::ListTopicsRequest& request) override;
  absl::StatusOr<v1::Topic> UpdateTopic(const v1::UpdateTopicRequest& request) override;
  absl::Status DeleteTopic(const v1::DeleteTopicRequest& request) override;
  absl::StatusOr<v1::PublishResponse> Publish(const v1::PublishRequest& request) override;

  absl::StatusOr<v1::Subscription> CreateSubscription(const v1::Subscription& request) override;
  absl::StatusOr<v1::Subscription> GetSubscription(
      const v1::GetSubscriptionRequest& request) override;
  absl::StatusOr<v1::ListSubscriptionsResponse> ListSubscriptions(
      const v1::ListSubscriptionsRequest& request) override;
  absl::StatusOr<v1::Subscription> UpdateSubscription(
      const v1::UpdateSubscriptionRequest& request) override;
  absl::Status DeleteSubscription(const v1::DeleteSubscriptionRequest& request) override;
  absl::StatusOr<v1::SubscriptionStats> GetSubscriptionStats(
      const v1::GetSubscriptionStatsRequest& request) override;
  absl::StatusOr<v1::MessageFate> GetMessageFate(const v1::GetMessageFateRequest& request) override;
  absl::StatusOr<v1::ListMessagesResponse> ListMessages(
      const v1::ListMessagesRequest& request) override;
  absl::StatusOr<v1::ListSubscriptionMessagesResponse> ListSubscriptionMessages(
      const v1::ListSubscriptionMessagesRequest& request) override;
  absl::StatusOr<v1::RedriveResponse> Redrive(const v1::RedriveRequest& request) override;
  absl::StatusOr<v1::Snapshot> CreateSnapshot(const v1::CreateSnapshotRequest& request) override;
  absl::StatusOr<v1::ListSnapshotsResponse> ListSnapshots(
      const v1::ListSnapshotsRequest& request) override;
  absl::Status DeleteSnapshot(const v1::DeleteSnapshotRequest& request) override;

  absl::StatusOr<v1::PullResponse> Pull(const v1::PullRequest& request) override;
  absl::StatusOr<v1::AcknowledgeResponse> Acknowledge(
      const v1::AcknowledgeRequest& request) override;
  absl::StatusOr<v1::ModifyAckDeadlineResponse> ModifyAckDeadline(
      const v1::ModifyAckDeadlineRequest& request) override;
  absl::StatusOr<v1::RejectResponse> Reject(const v1::RejectRequest& request) override;
  absl::StatusOr<v1::SeekResponse> Seek(const v1::SeekRequest& request) override;
  absl::StatusOr<v1::TransactResponse> Transact(const v1::TransactRequest& request) override;

  absl::StatusOr<v1::Schema> CreateSchema(const v1::CreateSchemaRequest& request) override;
  absl::StatusOr<v1::Schema> GetSchema(const v1::GetSchemaRequest& request) override;
  absl::StatusOr<v1::ListSchemasResponse> ListSchemas(
      const v1::ListSchemasRequest& request) override;
  absl::StatusOr<v1::Schema> CommitSchema(const v1::CommitSchemaRequest& request) override;
  absl::StatusOr<v1::Schema> RollbackSchema(const v1::RollbackSchemaRequest& request) override;
  absl::Status DeleteSchema(const v1::DeleteSchemaRequest& request) override;
  absl::StatusOr<v1::ValidateSchemaResponse> ValidateSchema(
      const v1::ValidateSchemaRequest& request) override;
  absl::StatusOr<v1::ValidateMessageResponse> ValidateMessage(
      const v1::ValidateMessageRequest& request) override;

  std::unique_ptr<PullStream> StreamingPull() override;
  absl::Status WaitUntilReachable(absl::Duration timeout) override;

 private:
  // Runs one unary call of either service with a fresh context.
  template <typename Response, typename Request, typename Method>
  absl::StatusOr<Response> Call(Method method, const Request& request,
                                absl::Duration extra_time = absl::ZeroDuration());
  void Prepare(grpc::ClientContext& context, absl::Duration timeout) const;

  const std::shared_ptr<grpc::Channel> channel_;
  const std::string endpoint_;
  std::unique_ptr<v1::Publisher::Stub> publisher_;
  std::unique_ptr<v1::Subscriber::Stub> subscriber_;
  std::unique_ptr<v1::SchemaService::Stub> schemas_;
  const std::string authorization_;
  const absl::Duration call_timeout_;
};

}  // namespace hub::client::internal

#endif  // CLIENT_INTERNAL_GRPC_HUB_STUB_H_
