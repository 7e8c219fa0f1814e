#include "services/subscriber_service.h"

#include <utility>

#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "services/access_needs.h"
#include "services/convert.h"
#include "services/pull_call.h"
#include "services/status_mapping.h"
#include "services/streaming_pull_call.h"

namespace hub::services {
namespace {

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return std::vector<std::string>(field.begin(), field.end());
}

std::vector<auth::Need> Configure(const v1::Subscription& sub, bool creating) {
  return ConfigureSubscription(sub.name(), creating ? sub.topic() : "",
                               sub.dead_letter_policy().dead_letter_topic());
}

std::vector<auth::Need> TransactNeeds(const v1::TransactRequest& request) {
  std::vector<auth::Need> needs = Consume(request.subscription());
  for (const v1::PublishRequest& p : request.publishes()) {
    const std::vector<auth::Need> publish = PublishTo(p.topic());
    needs.insert(needs.end(), publish.begin(), publish.end());
  }
  return needs;
}

// hub.v1's Pull and StreamingPull messages, for PullCall and
// StreamingPullCall.
struct HubPull {
  using Request = v1::PullRequest;
  using Response = v1::PullResponse;

  absl::StatusOr<PullArgs> Args(const Request& request, const grpc::CallbackServerContext&) {
    PullArgs args{request.subscription(), request.max_messages(), absl::ZeroDuration()};
    if (request.has_max_wait()) {
      ASSIGN_OR_RETURN(args.max_wait, DurationFromProto(request.max_wait(), "max_wait"));
    }
    return args;
  }
  void Deliveries(Claimed claimed, Response* out) {
    DeliveriesToProto(std::move(claimed), out->mutable_received_messages());
  }
};

struct HubStream {
  using Request = v1::StreamingPullRequest;
  using Response = v1::StreamingPullResponse;

  absl::StatusOr<StreamSettings> Settings(const Request& first) {
    return StreamSettingsFromProto(first);
  }
  StreamRequest Requests(const Request& request) { return StreamRequestFromProto(request); }
  bool Outcome(const StreamOutcome& outcome, Response* out) {
    if (outcome.acks.empty()) return false;
    AckResultsToProto(outcome.acks, out->mutable_ack_results());
    return true;
  }
  void Deliveries(Claimed claimed, Response* out) {
    DeliveriesToProto(std::move(claimed), out->mutable_received_messages());
  }
};

}  // namespace

grpc::Status SubscriberService::CreateSubscription(grpc::ServerContext* context,
                                                   const v1::Subscription* request,
                                                   v1::Subscription* response) {
  return access_.IfAllowed(*context, Configure(*request, true), [&] {
    auto create = [&] {
      absl::StatusOr<SubscriptionConfig> sub = SubscriptionFromProto(*request);
      if (sub.ok()) sub = hub_.CreateSubscription(*sub);
      return Respond(sub, [&](const SubscriptionConfig& s) { SubscriptionToProto(s, response); });
    };
    if (!request->start().has_snapshot()) return create();
    // Starting at a snapshot reads it as seeking to it does.
    return WithSnapshot(hub_, access_, access_.CredentialsOf(*context), auth::Action::kSubscribe,
                        request->start().snapshot(),
                        [&](const SnapshotConfig&) { return create(); });
  });
}

grpc::Status SubscriberService::GetSubscription(grpc::ServerContext* context,
                                                const v1::GetSubscriptionRequest* request,
                                                v1::Subscription* response) {
  return access_.IfAllowed(*context, ViewSubscription(request->name()), [&] {
    return Respond(hub_.GetSubscription(request->name()),
                   [&](const SubscriptionConfig& s) { SubscriptionToProto(s, response); });
  });
}

