#ifndef SERVICES_STATUS_MAPPING_H_
#define SERVICES_STATUS_MAPPING_H_

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hub::services {

// absl::Status -> grpc::Status, one code for one code, message kept. The
// engine chooses codes by what the caller should do (docs/api.md, "Errors"); this
// layer only translates.
grpc::StatusCode ToGrpcCode(absl::StatusCode code);
grpc::Status ToGrpcStatus(const absl::Status& status);
// The longest status message hubd sends. gRPC never sends one of about
// 64 KiB or more (the call hangs, holding its memory) and its C core clients
// take 8 KiB of trailers, where a message travels percent-encoded; so every
// message is cut here at the last, whatever repeated caller text into it.
inline constexpr size_t kMaxStatusMessageBytes = 2048;
// `status` with its message cut to kMaxStatusMessageBytes, details kept.
grpc::Status Sendable(const grpc::Status& status);
// The canonical name of a code ("INVALID_ARGUMENT"), as metrics label it.
std::string GrpcCodeName(grpc::StatusCode code);

// An engine call's result (an absl::StatusOr) as a response: `write(value)`
// fills it, or the result's status is the call's. A result the call owns
// is handed over mutable, so that `write` may move from it.
template <typename Result, typename Write>
grpc::Status Respond(Result&& result, Write write) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  write(*result);
  return grpc::Status::OK;
}

}  // namespace hub::services

#endif  // SERVICES_STATUS_MAPPING_H_
