#ifndef COMMON_OPS_HTTP_SERVER_H_
#define COMMON_OPS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "absl/status/status.h"

class CivetServer;

namespace hub {

// The metrics port: /metrics (Prometheus text format), /healthz (the
// process runs) and /readyz (200 only while `ready` says so). With a
// `metrics_token`, /metrics answers only requests that carry it as
// `Authorization: Bearer <token>` (401 otherwise): its labels name every
// topic and subscription. The probes stay open.
class OpsHttpServer {
 public:
  OpsHttpServer(prometheus::Registry& registry, std::function<bool()> ready,
                std::string metrics_token = "");
  ~OpsHttpServer();

  // `listen` is host:port.
  absl::Status Start(const std::string& listen);

 private:
  class Handler;
  prometheus::Registry& registry_;
  std::function<bool()> ready_;
  const std::string metrics_token_;
  std::unique_ptr<Handler> metrics_, healthz_, readyz_;
  std::unique_ptr<CivetServer> server_;
};

}  // namespace hub

#endif  // COMMON_OPS_HTTP_SERVER_H_
