#ifndef SERVICES_PUBSUB_CALL_HELPERS_H_
#define SERVICES_PUBSUB_CALL_HELPERS_H_

#include <algorithm>
#include <string>
#include <utility>

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "absl/status/statusor.h"
#include "hub/validation.h"
#include "services/auth/access_control.h"
#include "services/pubsub/names.h"
#include "services/status_mapping.h"

namespace hub::services::pubsub {

// Pub/Sub's page_size: any positive number asks for at most that many, 0
// for the server's default; the hub serves at most its own largest page.
inline absl::StatusOr<int> PageSize(int page_size) {
  if (page_size < 0) return absl::InvalidArgumentError("page_size must not be negative");
  return std::min(page_size, Limits::kMaxPageSize);
}

// The first steps of every Pub/Sub call, in this order: who calls, then
// what the request names. Nothing of a request is read before the caller is
// known, so nothing of it is repeated to a caller the hub does not know.
class Gate {
 public:
  Gate(const auth::AccessControl& access, const Names& names) : access_(access), names_(names) {}

  // Runs `call()` for a known caller; UNAUTHENTICATED otherwise.
  template <typename Call>
  grpc::Status Authenticated(const grpc::ServerContextBase& context, Call call) const {
    if (grpc::Status s = access_.Authenticate(context); !s.ok()) return s;
    return call();
  }

  // Runs `call(name)` with the hub name a resource name maps to, or answers
  // the mapping's error.
  template <typename Call>
  grpc::Status Topic(const grpc::ServerContextBase& context, const std::string& resource,
                     Call call) const {
    return Named(
        context, [&] { return names_.Topic(resource); }, call);
  }
  template <typename Call>
  grpc::Status Subscription(const grpc::ServerContextBase& context, const std::string& resource,
                            Call call) const {
    return Named(
        context, [&] { return names_.Subscription(resource); }, call);
  }
  template <typename Call>
  grpc::Status Schema(const grpc::ServerContextBase& context, const std::string& resource,
                      Call call) const {
    return Named(
        context, [&] { return names_.Schema(resource); }, call);
  }
  template <typename Call>
  grpc::Status Snapshot(const grpc::ServerContextBase& context, const std::string& resource,
                        Call call) const {
    return Named(
        context, [&] { return names_.Snapshot(resource); }, call);
  }

  // Runs `call(scope, page_size)` for a list request of one project, or
  // answers what is wrong with its project or page size.
  template <typename Request, typename Call>
  grpc::Status InProject(const grpc::ServerContextBase& context, const Request& request,
                         Call call) const {
    return Authenticated(context, [&] {
      absl::StatusOr<NameScope> scope = names_.Project(request.project());
      if (!scope.ok()) return ToGrpcStatus(scope.status());
      absl::StatusOr<int> page_size = PageSize(request.page_size());
      if (!page_size.ok()) return ToGrpcStatus(page_size.status());
      return call(*scope, *page_size);
    });
  }

 private:
  template <typename Map, typename Call>
  grpc::Status Named(const grpc::ServerContextBase& context, Map map, Call call) const {
    return Authenticated(context, [&] {
      absl::StatusOr<std::string> name = map();
      if (!name.ok()) return ToGrpcStatus(name.status());
      return call(*name);
    });
  }

  const auth::AccessControl& access_;
  const Names& names_;
};

}  // namespace hub::services::pubsub

#endif  // SERVICES_PUBSUB_CALL_HELPERS_H_
