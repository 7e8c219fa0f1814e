#include "services/pubsub/subscriber_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "hub/ack_id.h"
#include "services/access_needs.h"
#include "services/convert.h"
#include "services/pubsub/call_helpers.h"
#include "services/pull_call.h"
#include "services/status_mapping.h"
#include "services/streaming_pull_call.h"

namespace hub::services::pubsub {
namespace {

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return std::vector<std::string>(field.begin(), field.end());
}

// The longest a Pull that may wait does: Pub/Sub answers a waiting Pull
// within seconds, empty if it must, and clients pull again.
constexpr absl::Duration kLongestPullWait = absl::Seconds(30);
// A waiting Pull answers this long before the client's deadline, so that
// its answer is not lost to it.
constexpr absl::Duration kPullDeadlineMargin = absl::Seconds(1);

// Pub/Sub's Pull and StreamingPull messages, for PullCall and
// StreamingPullCall.
class PubSubPull {
 public:
  using Request = gps::PullRequest;
  using Response = gps::PullResponse;

  explicit PubSubPull(const Names& names) : names_(names) {}

  absl::StatusOr<PullArgs> Args(const Request& request,
                                const grpc::CallbackServerContext& context) {
    if (request.max_messages() <= 0) {
      return absl::InvalidArgumentError("max_messages must be positive");
    }
    PullArgs args;
    ASSIGN_OR_RETURN(args.subscription, names_.Subscription(request.subscription()));
    args.max_messages = std::min(request.max_messages(), Limits::kMaxPullMessages);
    args.max_wait = absl::ZeroDuration();
    if (!request.return_immediately()) {
      const absl::Duration left =
          absl::FromChrono(context.deadline()) - absl::Now() - kPullDeadlineMargin;
      args.max_wait = std::clamp(left, absl::ZeroDuration(), kLongestPullWait);
    }
    return args;
  }
  void Deliveries(Claimed claimed, Response* out) {
    DeliveriesToPubSub(std::move(claimed), out->mutable_received_messages());
  }

 private:
  const Names& names_;
};

class PubSubStream {
 public:
  using Request = gps::StreamingPullRequest;
  using Response = gps::StreamingPullResponse;

  explicit PubSubStream(const Names& names) : names_(names) {}

  absl::StatusOr<StreamSettings> Settings(const Request& first) {
    StreamSettings settings;
    ASSIGN_OR_RETURN(settings.subscription, names_.Subscription(first.subscription()));
    settings.ack_deadline_seconds = first.stream_ack_deadline_seconds();
    settings.max_outstanding_messages = first.max_outstanding_messages();
    settings.max_outstanding_bytes = first.max_outstanding_bytes();
    return settings;
  }
  StreamRequest Requests(const Request& request) {
    StreamRequest r;
    r.ack_ids = Strings(request.ack_ids());
    r.modify_deadline_ack_ids = Strings(request.modify_deadline_ack_ids());
    r.modify_deadline_seconds.assign(request.modify_deadline_seconds().begin(),
                                     request.modify_deadline_seconds().end());
    return r;
  }
  bool Outcome(const StreamOutcome& outcome, Response* out) {
    if (outcome.acks.empty() && outcome.deadline_changes.empty()) return false;
    auto* acks = out->mutable_acknowledge_confirmation();
    for (const AckResult& r : outcome.acks) {
      if (r.status == AckStatus::kOk) {
        acks->add_ack_ids(r.ack_id);
      } else {
        acks->add_invalid_ack_ids(r.ack_id);
      }
    }
    auto* changes = out->mutable_modify_ack_deadline_confirmation();
    for (const AckResult& r : outcome.deadline_changes) {
      if (r.status == AckStatus::kOk) {
        changes->add_ack_ids(r.ack_id);
      } else {
        changes->add_invalid_ack_ids(r.ack_id);
      }
    }
    return true;
  }
  void Deliveries(Claimed claimed, Response* out) {
    DeliveriesToPubSub(std::move(claimed), out->mutable_received_messages());
    // The clients learn here whether to wait for ack verdicts.
    auto* properties = out->mutable_subscription_properties();
    properties->set_exactly_once_delivery_enabled(claimed.subscription.delivery_guarantee ==
                                                  DeliveryGuarantee::kExactlyOnce);
    properties->set_message_ordering_enabled(claimed.subscription.enable_message_ordering);
  }

