#ifndef SERVICES_AUTH_ACCESS_CONTROL_H_
#define SERVICES_AUTH_ACCESS_CONTROL_H_

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "absl/status/statusor.h"
#include "services/auth/policy.h"
#include "services/auth/stored_bindings.h"
#include "services/auth/tls.h"
#include "services/auth/tokens.h"

namespace hub::services::auth {

// What a call needs: an action on a resource.
using Need = std::pair<Action, Resource>;

// Authentication (who calls) and authorization (may they) for every RPC
// (docs/security.md). The principal is the bearer token's, else the client
// certificate's; without a tokens file or client CA every caller is
// "anonymous"; without a policy every caller may do everything. With a
// policy, bindings stored through the IAM calls allow what no rule of the
// policy file decides: a deny of the file wins over them, an allow of the
// file needs none of them.
class AccessControl {
 public:
  AccessControl(std::optional<TokenStore> tokens, std::optional<Policy> policy,
                std::shared_ptr<ClientCertificates> certificates = nullptr)
      : tokens_(std::move(tokens)),
        policy_(std::move(policy)),
        certificates_(std::move(certificates)) {}

  // OK or UNAUTHENTICATED: who calls, asked before anything of a request is
  // read, so that nothing of it is repeated to a caller the hub does not
  // know.
  grpc::Status Authenticate(const grpc::ServerContextBase& context) const {
    return Check(context, {});
  }

  // OK, UNAUTHENTICATED (an unknown bearer token; a client certificate that
  // does not verify; neither credential while one is required) or
  // PERMISSION_DENIED (the policy does not allow one of `needs`). Checked
  // before any work, so a refused call changes nothing.
  grpc::Status Check(const grpc::ServerContextBase& context, const std::vector<Need>& needs) const;
  grpc::Status Check(const grpc::ServerContextBase& context, Action action,
                     Resource resource) const {
    return Check(context, std::vector<Need>{{action, std::move(resource)}});
  }

  // Runs `call` when the caller has every one of `needs`; Check's refusal
  // otherwise. The one check of each RPC.
  template <typename Call>
  grpc::Status IfAllowed(const grpc::ServerContextBase& context, const std::vector<Need>& needs,
                         Call call) const {
    if (grpc::Status s = Check(context, needs); !s.ok()) return s;
    return call();
  }

  // After Check allowed a list or a cascade: whether the caller may `action`
  // each resource it would show or touch (deny rules name single
  // resources; a list is allowed as a whole). The principal is resolved
  // once. Everything is visible without a policy.
  std::function<bool(const Resource&)> Visible(const grpc::ServerContextBase& context,
                                               Action action) const;

  // Who the caller is: "anonymous" when no credential is configured.
  absl::StatusOr<std::string> Principal(const grpc::ServerContextBase& context) const;

  bool enabled() const {
    return tokens_.has_value() || policy_.has_value() || certificates_ != nullptr;
  }
  // Whether a policy decides who may do what (else every caller the hub
  // knows may do everything, and stored bindings change nothing).
  bool has_policy() const { return policy_.has_value(); }

  // The bindings stored through the IAM calls, which the wiring keeps
  // current (hub::AccessPolicies).
  StoredBindings& stored_bindings() const { return *stored_; }

 private:
  bool Allowed(const std::string& principal, Action action, const Resource& resource) const;

  const std::optional<TokenStore> tokens_;
  const std::optional<Policy> policy_;
  const std::shared_ptr<ClientCertificates> certificates_;
  const std::shared_ptr<StoredBindings> stored_ = std::make_shared<StoredBindings>();
};

// Reads the tokens and policy files (either may be empty: not configured);
// `certificates` verifies client certificates (null: mutual TLS is off).
absl::StatusOr<AccessControl> LoadAccessControl(
    const std::string& tokens_file, const std::string& policy_file,
    std::shared_ptr<ClientCertificates> certificates = nullptr);

// Needs by resource, for brevity at the call sites.
inline Resource Topic(std::string name) { return {ResourceKind::kTopic, std::move(name)}; }
inline Resource Subscription(std::string name) {
  return {ResourceKind::kSubscription, std::move(name)};
}
inline Resource Snapshot(std::string name) { return {ResourceKind::kSnapshot, std::move(name)}; }
inline Resource Schema(std::string name) { return {ResourceKind::kSchema, std::move(name)}; }

}  // namespace hub::services::auth

#endif  // SERVICES_AUTH_ACCESS_CONTROL_H_
