#include "services/auth/policy.h"

#include "services/auth/config_lines.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

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

// "1000/s", "10MiB/s" (bytes: KiB, MiB, GiB), or for streams "20".
std::optional<double> ParseQuotaValue(QuotaKind kind, absl::string_view text) {
  const bool rate = kind != QuotaKind::kStreams;
  if (rate && !absl::ConsumeSuffix(&text, "/s")) return std::nullopt;
  double unit = 1;
  if (kind == QuotaKind::kPublishBytes) {
    for (const auto& [suffix, size] : {std::pair<absl::string_view, double>{"KiB", 1024.0},
                                       {"MiB", 1024.0 * 1024},
                                       {"GiB", 1024.0 * 1024 * 1024}}) {
      if (absl::ConsumeSuffix(&text, suffix)) unit = size;
    }
  }
  int64_t n = 0;
  if (!absl::SimpleAtoi(text, &n) || n <= 0) return std::nullopt;
  return static_cast<double>(n) * unit;
}

std::optional<QuotaKind> ParseQuotaKind(absl::string_view text) {
  for (QuotaKind kind : {QuotaKind::kPublishMessages, QuotaKind::kPublishBytes,
                         QuotaKind::kPullMessages, QuotaKind::kStreams}) {
    if (text == QuotaName(kind)) return kind;
  }
  return std::nullopt;
}

}  // namespace

Policy::Pattern Policy::PatternOf(absl::string_view text) {
  Pattern out;
  out.prefix = absl::EndsWith(text, "*");
  out.text = std::string(out.prefix ? text.substr(0, text.size() - 1) : text);
  return out;
}

absl::string_view QuotaName(QuotaKind kind) {
  switch (kind) {
    case QuotaKind::kPublishMessages:
      return "publish_messages";
    case QuotaKind::kPublishBytes:
      return "publish_bytes";
    case QuotaKind::kPullMessages:
      return "pull_messages";
    case QuotaKind::kStreams:
      return "streams";
  }
  return "?";
}

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
    if (f.size() != 4) {
      return error("expected: allow|deny PRINCIPAL ACTION RESOURCE, or quota PRINCIPAL KIND VALUE");
    }
    if (f[0] == "quota") {
      const std::optional<QuotaKind> kind = ParseQuotaKind(f[2]);
      if (!kind) {
        return error(absl::StrCat(
            "quota kind must be publish_messages, publish_bytes, pull_messages or streams, not ",
            f[2]));
      }
      const std::optional<double> value = ParseQuotaValue(*kind, f[3]);
      if (!value) {
        return error(absl::StrCat("quota value must be ",
                                  *kind == QuotaKind::kStreams ? "a positive count (20)"
                                  : *kind == QuotaKind::kPublishBytes
                                      ? "a positive rate (10MiB/s, 512KiB/s, 1000/s)"
                                      : "a positive rate (1000/s)",
                                  ", not ", f[3]));
      }
      policy.quotas_.push_back(QuotaRule{PatternOf(f[1]), *kind, *value});
      continue;
    }
    Rule rule;
    if (f[0] == "allow") {
      rule.allow = true;
    } else if (f[0] == "deny") {
      rule.allow = false;
    } else {
      return error(absl::StrCat("effect must be allow, deny or quota, not ", f[0]));
    }
    rule.principal = PatternOf(f[1]);
    const std::optional<std::optional<Action>> action = ParseAction(f[2]);
    if (!action)
      return error(absl::StrCat("action must be publish, subscribe, view, admin or *, not ", f[2]));
    rule.action = *action;
    if (f[3] == "*") {
      rule.name = PatternOf("*");
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
      rule.name = PatternOf(f[3].substr(colon + 1));
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

std::optional<double> Policy::Quota(absl::string_view principal, QuotaKind kind) const {
  for (const QuotaRule& q : quotas_) {
    if (q.kind == kind && q.principal.Matches(principal)) return q.value;
  }
  return std::nullopt;
}

}  // namespace hub::services::auth