grpc::Status SubscriberService::ListSubscriptions(grpc::ServerContext* context,
                                                  const v1::ListSubscriptionsRequest* request,
                                                  v1::ListSubscriptionsResponse* response) {
  return access_.IfAllowed(*context, ViewSubscription(""), [&] {
    const auto visible = access_.Visible(*context, auth::Action::kView);
    return Respond(hub_.ListSubscriptions(NameScope::All(), request->topic(), request->page_size(),
                                          request->page_token()),
                   [&](const Page<SubscriptionConfig>& page) {
                     for (const SubscriptionConfig& sub : page.items) {
                       if (visible(auth::Subscription(sub.name))) {
                         SubscriptionToProto(sub, response->add_subscriptions());
                       }
                     }
                     response->set_next_page_token(page.next_page_token);
                   });
  });
}

grpc::Status SubscriberService::GetSubscriptionStats(grpc::ServerContext* context,
                                                     const v1::GetSubscriptionStatsRequest* request,
                                                     v1::SubscriptionStats* response) {
  return access_.IfAllowed(*context, Consume(request->subscription()), [&] {
    return Respond(hub_.GetSubscriptionStats(request->subscription()),
                   [&](const SubscriptionStats& stats) {
                     SubscriptionStatsToProto(stats, absl::Now(), response);
                   });
  });
}

grpc::Status SubscriberService::GetMessageFate(grpc::ServerContext* context,
                                               const v1::GetMessageFateRequest* request,
                                               v1::MessageFate* response) {
  return access_.IfAllowed(*context, ReadTopic(request->topic()), [&] {
    const auto visible = access_.Visible(*context, auth::Action::kView);
    return Respond(hub_.GetMessageFate(request->topic(), request->message_id()),
                   [&](MessageFate& fate) {
                     MessageToProto(std::move(fate.message), response->mutable_message());
                     for (const SubscriptionFate& on : fate.subscriptions) {
                       if (visible(auth::Subscription(on.subscription))) {
                         SubscriptionFateToProto(on, response->add_subscriptions());
                       }
                     }
                   });
  });
}

grpc::Status SubscriberService::ListMessages(grpc::ServerContext* context,
                                             const v1::ListMessagesRequest* request,
                                             v1::ListMessagesResponse* response) {
  return access_.IfAllowed(*context, ReadTopic(request->topic()), [&] {
    TopicBrowse browse{request->topic(),     request->start_message_id(),
                       std::nullopt,         request->end_message_id(),
                       std::nullopt,         request->filter(),
                       request->page_size(), request->page_token()};
    for (auto [has, field, time, name] :
         {std::tuple{request->has_start_time(), &request->start_time(), &browse.start_time,
                     "start_time"},
          std::tuple{request->has_end_time(), &request->end_time(), &browse.end_time,
                     "end_time"}}) {
      if (!has) continue;
      absl::StatusOr<absl::Time> t = TimeFromProto(*field, name);
      if (!t.ok()) return ToGrpcStatus(t.status());
      *time = *t;
    }
    return Respond(hub_.ListMessages(browse), [&](Page<Message>& page) {
      for (Message& m : page.items) MessageToProto(std::move(m), response->add_messages());
      response->set_next_page_token(page.next_page_token);
    });
  });
}

grpc::Status SubscriberService::ListSubscriptionMessages(
    grpc::ServerContext* context, const v1::ListSubscriptionMessagesRequest* request,
    v1::ListSubscriptionMessagesResponse* response) {
  return access_.IfAllowed(*context, Consume(request->subscription()), [&] {
    absl::StatusOr<MessageState> state = MessageStateFromProto(request->state());
    if (!state.ok()) return ToGrpcStatus(state.status());
    return Respond(hub_.ListSubscriptionMessages(request->subscription(), *state,
                                                 request->page_size(), request->page_token()),
                   [&](Page<SubscriptionMessage>& page) {
                     for (SubscriptionMessage& m : page.items) {
                       v1::SubscriptionMessage* out = response->add_messages();
                       MessageToProto(std::move(m.message), out->mutable_message());
                       SubscriptionFateToProto(m.fate, out->mutable_fate());
                     }
                     response->set_next_page_token(page.next_page_token);
                   });
  });
}

