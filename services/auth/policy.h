#ifndef SERVICES_AUTH_POLICY_H_
#define SERVICES_AUTH_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hub::services::auth {

// kView: get and list. kAdmin holds it too.
enum class Action { kPublish, kSubscribe, kView, kAdmin };
enum class ResourceKind { kTopic, kSubscription, kSnapshot, kSchema };

struct Resource {
  ResourceKind kind;
  std::string name;
};

// What a principal's quota bounds: publishes (messages and bytes a
// second), messages handed to its consumers a second, and its open
// StreamingPulls.
enum class QuotaKind { kPublishMessages, kPublishBytes, kPullMessages, kStreams };
absl::string_view QuotaName(QuotaKind kind);

// Who may do what where (docs/security.md). A policy file holds one rule a
// line, `#` starts a comment:
//
//   allow  orders    publish    topic:orders
//   allow  billing   subscribe  subscription:billing
//   allow  ops       admin      *
//   deny   *         admin      topic:payments*
//
// Fields: effect (allow, deny), principal, action (publish, subscribe,
// view, admin, *; admin allows what view does), resource (topic:NAME, subscription:NAME,
// snapshot:NAME, schema:NAME, *). Principals and names match exactly, by prefix when they end in
// `*`, or always when they are `*`. A name's prefix stays in its project: one without '~' matches
// only names without '~' (the home project's), so `billing*` is not project billing-x's
// `billing-x~orders`; `shop~*` is project shop's. A deny that matches wins over any allow; nothing
// matching is a deny.
//
// Quota lines bound what a principal may do a second:
//
//   quota  orders  publish_messages  1000/s
//   quota  orders  publish_bytes     10MiB/s
//   quota  *       pull_messages     5000/s
//   quota  batch*  streams           20
//
// For each kind the first line whose principal matches applies; none: no
// bound but the server's own.
class Policy {
 public:
  // INVALID_ARGUMENT naming the line for anything malformed.
  static absl::StatusOr<Policy> Parse(absl::string_view text);

  // Whether a rule allows `action` (and none denies it): true, false for a
  // deny, nullopt when no rule matches.
  std::optional<bool> Decide(absl::string_view principal, Action action,
                             const Resource& resource) const;
  bool Allows(absl::string_view principal, Action action, const Resource& resource) const {
    return Decide(principal, action, resource).value_or(false);
  }
  // The principal's quota of `kind` (a rate a second, or a count of
  // streams), if a line gives one.
  std::optional<double> Quota(absl::string_view principal, QuotaKind kind) const;
  bool has_quotas() const { return !quotas_.empty(); }
  size_t size() const { return rules_.size(); }

 private:
  struct Pattern {
    std::string text;  // without a trailing '*'
    bool prefix = false;
    // A resource name's prefix: does not reach into another project.
    bool within_project = false;
    bool Matches(absl::string_view value) const;
  };
  // "orders", "batch*", "*".
  static Pattern PatternOf(absl::string_view text);
  struct Rule {
    bool allow;
    Pattern principal;
    std::optional<Action> action;      // nullopt: every action
    std::optional<ResourceKind> kind;  // nullopt: every resource
    Pattern name;
  };
  struct QuotaRule {
    Pattern principal;
    QuotaKind kind;
    double value;
  };
  std::vector<Rule> rules_;
  std::vector<QuotaRule> quotas_;
};

}  // namespace hub::services::auth

#endif  // SERVICES_AUTH_POLICY_H_
