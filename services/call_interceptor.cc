#include "services/call_interceptor.h"

#include <grpcpp/support/status.h>

namespace hub::services {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit CallInterceptor(ServerRpcInfo* info)
      : unary_(info->type() == ServerRpcInfo::Type::UNARY) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    // A unary call carries exactly one request, so an empty receive means
    // the bytes did not parse (a streaming call also sees an empty receive
    // when the client half-closes, which is not an error).
    if (unary_ &&
        methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      request_unparsable_ = true;
    }
    if (request_unparsable_ &&
        methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() == grpc::StatusCode::INTERNAL) {
      methods->ModifySendStatus(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          "request is not a valid hub.v1 message (string fields must be "
          "UTF-8)"));
    }
    methods->Proceed();
  }

 private:
  const bool unary_;
  bool request_unparsable_ = false;
};

}  // namespace

grpc::experimental::Interceptor* CallInterceptorFactory::CreateServerInterceptor(
    ServerRpcInfo* info) {
  return new CallInterceptor(info);
}

}  // namespace hub::services
