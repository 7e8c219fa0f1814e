#include "services/auth/access_control.h"

#include "services/auth/config_lines.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
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

namespace {

// The file at `path` into `text` and parsed by T::Parse into `parsed`;
// nothing when no path is given.
template <typename T>
absl::Status ReadOne(const std::string& path, std::string& text, std::optional<T>& parsed) {
  if (path.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> read = ReadConfigFile(path);
  if (!read.ok()) return read.status();
  absl::StatusOr<T> value = T::Parse(*read);
  if (!value.ok()) return value.status();
  text = *std::move(read);
  parsed.emplace(*std::move(value));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AccessControl::Rules> AccessControl::Read(const AccessFiles& files) {
  Rules rules;
  if (absl::Status s = ReadOne(files.tokens_file, rules.tokens_text, rules.tokens); !s.ok()) {
    return s;
  }
  if (absl::Status s = ReadOne(files.policy_file, rules.policy_text, rules.policy); !s.ok()) {
    return s;
  }
  return rules;
}

absl::StatusOr<std::unique_ptr<AccessControl>> AccessControl::Load(
    AccessFiles files, std::shared_ptr<ClientCertificates> certificates) {
  absl::StatusOr<Rules> rules = Read(files);
  if (!rules.ok()) return rules.status();
  return std::unique_ptr<AccessControl>(new AccessControl(
      std::move(files), std::move(certificates), std::make_shared<const Rules>(*std::move(rules))));
}

absl::StatusOr<bool> AccessControl::Reload(bool force) {
  absl::StatusOr<Rules> read = Read(files_);
  absl::MutexLock lock(&mu_);
  if (!read.ok()) {
    const std::string refused(read.status().message());
    if (!force && refused == refused_) return false;
    refused_ = refused;
    return read.status();
  }
  if (!force && read->tokens_text == rules_->tokens_text &&
      read->policy_text == rules_->policy_text) {
    return false;
  }
  rules_ = std::make_shared<const Rules>(*std::move(read));
  refused_.clear();
  ++generation_;
  return true;
}

int64_t AccessControl::generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

std::shared_ptr<const AccessControl::Rules> AccessControl::rules() const {
  absl::MutexLock lock(&mu_);
  return rules_;
}

Credentials AccessControl::CredentialsOf(const grpc::ServerContextBase& context) const {
  Credentials credentials;
  if (certificates_ != nullptr && context.auth_context() != nullptr) {
    credentials.certified = certificates_->Principal(*context.auth_context());
  }
  const auto [first, last] = context.client_metadata().equal_range("authorization");
  for (auto it = first; it != last; ++it) {
    credentials.authorization.emplace_back(it->second.data(), it->second.size());
  }
  return credentials;
}

absl::StatusOr<std::string> AccessControl::Principal(const Credentials& credentials) const {
  return Principal(*rules(), credentials);
}

absl::StatusOr<std::string> AccessControl::Principal(const Rules& rules,
                                                     const Credentials& credentials) const {
  // A certificate, when presented, must verify even if a token comes too:
  // a forged or expired one is an attack, not a detail.
  if (!credentials.certified.ok() && !absl::IsNotFound(credentials.certified.status())) {
    return credentials.certified.status();
  }
  // Two credentials are one too many: which one counts would be a guess
  // (and proxies and clients disagree on it).
  if (credentials.authorization.size() > 1) {
    return absl::UnauthenticatedError("a call carries at most one authorization header");
  }
  const std::optional<TokenStore>& tokens = rules.tokens;
  if (tokens && !credentials.authorization.empty()) {
    const absl::string_view value = credentials.authorization.front();
    if (absl::StartsWith(value, kBearer)) {
      if (std::optional<std::string> p = tokens->PrincipalOf(value.substr(kBearer.size()))) {
        return *p;
      }
    }
    // The token itself is never logged or echoed.
    return absl::UnauthenticatedError("the bearer token is not valid");
  }
  if (credentials.certified.ok()) return *credentials.certified;
  if (tokens || certificates_) {
    return absl::UnauthenticatedError(
        certificates_ ? (tokens ? "a valid bearer token or client certificate is required"
                                : "a client certificate is required")
                      : "a valid bearer token is required");
  }
  return std::string("anonymous");
}

grpc::Status AccessControl::Check(const Credentials& credentials,
                                  const std::vector<Need>& needs) const {
  if (!enabled()) return grpc::Status::OK;
  const std::shared_ptr<const Rules> rules = this->rules();
  absl::StatusOr<std::string> principal = Principal(*rules, credentials);
  if (!principal.ok()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        std::string(principal.status().message()));
  }
  if (!rules->policy) return grpc::Status::OK;
  for (const auto& [action, resource] : needs) {
    if (!Allowed(*rules, *principal, action, resource)) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          absl::StrCat(*principal, " may not ", ActionName(action), " on ",
                                       ResourceName(resource)));
    }
  }
  return grpc::Status::OK;
}

