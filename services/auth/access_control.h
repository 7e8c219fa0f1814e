#ifndef SERVICES_AUTH_ACCESS_CONTROL_H_
#define SERVICES_AUTH_ACCESS_CONTROL_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "hub/delivery_budget.h"
#include "services/auth/policy.h"
#include "services/auth/quota_meter.h"
#include "services/auth/stored_bindings.h"
#include "services/auth/tls.h"
#include "services/auth/tokens.h"

namespace hub::services::auth {

// What a call needs: an action on a resource.
using Need = std::pair<Action, Resource>;

// What a caller presents, from any transport: the values of its
// authorization headers (views into the request, which outlives them) and,
// where mutual TLS verified a client certificate, the certificate's
// principal. The gRPC port and the console (docs/console.md) ask the same
// questions of these.
struct Credentials {
  absl::InlinedVector<absl::string_view, 1> authorization;
  // NOT_FOUND when no certificate came; another error when one did not
  // verify.
  absl::StatusOr<std::string> certified = absl::NotFoundError("no client certificate");
};

// The tokens and policy files; an empty path is not configured.
struct AccessFiles {
  std::string tokens_file;
  std::string policy_file;
};

// Authentication (who calls) and authorization (may they) for every RPC
// (docs/security.md). The principal is the bearer token's, else the client
// certificate's; without a tokens file or client CA every caller is
// "anonymous"; without a policy every caller may do everything. With a
// policy, bindings stored through the IAM calls allow what no rule of the
// policy file decides: a deny of the file wins over them, an allow of the
// file needs none of them. The files are read again by Reload, and a call
// is decided by the files as one reload left them, never by half of one.
class AccessControl {
 public:
  // Reads `files`; `certificates` verifies client certificates (null:
  // mutual TLS is off). INVALID_ARGUMENT for a file that cannot be read or
  // is malformed.
  static absl::StatusOr<std::unique_ptr<AccessControl>> Load(
      AccessFiles files, std::shared_ptr<ClientCertificates> certificates = nullptr);

  // Reads both files again and applies them, when `force` or when either
  // changed: true when it applied them, false when nothing changed (or
  // they are the same malformed text a previous reload refused, which is
  // reported once). INVALID_ARGUMENT for a file that cannot be read or is
  // malformed: the files loaded before stay in force. Which files are
  // configured does not change.
  absl::StatusOr<bool> Reload(bool force);
  // 1 for the files read at start, one more for every applied reload.
  int64_t generation() const;

  // OK or UNAUTHENTICATED: who calls, asked before anything of a request is
  // read, so that nothing of it is repeated to a caller the hub does not
  // know.
  grpc::Status Authenticate(const grpc::ServerContextBase& context) const {
    return Check(context, {});
  }

  // The credentials a gRPC call carries.
  Credentials CredentialsOf(const grpc::ServerContextBase& context) const;

  // OK, UNAUTHENTICATED (an unknown bearer token; a client certificate that
  // does not verify; neither credential while one is required) or
  // PERMISSION_DENIED (the policy does not allow one of `needs`). Checked
  // before any work, so a refused call changes nothing.
  grpc::Status Check(const Credentials& credentials, const std::vector<Need>& needs) const;
  grpc::Status Check(const grpc::ServerContextBase& context, const std::vector<Need>& needs) const {
    // Every RPC asks: without access control, before reading any metadata.
    if (!enabled()) return grpc::Status::OK;
    return Check(CredentialsOf(context), needs);
  }
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
  template <typename Call>
  grpc::Status IfAllowed(const Credentials& credentials, const std::vector<Need>& needs,
                         Call call) const {
    if (grpc::Status s = Check(credentials, needs); !s.ok()) return s;
    return call();
  }

  // After Check allowed a list or a cascade: whether the caller may `action`
  // each resource it would show or touch (deny rules name single
  // resources; a list is allowed as a whole). The principal is resolved
  // once. Everything is visible without a policy.
  std::function<bool(const Resource&)> Visible(const Credentials& credentials, Action action) const;
  std::function<bool(const Resource&)> Visible(const grpc::ServerContextBase& context,
                                               Action action) const {
    if (!has_policy()) return [](const Resource&) { return true; };
    return Visible(CredentialsOf(context), action);
  }

