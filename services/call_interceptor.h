#ifndef SERVICES_CALL_INTERCEPTOR_H_
#define SERVICES_CALL_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include "services/service_probe.h"

namespace hub::services {

// Sees every call before and after the handler. gRPC answers a unary request
// it cannot parse (a string field that is not UTF-8, a truncated message) with
// INTERNAL and no message, before any handler runs; that is the client's
// fault, not the server's, so the interceptor turns it into INVALID_ARGUMENT
// with a message that says what is wrong (docs/api.md: bad input is
// INVALID_ARGUMENT). It also counts every call, by method and final code,
// and times unary ones.
class CallInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallInterceptorFactory(ServiceProbe& probe) : probe_(probe) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  ServiceProbe& probe_;
};

}  // namespace hub::services

#endif  // SERVICES_CALL_INTERCEPTOR_H_
