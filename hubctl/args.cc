#include "hubctl/args.h"

#include <algorithm>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/proto_time.h"

namespace hub::hubctl {

absl::StatusOr<absl::Duration> ParseDuration(const std::string& text) {
  absl::Duration d;
  // absl knows h, m, s, ms, us, ns; a whole number of days is added here.
  absl::string_view days = text;
  if (absl::ConsumeSuffix(&days, "d")) {
    int64_t n = 0;
    if (absl::SimpleAtoi(days, &n) && n >= 0) return absl::Hours(24 * n);
  } else if (absl::ParseDuration(text, &d) && d >= absl::ZeroDuration()) {
    return d;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\" is not a duration (examples: 500ms, 90s, 15m, 24h, 7d)"));
}

absl::StatusOr<std::map<std::string, std::string>> ParsePairs(const std::vector<std::string>& pairs,
                                                              const std::string& what) {
  std::map<std::string, std::string> out;
  for (const std::string& pair : pairs) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " \"", pair, "\" is not of the form key=value"));
    }
    if (!out.emplace(pair.substr(0, eq), pair.substr(eq + 1)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " key ", pair.substr(0, eq), " is given twice"));
    }
  }
  return out;
}

absl::StatusOr<v1::SchemaType> ParseSchemaType(const std::string& text) {
  if (text == "protobuf") return v1::PROTOCOL_BUFFER;
  if (text == "avro") return v1::AVRO;
  return absl::InvalidArgumentError(
      absl::StrCat("--type must be protobuf or avro, not \"", text, "\""));
}

absl::StatusOr<v1::SchemaEncoding> ParseSchemaEncoding(const std::string& text) {
  if (text == "json") return v1::JSON;
  if (text == "binary") return v1::BINARY;
  return absl::InvalidArgumentError(
      absl::StrCat("--encoding must be json or binary, not \"", text, "\""));
}

absl::StatusOr<v1::SubscriptionStart> ParseStart(const std::string& text) {
  v1::SubscriptionStart start;
  absl::Time time;
  std::string error;
  if (text == "next") {
    // Unset: the hub's default.
  } else if (text == "oldest") {
    start.set_oldest_retained(true);
  } else if (absl::StartsWith(text, "snapshot:")) {
    start.set_snapshot(text.substr(std::strlen("snapshot:")));
  } else if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    ToProtoTime(time, start.mutable_time());
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--start must be next, oldest, an RFC 3339 time or snapshot:NAME, got \"", text, "\""));
  }
  return start;
}

absl::StatusOr<absl::Duration> ParseDelay(const std::string& text, absl::Time now) {
  absl::Time at;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &at, &error)) {
    return std::max(at - now, absl::ZeroDuration());
  }
  absl::StatusOr<absl::Duration> delay = ParseDuration(text);
  if (!delay.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--delay must be a duration (90s, 15m, 1h30m, 7d) or an RFC 3339 time, got \"",
                     text, "\""));
  }
  return delay;
}

absl::StatusOr<v1::DeliveryGuarantee> ParseGuarantee(const std::string& text) {
  if (text == "at-least-once") return v1::AT_LEAST_ONCE;
  if (text == "at-most-once") return v1::AT_MOST_ONCE;
  if (text == "exactly-once") return v1::EXACTLY_ONCE;
  return absl::InvalidArgumentError(absl::StrCat(
      "guarantee \"", text, "\" is none of at-least-once, at-most-once, exactly-once"));
}

std::string GuaranteeName(v1::DeliveryGuarantee guarantee) {
  switch (guarantee) {
    case v1::AT_MOST_ONCE:
      return "at-most-once";
    case v1::EXACTLY_ONCE:
      return "exactly-once";
    case v1::DELIVERY_GUARANTEE_UNSPECIFIED:
    case v1::AT_LEAST_ONCE:
    case v1::DeliveryGuarantee_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::DeliveryGuarantee_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return "at-least-once";
}

int ExitCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return kExitBadInput;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kAlreadyExists:
      return kExitAlreadyExists;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return kExitDenied;
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kDoNotUseReservedForFutureExpansionUseDefaultInSwitchInstead_:
      return kExitFailed;
  }
  return kExitFailed;
}

}  // namespace hub::hubctl
