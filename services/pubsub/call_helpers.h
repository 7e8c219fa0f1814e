#ifndef SERVICES_PUBSUB_CALL_HELPERS_H_
#define SERVICES_PUBSUB_CALL_HELPERS_H_

#include <string>
#include <utility>

#include <grpcpp/support/status.h>

#include "absl/status/statusor.h"
#include "hub/validation.h"
#include "services/pubsub/names.h"
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

// Runs `call(scope, page_size)` for a list request of one project, or
// answers what is wrong with its project or page size.
template <typename Request, typename Call>
grpc::Status InProject(const Names& names, const Request& request, Call call) {
  absl::StatusOr<NameScope> scope = names.Project(request.project());
  if (!scope.ok()) return ToGrpcStatus(scope.status());
  absl::StatusOr<int> page_size = PageSize(request.page_size());
  if (!page_size.ok()) return ToGrpcStatus(page_size.status());
  return call(*scope, *page_size);
}

}  // namespace hub::services::pubsub

#endif  // SERVICES_PUBSUB_CALL_HELPERS_H_