 private:
  const Names& names_;
};

// The most ack ids and verdicts one ErrorInfo carries, in bytes. The status
// goes in the trailers, which clients bound: gRPC's C core (C++, Python)
// takes 8 KiB of them, and the details travel in base64.
constexpr size_t kMaxVerdictBytes = 3 * 1024;

// Pub/Sub's answer to acks or deadline changes of an exactly-once
// subscription that did not all hold: the call fails, and ErrorInfo names
// the failed ack ids, as the clients' ackWithResponse() reads it. An expired
// lease is a permanent failure, as on Google's service; the message tells
// expired from invalid. Ids past kMaxVerdictBytes go unnamed: Google's
// clients fail each id the metadata does not name with the call's code,
// permanently (docs/pubsub.md, "Exactly-once verdicts").
grpc::Status AckFailures(const std::vector<AckResult>& results) {
  constexpr absl::string_view kPermanent = "PERMANENT_FAILURE_INVALID_ACK_ID";
  google::rpc::ErrorInfo info;
  info.set_reason("EXACTLY_ONCE_ACKID_FAILURE");
  info.set_domain("pubsub.googleapis.com");
  int expired = 0;
  int invalid = 0;
  size_t named_bytes = 0;
  for (const AckResult& r : results) {
    if (r.status == AckStatus::kOk) continue;
    ++(r.status == AckStatus::kExpired ? expired : invalid);
    if (named_bytes + r.ack_id.size() + kPermanent.size() > kMaxVerdictBytes) continue;
    named_bytes += r.ack_id.size() + kPermanent.size();
    (*info.mutable_metadata())[r.ack_id] = std::string(kPermanent);
  }
  const int failed = expired + invalid;
  std::string message = absl::StrCat(failed, " of ", results.size(), " ack ids failed: ", expired,
                                     " expired (their leases ran out), ", invalid, " invalid");
  if (info.metadata_size() < failed) {
    absl::StrAppend(&message, "; ErrorInfo names ", info.metadata_size(),
                    " of them, and the call's code fails the others");
  }
  google::rpc::Status details;
  details.set_code(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  details.set_message(message);
  details.add_details()->PackFrom(info);
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message, details.SerializeAsString());
}

}  // namespace

grpc::Status SubscriberService::CreateSubscription(Context* context,
                                                   const gps::Subscription* request,
                                                   gps::Subscription* response) {
  return gate_.Authenticated(*context, [&] {
    absl::StatusOr<SubscriptionConfig> sub = SubscriptionFromPubSub(*request, names_);
    if (!sub.ok()) return ToGrpcStatus(sub.status());
    return access_.IfAllowed(
        *context, ConfigureSubscription(sub->name, sub->topic, sub->dead_letter_policy.topic), [&] {
          return Respond(hub_.CreateSubscription(*sub), [&](const SubscriptionConfig& s) {
            SubscriptionToPubSub(s, names_, response);
          });
        });
  });
}

grpc::Status SubscriberService::GetSubscription(Context* context,
                                                const gps::GetSubscriptionRequest* request,
                                                gps::Subscription* response) {
  return gate_.Subscription(*context, request->subscription(), [&](const std::string& name) {
    return access_.IfAllowed(*context, ViewSubscription(name), [&] {
      return Respond(hub_.GetSubscription(name), [&](const SubscriptionConfig& s) {
        SubscriptionToPubSub(s, names_, response);
      });
    });
  });
}

