#include "services/subscriber_service.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/convert.h"
#include "services/status_mapping.h"

namespace hub::services {
namespace {

std::vector<std::string> Strings(
    const google::protobuf::RepeatedPtrField<std::string>& field) {
  return std::vector<std::string>(field.begin(), field.end());
}

}  // namespace

grpc::Status SubscriberService::CreateSubscription(grpc::ServerContext* context,
                                                   const v1::Subscription* request,
                                                   v1::Subscription* response) {
  // Reading a topic through a new subscription is reading the topic; naming
  // a dead-letter topic is publishing to it.
  std::vector<auth::Need> needs = {{auth::Action::kAdmin, auth::Subscription(request->name())},
                                   {auth::Action::kSubscribe, auth::Topic(request->topic())}};
  if (!request->dead_letter_policy().dead_letter_topic().empty()) {
    needs.push_back({auth::Action::kPublish,
                     auth::Topic(request->dead_letter_policy().dead_letter_topic())});
  }
  if (grpc::Status s = access_.Check(*context, needs); !s.ok()) return s;
  absl::StatusOr<SubscriptionConfig> sub = SubscriptionFromProto(*request);
  if (sub.ok()) sub = hub_.CreateSubscription(*sub);
  if (!sub.ok()) return ToGrpcStatus(sub.status());
  SubscriptionToProto(*sub, response);
  return grpc::Status::OK;
}

grpc::Status SubscriberService::GetSubscription(
    grpc::ServerContext* context, const v1::GetSubscriptionRequest* request,
    v1::Subscription* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kAdmin, auth::Subscription(request->name())); !s.ok()) return s;
  absl::StatusOr<SubscriptionConfig> sub = hub_.GetSubscription(request->name());
  if (!sub.ok()) return ToGrpcStatus(sub.status());
  SubscriptionToProto(*sub, response);
  return grpc::Status::OK;
}

grpc::Status SubscriberService::ListSubscriptions(
    grpc::ServerContext* context, const v1::ListSubscriptionsRequest* request,
    v1::ListSubscriptionsResponse* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kAdmin, auth::Subscription("")); !s.ok()) return s;
  absl::StatusOr<Page<SubscriptionConfig>> page = hub_.ListSubscriptions(
      request->topic(), request->page_size(), request->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const SubscriptionConfig& sub : page->items) {
    SubscriptionToProto(sub, response->add_subscriptions());
  }
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status SubscriberService::GetSubscriptionStats(
    grpc::ServerContext* context, const v1::GetSubscriptionStatsRequest* request,
    v1::SubscriptionStats* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kSubscribe, auth::Subscription(request->subscription())); !s.ok()) return s;
  absl::StatusOr<SubscriptionStats> stats = hub_.GetSubscriptionStats(request->subscription());
  if (!stats.ok()) return ToGrpcStatus(stats.status());
  SubscriptionStatsToProto(*stats, absl::Now(), response);
  return grpc::Status::OK;
}

grpc::Status SubscriberService::DeleteSubscription(
    grpc::ServerContext* context, const v1::DeleteSubscriptionRequest* request,
    google::protobuf::Empty*) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kAdmin, auth::Subscription(request->name())); !s.ok()) return s;
  return ToGrpcStatus(hub_.DeleteSubscription(request->name()));
}

grpc::Status SubscriberService::UpdateSubscription(
    grpc::ServerContext* context, const v1::UpdateSubscriptionRequest* request,
    v1::Subscription* response) {
  std::vector<auth::Need> needs = {
      {auth::Action::kAdmin, auth::Subscription(request->subscription().name())}};
  if (!request->subscription().dead_letter_policy().dead_letter_topic().empty()) {
    needs.push_back({auth::Action::kPublish,
                     auth::Topic(request->subscription().dead_letter_policy().dead_letter_topic())});
  }
  if (grpc::Status s = access_.Check(*context, needs); !s.ok()) return s;
  absl::StatusOr<SubscriptionConfig> sub = SubscriptionFromProto(request->subscription());
  if (sub.ok()) sub = hub_.UpdateSubscription(*sub, MaskPaths(request->update_mask()));
  if (!sub.ok()) return ToGrpcStatus(sub.status());
  SubscriptionToProto(*sub, response);
  return grpc::Status::OK;
}

