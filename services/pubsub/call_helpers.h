#ifndef SERVICES_PUBSUB_CALL_HELPERS_H_
#define SERVICES_PUBSUB_CALL_HELPERS_H_

#include <string>
#include <utility>

#include <grpcpp/support/status.h>

#include "absl/status/statusor.h"
#include "hub/validation.h"
#include "services/status_mapping.h"

namespace hub::services::pubsub {

// Runs `call` with the hub name a request's resource name maps to, or
// answers the mapping's error.
template <typename Call>
grpc::Status WithName(const absl::StatusOr<std::string>& name, Call call) {
  if (!name.ok()) return ToGrpcStatus(name.status());
  return call(*name);
}

// Pub/Sub's page_size: any positive number asks for at most that many, 0
// for the server's default; the hub serves at most its own largest page.
inline absl::StatusOr<int> PageSize(int page_size) {
  if (page_size < 0) return absl::InvalidArgumentError("page_size must not be negative");
  return std::min(page_size, Limits::kMaxPageSize);
}

}  // namespace hub::services::pubsub

#endif  // SERVICES_PUBSUB_CALL_HELPERS_H_