grpc::Status SubscriberService::UpdateSubscription(Context* context,
                                                   const gps::UpdateSubscriptionRequest* request,
                                                   gps::Subscription* response) {
  // Only the fields the mask names are read; the update's other fields may
  // be anything (the clients send the name, the topic and the changes).
  const gps::Subscription& update = request->subscription();
  return gate_.Subscription(*context, update.name(), [&](const std::string& name) {
    absl::StatusOr<std::vector<std::string>> paths =
        SubscriptionPaths(update, request->update_mask());
    if (!paths.ok()) return ToGrpcStatus(paths.status());
    if (request->update_mask().paths_size() == 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "update_mask names no field");
    }
    SubscriptionConfig changes;
    changes.name = name;
    changes.ack_deadline_seconds = update.ack_deadline_seconds();
    changes.filter = update.filter();
    changes.labels = LabelsFromProto(update.labels());
    absl::StatusOr<DeadLetterPolicy> dlq =
        DeadLetterFromPubSub(update.dead_letter_policy(), names_);
    if (!dlq.ok()) return ToGrpcStatus(dlq.status());
    changes.dead_letter_policy = *dlq;
    if (update.has_retry_policy()) {
      absl::StatusOr<RetryPolicy> retry = RetryPolicyFromProto(update.retry_policy());
      if (!retry.ok()) return ToGrpcStatus(retry.status());
      changes.retry_policy = *retry;
    }
    if (update.has_message_retention_duration()) {
      absl::StatusOr<absl::Duration> retention =
          DurationFromProto(update.message_retention_duration(), "message_retention_duration");
      if (!retention.ok()) return ToGrpcStatus(retention.status());
      changes.message_retention = *retention;
    }
    if (update.expiration_policy().has_ttl()) {
      absl::StatusOr<absl::Duration> ttl =
          DurationFromProto(update.expiration_policy().ttl(), "expiration_policy.ttl");
      if (!ttl.ok()) return ToGrpcStatus(ttl.status());
      changes.expiration_ttl = *ttl;
    }
    return access_.IfAllowed(
        *context, ConfigureSubscription(name, "", changes.dead_letter_policy.topic), [&] {
          // A mask of paths that only restate what holds changes nothing.
          absl::StatusOr<SubscriptionConfig> updated =
              paths->empty() ? hub_.GetSubscription(name)
                             : hub_.UpdateSubscription(changes, *paths);
          return Respond(updated, [&](const SubscriptionConfig& s) {
            SubscriptionToPubSub(s, names_, response);
          });
        });
  });
}

grpc::Status SubscriberService::ListSubscriptions(Context* context,
                                                  const gps::ListSubscriptionsRequest* request,
                                                  gps::ListSubscriptionsResponse* response) {
  return gate_.InProject(*context, *request, [&](const NameScope& scope, int page_size) {
    return access_.IfAllowed(*context, ViewSubscription(""), [&] {
      const auto visible = access_.Visible(*context, auth::Action::kView);
      return Respond(hub_.ListSubscriptions(scope, "", page_size, request->page_token()),
                     [&](const Page<SubscriptionConfig>& page) {
                       for (const SubscriptionConfig& sub : page.items) {
                         if (visible(auth::Subscription(sub.name))) {
                           SubscriptionToPubSub(sub, names_, response->add_subscriptions());
                         }
                       }
                       response->set_next_page_token(page.next_page_token);
                     });
    });
  });
}

grpc::Status SubscriberService::DeleteSubscription(Context* context,
                                                   const gps::DeleteSubscriptionRequest* request,
                                                   google::protobuf::Empty*) {
  return gate_.Subscription(*context, request->subscription(), [&](const std::string& name) {
    return access_.IfAllowed(*context, AdministerSubscription(name),
                             [&] { return ToGrpcStatus(hub_.DeleteSubscription(name)); });
  });
}

