#ifndef SERVICES_CALL_INTERCEPTOR_H_
#define SERVICES_CALL_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include "services/auth/access_control.h"
#include "services/listener.h"
#include "services/service_probe.h"

namespace hub::services {

// Sees every call before and after the handler. gRPC answers a unary request
// it cannot parse (a string field that is not UTF-8, a truncated message) with
// INTERNAL and no message, before any handler runs; that is the client's
// fault, not the server's, so the interceptor turns it into INVALID_ARGUMENT
// with a message that says what is wrong (docs/api.md: bad input is
// INVALID_ARGUMENT). It cuts a status message too long to send. It tells
// the listener of a connection whose call authenticated (so that it stays),
// and it counts every call, by method and final code, and times unary ones.
class CallInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  CallInterceptorFactory(ServiceProbe& probe, const auth::AccessControl& access, Listener& listener)
      : probe_(probe), access_(access), listener_(listener) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  ServiceProbe& probe_;
  const auth::AccessControl& access_;
  Listener& listener_;
};

}  // namespace hub::services

#endif  // SERVICES_CALL_INTERCEPTOR_H_
