#include "services/auth/stored_bindings.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "hub/validation.h"

namespace hub::services::auth {
namespace {

using nlohmann::json;

constexpr size_t kMaxMembers = 1500;  // Google's bound per policy
constexpr char kAnonymous[] = "anonymous";

// The principal a member names, or "" for allUsers and
// allAuthenticatedUsers.
std::optional<std::string> MemberPrincipal(absl::string_view member) {
  for (absl::string_view kind : {"user:", "serviceAccount:"}) {
    if (absl::StartsWith(member, kind) && member.size() > kind.size()) {
      return std::string(member.substr(kind.size()));
    }
  }
  if (member == "allUsers" || member == "allAuthenticatedUsers") return std::string();
  return std::nullopt;
}

bool Matches(absl::string_view member, absl::string_view principal) {
  if (member == "allUsers") return true;
  if (member == "allAuthenticatedUsers") return principal != kAnonymous;
  const std::optional<std::string> named = MemberPrincipal(member);
  return named && !named->empty() && *named == principal;
}

}  // namespace

std::optional<std::vector<Action>> RoleActions(absl::string_view role) {
  if (role == "roles/pubsub.publisher") return std::vector<Action>{Action::kPublish};
  if (role == "roles/pubsub.subscriber") return std::vector<Action>{Action::kSubscribe};
  if (role == "roles/pubsub.viewer") return std::vector<Action>{Action::kView};
  if (role == "roles/pubsub.editor" || role == "roles/pubsub.admin") {
    return std::vector<Action>{Action::kPublish, Action::kSubscribe, Action::kView, Action::kAdmin};
  }
  return std::nullopt;
}

absl::Status ValidateBindings(const std::vector<Binding>& bindings) {
  size_t members = 0;
  for (const Binding& b : bindings) {
    if (!RoleActions(b.role)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "role ", Quoted(b.role),
          " is not one the hub maps: roles/pubsub.publisher, subscriber, viewer, editor, admin"));
    }
    for (const std::string& member : b.members) {
      if (!MemberPrincipal(member)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "member ", Quoted(member),
            " is not one the hub resolves: user:NAME or serviceAccount:NAME (NAME is the "
            "hub's principal), allUsers, allAuthenticatedUsers"));
      }
    }
    members += b.members.size();
  }
  if (members > kMaxMembers) {
    return absl::InvalidArgumentError(
        absl::StrCat("a policy holds at most ", kMaxMembers, " members; this one ", members));
  }
  return absl::OkStatus();
}

std::string BindingsToJson(const std::vector<Binding>& bindings) {
  json out = json::array();
  for (const Binding& b : bindings) out.push_back({{"role", b.role}, {"members", b.members}});
  return out.dump();
}

std::vector<Binding> BindingsFromJson(absl::string_view text) {
  std::vector<Binding> bindings;
  const json parsed = json::parse(text.begin(), text.end(), nullptr, false);
  if (!parsed.is_array()) return bindings;
  for (const json& b : parsed) {
    if (!b.is_object() || !b.value("role", json()).is_string()) continue;
    Binding binding{b["role"].get<std::string>(), {}};
    for (const json& m : b.value("members", json::array())) {
      if (m.is_string()) binding.members.push_back(m.get<std::string>());
    }
    bindings.push_back(std::move(binding));
  }
  return bindings;
}

std::string ResourceKey(const Resource& resource) {
  switch (resource.kind) {
    case ResourceKind::kTopic:
      return absl::StrCat("topic:", resource.name);
    case ResourceKind::kSubscription:
      return absl::StrCat("subscription:", resource.name);
    case ResourceKind::kSnapshot:
      return absl::StrCat("snapshot:", resource.name);
    case ResourceKind::kSchema:
      return absl::StrCat("schema:", resource.name);
  }
  return "";
}

