#include "client/admin_client.h"

#include "common/proto_time.h"

namespace hub::client {
namespace {

// List calls page by the largest page the hub serves (the API's limit:
// Limits::kMaxPageSize in hub/validation.h).
constexpr int kListPageSize = 1000;

// Every item of a paged list: `call(request)` answers one page, `items` of
// a page are what it lists.
template <typename Request, typename Call, typename Items>
auto AllPages(Request request, Call call, Items items) -> absl::StatusOr<
    std::vector<typename std::decay_t<decltype(items(*call(request)))>::value_type>> {
  std::vector<typename std::decay_t<decltype(items(*call(request)))>::value_type> all;
  request.set_page_size(kListPageSize);
  do {
    auto page = call(request);
    if (!page.ok()) return page.status();
    all.insert(all.end(), items(*page).begin(), items(*page).end());
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  return all;
}

}  // namespace

absl::StatusOr<v1::Topic> AdminClient::CreateTopic(const v1::Topic& topic) {
  return connection_.stub()->CreateTopic(topic);
}

absl::StatusOr<v1::Topic> AdminClient::GetTopic(const std::string& name) {
  v1::GetTopicRequest request;
  request.set_name(name);
  return connection_.stub()->GetTopic(request);
}

absl::StatusOr<std::vector<v1::Topic>> AdminClient::ListTopics() {
  return AllPages(
      v1::ListTopicsRequest(),
      [this](const v1::ListTopicsRequest& r) { return connection_.stub()->ListTopics(r); },
      [](const v1::ListTopicsResponse& page) -> const auto& { return page.topics(); });
}

absl::Status AdminClient::DeleteTopic(const std::string& name) {
  v1::DeleteTopicRequest request;
  request.set_name(name);
  return connection_.stub()->DeleteTopic(request);
}

absl::StatusOr<v1::Subscription> AdminClient::CreateSubscription(
    const v1::Subscription& subscription) {
  return connection_.stub()->CreateSubscription(subscription);
}

absl::StatusOr<v1::Subscription> AdminClient::GetSubscription(const std::string& name) {
  v1::GetSubscriptionRequest request;
  request.set_name(name);
  return connection_.stub()->GetSubscription(request);
}

absl::StatusOr<std::vector<v1::Subscription>> AdminClient::ListSubscriptions(
    const std::string& topic) {
  v1::ListSubscriptionsRequest request;
  request.set_topic(topic);
  return AllPages(
      request,
      [this](const v1::ListSubscriptionsRequest& r) {
        return connection_.stub()->ListSubscriptions(r);
      },
      [](const v1::ListSubscriptionsResponse& page) -> const auto& {
        return page.subscriptions();
      });
}

absl::Status AdminClient::DeleteSubscription(const std::string& name) {
  v1::DeleteSubscriptionRequest request;
  request.set_name(name);
  return connection_.stub()->DeleteSubscription(request);
}

absl::StatusOr<v1::SubscriptionStats> AdminClient::GetSubscriptionStats(const std::string& name) {
  v1::GetSubscriptionStatsRequest request;
  request.set_subscription(name);
  return connection_.stub()->GetSubscriptionStats(request);
}

absl::StatusOr<v1::MessageFate> AdminClient::GetMessageFate(const std::string& topic,
                                                            const std::string& message_id) {
  v1::GetMessageFateRequest request;
  request.set_topic(topic);
  request.set_message_id(message_id);
  return connection_.stub()->GetMessageFate(request);
}

absl::StatusOr<v1::ListMessagesResponse> AdminClient::ListMessages(
    const v1::ListMessagesRequest& request) {
  return connection_.stub()->ListMessages(request);
}

absl::StatusOr<v1::ListSubscriptionMessagesResponse> AdminClient::ListSubscriptionMessages(
    const v1::ListSubscriptionMessagesRequest& request) {
  return connection_.stub()->ListSubscriptionMessages(request);
}

absl::StatusOr<v1::RedriveResponse> AdminClient::Redrive(const v1::RedriveRequest& request) {
  return connection_.stub()->Redrive(request);
}

absl::StatusOr<v1::Snapshot> AdminClient::CreateSnapshot(const v1::CreateSnapshotRequest& request) {
  return connection_.stub()->CreateSnapshot(request);
}

absl::StatusOr<std::vector<v1::Snapshot>> AdminClient::ListSnapshots() {
  return AllPages(
      v1::ListSnapshotsRequest(),
      [this](const v1::ListSnapshotsRequest& r) { return connection_.stub()->ListSnapshots(r); },
      [](const v1::ListSnapshotsResponse& page) -> const auto& { return page.snapshots(); });
}

absl::Status AdminClient::DeleteSnapshot(const std::string& name) {
  v1::DeleteSnapshotRequest request;
  request.set_snapshot(name);
  return connection_.stub()->DeleteSnapshot(request);
}

absl::StatusOr<v1::Schema> AdminClient::CreateSchema(const v1::Schema& schema) {
  v1::CreateSchemaRequest request;
  *request.mutable_schema() = schema;
  return connection_.stub()->CreateSchema(request);
}

absl::StatusOr<v1::Schema> AdminClient::GetSchema(const std::string& name,
                                                  const std::string& revision_id) {
  v1::GetSchemaRequest request;
  request.set_name(name);
  request.set_revision_id(revision_id);
  return connection_.stub()->GetSchema(request);
}

absl::StatusOr<std::vector<v1::Schema>> AdminClient::ListSchemas() {
  return AllPages(
      v1::ListSchemasRequest(),
      [this](const v1::ListSchemasRequest& r) { return connection_.stub()->ListSchemas(r); },
      [](const v1::ListSchemasResponse& page) -> const auto& { return page.schemas(); });
}

absl::StatusOr<v1::Schema> AdminClient::CommitSchema(const v1::Schema& schema,
                                                     bool allow_breaking_change) {
  v1::CommitSchemaRequest request;
  *request.mutable_schema() = schema;
  request.set_allow_breaking_change(allow_breaking_change);
  return connection_.stub()->CommitSchema(request);
}

absl::StatusOr<v1::Schema> AdminClient::RollbackSchema(const std::string& name,
                                                       const std::string& revision_id,
                                                       bool allow_breaking_change) {
  v1::RollbackSchemaRequest request;
  request.set_name(name);
  request.set_revision_id(revision_id);
  request.set_allow_breaking_change(allow_breaking_change);
  return connection_.stub()->RollbackSchema(request);
}

absl::Status AdminClient::DeleteSchema(const std::string& name) {
  v1::DeleteSchemaRequest request;
  request.set_name(name);
  return connection_.stub()->DeleteSchema(request);
}

absl::Status AdminClient::ValidateSchema(const v1::Schema& schema) {
  v1::ValidateSchemaRequest request;
  *request.mutable_schema() = schema;
  return connection_.stub()->ValidateSchema(request).status();
}

absl::Status AdminClient::ValidateMessage(const std::string& name, const std::string& revision_id,
                                          const std::string& message, v1::SchemaEncoding encoding) {
  v1::ValidateMessageRequest request;
  request.set_name(name);
  request.set_revision_id(revision_id);
  request.set_message(message);
  request.set_encoding(encoding);
  return connection_.stub()->ValidateMessage(request).status();
}

absl::StatusOr<std::vector<v1::ReceivedMessage>> AdminClient::Pull(const std::string& subscription,
                                                                   int max_messages,
                                                                   absl::Duration max_wait) {
  v1::PullRequest request;
  request.set_subscription(subscription);
  request.set_max_messages(max_messages);
  ToProtoDuration(max_wait, request.mutable_max_wait());
  absl::StatusOr<v1::PullResponse> response = connection_.stub()->Pull(request);
  if (!response.ok()) return response.status();
  return std::vector<v1::ReceivedMessage>(response->received_messages().begin(),
                                          response->received_messages().end());
}

absl::StatusOr<std::vector<v1::AckResult>> AdminClient::Acknowledge(
    const std::string& subscription, const std::vector<std::string>& ack_ids) {
  v1::AcknowledgeRequest request;
  request.set_subscription(subscription);
  for (const std::string& id : ack_ids) request.add_ack_ids(id);
  absl::StatusOr<v1::AcknowledgeResponse> response = connection_.stub()->Acknowledge(request);
  if (!response.ok()) return response.status();
  return std::vector<v1::AckResult>(response->results().begin(), response->results().end());
}

absl::StatusOr<std::vector<v1::AckResult>> AdminClient::Reject(
    const std::string& subscription, const std::vector<std::string>& ack_ids,
    const std::string& reason) {
  v1::RejectRequest request;
  request.set_subscription(subscription);
  for (const std::string& id : ack_ids) request.add_ack_ids(id);
  request.set_reason(reason);
  absl::StatusOr<v1::RejectResponse> response = connection_.stub()->Reject(request);
  if (!response.ok()) return response.status();
  return std::vector<v1::AckResult>(response->results().begin(), response->results().end());
}

absl::StatusOr<v1::Topic> AdminClient::UpdateTopic(const v1::Topic& topic,
                                                   const std::vector<std::string>& paths) {
  v1::UpdateTopicRequest request;
  *request.mutable_topic() = topic;
  for (const std::string& p : paths) request.mutable_update_mask()->add_paths(p);
  return connection_.stub()->UpdateTopic(request);
}

absl::StatusOr<v1::Subscription> AdminClient::UpdateSubscription(
    const v1::Subscription& subscription, const std::vector<std::string>& paths) {
  v1::UpdateSubscriptionRequest request;
  *request.mutable_subscription() = subscription;
  for (const std::string& p : paths) request.mutable_update_mask()->add_paths(p);
  return connection_.stub()->UpdateSubscription(request);
}

absl::Status AdminClient::Seek(const v1::SeekRequest& request) {
  return connection_.stub()->Seek(request).status();
}

}  // namespace hub::client