grpc::Status SubscriberService::Reject(grpc::ServerContext* context, const v1::RejectRequest* request,
                                       v1::RejectResponse* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kSubscribe, auth::Subscription(request->subscription())); !s.ok()) return s;
  absl::StatusOr<std::vector<AckResult>> results =
      hub_.Reject(request->subscription(), Strings(request->ack_ids()), request->reason());
  if (!results.ok()) return ToGrpcStatus(results.status());
  AckResultsToProto(*results, response->mutable_results());
  return grpc::Status::OK;
}

grpc::Status SubscriberService::Seek(grpc::ServerContext* context, const v1::SeekRequest* request,
                                     v1::SeekResponse*) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kSubscribe, auth::Subscription(request->subscription())); !s.ok()) return s;
  absl::StatusOr<absl::Time> time = TimeFromProto(request->time(), "time");
  if (!time.ok()) return ToGrpcStatus(time.status());
  return ToGrpcStatus(hub_.Seek(request->subscription(), *time));
}

grpc::Status SubscriberService::Transact(grpc::ServerContext* context,
                                         const v1::TransactRequest* request,
                                         v1::TransactResponse* response) {
  std::vector<auth::Need> needs = {
      {auth::Action::kSubscribe, auth::Subscription(request->subscription())}};
  for (const v1::PublishRequest& p : request->publishes()) {
    needs.push_back({auth::Action::kPublish, auth::Topic(p.topic())});
  }
  if (grpc::Status s = access_.Check(*context, needs); !s.ok()) return s;
  std::vector<TransactPublish> publishes;
  for (const v1::PublishRequest& p : request->publishes()) {
    TransactPublish publish{p.topic(), {}};
    for (const v1::Message& m : p.messages()) publish.messages.push_back(MessageFromProto(m));
    publishes.push_back(std::move(publish));
  }
  absl::StatusOr<TransactOutcome> outcome = hub_.Transact(
      request->subscription(), Strings(request->ack_ids()), std::move(publishes));
  if (!outcome.ok()) return ToGrpcStatus(outcome.status());
  AckResultsToProto(outcome->ack_results, response->mutable_ack_results());
  for (const std::vector<PublishResult>& results : outcome->publish_results) {
    PublishResultsToProto(results, response->add_publish_results());
  }
  return grpc::Status::OK;
}

grpc::Status SubscriberService::Pull(grpc::ServerContext* context,
                                     const v1::PullRequest* request,
                                     v1::PullResponse* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kSubscribe, auth::Subscription(request->subscription())); !s.ok()) return s;
  absl::StatusOr<absl::Duration> max_wait = absl::ZeroDuration();
  if (request->has_max_wait()) {
    max_wait = DurationFromProto(request->max_wait(), "max_wait");
    if (!max_wait.ok()) return ToGrpcStatus(max_wait.status());
  }
  absl::StatusOr<std::vector<Delivery>> deliveries =
      hub_.Pull(request->subscription(), request->max_messages(), *max_wait);
  if (!deliveries.ok()) return ToGrpcStatus(deliveries.status());
  for (const Delivery& d : *deliveries) {
    DeliveryToProto(d, response->add_received_messages());
  }
  return grpc::Status::OK;
}

grpc::Status SubscriberService::Acknowledge(grpc::ServerContext* context,
                                            const v1::AcknowledgeRequest* request,
                                            v1::AcknowledgeResponse* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kSubscribe, auth::Subscription(request->subscription())); !s.ok()) return s;
  absl::StatusOr<std::vector<AckResult>> results =
      hub_.Acknowledge(request->subscription(), Strings(request->ack_ids()));
  if (!results.ok()) return ToGrpcStatus(results.status());
  AckResultsToProto(*results, response->mutable_results());
  return grpc::Status::OK;
}

