#ifndef SERVICES_STATUS_MAPPING_H_
#define SERVICES_STATUS_MAPPING_H_

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace hub::services {

// absl::Status -> grpc::Status, one code for one code, message kept. The
// engine chooses codes by what the caller should do (API.md, "Errors"); this
// layer only translates.
grpc::StatusCode ToGrpcCode(absl::StatusCode code);
grpc::Status ToGrpcStatus(const absl::Status& status);
// The canonical name of a code ("INVALID_ARGUMENT"), as metrics label it.
std::string GrpcCodeName(grpc::StatusCode code);

}  // namespace hub::services

#endif  // SERVICES_STATUS_MAPPING_H_
