#include "services/publisher_service.h"

#include <utility>

#include "absl/strings/str_cat.h"

#include "services/access_needs.h"
#include "services/convert.h"
#include "services/status_mapping.h"

namespace hub::services {

grpc::Status PublisherService::CreateTopic(grpc::ServerContext* context, const v1::Topic* request,
                                           v1::Topic* response) {
  return access_.IfAllowed(*context, AdministerTopic(request->name()), [&] {
    absl::StatusOr<TopicConfig> topic = TopicFromProto(*request);
    if (topic.ok()) topic = hub_.CreateTopic(*topic);
    return Respond(topic, [&](const TopicConfig& t) { TopicToProto(t, response); });
  });
}

grpc::Status PublisherService::GetTopic(grpc::ServerContext* context,
                                        const v1::GetTopicRequest* request, v1::Topic* response) {
  return access_.IfAllowed(*context, ViewTopic(request->name()), [&] {
    return Respond(hub_.GetTopic(request->name()),
                   [&](const TopicConfig& t) { TopicToProto(t, response); });
  });
}

grpc::Status PublisherService::ListTopics(grpc::ServerContext* context,
                                          const v1::ListTopicsRequest* request,
                                          v1::ListTopicsResponse* response) {
  return access_.IfAllowed(*context, ViewTopic(""), [&] {
    const auto visible = access_.Visible(*context, auth::Action::kView);
    return Respond(hub_.ListTopics(NameScope::All(), request->page_size(), request->page_token()),
                   [&](const Page<TopicConfig>& page) {
                     for (const TopicConfig& topic : page.items) {
                       if (visible(auth::Topic(topic.name))) {
                         TopicToProto(topic, response->add_topics());
                       }
                     }
                     response->set_next_page_token(page.next_page_token);
                   });
  });
}

grpc::Status PublisherService::UpdateTopic(grpc::ServerContext* context,
                                           const v1::UpdateTopicRequest* request,
                                           v1::Topic* response) {
  return access_.IfAllowed(*context, AdministerTopic(request->topic().name()), [&] {
    absl::StatusOr<TopicConfig> topic = TopicFromProto(request->topic());
    if (topic.ok()) topic = hub_.UpdateTopic(*topic, MaskPaths(request->update_mask()));
    return Respond(topic, [&](const TopicConfig& t) { TopicToProto(t, response); });
  });
}

grpc::Status PublisherService::DeleteTopic(grpc::ServerContext* context,
                                           const v1::DeleteTopicRequest* request,
                                           google::protobuf::Empty*) {
  return access_.IfAllowed(*context, AdministerTopic(request->name()), [&] {
    if (grpc::Status s = MayDeleteSubscriptionsOf(hub_, access_, *context, request->name());
        !s.ok()) {
      return s;
    }
    return ToGrpcStatus(hub_.DeleteTopic(request->name()));
  });
}

grpc::Status PublisherService::Publish(grpc::ServerContext* context,
                                       const v1::PublishRequest* request,
                                       v1::PublishResponse* response) {
  return access_.IfAllowed(*context, PublishTo(request->topic()), [&] {
    if (grpc::Status s =
            access_.ChargePublish(*context, request->messages_size(),
                                  [&] { return static_cast<int64_t>(request->ByteSizeLong()); });
        !s.ok()) {
      return s;
    }
    absl::StatusOr<std::vector<Message>> messages =
        MessagesFromProto(*SpendRequest(request).mutable_messages(), absl::Now());
    if (!messages.ok()) return ToGrpcStatus(messages.status());
    return Respond(hub_.Publish(request->topic(), *std::move(messages),
                                ProducerBatch{request->producer(), request->first_sequence()}),
                   [&](const std::vector<PublishResult>& results) {
                     PublishResultsToProto(results, response);
                   });
  });
}

}  // namespace hub::services
