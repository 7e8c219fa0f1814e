#include "services/access_needs.h"

#include "absl/strings/str_cat.h"
#include "services/status_mapping.h"

namespace hub::services {

std::vector<auth::Need> AdministerTopic(const std::string& topic) {
  return {{auth::Action::kAdmin, auth::Topic(topic)}};
}

std::vector<auth::Need> ViewTopic(const std::string& topic) {
  return {{auth::Action::kView, auth::Topic(topic)}};
}

std::vector<auth::Need> ViewSubscription(const std::string& subscription) {
  return {{auth::Action::kView, auth::Subscription(subscription)}};
}

std::vector<auth::Need> ViewSchema(const std::string& schema) {
  return {{auth::Action::kView, auth::Schema(schema)}};
}

std::vector<auth::Need> AdministerSchema(const std::string& schema) {
  return {{auth::Action::kAdmin, auth::Schema(schema)}};
}

std::vector<auth::Need> AdministerSubscription(const std::string& subscription) {
  return {{auth::Action::kAdmin, auth::Subscription(subscription)}};
}

std::vector<auth::Need> PublishTo(const std::string& topic) {
  return {{auth::Action::kPublish, auth::Topic(topic)}};
}

std::vector<auth::Need> ReadTopic(const std::string& topic) {
  return {{auth::Action::kSubscribe, auth::Topic(topic)}};
}

std::vector<auth::Need> Consume(const std::string& subscription) {
  return {{auth::Action::kSubscribe, auth::Subscription(subscription)}};
}

std::vector<auth::Need> ConfigureSubscription(const std::string& subscription,
                                              const std::string& topic,
                                              const std::string& dead_letter_topic) {
  std::vector<auth::Need> needs = AdministerSubscription(subscription);
  if (!topic.empty()) needs.push_back({auth::Action::kSubscribe, auth::Topic(topic)});
  if (!dead_letter_topic.empty()) {
    needs.push_back({auth::Action::kPublish, auth::Topic(dead_letter_topic)});
  }
  return needs;
}

std::vector<auth::Need> SnapshotOf(const std::string& snapshot, const std::string& subscription) {
  std::vector<auth::Need> needs = Consume(subscription);
  needs.push_back({auth::Action::kAdmin, auth::Snapshot(snapshot)});
  return needs;
}

std::function<bool(const SnapshotConfig&)> SnapshotAllowed(const auth::AccessControl& access,
                                                           const auth::Credentials& credentials,
                                                           auth::Action action) {
  const std::string principal = access.Principal(credentials).value_or("");
  return
      [visible = access.Visible(credentials, action), principal](const SnapshotConfig& snapshot) {
        return visible(auth::Snapshot(snapshot.name)) ||
               (!snapshot.creator.empty() && snapshot.creator == principal);
      };
}

grpc::Status WithSnapshot(Hub& hub, const auth::AccessControl& access,
                          const auth::Credentials& credentials, auth::Action action,
                          const std::string& name,
                          const std::function<grpc::Status(const SnapshotConfig&)>& call) {
  const grpc::Status allowed = access.Check(credentials, {{action, auth::Snapshot(name)}});
  absl::StatusOr<SnapshotConfig> snapshot = hub.GetSnapshot(name);
  if (!allowed.ok() &&
      !(snapshot.ok() && SnapshotAllowed(access, credentials, action)(*snapshot))) {
    return allowed;
  }
  if (!snapshot.ok()) return ToGrpcStatus(snapshot.status());
  return call(*snapshot);
}

grpc::Status MayDeleteSubscriptionsOf(Hub& hub, const auth::AccessControl& access,
                                      const grpc::ServerContextBase& context,
                                      const std::string& topic) {
  if (!access.enabled()) return grpc::Status::OK;
  const auto visible = access.Visible(context, auth::Action::kAdmin);
  std::string token;
  do {
    absl::StatusOr<Page<SubscriptionConfig>> page =
        hub.ListSubscriptions(NameScope::All(), topic, Limits::kMaxPageSize, token);
    if (!page.ok()) return ToGrpcStatus(page.status());
    for (const SubscriptionConfig& sub : page->items) {
      if (!visible(auth::Subscription(sub.name))) {
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                            absl::StrCat("deleting topic ", topic, " deletes subscription ",
                                         sub.name, ", which the caller may not administer"));
      }
    }
    token = page->next_page_token;
  } while (!token.empty());
  return grpc::Status::OK;
}

}  // namespace hub::services
