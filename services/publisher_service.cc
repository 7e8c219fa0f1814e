#include "services/publisher_service.h"

#include "services/convert.h"
#include "services/status_mapping.h"

namespace hub::services {

grpc::Status PublisherService::CreateTopic(grpc::ServerContext* context,
                                           const v1::Topic* request,
                                           v1::Topic* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kAdmin, auth::Topic(request->name())); !s.ok()) return s;
  absl::StatusOr<TopicConfig> topic = TopicFromProto(*request);
  if (topic.ok()) topic = hub_.CreateTopic(*topic);
  if (!topic.ok()) return ToGrpcStatus(topic.status());
  TopicToProto(*topic, response);
  return grpc::Status::OK;
}

grpc::Status PublisherService::GetTopic(grpc::ServerContext* context,
                                        const v1::GetTopicRequest* request,
                                        v1::Topic* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kAdmin, auth::Topic(request->name())); !s.ok()) return s;
  absl::StatusOr<TopicConfig> topic = hub_.GetTopic(request->name());
  if (!topic.ok()) return ToGrpcStatus(topic.status());
  TopicToProto(*topic, response);
  return grpc::Status::OK;
}

grpc::Status PublisherService::ListTopics(grpc::ServerContext* context,
                                          const v1::ListTopicsRequest* request,
                                          v1::ListTopicsResponse* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kAdmin, auth::Topic("")); !s.ok()) return s;
  absl::StatusOr<Page<TopicConfig>> page =
      hub_.ListTopics(request->page_size(), request->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const TopicConfig& topic : page->items) {
    TopicToProto(topic, response->add_topics());
  }
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status PublisherService::UpdateTopic(grpc::ServerContext* context,
                                           const v1::UpdateTopicRequest* request,
                                           v1::Topic* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kAdmin, auth::Topic(request->topic().name())); !s.ok()) return s;
  absl::StatusOr<TopicConfig> topic = TopicFromProto(request->topic());
  if (topic.ok()) topic = hub_.UpdateTopic(*topic, MaskPaths(request->update_mask()));
  if (!topic.ok()) return ToGrpcStatus(topic.status());
  TopicToProto(*topic, response);
  return grpc::Status::OK;
}

grpc::Status PublisherService::DeleteTopic(grpc::ServerContext* context,
                                           const v1::DeleteTopicRequest* request,
                                           google::protobuf::Empty*) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kAdmin, auth::Topic(request->name())); !s.ok()) return s;
  return ToGrpcStatus(hub_.DeleteTopic(request->name()));
}

grpc::Status PublisherService::Publish(grpc::ServerContext* context,
                                       const v1::PublishRequest* request,
                                       v1::PublishResponse* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kPublish, auth::Topic(request->topic())); !s.ok()) return s;
  std::vector<Message> messages;
  messages.reserve(request->messages_size());
  for (const v1::Message& m : request->messages()) {
    messages.push_back(MessageFromProto(m));
  }
  absl::StatusOr<std::vector<PublishResult>> results =
      hub_.Publish(request->topic(), std::move(messages));
  if (!results.ok()) return ToGrpcStatus(results.status());
  PublishResultsToProto(*results, response);
  return grpc::Status::OK;
}

}  // namespace hub::services