grpc::Status SubscriberService::Settled(const std::string& subscription,
                                        const absl::StatusOr<std::vector<AckResult>>& results) {
  if (!results.ok()) return ToGrpcStatus(results.status());
  const bool all_ok = std::all_of(results->begin(), results->end(),
                                  [](const AckResult& r) { return r.status == AckStatus::kOk; });
  if (all_ok) return grpc::Status::OK;
  // Verdicts are the exactly-once guarantee's; on other subscriptions an
  // ack of an expired lease is not an error, as on Google's service, but an
  // ack id the hub cannot have made is (the other ids are settled).
  absl::StatusOr<SubscriptionConfig> sub = hub_.GetSubscription(subscription);
  if (!sub.ok()) return ToGrpcStatus(sub.status());
  if (sub->delivery_guarantee == DeliveryGuarantee::kExactlyOnce) return AckFailures(*results);
  for (const AckResult& r : *results) {
    if (!ParseAckId(r.ack_id)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("invalid ack id ", Quoted(r.ack_id)));
    }
  }
  return grpc::Status::OK;
}

grpc::Status SubscriberService::ModifyAckDeadline(Context* context,
                                                  const gps::ModifyAckDeadlineRequest* request,
                                                  google::protobuf::Empty*) {
  return gate_.Subscription(*context, request->subscription(), [&](const std::string& name) {
    return access_.IfAllowed(*context, Consume(name), [&] {
      return Settled(name, hub_.ModifyAckDeadline(name, Strings(request->ack_ids()),
                                                  request->ack_deadline_seconds()));
    });
  });
}

grpc::Status SubscriberService::Acknowledge(Context* context,
                                            const gps::AcknowledgeRequest* request,
                                            google::protobuf::Empty*) {
  return gate_.Subscription(*context, request->subscription(), [&](const std::string& name) {
    return access_.IfAllowed(*context, Consume(name), [&] {
      return Settled(name, hub_.Acknowledge(name, Strings(request->ack_ids())));
    });
  });
}

grpc::ServerUnaryReactor* SubscriberService::Pull(grpc::CallbackServerContext* context,
                                                  const gps::PullRequest* request,
                                                  gps::PullResponse* response) {
  return new PullCall<PubSubPull>(hub_, access_, context, *request, response, PubSubPull(names_));
}

grpc::ServerBidiReactor<gps::StreamingPullRequest, gps::StreamingPullResponse>*
SubscriberService::StreamingPull(grpc::CallbackServerContext* context) {
  return new StreamingPullCall<PubSubStream>(hub_, access_, streams_, context,
                                             PubSubStream(names_));
}

grpc::Status SubscriberService::ModifyPushConfig(Context* context,
                                                 const gps::ModifyPushConfigRequest* request,
                                                 google::protobuf::Empty*) {
  return gate_.Subscription(*context, request->subscription(), [&](const std::string& name) {
    return access_.IfAllowed(*context, AdministerSubscription(name), [&] {
      if (!request->push_config().push_endpoint().empty()) {
        return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            "push delivery is not served by the hub; a pull subscription with "
                            "the webhook sink adapter (docs/adapters.md) delivers a "
                            "subscription to an HTTP endpoint");
      }
      // An empty push config asks for a pull subscription, which it is.
      return ToGrpcStatus(hub_.GetSubscription(name).status());
    });
  });
}

template <typename Call>
grpc::Status SubscriberService::OnSnapshot(Context* context, const std::string& resource,
                                           auth::Action action, Call call) {
  return gate_.Snapshot(*context, resource, [&](const std::string& name) {
    return WithSnapshot(hub_, access_, access_.CredentialsOf(*context), action, name, call);
  });
}

grpc::Status SubscriberService::GetSnapshot(Context* context,
                                            const gps::GetSnapshotRequest* request,
                                            gps::Snapshot* response) {
  return OnSnapshot(context, request->snapshot(), auth::Action::kView,
                    [&](const SnapshotConfig& snapshot) {
                      SnapshotToPubSub(snapshot, names_, response);
                      return grpc::Status::OK;
                    });
}