std::function<bool(const Resource&)> AccessControl::Visible(const Credentials& credentials,
                                                            Action action) const {
  if (!has_policy()) return [](const Resource&) { return true; };
  std::shared_ptr<const Rules> rules = this->rules();
  absl::StatusOr<std::string> principal = Principal(*rules, credentials);
  if (!principal.ok()) return [](const Resource&) { return false; };
  return [this, action, rules = std::move(rules), principal = *std::move(principal)](
             const Resource& resource) { return Allowed(*rules, principal, action, resource); };
}

bool AccessControl::Allowed(const Rules& rules, const std::string& principal, Action action,
                            const Resource& resource) const {
  const std::optional<bool> decided = rules.policy->Decide(principal, action, resource);
  if (decided) return *decided;
  // What the file does not decide, a stored binding may allow.
  return stored_->Allows(principal, action, resource);
}

grpc::Status AccessControl::QuotaExceeded(const std::string& principal, QuotaKind kind,
                                          absl::Duration retry_after) const {
  if (quota_refused_) quota_refused_(principal, kind);
  // Whole milliseconds, at least one: what clients sleep on.
  retry_after = std::max(absl::Milliseconds(1), absl::Ceil(retry_after, absl::Milliseconds(1)));
  const std::string message = absl::StrCat(principal, " is over its ", QuotaName(kind),
                                           " quota; retry in ", absl::FormatDuration(retry_after));
  google::rpc::RetryInfo retry;
  ToProtoDuration(retry_after, retry.mutable_retry_delay());
  google::rpc::Status details;
  details.set_code(static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  details.set_message(message);
  details.add_details()->PackFrom(retry);
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, message, details.SerializeAsString());
}

grpc::Status AccessControl::ChargePublish(const grpc::ServerContextBase& context, int64_t messages,
                                          const std::function<int64_t()>& bytes) const {
  // Every publish asks: without a policy, at no cost.
  if (!has_policy()) return grpc::Status::OK;
  const std::shared_ptr<const Rules> rules = this->rules();
  if (!rules->policy->has_quotas()) return grpc::Status::OK;
  const std::string principal = Principal(*rules, CredentialsOf(context)).value_or("anonymous");
  const std::optional<double> per_message =
      rules->policy->Quota(principal, QuotaKind::kPublishMessages);
  const std::optional<double> per_byte = rules->policy->Quota(principal, QuotaKind::kPublishBytes);
  std::vector<QuotaMeter::Draw> draws;
  if (per_message) {
    draws.push_back({QuotaKind::kPublishMessages, *per_message, static_cast<double>(messages)});
  }
  if (per_byte)
    draws.push_back({QuotaKind::kPublishBytes, *per_byte, static_cast<double>(bytes())});
  if (std::optional<QuotaMeter::Refusal> refused = meter_->Take(principal, draws, absl::Now())) {
    return QuotaExceeded(principal, refused->kind, refused->retry_after);
  }
  return grpc::Status::OK;
}

namespace {

// A principal's pull quota as the engine's budget: the rate it had when
// the consumer came.
class PullQuotaBudget final : public DeliveryBudget {
 public:
  PullQuotaBudget(std::shared_ptr<QuotaMeter> meter, std::string principal, double rate)
      : meter_(std::move(meter)), principal_(std::move(principal)), rate_(rate) {}
  int64_t Available() override {
    return meter_->Available(principal_, QuotaKind::kPullMessages, rate_, absl::Now());
  }
  void Spent(int64_t messages) override {
    meter_->Charge(principal_, QuotaKind::kPullMessages, rate_, static_cast<double>(messages),
                   absl::Now());
  }

 private:
  const std::shared_ptr<QuotaMeter> meter_;
  const std::string principal_;
  const double rate_;
};

}  // namespace

std::shared_ptr<DeliveryBudget> AccessControl::PullBudget(
    const grpc::ServerContextBase& context) const {
  if (!has_policy()) return nullptr;
  const std::shared_ptr<const Rules> rules = this->rules();
  if (!rules->policy->has_quotas()) return nullptr;
  std::string principal = Principal(*rules, CredentialsOf(context)).value_or("anonymous");
  const std::optional<double> rate = rules->policy->Quota(principal, QuotaKind::kPullMessages);
  if (!rate) return nullptr;
  return std::make_shared<PullQuotaBudget>(meter_, std::move(principal), *rate);
}

grpc::Status AccessControl::PullRefused(const grpc::ServerContextBase& context) const {
  const std::shared_ptr<const Rules> rules = this->rules();
  const std::string principal = Principal(*rules, CredentialsOf(context)).value_or("anonymous");
  const double rate = rules->policy->Quota(principal, QuotaKind::kPullMessages).value_or(1);
  // One message's worth of refill.
  return QuotaExceeded(principal, QuotaKind::kPullMessages, absl::Seconds(1 / rate));
}

std::optional<int> AccessControl::StreamLimit(const std::string& principal) const {
  const std::shared_ptr<const Rules> rules = this->rules();
  if (!rules->policy) return std::nullopt;
  const std::optional<double> limit = rules->policy->Quota(principal, QuotaKind::kStreams);
  if (!limit) return std::nullopt;
  return static_cast<int>(*limit);
}

}  // namespace hub::services::auth
