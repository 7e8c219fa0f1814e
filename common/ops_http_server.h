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
// process runs) and /readyz (200 only while `ready` says so).
class OpsHttpServer {
 public:
  OpsHttpServer(prometheus::Registry& registry, std::function<bool()> ready);
  ~OpsHttpServer();

  // `listen` is host:port.
  absl::Status Start(const std::string& listen);

 private:
  class Handler;
  prometheus::Registry& registry_;
  std::function<bool()> ready_;
  std::unique_ptr<Handler> metrics_, healthz_, readyz_;
  std::unique_ptr<CivetServer> server_;
};

}  // namespace hub

#endif  // COMMON_OPS_HTTP_SERVER_H_
