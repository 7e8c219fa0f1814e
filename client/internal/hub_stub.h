#ifndef CLIENT_INTERNAL_HUB_STUB_H_
#define CLIENT_INTERNAL_HUB_STUB_H_

#include <memory>

#include <google/protobuf/empty.pb.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "hub/v1/publisher.pb.h"
#include "hub/v1/schemas.pb.h"
#include "hub/v1/subscriber.pb.h"

// The one seam between the client library and gRPC: every call the library
// makes goes through HubStub. GrpcHubStub is the real one; unit tests use
// fakes. No retries or batching here; those are the callers' decisions.
namespace hub::client::internal {

// One StreamingPull call. Read and Write may run at once on two threads;
// everything else on one at a time.
class PullStream {
 public:
  virtual ~PullStream() = default;
  virtual bool Write(const v1::StreamingPullRequest& request) = 0;
  virtual bool Read(v1::StreamingPullResponse* response) = 0;
  virtual bool WritesDone() = 0;
  // Ends the call from the client side; a blocked Read returns false.
  virtual void Cancel() = 0;
  // After Read returned false: how the call ended.
  virtual absl::Status Finish() = 0;
};

class HubStub {
 public:
  virtual ~HubStub() = default;

  virtual absl::StatusOr<v1::Topic> CreateTopic(const v1::Topic& request) = 0;
  virtual absl::StatusOr<v1::Topic> GetTopic(const v1::GetTopicRequest& request) = 0;
  virtual absl::StatusOr<v1::ListTopicsResponse> ListTopics(
      const v1::ListTopicsRequest& request) = 0;
  virtual absl::StatusOr<v1::Topic> UpdateTopic(const v1::UpdateTopicRequest& request) = 0;
  virtual absl::Status DeleteTopic(const v1::DeleteTopicRequest& request) = 0;
  virtual absl::StatusOr<v1::PublishResponse> Publish(const v1::PublishRequest& request) = 0;

  virtual absl::StatusOr<v1::Subscription> CreateSubscription(const v1::Subscription& request) = 0;
  virtual absl::StatusOr<v1::Subscription> GetSubscription(
      const v1::GetSubscriptionRequest& request) = 0;
  virtual absl::StatusOr<v1::ListSubscriptionsResponse> ListSubscriptions(
      const v1::ListSubscriptionsRequest& request) = 0;
  virtual absl::StatusOr<v1::Subscription> UpdateSubscription(
      const v1::UpdateSubscriptionRequest& request) = 0;
  virtual absl::Status DeleteSubscription(const v1::DeleteSubscriptionRequest& request) = 0;
  virtual absl::StatusOr<v1::SubscriptionStats> GetSubscriptionStats(
      const v1::GetSubscriptionStatsRequest& request) = 0;
  virtual absl::StatusOr<v1::MessageFate> GetMessageFate(
      const v1::GetMessageFateRequest& request) = 0;
  virtual absl::StatusOr<v1::ListMessagesResponse> ListMessages(
      const v1::ListMessagesRequest& request) = 0;
  virtual absl::StatusOr<v1::ListSubscriptionMessagesResponse> ListSubscriptionMessages(
      const v1::ListSubscriptionMessagesRequest& request) = 0;
  virtual absl::StatusOr<v1::RedriveResponse> Redrive(const v1::RedriveRequest& request) = 0;
  virtual absl::StatusOr<v1::Snapshot> CreateSnapshot(const v1::CreateSnapshotRequest& request) = 0;
  virtual absl::StatusOr<v1::ListSnapshotsResponse> ListSnapshots(
      const v1::ListSnapshotsRequest& request) = 0;
  virtual absl::Status DeleteSnapshot(const v1::DeleteSnapshotRequest& request) = 0;

  virtual absl::StatusOr<v1::PullResponse> Pull(const v1::PullRequest& request) = 0;
  virtual absl::StatusOr<v1::AcknowledgeResponse> Acknowledge(
      const v1::AcknowledgeRequest& request) = 0;
  virtual absl::StatusOr<v1::ModifyAckDeadlineResponse> ModifyAckDeadline(
      const v1::ModifyAckDeadlineRequest& request) = 0;
  virtual absl::StatusOr<v1::RejectResponse> Reject(const v1::RejectRequest& request) = 0;
  virtual absl::StatusOr<v1::SeekResponse> Seek(const v1::SeekRequest& request) = 0;
  virtual absl::StatusOr<v1::TransactResponse> Transact(const v1::TransactRequest& request) = 0;

  // hub.v1.SchemaService (docs/schemas.md).
  virtual absl::StatusOr<v1::Schema> CreateSchema(const v1::CreateSchemaRequest& request) = 0;
  virtual absl::StatusOr<v1::Schema> GetSchema(const v1::GetSchemaRequest& request) = 0;
  virtual absl::StatusOr<v1::ListSchemasResponse> ListSchemas(
      const v1::ListSchemasRequest& request) = 0;
  virtual absl::StatusOr<v1::Schema> CommitSchema(const v1::CommitSchemaRequest& request) = 0;
  virtual absl::StatusOr<v1::Schema> RollbackSchema(const v1::RollbackSchemaRequest& request) = 0;
  virtual absl::Status DeleteSchema(const v1::DeleteSchemaRequest& request) = 0;
  virtual absl::StatusOr<v1::ValidateSchemaResponse> ValidateSchema(
      const v1::ValidateSchemaRequest& request) = 0;
  virtual absl::StatusOr<v1::ValidateMessageResponse> ValidateMessage(
      const v1::ValidateMessageRequest& request) = 0;

  virtual std::unique_ptr<PullStream> StreamingPull() = 0;

  // Waits until the hub answers a connection or `timeout` passes:
  // UNAVAILABLE naming the endpoint when nothing did. A stub with no network
  // under it (a fake) is always reachable.
  virtual absl::Status WaitUntilReachable(absl::Duration timeout) { return absl::OkStatus(); }
};

}  // namespace hub::client::internal

#endif  // CLIENT_INTERNAL_HUB_STUB_H_