  // Who the caller is: "anonymous" when no credential is configured.
  absl::StatusOr<std::string> Principal(const Credentials& credentials) const;
  absl::StatusOr<std::string> Principal(const grpc::ServerContextBase& context) const {
    return Principal(CredentialsOf(context));
  }

  // Quotas of the policy (docs/security.md, "Quotas"), after Check let the
  // call in. A publish of `messages` of `bytes()` (asked only when a bytes
  // quota applies): OK, or RESOURCE_EXHAUSTED with the delay after which it
  // would pass as a RetryInfo detail, and nothing is charged.
  grpc::Status ChargePublish(const grpc::ServerContextBase& context, int64_t messages,
                             const std::function<int64_t()>& bytes) const;
  // The caller's pull quota as a budget for its consumers; null without one.
  std::shared_ptr<DeliveryBudget> PullBudget(const grpc::ServerContextBase& context) const;
  // RESOURCE_EXHAUSTED for a unary Pull whose budget is empty now.
  grpc::Status PullRefused(const grpc::ServerContextBase& context) const;
  // The most StreamingPulls `principal` may keep open, when the policy says.
  std::optional<int> StreamLimit(const std::string& principal) const;
  // Counts each refusal by a quota (the wiring's metric); set before
  // serving.
  void OnQuotaRefused(std::function<void(const std::string& principal, QuotaKind kind)> counted) {
    quota_refused_ = std::move(counted);
  }
  // The refusal of `principal` for going over `kind`, counted.
  grpc::Status QuotaExceeded(const std::string& principal, QuotaKind kind,
                             absl::Duration retry_after) const;

  bool enabled() const {
    return !files_.tokens_file.empty() || has_policy() || certificates_ != nullptr;
  }
  // Whether a policy decides who may do what (else every caller the hub
  // knows may do everything, and stored bindings change nothing).
  bool has_policy() const { return !files_.policy_file.empty(); }

  // The bindings stored through the IAM calls, which the wiring keeps
  // current (hub::AccessPolicies).
  StoredBindings& stored_bindings() const { return *stored_; }

 private:
  // The files as one load read them.
  struct Rules {
    std::string tokens_text;
    std::string policy_text;
    std::optional<TokenStore> tokens;
    std::optional<Policy> policy;
  };
  AccessControl(AccessFiles files, std::shared_ptr<ClientCertificates> certificates,
                std::shared_ptr<const Rules> rules)
      : files_(std::move(files)),
        certificates_(std::move(certificates)),
        rules_(std::move(rules)) {}

  static absl::StatusOr<Rules> Read(const AccessFiles& files);
  std::shared_ptr<const Rules> rules() const;
  absl::StatusOr<std::string> Principal(const Rules& rules, const Credentials& credentials) const;
  bool Allowed(const Rules& rules, const std::string& principal, Action action,
               const Resource& resource) const;

  const AccessFiles files_;
  const std::shared_ptr<ClientCertificates> certificates_;
  const std::shared_ptr<StoredBindings> stored_ = std::make_shared<StoredBindings>();
  const std::shared_ptr<QuotaMeter> meter_ = std::make_shared<QuotaMeter>();
  std::function<void(const std::string&, QuotaKind)> quota_refused_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Rules> rules_ ABSL_GUARDED_BY(mu_);
  int64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  // The texts (or the read error) a reload last refused, so that a file
  // left malformed is reported once, not at every look.
  std::string refused_ ABSL_GUARDED_BY(mu_);
};

// Needs by resource, for brevity at the call sites.
inline Resource Topic(std::string name) { return {ResourceKind::kTopic, std::move(name)}; }
inline Resource Subscription(std::string name) {
  return {ResourceKind::kSubscription, std::move(name)};
}
inline Resource Snapshot(std::string name) { return {ResourceKind::kSnapshot, std::move(name)}; }
inline Resource Schema(std::string name) { return {ResourceKind::kSchema, std::move(name)}; }

}  // namespace hub::services::auth

#endif  // SERVICES_AUTH_ACCESS_CONTROL_H_
