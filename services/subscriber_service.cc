#include "services/subscriber_service.h"

#include <utility>

#include "absl/time/clock.h"
#include "services/convert.h"
#include "services/status_mapping.h"
#include "services/streaming_pull_call.h"

namespace hub::services {
namespace {

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return std::vector<std::string>(field.begin(), field.end());
}

// What each call needs of the access policy (docs/security.md).
std::vector<auth::Need> Consume(const std::string& subscription) {
  return {{auth::Action::kSubscribe, auth::Subscription(subscription)}};
}

std::vector<auth::Need> Administer(const std::string& subscription) {
  return {{auth::Action::kAdmin, auth::Subscription(subscription)}};
}

// Creating a subscription reads its topic through it; naming a dead-letter
// topic (at creation or later) is publishing to it.
std::vector<auth::Need> Configure(const v1::Subscription& sub, bool creating) {
  std::vector<auth::Need> needs = Administer(sub.name());
  if (creating) needs.push_back({auth::Action::kSubscribe, auth::Topic(sub.topic())});
  if (const std::string& dlq = sub.dead_letter_policy().dead_letter_topic(); !dlq.empty()) {
    needs.push_back({auth::Action::kPublish, auth::Topic(dlq)});
  }
  return needs;
}

std::vector<auth::Need> TransactNeeds(const v1::TransactRequest& request) {
  std::vector<auth::Need> needs = Consume(request.subscription());
  for (const v1::PublishRequest& p : request.publishes()) {
    needs.push_back({auth::Action::kPublish, auth::Topic(p.topic())});
  }
  return needs;
}

// One Pull on gRPC's callback API: while it waits for messages it holds no
// thread; it deletes itself when gRPC is done with it.
class PullCall final : public grpc::ServerUnaryReactor {
 public:
  PullCall(Hub& hub, const auth::AccessControl& access, grpc::CallbackServerContext* context,
           const v1::PullRequest& request, v1::PullResponse* response)
      : response_(response) {
    if (grpc::Status s = access.Check(*context, Consume(request.subscription())); !s.ok()) {
      Finish(s);
      return;
    }
    absl::StatusOr<absl::Duration> max_wait = absl::ZeroDuration();
    if (request.has_max_wait()) max_wait = DurationFromProto(request.max_wait(), "max_wait");
    if (!max_wait.ok()) {
      Finish(ToGrpcStatus(max_wait.status()));
      return;
    }
    absl::StatusOr<std::unique_ptr<PendingPull>> pull =
        hub.Pull(request.subscription(), request.max_messages(), *max_wait,
                 [this](absl::StatusOr<std::vector<Delivery>> got) { Answer(std::move(got)); });
    if (!pull.ok()) {
      Finish(ToGrpcStatus(pull.status()));
      return;
    }
    pending_ = *std::move(pull);
    // The answer may come, and this call end, before Start returns.
    if (absl::Status started = pending_->Start(); !started.ok()) Finish(ToGrpcStatus(started));
  }

  void OnCancel() override {
    if (pending_ != nullptr && pending_->Cancel()) Finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  void Answer(absl::StatusOr<std::vector<Delivery>> got) {
    Finish(Respond(got, [this](const std::vector<Delivery>& deliveries) {
      for (const Delivery& d : deliveries) DeliveryToProto(d, response_->add_received_messages());
    }));
  }

  v1::PullResponse* const response_;
  std::unique_ptr<PendingPull> pending_;
};

}  // namespace

grpc::Status SubscriberService::CreateSubscription(grpc::ServerContext* context,
                                                   const v1::Subscription* request,
                                                   v1::Subscription* response) {
  return access_.IfAllowed(*context, Configure(*request, true), [&] {
    absl::StatusOr<SubscriptionConfig> sub = SubscriptionFromProto(*request);
    if (sub.ok()) sub = hub_.CreateSubscription(*sub);
    return Respond(sub, [&](const SubscriptionConfig& s) { SubscriptionToProto(s, response); });
  });
}

grpc::Status SubscriberService::GetSubscription(grpc::ServerContext* context,
                                                const v1::GetSubscriptionRequest* request,
                                                v1::Subscription* response) {
  return access_.IfAllowed(*context, Administer(request->name()), [&] {
    return Respond(hub_.GetSubscription(request->name()),
                   [&](const SubscriptionConfig& s) { SubscriptionToProto(s, response); });
  });
}

grpc::Status SubscriberService::ListSubscriptions(grpc::ServerContext* context,
                                                  const v1::ListSubscriptionsRequest* request,
                                                  v1::ListSubscriptionsResponse* response) {
  return access_.IfAllowed(*context, Administer(""), [&] {
    const auto visible = access_.Visible(*context, auth::Action::kAdmin);
    return Respond(
        hub_.ListSubscriptions(request->topic(), request->page_size(), request->page_token()),
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

grpc::Status SubscriberService::DeleteSubscription(grpc::ServerContext* context,
                                                   const v1::DeleteSubscriptionRequest* request,
                                                   google::protobuf::Empty*) {
  return access_.IfAllowed(*context, Administer(request->name()),
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
    absl::StatusOr<absl::Time> time = TimeFromProto(request->time(), "time");
    if (!time.ok()) return ToGrpcStatus(time.status());
    return ToGrpcStatus(hub_.Seek(request->subscription(), *time));
  });
}

grpc::Status SubscriberService::Transact(grpc::ServerContext* context,
                                         const v1::TransactRequest* request,
                                         v1::TransactResponse* response) {
  return access_.IfAllowed(*context, TransactNeeds(*request), [&] {
    std::vector<TransactPublish> publishes;
    for (const v1::PublishRequest& p : request->publishes()) {
      TransactPublish publish{p.topic(), {}};
      for (const v1::Message& m : p.messages()) publish.messages.push_back(MessageFromProto(m));
      publishes.push_back(std::move(publish));
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
  return new PullCall(hub_, access_, context, *request, response);
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
  return new StreamingPullCall(hub_, access_, streams_, context);
}

}  // namespace hub::services
