#ifndef SERVICES_PUBSUB_IAM_SERVICE_H_
#define SERVICES_PUBSUB_IAM_SERVICE_H_

#include "google/iam/v1/iam_policy.grpc.pb.h"
#include "hub/hub.h"
#include "services/auth/access_control.h"
#include "services/pubsub/call_helpers.h"
#include "services/pubsub/names.h"

namespace hub::services::pubsub {

// google.iam.v1.IAMPolicy for Pub/Sub's topics, subscriptions, snapshots
// and schemas, on the hub's own access control (docs/security.md, "Stored
// bindings"): GetIamPolicy answers the bindings stored for the resource,
// SetIamPolicy stores them (honouring the etag) and every replica enforces
// them, and TestIamPermissions answers what the hub enforces for the
// caller.
class IamService final : public ::google::iam::v1::IAMPolicy::Service {
  using Context = grpc::ServerContext;

 public:
  IamService(Hub& hub, const auth::AccessControl& access, const Names& names)
      : hub_(hub), access_(access), names_(names), gate_(access, names) {}

  grpc::Status GetIamPolicy(Context* context, const ::google::iam::v1::GetIamPolicyRequest* request,
                            ::google::iam::v1::Policy* response) override;
  grpc::Status SetIamPolicy(Context* context, const ::google::iam::v1::SetIamPolicyRequest* request,
                            ::google::iam::v1::Policy* response) override;
  grpc::Status TestIamPermissions(Context* context,
                                  const ::google::iam::v1::TestIamPermissionsRequest* request,
                                  ::google::iam::v1::TestIamPermissionsResponse* response) override;

 private:
  // Runs `call(resource)` for an existing resource a request names.
  template <typename Call>
  grpc::Status OnResource(const Context& context, const std::string& name, Call call) const;

  Hub& hub_;
  const auth::AccessControl& access_;
  const Names& names_;
  const Gate gate_;
};

}  // namespace hub::services::pubsub

#endif  // SERVICES_PUBSUB_IAM_SERVICE_H_
