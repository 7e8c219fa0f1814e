#ifndef HUBCTL_ARGS_H_
#define HUBCTL_ARGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hub/v1/resources.pb.h"

// How hubctl reads its arguments and how it ends.
namespace hub::hubctl {

// "90s", "15m", "24h", "7d", "1h30m", "500ms".
absl::StatusOr<absl::Duration> ParseDuration(const std::string& text);

// "key=value" pairs (attributes, labels); a key may not repeat.
absl::StatusOr<std::map<std::string, std::string>> ParsePairs(const std::vector<std::string>& pairs,
                                                              const std::string& what);

// "protobuf" or "avro"; "json" or "binary".
absl::StatusOr<v1::SchemaType> ParseSchemaType(const std::string& text);
absl::StatusOr<v1::SchemaEncoding> ParseSchemaEncoding(const std::string& text);

// Where a new subscription starts: "next" (unset), "oldest", an RFC 3339
// time ("2026-12-07T10:00:00Z"), or "snapshot:NAME".
absl::StatusOr<v1::SubscriptionStart> ParseStart(const std::string& text);

// A delivery delay: a duration (ParseDuration), or an RFC 3339 time to
// deliver at, as the delay from `now` (none once it has passed).
absl::StatusOr<absl::Duration> ParseDelay(const std::string& text, absl::Time now);

// "at-least-once", "at-most-once", "exactly-once".
absl::StatusOr<v1::DeliveryGuarantee> ParseGuarantee(const std::string& text);
std::string GuaranteeName(v1::DeliveryGuarantee guarantee);

// The process exit code for an outcome, so scripts can act on it (for
// example treat "already exists" as done). docs/client.md has the table.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitAlreadyExists = 4;
inline constexpr int kExitUnavailable = 5;
inline constexpr int kExitDenied = 6;
// apply --dry-run: the hub differs from the file (0: it matches).
inline constexpr int kExitChangesPending = 8;
// Ended by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
inline constexpr int kExitInterrupted = 130;
int ExitCode(absl::StatusCode code);

}  // namespace hub::hubctl

#endif  // HUBCTL_ARGS_H_
