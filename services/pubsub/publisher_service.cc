#include "services/pubsub/publisher_service.h"

#include <string>
#include <utility>
#include <vector>

#include "services/access_needs.h"
#include "services/convert.h"
#include "services/pubsub/call_helpers.h"
#include "services/status_mapping.h"

namespace hub::services::pubsub {

grpc::Status PublisherService::CreateTopic(Context* context, const gps::Topic* request,
                                           gps::Topic* response) {
  return gate_.Authenticated(*context, [&] {
    absl::StatusOr<TopicConfig> topic = TopicFromPubSub(*request, names_);
    if (!topic.ok()) return ToGrpcStatus(topic.status());
    return access_.IfAllowed(*context, AdministerTopic(topic->name), [&] {
      return Respond(hub_.CreateTopic(*topic),
                     [&](const TopicConfig& t) { TopicToPubSub(t, names_, response); });
    });
  });
}

grpc::Status PublisherService::UpdateTopic(Context* context, const gps::UpdateTopicRequest* request,
                                           gps::Topic* response) {
  return gate_.Authenticated(*context, [&] {
    absl::StatusOr<TopicConfig> topic = TopicFromPubSub(request->topic(), names_);
    if (!topic.ok()) return ToGrpcStatus(topic.status());
    absl::StatusOr<std::vector<std::string>> paths = TopicPaths(request->update_mask());
    if (!paths.ok()) return ToGrpcStatus(paths.status());
    return access_.IfAllowed(*context, AdministerTopic(topic->name), [&] {
      return Respond(hub_.UpdateTopic(*topic, *paths),
                     [&](const TopicConfig& t) { TopicToPubSub(t, names_, response); });
    });
  });
}

grpc::Status PublisherService::Publish(Context* context, const gps::PublishRequest* request,
                                       gps::PublishResponse* response) {
  return gate_.Topic(*context, request->topic(), [&](const std::string& topic) {
    return access_.IfAllowed(*context, PublishTo(topic), [&] {
      if (grpc::Status s =
              access_.ChargePublish(*context, request->messages_size(),
                                    [&] { return static_cast<int64_t>(request->ByteSizeLong()); });
          !s.ok()) {
        return s;
      }
      absl::StatusOr<std::vector<Message>> messages =
          MessagesFromPubSub(*SpendRequest(request).mutable_messages(), absl::Now());
      if (!messages.ok()) return ToGrpcStatus(messages.status());
      return Respond(hub_.Publish(topic, *std::move(messages)),
                     [&](const std::vector<PublishResult>& results) {
                       for (const PublishResult& r : results)
                         response->add_message_ids(r.message_id);
                     });
    });
  });
}

grpc::Status PublisherService::GetTopic(Context* context, const gps::GetTopicRequest* request,
                                        gps::Topic* response) {
  return gate_.Topic(*context, request->topic(), [&](const std::string& topic) {
    return access_.IfAllowed(*context, ViewTopic(topic), [&] {
      return Respond(hub_.GetTopic(topic),
                     [&](const TopicConfig& t) { TopicToPubSub(t, names_, response); });
    });
  });
}

grpc::Status PublisherService::ListTopics(Context* context, const gps::ListTopicsRequest* request,
                                          gps::ListTopicsResponse* response) {
  return gate_.InProject(*context, *request, [&](const NameScope& scope, int page_size) {
    return access_.IfAllowed(*context, ViewTopic(""), [&] {
      const auto visible = access_.Visible(*context, auth::Action::kView);
      return Respond(hub_.ListTopics(scope, page_size, request->page_token()),
                     [&](const Page<TopicConfig>& page) {
                       for (const TopicConfig& topic : page.items) {
                         if (visible(auth::Topic(topic.name))) {
                           TopicToPubSub(topic, names_, response->add_topics());
                         }
                       }
                       response->set_next_page_token(page.next_page_token);
                     });
    });
  });
}

grpc::Status PublisherService::ListTopicSubscriptions(
    Context* context, const gps::ListTopicSubscriptionsRequest* request,
    gps::ListTopicSubscriptionsResponse* response) {
  return gate_.Topic(*context, request->topic(), [&](const std::string& topic) {
    absl::StatusOr<int> page_size = PageSize(request->page_size());
    if (!page_size.ok()) return ToGrpcStatus(page_size.status());
    return access_.IfAllowed(*context, ViewTopic(topic), [&] {
      const auto visible = access_.Visible(*context, auth::Action::kView);
      return Respond(
          hub_.ListSubscriptions(NameScope::All(), topic, *page_size, request->page_token()),
          [&](const Page<SubscriptionConfig>& page) {
            for (const SubscriptionConfig& sub : page.items) {
              if (visible(auth::Subscription(sub.name))) {
                response->add_subscriptions(names_.SubscriptionResource(sub.name));
              }
            }
            response->set_next_page_token(page.next_page_token);
          });
    });
  });
}

grpc::Status PublisherService::ListTopicSnapshots(Context* context,
                                                  const gps::ListTopicSnapshotsRequest* request,
                                                  gps::ListTopicSnapshotsResponse* response) {
  return gate_.Topic(*context, request->topic(), [&](const std::string& topic) {
    absl::StatusOr<int> page_size = PageSize(request->page_size());
    if (!page_size.ok()) return ToGrpcStatus(page_size.status());
    return access_.IfAllowed(*context, ViewTopic(topic), [&] {
      if (absl::Status found = hub_.GetTopic(topic).status(); !found.ok()) {
        return ToGrpcStatus(found);
      }
      // The topic's snapshots among all of the hub's that the caller may
      // see; a page may hold fewer than page_size while more follow.
      const auto visible =
          SnapshotAllowed(access_, access_.CredentialsOf(*context), auth::Action::kView);
      return Respond(hub_.ListSnapshots(NameScope::All(), *page_size, request->page_token()),
                     [&](const Page<SnapshotConfig>& page) {
                       for (const SnapshotConfig& snapshot : page.items) {
                         if (snapshot.topic == topic && visible(snapshot)) {
                           response->add_snapshots(names_.SnapshotResource(snapshot.name));
                         }
                       }
                       response->set_next_page_token(page.next_page_token);
                     });
    });
  });
}

grpc::Status PublisherService::DeleteTopic(Context* context, const gps::DeleteTopicRequest* request,
                                           google::protobuf::Empty*) {
  return gate_.Topic(*context, request->topic(), [&](const std::string& topic) {
    return access_.IfAllowed(*context, AdministerTopic(topic), [&] {
      if (grpc::Status s = MayDeleteSubscriptionsOf(hub_, access_, *context, topic); !s.ok()) {
        return s;
      }
      return ToGrpcStatus(hub_.DeleteTopic(topic));
    });
  });
}

grpc::Status PublisherService::DetachSubscription(Context* context,
                                                  const gps::DetachSubscriptionRequest* request,
                                                  gps::DetachSubscriptionResponse*) {
  return gate_.Subscription(*context, request->subscription(), [&](const std::string& sub) {
    return access_.IfAllowed(*context, AdministerSubscription(sub),
                             [&] { return ToGrpcStatus(hub_.DetachSubscription(sub)); });
  });
}

}  // namespace hub::services::pubsub
