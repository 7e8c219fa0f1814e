#include "services/service_probe.h"

#include "services/status_mapping.h"

namespace hub::services {
namespace {

const prometheus::Histogram::BucketBoundaries kSeconds = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60};

// "/hub.v1.Publisher/Publish" -> "hub.v1.Publisher/Publish": the form
// grpc-go's and grpc-java's metrics use.
std::string MethodLabel(absl::string_view method) {
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  return std::string(method);
}

}  // namespace

ServiceProbe::ServiceProbe(prometheus::Registry& registry, absl::string_view version)
    : requests_(prometheus::BuildCounter()
                    .Name("hub_grpc_requests_total")
                    .Help("gRPC calls finished, by method and status code")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("hub_grpc_request_duration_seconds")
                   .Help("Time from a unary call's arrival to its status, by method")
                   .Register(registry)),
      database_up_(prometheus::BuildGauge()
                       .Name("hub_database_up")
                       .Help("1 while the database answers the health probe, else 0")
                       .Register(registry)
                       .Add({})),
      connections_(prometheus::BuildGauge()
                       .Name("hub_grpc_connections")
                       .Help("Connections open on the gRPC port")
                       .Register(registry)
                       .Add({})),
      connections_refused_(prometheus::BuildCounter()
                               .Name("hub_grpc_connections_refused_total")
                               .Help("Connections closed at once: past --max_connections or "
                                     "--max_connections_per_peer, or with no file descriptor "
                                     "free")
                               .Register(registry)
                               .Add({})),
      connections_unauthenticated_closed_(
          prometheus::BuildCounter()
              .Name("hub_grpc_connections_unauthenticated_closed_total")
              .Help("Connections closed for carrying no authenticated call within "
                    "--unauthenticated_connection_timeout")
              .Register(registry)
              .Add({})),
      access_generation_(prometheus::BuildGauge()
                             .Name("hub_access_files_generation")
                             .Help("The tokens and policy files in force: 1 as read at start, "
                                   "one more per reload applied")
                             .Register(registry)
                             .Add({})),
      access_reloads_refused_(prometheus::BuildCounter()
                                  .Name("hub_access_files_reloads_refused_total")
                                  .Help("Reloads of the tokens or policy file refused (unreadable "
                                        "or malformed); the files in force stay")
                                  .Register(registry)
                                  .Add({})),
      quota_refusals_(prometheus::BuildCounter()
                          .Name("hub_quota_refusals_total")
                          .Help("Calls refused RESOURCE_EXHAUSTED for going over a quota of the "
                                "policy, by principal and quota")
                          .Register(registry)) {
  prometheus::BuildGauge()
      .Name("hub_build_info")
      .Help("Always 1; labels name the build")
      .Register(registry)
      .Add({{"version", std::string(version)}})
      .Set(1);
}

void ServiceProbe::Call(absl::string_view method, grpc::StatusCode code,
                        std::optional<absl::Duration> took) {
  const std::string label = MethodLabel(method);
  requests_.Add({{"method", label}, {"code", std::string(GrpcCodeName(code))}}).Increment();
  if (took) latency_.Add({{"method", label}}, kSeconds).Observe(absl::ToDoubleSeconds(*took));
}

void ServiceProbe::DatabaseUp(bool up) { database_up_.Set(up ? 1 : 0); }

void ServiceProbe::Connections(int64_t open) { connections_.Set(static_cast<double>(open)); }

void ServiceProbe::ConnectionRefused() { connections_refused_.Increment(); }

void ServiceProbe::ConnectionUnauthenticatedClosed() {
  connections_unauthenticated_closed_.Increment();
}

void ServiceProbe::AccessGeneration(int64_t generation) {
  access_generation_.Set(static_cast<double>(generation));
}

void ServiceProbe::AccessReloadRefused() { access_reloads_refused_.Increment(); }

void ServiceProbe::QuotaRefused(const std::string& principal, absl::string_view quota) {
  quota_refusals_.Add({{"principal", principal}, {"quota", std::string(quota)}}).Increment();
}

}  // namespace hub::services