grpc::Status SubscriberService::Redrive(grpc::ServerContext* context,
                                        const v1::RedriveRequest* request,
                                        v1::RedriveResponse* response) {
  return access_.IfAllowed(*context, Consume(request->subscription()), [&] {
    return Respond(hub_.Redrive(request->subscription(), Strings(request->message_ids()),
                                request->filter(), request->all()),
                   [&](const RedriveResult& result) {
                     for (const std::string& id : result.message_ids) {
                       response->add_message_ids(id);
                     }
                     response->set_more(result.more);
                   });
  });
}

grpc::Status SubscriberService::CreateSnapshot(grpc::ServerContext* context,
                                               const v1::CreateSnapshotRequest* request,
                                               v1::Snapshot* response) {
  return access_.IfAllowed(*context, SnapshotOf(request->name(), request->subscription()), [&] {
    SnapshotConfig snapshot;
    snapshot.name = request->name();
    snapshot.labels = LabelsFromProto(request->labels());
    snapshot.creator = access_.Principal(*context).value_or("anonymous");
    return Respond(hub_.CreateSnapshot(snapshot, request->subscription()),
                   [&](const SnapshotConfig& made) { SnapshotToProto(made, response); });
  });
}

grpc::Status SubscriberService::ListSnapshots(grpc::ServerContext* context,
                                              const v1::ListSnapshotsRequest* request,
                                              v1::ListSnapshotsResponse* response) {
  // Shows what the caller may view or made, as Pub/Sub's does; it needs no
  // permission of its own.
  if (grpc::Status s = access_.Authenticate(*context); !s.ok()) return s;
  const auto visible =
      SnapshotAllowed(access_, access_.CredentialsOf(*context), auth::Action::kView);
  return Respond(hub_.ListSnapshots(NameScope::All(), request->page_size(), request->page_token()),
                 [&](const Page<SnapshotConfig>& page) {
                   for (const SnapshotConfig& snapshot : page.items) {
                     if (visible(snapshot)) SnapshotToProto(snapshot, response->add_snapshots());
                   }
                   response->set_next_page_token(page.next_page_token);
                 });
}

grpc::Status SubscriberService::DeleteSnapshot(grpc::ServerContext* context,
                                               const v1::DeleteSnapshotRequest* request,
                                               google::protobuf::Empty*) {
  return WithSnapshot(hub_, access_, access_.CredentialsOf(*context), auth::Action::kAdmin,
                      request->snapshot(), [&](const SnapshotConfig& snapshot) {
                        return ToGrpcStatus(hub_.DeleteSnapshot(snapshot.name));
                      });
}

grpc::Status SubscriberService::DeleteSubscription(grpc::ServerContext* context,
                                                   const v1::DeleteSubscriptionRequest* request,
                                                   google::protobuf::Empty*) {
  return access_.IfAllowed(*context, AdministerSubscription(request->name()),
                           [&] { return ToGrpcStatus(hub_.DeleteSubscription(request->name())); });
}

grpc::Status SubscriberService::UpdateSubscription(grpc::ServerContext* context,
                                                   const v1::UpdateSubscriptionRequest* request,
                                                   v1::Subscription* response) {
  return access_.IfAllowed(*context, Configure(request->subscription(), false), [&] {
    absl::StatusOr<SubscriptionConfig> sub = SubscriptionFromProto(request->subscription());
    if (sub.ok()) sub = hub_.UpdateSubscription(*sub, MaskPaths(request->update_mask()));
    return Respond(sub, [&](const SubscriptionConfig& s) { SubscriptionToProto(s, response); });
  });
}

grpc::Status SubscriberService::Reject(grpc::ServerContext* context,
                                       const v1::RejectRequest* request,
                                       v1::RejectResponse* response) {
  return access_.IfAllowed(*context, Consume(request->subscription()), [&] {
    return Respond(
        hub_.Reject(request->subscription(), Strings(request->ack_ids()), request->reason()),
        [&](const std::vector<AckResult>& r) {
          AckResultsToProto(r, response->mutable_results());
        });
  });
}

