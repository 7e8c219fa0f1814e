#include "services/call_interceptor.h"

#include <grpcpp/support/status.h>

#include "absl/time/clock.h"
#include "services/status_mapping.h"

namespace hub::services {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallInterceptor(ServerRpcInfo* info, ServiceProbe& probe, const auth::AccessControl& access,
                  Listener& listener)
      : probe_(probe),
        access_(access),
        listener_(listener),
        context_(info->server_context()),
        method_(info->method()),
        unary_(info->type() == ServerRpcInfo::Type::UNARY),
        start_(absl::Now()) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    // By the first message the call's metadata is in its context.
    if (!authentication_seen_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      authentication_seen_ = true;
      if (listener_.awaiting_authentication() && access_.Authenticate(*context_).ok()) {
        listener_.Authenticated(context_->peer());
      }
    }
    // A unary call carries exactly one request, so an empty receive means
    // the bytes did not parse (a streaming call also sees an empty receive
    // when the client half-closes, which is not an error).
    if (unary_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      request_unparsable_ = true;
    }
    if (request_unparsable_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() == grpc::StatusCode::INTERNAL) {
      methods->ModifySendStatus(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       "request is not a valid hub.v1 message (string fields must be "
                       "UTF-8)"));
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      if (grpc::Status status = methods->GetSendStatus();
          status.error_message().size() > kMaxStatusMessageBytes) {
        methods->ModifySendStatus(Sendable(status));
      }
      probe_.Call(method_, methods->GetSendStatus().error_code(),
                  unary_ ? std::optional<absl::Duration>(absl::Now() - start_) : std::nullopt);
    }
    methods->Proceed();
  }

 private:
  ServiceProbe& probe_;
  const auth::AccessControl& access_;
  Listener& listener_;
  grpc::ServerContextBase* const context_;
  const char* const method_;
  const bool unary_;
  const absl::Time start_;
  bool request_unparsable_ = false;
  bool authentication_seen_ = false;
};

}  // namespace

grpc::experimental::Interceptor* CallInterceptorFactory::CreateServerInterceptor(
    ServerRpcInfo* info) {
  return new CallInterceptor(info, probe_, access_, listener_);
}

}  // namespace hub::services
