#include "services/pubsub/iam_service.h"

#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "services/auth/stored_bindings.h"
#include "services/status_mapping.h"

namespace hub::services::pubsub {
namespace {

namespace iam = ::google::iam::v1;

// The resource a Pub/Sub name maps to: its kind by the collection, its hub
// name by the Names rules.
absl::StatusOr<auth::Resource> ResourceOf(const Names& names, const std::string& resource) {
  using Map = absl::StatusOr<std::string> (Names::*)(absl::string_view) const;
  static constexpr std::tuple<absl::string_view, Map, auth::ResourceKind> kCollections[] = {
      {"topics", &Names::Topic, auth::ResourceKind::kTopic},
      {"subscriptions", &Names::Subscription, auth::ResourceKind::kSubscription},
      {"snapshots", &Names::Snapshot, auth::ResourceKind::kSnapshot},
      {"schemas", &Names::Schema, auth::ResourceKind::kSchema},
  };
  const std::vector<absl::string_view> parts = absl::StrSplit(resource, '/');
  for (const auto& [collection, map, kind] : kCollections) {
    if (parts.size() == 4 && parts[2] == collection) {
      ASSIGN_OR_RETURN(std::string name, (names.*map)(resource));
      return auth::Resource{kind, std::move(name)};
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("resource must be a topic, subscription, snapshot or schema "
                   "(projects/{project}/topics/{topic}, ...); got ",
                   Quoted(resource)));
}

// NOT_FOUND unless the resource exists.
absl::Status Exists(Hub& hub, const auth::Resource& resource) {
  switch (resource.kind) {
    case auth::ResourceKind::kTopic:
      return hub.GetTopic(resource.name).status();
    case auth::ResourceKind::kSubscription:
      return hub.GetSubscription(resource.name).status();
    case auth::ResourceKind::kSnapshot:
      return hub.GetSnapshot(resource.name).status();
    case auth::ResourceKind::kSchema:
      return hub.schemas().Get(resource.name, "").status();
  }
  return absl::OkStatus();
}

// The etag is the stored policy's version, in decimal.
std::string Etag(int64_t version) { return absl::StrCat(version); }

absl::StatusOr<int64_t> ExpectedVersion(const std::string& etag) {
  if (etag.empty()) return -1;
  int64_t version;
  if (!absl::SimpleAtoi(etag, &version) || version < 0) {
    return absl::InvalidArgumentError("etag is not one the hub gave; read the policy again");
  }
  return version;
}

void WritePolicy(const std::vector<auth::Binding>& bindings, const std::string& etag,
                 iam::Policy* out) {
  out->set_version(1);
  for (const auth::Binding& b : bindings) {
    iam::Binding* binding = out->add_bindings();
    binding->set_role(b.role);
    for (const std::string& member : b.members) binding->add_members(member);
  }
  out->set_etag(etag);
}

}  // namespace

template <typename Call>
grpc::Status IamService::OnResource(const Context& context, const std::string& name,
                                    Call call) const {
  return gate_.Authenticated(context, [&] {
    absl::StatusOr<auth::Resource> resource = ResourceOf(names_, name);
    if (!resource.ok()) return ToGrpcStatus(resource.status());
    return call(*resource);
  });
}

grpc::Status IamService::GetIamPolicy(Context* context, const iam::GetIamPolicyRequest* request,
                                      iam::Policy* response) {
  return OnResource(*context, request->resource(), [&](const auth::Resource& resource) {
    return access_.IfAllowed(*context, {{auth::Action::kView, resource}}, [&] {
      if (absl::Status found = Exists(hub_, resource); !found.ok()) return ToGrpcStatus(found);
      if (!access_.has_policy()) {
        // No policy: every caller the hub knows may do everything, and the
        // answer says so rather than show bindings that decide nothing.
        WritePolicy(
            {{"roles/pubsub.admin", {access_.enabled() ? "allAuthenticatedUsers" : "allUsers"}}},
            "", response);
        return grpc::Status::OK;
      }
      return Respond(
          hub_.access_policies().Get(auth::ResourceKey(resource)), [&](const AccessPolicy& policy) {
            WritePolicy(auth::BindingsFromJson(policy.bindings), Etag(policy.version), response);
          });
    });
  });
}

grpc::Status IamService::SetIamPolicy(Context* context, const iam::SetIamPolicyRequest* request,
                                      iam::Policy* response) {
  return OnResource(*context, request->resource(), [&](const auth::Resource& resource) {
    return access_.IfAllowed(*context, {{auth::Action::kAdmin, resource}}, [&] {
      if (!access_.has_policy()) {
        return ToGrpcStatus(absl::FailedPreconditionError(
            "the hub has no access policy (--policy_file): every caller it knows may do "
            "everything, so stored bindings would change nothing (docs/security.md)"));
      }
      const iam::Policy& policy = request->policy();
      if (policy.audit_configs_size() > 0) {
        return ToGrpcStatus(absl::InvalidArgumentError("audit_configs are not supported"));
      }
      std::vector<auth::Binding> bindings;
      for (const iam::Binding& b : policy.bindings()) {
        if (b.has_condition()) {
          return ToGrpcStatus(absl::InvalidArgumentError(
              absl::StrCat("the binding of ", Quoted(b.role()),
                           " has a condition; the hub has no conditional bindings")));
        }
        bindings.push_back({b.role(), {b.members().begin(), b.members().end()}});
      }
      if (absl::Status s = auth::ValidateBindings(bindings); !s.ok()) return ToGrpcStatus(s);
      absl::StatusOr<int64_t> expected = ExpectedVersion(policy.etag());
      if (!expected.ok()) return ToGrpcStatus(expected.status());
      if (absl::Status found = Exists(hub_, resource); !found.ok()) return ToGrpcStatus(found);
      return Respond(hub_.access_policies().Set(auth::ResourceKey(resource),
                                                auth::BindingsToJson(bindings), *expected),
                     [&](const AccessPolicy& stored) {
                       WritePolicy(bindings, Etag(stored.version), response);
                     });
    });
  });
}

grpc::Status IamService::TestIamPermissions(Context* context,
                                            const iam::TestIamPermissionsRequest* request,
                                            iam::TestIamPermissionsResponse* response) {
  return OnResource(*context, request->resource(), [&](const auth::Resource& resource) {
    std::vector<std::pair<std::string, auth::Action>> asked;
    for (const std::string& permission : request->permissions()) {
      const auto need = auth::PermissionNeed(permission);
      if (!need || need->first != resource.kind) {
        return ToGrpcStatus(absl::InvalidArgumentError(
            absl::StrCat("permission ", Quoted(permission), " is not one of this resource")));
      }
      asked.emplace_back(permission, need->second);
    }
    // As Google's service: a resource that does not exist grants nothing.
    const absl::Status found = Exists(hub_, resource);
    if (absl::IsNotFound(found)) return grpc::Status::OK;
    if (!found.ok()) return ToGrpcStatus(found);
    for (const auto& [permission, action] : asked) {
      // Exactly the check of the call the permission stands for.
      if (access_.Check(*context, action, resource).ok()) response->add_permissions(permission);
    }
    return grpc::Status::OK;
  });
}

}  // namespace hub::services::pubsub