grpc::Status SubscriberService::ListSnapshots(Context* context,
                                              const gps::ListSnapshotsRequest* request,
                                              gps::ListSnapshotsResponse* response) {
  // The list shows what the caller may administer or made; it needs no
  // permission of its own.
  return gate_.InProject(*context, *request, [&](const NameScope& scope, int page_size) {
    const auto visible =
        SnapshotAllowed(access_, access_.CredentialsOf(*context), auth::Action::kView);
    return Respond(hub_.ListSnapshots(scope, page_size, request->page_token()),
                   [&](const Page<SnapshotConfig>& page) {
                     for (const SnapshotConfig& snapshot : page.items) {
                       if (visible(snapshot)) {
                         SnapshotToPubSub(snapshot, names_, response->add_snapshots());
                       }
                     }
                     response->set_next_page_token(page.next_page_token);
                   });
  });
}

grpc::Status SubscriberService::CreateSnapshot(Context* context,
                                               const gps::CreateSnapshotRequest* request,
                                               gps::Snapshot* response) {
  return gate_.Subscription(*context, request->subscription(), [&](const std::string& sub) {
    absl::StatusOr<SnapshotConfig> snapshot =
        SnapshotFromPubSub(request->name(), request->labels(), names_);
    if (!snapshot.ok()) return ToGrpcStatus(snapshot.status());
    snapshot->creator = access_.Principal(*context).value_or("anonymous");
    return access_.IfAllowed(*context, SnapshotOf(snapshot->name, sub), [&] {
      return Respond(hub_.CreateSnapshot(*snapshot, sub),
                     [&](const SnapshotConfig& made) { SnapshotToPubSub(made, names_, response); });
    });
  });
}

grpc::Status SubscriberService::UpdateSnapshot(Context* context,
                                               const gps::UpdateSnapshotRequest* request,
                                               gps::Snapshot* response) {
  return OnSnapshot(
      context, request->snapshot().name(), auth::Action::kAdmin, [&](const SnapshotConfig& found) {
        std::vector<std::string> paths;
        for (const std::string& path : request->update_mask().paths()) {
          // expire_time is the topic's retention's to say.
          if (path != "labels") {
            return grpc::Status(
                grpc::StatusCode::INVALID_ARGUMENT,
                absl::StrCat("update_mask path ", Quoted(path), " cannot be updated by the hub"));
          }
          paths.push_back(path);
        }
        SnapshotConfig changes = found;
        changes.labels = LabelsFromProto(request->snapshot().labels());
        return Respond(hub_.UpdateSnapshot(changes, paths), [&](const SnapshotConfig& updated) {
          SnapshotToPubSub(updated, names_, response);
        });
      });
}

grpc::Status SubscriberService::DeleteSnapshot(Context* context,
                                               const gps::DeleteSnapshotRequest* request,
                                               google::protobuf::Empty*) {
  return OnSnapshot(context, request->snapshot(), auth::Action::kAdmin,
                    [&](const SnapshotConfig& snapshot) {
                      return ToGrpcStatus(hub_.DeleteSnapshot(snapshot.name));
                    });
}

grpc::Status SubscriberService::Seek(Context* context, const gps::SeekRequest* request,
                                     gps::SeekResponse*) {
  return gate_.Subscription(*context, request->subscription(), [&](const std::string& name) {
    return access_.IfAllowed(*context, Consume(name), [&] {
      switch (request->target_case()) {
        case gps::SeekRequest::kTime: {
          absl::StatusOr<absl::Time> time = TimeFromProto(request->time(), "time");
          if (!time.ok()) return ToGrpcStatus(time.status());
          return ToGrpcStatus(hub_.Seek(name, *time));
        }
        case gps::SeekRequest::kSnapshot:
          // Reading a snapshot's state into a subscription is consuming it.
          return OnSnapshot(context, request->snapshot(), auth::Action::kSubscribe,
                            [&](const SnapshotConfig& snapshot) {
                              return ToGrpcStatus(hub_.SeekToSnapshot(name, snapshot.name));
                            });
        default:
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "seek needs a time or a snapshot");
      }
    });
  });
}

}  // namespace hub::services::pubsub
