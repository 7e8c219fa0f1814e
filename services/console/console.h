#ifndef SERVICES_CONSOLE_CONSOLE_H_
#define SERVICES_CONSOLE_CONSOLE_H_

#include <string>

#include <prometheus/registry.h>

#include "common/ops_http_server.h"
#include "hub/hub.h"
#include "services/auth/access_control.h"
#include "services/console/rate_history.h"

namespace hub::services {

// The web console (docs/console.md): its pages and a JSON API under
// /console/ on the ops port. The API translates, as the gRPC services do:
// each call is authenticated and authorized as the RPC that does the same
// (a bearer token in the Authorization header), calls the same engine
// functions, and answers in hub.v1's JSON form. Changes are POSTs of JSON
// that carry the session's CSRF token.
class Console {
 public:
  // `replica`: this hubd's name, as its database connections carry it;
  // `rate_step`: one point of the rate charts, which draw 90.
  Console(Hub& hub, const auth::AccessControl& access, prometheus::Registry& registry,
          std::string replica, absl::Duration rate_step);

  // Starts sampling the rates.
  void Start() { rates_.Start(); }

  // Every request under /console/.
  HttpResponse Handle(const HttpRequest& request);

 private:
  class Call;

  Hub& hub_;
  const auth::AccessControl& access_;
  prometheus::Registry& registry_;
  const std::string replica_;
  // Signs CSRF tokens: random per process.
  const std::string csrf_key_;
  RateHistory rates_;
};

}  // namespace hub::services

#endif  // SERVICES_CONSOLE_CONSOLE_H_
