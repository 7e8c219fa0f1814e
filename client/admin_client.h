#ifndef CLIENT_ADMIN_CLIENT_H_
#define CLIENT_ADMIN_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/connection.h"
#include "hub/v1/publisher.pb.h"
#include "hub/v1/subscriber.pb.h"

namespace hub::client {

// Topics and subscriptions, one-off pulls and acks, and subscription
// statistics: the calls of tools (hubctl) and of services that set up their
// own resources. Resources are the API's messages (docs/api.md).
class AdminClient {
 public:
  explicit AdminClient(Connection connection) : connection_(std::move(connection)) {}

  absl::StatusOr<v1::Topic> CreateTopic(const v1::Topic& topic);
  absl::StatusOr<v1::Topic> GetTopic(const std::string& name);
  // Every topic, page after page.
  absl::StatusOr<std::vector<v1::Topic>> ListTopics();
  absl::Status DeleteTopic(const std::string& name);

  absl::StatusOr<v1::Subscription> CreateSubscription(const v1::Subscription& subscription);
  absl::StatusOr<v1::Subscription> GetSubscription(const std::string& name);
  // The subscriptions of `topic`, or of every topic when it is empty.
  absl::StatusOr<std::vector<v1::Subscription>> ListSubscriptions(const std::string& topic = "");
  absl::Status DeleteSubscription(const std::string& name);
  absl::StatusOr<v1::SubscriptionStats> GetSubscriptionStats(const std::string& name);

  // One Pull: up to `max_messages`, waiting up to `max_wait` for the first.
  absl::StatusOr<std::vector<v1::ReceivedMessage>> Pull(const std::string& subscription,
                                                        int max_messages, absl::Duration max_wait);
  absl::StatusOr<std::vector<v1::AckResult>> Acknowledge(const std::string& subscription,
                                                         const std::vector<std::string>& ack_ids);

 private:
  Connection connection_;
};

}  // namespace hub::client

#endif  // CLIENT_ADMIN_CLIENT_H_
