#include "services/auth/access_control.h"

#include "services/auth/config_lines.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "hub/validation.h"

namespace hub::services::auth {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

absl::string_view ActionName(Action a) {
  switch (a) {
    case Action::kPublish:
      return "publish";
    case Action::kSubscribe:
      return "subscribe";
    case Action::kView:
      return "view";
    case Action::kAdmin:
      return "admin";
  }
  return "?";
}

std::string ResourceName(const Resource& r) {
  const char* kind = r.kind == ResourceKind::kTopic          ? "topic"
                     : r.kind == ResourceKind::kSubscription ? "subscription"
                     : r.kind == ResourceKind::kSnapshot     ? "snapshot"
                                                             : "schema";
  return r.name.empty() ? absl::StrCat("every ", kind) : absl::StrCat(kind, " ", Quoted(r.name));
}

}  // namespace

absl::StatusOr<std::string> AccessControl::Principal(const grpc::ServerContextBase& context) const {
  // A certificate, when presented, must verify even if a token comes too:
  // a forged or expired one is an attack, not a detail.
  std::optional<std::string> certified;
  if (certificates_ != nullptr && context.auth_context() != nullptr) {
    absl::StatusOr<std::string> p = certificates_->Principal(*context.auth_context());
    if (p.ok()) {
      certified = *std::move(p);
    } else if (!absl::IsNotFound(p.status())) {
      return p.status();
    }
  }
  const auto& metadata = context.client_metadata();
  // Two credentials are one too many: which one counts would be a guess
  // (and proxies and clients disagree on it).
  if (metadata.count("authorization") > 1) {
    return absl::UnauthenticatedError("a call carries at most one authorization header");
  }
  auto it = metadata.find("authorization");
  if (tokens_ && it != metadata.end()) {
    const absl::string_view value(it->second.data(), it->second.size());
    if (absl::StartsWith(value, kBearer)) {
      if (std::optional<std::string> p = tokens_->PrincipalOf(value.substr(kBearer.size()))) {
        return *p;
      }
    }
    // The token itself is never logged or echoed.
    return absl::UnauthenticatedError("the bearer token is not valid");
  }
  if (certified) return *certified;
  if (tokens_ || certificates_) {
    return absl::UnauthenticatedError(
        certificates_ ? (tokens_ ? "a valid bearer token or client certificate is required"
                                 : "a client certificate is required")
                      : "a valid bearer token is required");
  }
  return std::string("anonymous");
}

grpc::Status AccessControl::Check(const grpc::ServerContextBase& context,
                                  const std::vector<Need>& needs) const {
  if (!enabled()) return grpc::Status::OK;
  absl::StatusOr<std::string> principal = Principal(context);
  if (!principal.ok()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        std::string(principal.status().message()));
  }
  if (!policy_) return grpc::Status::OK;
  for (const auto& [action, resource] : needs) {
    if (!Allowed(*principal, action, resource)) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          absl::StrCat(*principal, " may not ", ActionName(action), " on ",
                                       ResourceName(resource)));
    }
  }
  return grpc::Status::OK;
}

std::function<bool(const Resource&)> AccessControl::Visible(const grpc::ServerContextBase& context,
                                                            Action action) const {
  if (!enabled() || !policy_) return [](const Resource&) { return true; };
  absl::StatusOr<std::string> principal = Principal(context);
  if (!principal.ok()) return [](const Resource&) { return false; };
  return [this, action, principal = *std::move(principal)](const Resource& resource) {
    return Allowed(principal, action, resource);
  };
}

bool AccessControl::Allowed(const std::string& principal, Action action,
                            const Resource& resource) const {
  const std::optional<bool> decided = policy_->Decide(principal, action, resource);
  if (decided) return *decided;
  // What the file does not decide, a stored binding may allow.
  return stored_->Allows(principal, action, resource);
}

namespace {

// The file at `path` parsed by T::Parse; nullopt when no path is given.
template <typename T>
absl::StatusOr<std::optional<T>> LoadOptional(const std::string& path) {
  if (path.empty()) return std::optional<T>();
  absl::StatusOr<std::string> text = ReadConfigFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<T> parsed = T::Parse(*text);
  if (!parsed.ok()) return parsed.status();
  return std::optional<T>(*std::move(parsed));
}

}  // namespace

absl::StatusOr<AccessControl> LoadAccessControl(const std::string& tokens_file,
                                                const std::string& policy_file,
                                                std::shared_ptr<ClientCertificates> certificates) {
  absl::StatusOr<std::optional<TokenStore>> tokens = LoadOptional<TokenStore>(tokens_file);
  if (!tokens.ok()) return tokens.status();
  absl::StatusOr<std::optional<Policy>> policy = LoadOptional<Policy>(policy_file);
  if (!policy.ok()) return policy.status();
  return AccessControl(*std::move(tokens), *std::move(policy), std::move(certificates));
}

}  // namespace hub::services::auth
