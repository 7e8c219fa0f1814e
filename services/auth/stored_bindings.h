#ifndef SERVICES_AUTH_STORED_BINDINGS_H_
#define SERVICES_AUTH_STORED_BINDINGS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "hub/types.h"
#include "services/auth/policy.h"

// Bindings stored through Pub/Sub's IAM calls (docs/security.md, "Stored
// bindings"): Pub/Sub's roles and members as the hub's actions and
// principals, and the check that honours them beside the policy file.
namespace hub::services::auth {

// One binding of a policy, as the IAM calls carry it.
struct Binding {
  std::string role;
  std::vector<std::string> members;
};

// The hub's actions a Pub/Sub role grants: publisher {publish}, subscriber
// {subscribe}, viewer {view}, editor and admin {publish, subscribe, view,
// admin}; nullopt for a role the hub does not know.
std::optional<std::vector<Action>> RoleActions(absl::string_view role);

// INVALID_ARGUMENT naming what is wrong: an unknown role, a member the hub
// cannot resolve (it knows `user:NAME` and `serviceAccount:NAME`, whose
// NAME is the hub's principal, `allUsers` and `allAuthenticatedUsers`), or
// more than 1,500 members in all.
absl::Status ValidateBindings(const std::vector<Binding>& bindings);

std::string BindingsToJson(const std::vector<Binding>& bindings);
// Stored bindings; what does not parse reads as none.
std::vector<Binding> BindingsFromJson(absl::string_view json);

// The key a resource's policy is stored under: "topic:orders".
std::string ResourceKey(const Resource& resource);

// What a Pub/Sub permission ("pubsub.topics.publish") asks of the hub: an
// action on a resource of a kind; nullopt for one the hub does not know.
std::optional<std::pair<ResourceKind, Action>> PermissionNeed(absl::string_view permission);

// Every resource's stored bindings, compiled for checks. Replaced whole
// when the stored policies change; checked from any thread.
class StoredBindings {
 public:
  void Replace(const std::vector<AccessPolicy>& policies);
  // Whether a binding grants `principal` `action` on `resource`
  // ("anonymous" is not authenticated).
  bool Allows(absl::string_view principal, Action action, const Resource& resource) const;

 private:
  struct Grant {
    std::vector<Action> actions;
    std::vector<std::string> members;
  };
  using Grants = std::map<std::string, std::vector<Grant>>;

  mutable absl::Mutex mu_;
  std::shared_ptr<const Grants> grants_ ABSL_GUARDED_BY(mu_) = std::make_shared<Grants>();
};

}  // namespace hub::services::auth

#endif  // SERVICES_AUTH_STORED_BINDINGS_H_