grpc::Status SubscriberService::ModifyAckDeadline(
    grpc::ServerContext* context, const v1::ModifyAckDeadlineRequest* request,
    v1::ModifyAckDeadlineResponse* response) {
  if (grpc::Status s = access_.Check(*context, auth::Action::kSubscribe, auth::Subscription(request->subscription())); !s.ok()) return s;
  absl::StatusOr<std::vector<AckResult>> results = hub_.ModifyAckDeadline(
      request->subscription(), Strings(request->ack_ids()),
      request->ack_deadline_seconds());
  if (!results.ok()) return ToGrpcStatus(results.status());
  AckResultsToProto(*results, response->mutable_results());
  return grpc::Status::OK;
}

// The sync API allows one reader and one writer at a time: this thread
// writes deliveries, a second one reads acks. When delivery ends while the
// client still sends (shutdown, deleted subscription, a failed write) the
// call is cancelled, the only way to release the reader from a blocking
// Read; the client then sees CANCELLED and reconnects.
grpc::Status SubscriberService::StreamingPull(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::StreamingPullResponse, v1::StreamingPullRequest>*
        stream) {
  v1::StreamingPullRequest first;
  if (!stream->Read(&first)) return grpc::Status::OK;
  if (grpc::Status s = access_.Check(*context, auth::Action::kSubscribe,
                                     auth::Subscription(first.subscription()));
      !s.ok()) {
    return s;
  }
  StreamSettings settings;
  settings.subscription = first.subscription();
  settings.ack_deadline_seconds = first.stream_ack_deadline_seconds();
  settings.max_outstanding_messages = first.max_outstanding_messages();
  settings.max_outstanding_bytes = first.max_outstanding_bytes();
  absl::StatusOr<std::unique_ptr<StreamSession>> opened = hub_.OpenStream(settings);
  if (!opened.ok()) return ToGrpcStatus(opened.status());
  StreamSession& session = **opened;

  absl::Mutex write_mu;
  absl::Mutex status_mu;
  absl::Status reader_status;
  auto handle = [&](const v1::StreamingPullRequest& request) {
    absl::StatusOr<std::vector<AckResult>> results =
        session.Handle(StreamRequestFromProto(request));
    if (!results.ok()) {
      absl::MutexLock lock(&status_mu);
      reader_status = results.status();
      return false;
    }
    if (!results->empty()) {
      v1::StreamingPullResponse response;
      AckResultsToProto(*results, response.mutable_ack_results());
      absl::MutexLock lock(&write_mu);
      stream->Write(response);
    }
    return true;
  };
  if (!handle(first)) return ToGrpcStatus(reader_status);

  std::atomic<bool> reader_done{false};
  std::thread reader([&] {
    v1::StreamingPullRequest request;
    while (stream->Read(&request) && handle(request)) {
    }
    reader_done = true;
    session.Close();
  });

  absl::Status status;
  for (;;) {
    absl::StatusOr<std::vector<Delivery>> deliveries = session.Next();
    if (!deliveries.ok()) {
      status = deliveries.status();
      break;
    }
    v1::StreamingPullResponse response;
    for (const Delivery& d : *deliveries) {
      DeliveryToProto(d, response.add_received_messages());
    }
    absl::MutexLock lock(&write_mu);
    if (!stream->Write(response)) break;
  }
  session.Close();
  const bool client_closed = reader_done.load();
  if (!client_closed) context->TryCancel();
  reader.join();
  absl::MutexLock lock(&status_mu);
  if (!reader_status.ok()) return ToGrpcStatus(reader_status);
  // The client ended its side of the stream: a normal end.
  if (client_closed) return grpc::Status::OK;
  return ToGrpcStatus(status);
}

}  // namespace hub::services