std::optional<std::pair<ResourceKind, Action>> PermissionNeed(absl::string_view permission) {
  static const auto* const kPermissions =
      new std::map<std::string, std::pair<ResourceKind, Action>, std::less<>>{
          {"pubsub.topics.publish", {ResourceKind::kTopic, Action::kPublish}},
          {"pubsub.topics.attachSubscription", {ResourceKind::kTopic, Action::kSubscribe}},
          {"pubsub.topics.get", {ResourceKind::kTopic, Action::kView}},
          {"pubsub.topics.getIamPolicy", {ResourceKind::kTopic, Action::kView}},
          {"pubsub.topics.update", {ResourceKind::kTopic, Action::kAdmin}},
          {"pubsub.topics.delete", {ResourceKind::kTopic, Action::kAdmin}},
          {"pubsub.topics.detachSubscription", {ResourceKind::kTopic, Action::kAdmin}},
          {"pubsub.topics.setIamPolicy", {ResourceKind::kTopic, Action::kAdmin}},
          {"pubsub.subscriptions.consume", {ResourceKind::kSubscription, Action::kSubscribe}},
          {"pubsub.subscriptions.get", {ResourceKind::kSubscription, Action::kView}},
          {"pubsub.subscriptions.getIamPolicy", {ResourceKind::kSubscription, Action::kView}},
          {"pubsub.subscriptions.update", {ResourceKind::kSubscription, Action::kAdmin}},
          {"pubsub.subscriptions.delete", {ResourceKind::kSubscription, Action::kAdmin}},
          {"pubsub.subscriptions.setIamPolicy", {ResourceKind::kSubscription, Action::kAdmin}},
          {"pubsub.snapshots.seek", {ResourceKind::kSnapshot, Action::kSubscribe}},
          {"pubsub.snapshots.get", {ResourceKind::kSnapshot, Action::kView}},
          {"pubsub.snapshots.getIamPolicy", {ResourceKind::kSnapshot, Action::kView}},
          {"pubsub.snapshots.update", {ResourceKind::kSnapshot, Action::kAdmin}},
          {"pubsub.snapshots.delete", {ResourceKind::kSnapshot, Action::kAdmin}},
          {"pubsub.snapshots.setIamPolicy", {ResourceKind::kSnapshot, Action::kAdmin}},
          {"pubsub.schemas.get", {ResourceKind::kSchema, Action::kView}},
          {"pubsub.schemas.validate", {ResourceKind::kSchema, Action::kView}},
          {"pubsub.schemas.getIamPolicy", {ResourceKind::kSchema, Action::kView}},
          {"pubsub.schemas.commit", {ResourceKind::kSchema, Action::kAdmin}},
          {"pubsub.schemas.delete", {ResourceKind::kSchema, Action::kAdmin}},
          {"pubsub.schemas.setIamPolicy", {ResourceKind::kSchema, Action::kAdmin}},
      };
  const auto it = kPermissions->find(permission);
  if (it == kPermissions->end()) return std::nullopt;
  return it->second;
}

void StoredBindings::Replace(const std::vector<AccessPolicy>& policies) {
  auto grants = std::make_shared<Grants>();
  for (const AccessPolicy& policy : policies) {
    std::vector<Grant>& of = (*grants)[policy.resource];
    for (Binding& b : BindingsFromJson(policy.bindings)) {
      const std::optional<std::vector<Action>> actions = RoleActions(b.role);
      if (actions) of.push_back(Grant{*actions, std::move(b.members)});
    }
  }
  absl::MutexLock lock(&mu_);
  grants_ = std::move(grants);
}

bool StoredBindings::Allows(absl::string_view principal, Action action,
                            const Resource& resource) const {
  std::shared_ptr<const Grants> grants;
  {
    absl::MutexLock lock(&mu_);
    grants = grants_;
  }
  const auto it = grants->find(ResourceKey(resource));
  if (it == grants->end()) return false;
  for (const Grant& grant : it->second) {
    if (std::find(grant.actions.begin(), grant.actions.end(), action) == grant.actions.end()) {
      continue;
    }
    for (const std::string& member : grant.members) {
      if (Matches(member, principal)) return true;
    }
  }
  return false;
}

}  // namespace hub::services::auth
