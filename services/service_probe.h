#ifndef SERVICES_SERVICE_PROBE_H_
#define SERVICES_SERVICE_PROBE_H_

#include <optional>
#include <string>

#include <grpcpp/support/status.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/listener.h"

namespace hub::services {

// The gRPC layer's metrics: calls by method and code, unary latency, the
// database as readiness sees it, connections, and the build.
class ServiceProbe final : public ListenerProbe {
 public:
  ServiceProbe(prometheus::Registry& registry, absl::string_view version);

  // One finished call. `method` is the full gRPC name
  // ("/hub.v1.Publisher/Publish"); `took` is set for unary calls only (a
  // stream's lifetime is no latency).
  void Call(absl::string_view method, grpc::StatusCode code, std::optional<absl::Duration> took);
  void DatabaseUp(bool up);
  void Connections(int64_t open) override;
  void ConnectionRefused() override;
  void ConnectionUnauthenticatedClosed() override;
  // The tokens and policy files: the generation in force (1 at start, one
  // more per applied reload), and reloads refused for a malformed file.
  void AccessGeneration(int64_t generation);
  void AccessReloadRefused();
  // A call refused for going over a quota of the policy.
  void QuotaRefused(const std::string& principal, absl::string_view quota);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Gauge& database_up_;
  prometheus::Gauge& connections_;
  prometheus::Counter& connections_refused_;
  prometheus::Counter& connections_unauthenticated_closed_;
  prometheus::Gauge& access_generation_;
  prometheus::Counter& access_reloads_refused_;
  prometheus::Family<prometheus::Counter>& quota_refusals_;
};

}  // namespace hub::services

#endif  // SERVICES_SERVICE_PROBE_H_
