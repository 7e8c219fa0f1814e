#ifndef SERVICES_PULL_CALL_H_
#define SERVICES_PULL_CALL_H_

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/time/time.h"
#include "hub/hub.h"
#include "services/access_needs.h"
#include "services/auth/access_control.h"
#include "services/status_mapping.h"

namespace hub::services {

// What a Pull asks of the engine, in hub terms.
struct PullArgs {
  std::string subscription;
  int max_messages = 0;
  absl::Duration max_wait;
};

// One Pull on gRPC's callback API: while it waits for messages it holds no
// thread; it deletes itself when gRPC is done with it. `Protocol` is the
// API's translation:
//   using Request, Response;
//   absl::StatusOr<PullArgs> Args(const Request& request,
//                                 const grpc::CallbackServerContext& context);
//   void Deliveries(Claimed claimed, Response* out);  // moves the payloads
template <typename Protocol>
class PullCall final : public grpc::ServerUnaryReactor {
 public:
  PullCall(Hub& hub, const auth::AccessControl& access, grpc::CallbackServerContext* context,
           const typename Protocol::Request& request, typename Protocol::Response* response,
           Protocol protocol)
      : response_(response), protocol_(std::move(protocol)) {
    // Who calls before anything of the request is read (or repeated).
    if (grpc::Status s = access.Authenticate(*context); !s.ok()) {
      Finish(s);
      return;
    }
    absl::StatusOr<PullArgs> args = protocol_.Args(request, *context);
    if (!args.ok()) {
      Finish(ToGrpcStatus(args.status()));
      return;
    }
    if (grpc::Status s = access.Check(*context, Consume(args->subscription)); !s.ok()) {
      Finish(s);
      return;
    }
    // The caller's pull quota bounds what this Pull may take.
    budget_ = access.PullBudget(*context);
    if (budget_ != nullptr) {
      const int64_t available = budget_->Available();
      if (available == 0) {
        Finish(access.PullRefused(*context));
        return;
      }
      args->max_messages = static_cast<int>(std::min<int64_t>(args->max_messages, available));
    }
    absl::StatusOr<std::unique_ptr<PendingPull>> pull =
        hub.Pull(args->subscription, args->max_messages, args->max_wait,
                 [this](absl::StatusOr<Claimed> got) { Answer(std::move(got)); });
    if (!pull.ok()) {
      Finish(ToGrpcStatus(pull.status()));
      return;
    }
    pending_ = *std::move(pull);
    // The answer may come, and this call end, before Start returns.
    if (absl::Status started = pending_->Start(); !started.ok()) Finish(ToGrpcStatus(started));
  }

  void OnCancel() override {
    if (pending_ != nullptr && pending_->Cancel()) Finish(grpc::Status::CANCELLED);
  }
  void OnDone() override { delete this; }

 private:
  void Answer(absl::StatusOr<Claimed> got) {
    if (!got.ok()) {
      Finish(ToGrpcStatus(got.status()));
      return;
    }
    if (budget_ != nullptr) budget_->Spent(static_cast<int64_t>(got->deliveries.size()));
    protocol_.Deliveries(*std::move(got), response_);
    Finish(grpc::Status::OK);
  }

  typename Protocol::Response* const response_;
  Protocol protocol_;
  std::shared_ptr<DeliveryBudget> budget_;
  std::unique_ptr<PendingPull> pending_;
};

}  // namespace hub::services

#endif  // SERVICES_PULL_CALL_H_