grpc::Status SubscriberService::Seek(grpc::ServerContext* context, const v1::SeekRequest* request,
                                     v1::SeekResponse*) {
  return access_.IfAllowed(*context, Consume(request->subscription()), [&] {
    if (request->has_time() == !request->snapshot().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "seek needs a time or a snapshot, one of them");
    }
    if (!request->snapshot().empty()) {
      // Reading a snapshot's state into a subscription is consuming it.
      return WithSnapshot(
          hub_, access_, access_.CredentialsOf(*context), auth::Action::kSubscribe,
          request->snapshot(), [&](const SnapshotConfig& snapshot) {
            return ToGrpcStatus(hub_.SeekToSnapshot(request->subscription(), snapshot.name));
          });
    }
    absl::StatusOr<absl::Time> time = TimeFromProto(request->time(), "time");
    if (!time.ok()) return ToGrpcStatus(time.status());
    return ToGrpcStatus(hub_.Seek(request->subscription(), *time));
  });
}

grpc::Status SubscriberService::Transact(grpc::ServerContext* context,
                                         const v1::TransactRequest* request,
                                         v1::TransactResponse* response) {
  return access_.IfAllowed(*context, TransactNeeds(*request), [&] {
    int64_t messages = 0;
    for (const v1::PublishRequest& p : request->publishes()) messages += p.messages_size();
    if (messages > 0) {
      if (grpc::Status s = access_.ChargePublish(
              *context, messages, [&] { return static_cast<int64_t>(request->ByteSizeLong()); });
          !s.ok()) {
        return s;
      }
    }
    std::vector<TransactPublish> publishes;
    for (v1::PublishRequest& p : *SpendRequest(request).mutable_publishes()) {
      absl::StatusOr<std::vector<Message>> messages =
          MessagesFromProto(*p.mutable_messages(), absl::Now());
      if (!messages.ok()) return ToGrpcStatus(messages.status());
      publishes.push_back(TransactPublish{p.topic(), *std::move(messages),
                                          ProducerBatch{p.producer(), p.first_sequence()}});
    }
    return Respond(
        hub_.Transact(request->subscription(), Strings(request->ack_ids()), std::move(publishes)),
        [&](const TransactOutcome& outcome) {
          AckResultsToProto(outcome.ack_results, response->mutable_ack_results());
          for (const std::vector<PublishResult>& results : outcome.publish_results) {
            PublishResultsToProto(results, response->add_publish_results());
          }
        });
  });
}

grpc::ServerUnaryReactor* SubscriberService::Pull(grpc::CallbackServerContext* context,
                                                  const v1::PullRequest* request,
                                                  v1::PullResponse* response) {
  return new PullCall<HubPull>(hub_, access_, context, *request, response, HubPull());
}

grpc::Status SubscriberService::Acknowledge(grpc::ServerContext* context,
                                            const v1::AcknowledgeRequest* request,
                                            v1::AcknowledgeResponse* response) {
  return access_.IfAllowed(*context, Consume(request->subscription()), [&] {
    return Respond(hub_.Acknowledge(request->subscription(), Strings(request->ack_ids())),
                   [&](const std::vector<AckResult>& r) {
                     AckResultsToProto(r, response->mutable_results());
                   });
  });
}

grpc::Status SubscriberService::ModifyAckDeadline(grpc::ServerContext* context,
                                                  const v1::ModifyAckDeadlineRequest* request,
                                                  v1::ModifyAckDeadlineResponse* response) {
  return access_.IfAllowed(*context, Consume(request->subscription()), [&] {
    return Respond(hub_.ModifyAckDeadline(request->subscription(), Strings(request->ack_ids()),
                                          request->ack_deadline_seconds()),
                   [&](const std::vector<AckResult>& r) {
                     AckResultsToProto(r, response->mutable_results());
                   });
  });
}

grpc::ServerBidiReactor<v1::StreamingPullRequest, v1::StreamingPullResponse>*
SubscriberService::StreamingPull(grpc::CallbackServerContext* context) {
  return new StreamingPullCall<HubStream>(hub_, access_, streams_, context, HubStream());
}

}  // namespace hub::services
