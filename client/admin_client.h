#ifndef CLIENT_ADMIN_CLIENT_H_
#define CLIENT_ADMIN_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/connection.h"
#include "hub/v1/publisher.pb.h"
#include "hub/v1/schemas.pb.h"
#include "hub/v1/subscriber.pb.h"

namespace hub::client {

// Topics, subscriptions and schemas, one-off pulls and acks, and
// subscription statistics: the calls of tools (hubctl) and of services that set up their
// own resources. Resources are the API's messages (docs/api.md).
class AdminClient {
 public:
  explicit AdminClient(Connection connection) : connection_(std::move(connection)) {}

  absl::StatusOr<v1::Topic> CreateTopic(const v1::Topic& topic);
  absl::StatusOr<v1::Topic> GetTopic(const std::string& name);
  // Every topic, page after page.
  absl::StatusOr<std::vector<v1::Topic>> ListTopics();
  // The fields `paths` names (docs/api.md, UpdateTopic).
  absl::StatusOr<v1::Topic> UpdateTopic(const v1::Topic& topic,
                                        const std::vector<std::string>& paths);
  absl::Status DeleteTopic(const std::string& name);

  absl::StatusOr<v1::Subscription> CreateSubscription(const v1::Subscription& subscription);
  absl::StatusOr<v1::Subscription> GetSubscription(const std::string& name);
  // The subscriptions of `topic`, or of every topic when it is empty.
  absl::StatusOr<std::vector<v1::Subscription>> ListSubscriptions(const std::string& topic = "");
  absl::StatusOr<v1::Subscription> UpdateSubscription(const v1::Subscription& subscription,
                                                      const std::vector<std::string>& paths);
  absl::Status DeleteSubscription(const std::string& name);
  // Seek to a time, or (`request.snapshot`) to a snapshot.
  absl::Status Seek(const v1::SeekRequest& request);
  absl::StatusOr<v1::SubscriptionStats> GetSubscriptionStats(const std::string& name);

  // Looking at messages without consuming them, and dead letters
  // (docs/operations.md, "Looking at messages"). One page each: the
  // request carries the page token.
  absl::StatusOr<v1::MessageFate> GetMessageFate(const std::string& topic,
                                                 const std::string& message_id);
  absl::StatusOr<v1::ListMessagesResponse> ListMessages(const v1::ListMessagesRequest& request);
  absl::StatusOr<v1::ListSubscriptionMessagesResponse> ListSubscriptionMessages(
      const v1::ListSubscriptionMessagesRequest& request);
  absl::StatusOr<v1::RedriveResponse> Redrive(const v1::RedriveRequest& request);

  // Snapshots of a subscription's acknowledgement state, to Seek back to.
  absl::StatusOr<v1::Snapshot> CreateSnapshot(const v1::CreateSnapshotRequest& request);
  // Every snapshot the caller may see, page after page.
  absl::StatusOr<std::vector<v1::Snapshot>> ListSnapshots();
  absl::Status DeleteSnapshot(const std::string& name);

  // Schemas (docs/schemas.md). `revision_id` empty: the newest.
  absl::StatusOr<v1::Schema> CreateSchema(const v1::Schema& schema);
  absl::StatusOr<v1::Schema> GetSchema(const std::string& name, const std::string& revision_id);
  // The newest revision of every schema, without definitions.
  absl::StatusOr<std::vector<v1::Schema>> ListSchemas();
  absl::StatusOr<v1::Schema> CommitSchema(const v1::Schema& schema, bool allow_breaking_change);
  absl::StatusOr<v1::Schema> RollbackSchema(const std::string& name, const std::string& revision_id,
                                            bool allow_breaking_change);
  absl::Status DeleteSchema(const std::string& name);
  absl::Status ValidateSchema(const v1::Schema& schema);
  absl::Status ValidateMessage(const std::string& name, const std::string& revision_id,
                               const std::string& message, v1::SchemaEncoding encoding);

  // One Pull: up to `max_messages`, waiting up to `max_wait` for the first.
  absl::StatusOr<std::vector<v1::ReceivedMessage>> Pull(const std::string& subscription,
                                                        int max_messages, absl::Duration max_wait);
  absl::StatusOr<std::vector<v1::AckResult>> Acknowledge(const std::string& subscription,
                                                         const std::vector<std::string>& ack_ids);
  absl::StatusOr<std::vector<v1::AckResult>> Reject(const std::string& subscription,
                                                    const std::vector<std::string>& ack_ids,
                                                    const std::string& reason);

 private:
  Connection connection_;
};

}  // namespace hub::client

#endif  // CLIENT_ADMIN_CLIENT_H_
