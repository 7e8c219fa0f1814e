#include "services/auth/policy.h"

#include "services/auth/config_lines.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hub::services::auth {
namespace {

std::optional<std::optional<Action>> ParseAction(absl::string_view text) {
  if (text == "publish") return std::optional<Action>(Action::kPublish);
  if (text == "subscribe") return std::optional<Action>(Action::kSubscribe);
  if (text == "view") return std::optional<Action>(Action::kView);
  if (text == "admin") return std::optional<Action>(Action::kAdmin);
  if (text == "*") return std::optional<Action>();
  return std::nullopt;
}

}  // namespace

bool Policy::Pattern::Matches(absl::string_view value) const {
  if (!prefix) return value == text;
  if (!absl::StartsWith(value, text)) return false;
  // `*` alone is every name; a prefix without '~' is the home project's.
  return !within_project || text.empty() || absl::StrContains(text, '~') ||
         !absl::StrContains(value, '~');
}

absl::StatusOr<Policy> Policy::Parse(absl::string_view text) {
  Policy policy;
  for (const ConfigLine& line : ConfigLines(text)) {
    const std::vector<absl::string_view>& f = line.fields;
    auto error = [number = line.number](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat("policy line ", number, ": ", what));
    };
    if (f.size() != 4) return error("expected: allow|deny PRINCIPAL ACTION RESOURCE");
    Rule rule;
    if (f[0] == "allow") {
      rule.allow = true;
    } else if (f[0] == "deny") {
      rule.allow = false;
    } else {
      return error(absl::StrCat("effect must be allow or deny, not ", f[0]));
    }
    auto pattern = [](absl::string_view p) {
      Pattern out;
      out.prefix = absl::EndsWith(p, "*");
      out.text = std::string(out.prefix ? p.substr(0, p.size() - 1) : p);
      return out;
    };
    rule.principal = pattern(f[1]);
    const std::optional<std::optional<Action>> action = ParseAction(f[2]);
    if (!action)
      return error(absl::StrCat("action must be publish, subscribe, view, admin or *, not ", f[2]));
    rule.action = *action;
    if (f[3] == "*") {
      rule.name = pattern("*");
    } else {
      const size_t colon = f[3].find(':');
      const absl::string_view kind = f[3].substr(0, colon);
      if (colon == absl::string_view::npos || colon + 1 == f[3].size()) {
        return error(
            "resource must be topic:NAME, subscription:NAME, snapshot:NAME, schema:NAME or *");
      }
      if (kind == "topic") {
        rule.kind = ResourceKind::kTopic;
      } else if (kind == "subscription") {
        rule.kind = ResourceKind::kSubscription;
      } else if (kind == "snapshot") {
        rule.kind = ResourceKind::kSnapshot;
      } else if (kind == "schema") {
        rule.kind = ResourceKind::kSchema;
      } else {
        return error(absl::StrCat(
            "resource kind must be topic, subscription, snapshot or schema, not ", kind));
      }
      rule.name = pattern(f[3].substr(colon + 1));
      rule.name.within_project = true;
    }
    policy.rules_.push_back(std::move(rule));
  }
  return policy;
}

std::optional<bool> Policy::Decide(absl::string_view principal, Action action,
                                   const Resource& resource) const {
  std::optional<bool> decided;
  for (const Rule& r : rules_) {
    if (!r.principal.Matches(principal)) continue;
    // An admin rule covers viewing; a view rule (a deny of viewing too)
    // covers only viewing.
    if (r.action && *r.action != action &&
        !(*r.action == Action::kAdmin && action == Action::kView)) {
      continue;
    }
    if (r.kind && *r.kind != resource.kind) continue;
    if (!r.name.Matches(resource.name)) continue;
    if (!r.allow) return false;  // deny wins
    decided = true;
  }
  return decided;
}

}  // namespace hub::services::auth
