#ifndef COMMON_OPS_HTTP_SERVER_H_
#define COMMON_OPS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

class CivetServer;

namespace hub {

// Whether two secrets are equal, in time that depends on their lengths
// only, so that a caller cannot find one a byte at a time.
bool SameSecret(absl::string_view a, absl::string_view b);

// A request to a route of the ops port.
struct HttpRequest {
  std::string method;  // GET or POST
  std::string path;    // without the query
  std::string query;   // after the '?', undecoded
  // Every header as it came, names as the client spelled them.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The values of every header named `name` (any case).
  std::vector<std::string> Header(const std::string& name) const;
};

struct HttpResponse {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

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

  // Serves GET and POST of every path under `prefix` (which ends in '/')
  // with `handle`, which must be safe to call from several threads. Request
  // bodies of more than 1 MiB are refused with 413 before `handle` sees
  // them. Before Start.
  void Route(std::string prefix, std::function<HttpResponse(const HttpRequest&)> handle);

  // `listen` is host:port.
  absl::Status Start(const std::string& listen);

 private:
  class Handler;
  class RouteHandler;
  prometheus::Registry& registry_;
  std::function<bool()> ready_;
  const std::string metrics_token_;
  std::unique_ptr<Handler> metrics_, healthz_, readyz_;
  std::vector<std::pair<std::string, std::unique_ptr<RouteHandler>>> routes_;
  std::unique_ptr<CivetServer> server_;
};

}  // namespace hub

#endif  // COMMON_OPS_HTTP_SERVER_H_
