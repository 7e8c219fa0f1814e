#ifndef SERVICES_STREAMING_PULL_CALL_H_
#define SERVICES_STREAMING_PULL_CALL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "hub/hub.h"
#include "hub/stream_session.h"
#include "services/auth/access_control.h"
#include "services/status_mapping.h"
#include "services/stream_quota.h"

namespace hub::services {

// One StreamingPull on gRPC's callback API: it holds no thread. Reads, and
// the engine's work on each request, go one at a time (so a client's
// requests apply in order and a flood of them waits on the one before);
// deliveries and ack results are written in turn, one write in flight. The
// call deletes itself when gRPC is done with it and the engine's last
// answer came.
//
// `Protocol` is the API's translation (hub.v1's or Pub/Sub's), one per call:
//   using Request, Response;
//   absl::StatusOr<StreamSettings> Settings(const Request& first);
//   StreamRequest Requests(const Request& request);
//   // False when the outcome gives the client nothing to hear.
//   bool Outcome(const StreamOutcome& outcome, Response* out);
//   void Deliveries(Claimed claimed, Response* out);  // moves the payloads
template <typename Protocol>
class StreamingPullCall final
    : public grpc::ServerBidiReactor<typename Protocol::Request, typename Protocol::Response>,
      private StreamSink {
  using Request = typename Protocol::Request;
  using Response = typename Protocol::Response;

 public:
  StreamingPullCall(Hub& hub, const auth::AccessControl& access, StreamQuota& quota,
                    grpc::CallbackServerContext* context, Protocol protocol)
      : hub_(hub),
        access_(access),
        quota_(quota),
        context_(context),
        protocol_(std::move(protocol)) {
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    // The client closed its side (a normal end), or the call is gone.
    if (!ok) return End(grpc::Status::OK);
    if (session_ == nullptr) {
      if (grpc::Status s = Open(); !s.ok()) return End(s);
    }
    {
      absl::MutexLock lock(&mu_);
      handling_ = true;
    }
    session_->Handle(protocol_.Requests(request_), [this](absl::StatusOr<StreamOutcome> outcome) {
      Handled(std::move(outcome));
    });
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      const int64_t bytes = outbox_.front().delivery_bytes;
      outbox_.pop_front();
      writing_ = false;
      if (bytes > 0) session_->Sent(bytes);
      if (ok && !ending_ && !outbox_.empty()) {
        writing_ = true;
        this->StartWrite(&outbox_.front().response);
        return;
      }
      if (ending_) {
        if (!finished_) {
          finished_ = true;
          this->Finish(*ending_);
        }
        return;
      }
    }
    // The write failed: the client is gone.
    if (!ok) End(grpc::Status::OK);
  }

  void OnCancel() override { End(grpc::Status::CANCELLED); }

  void OnDone() override {
    bool idle = false;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      idle = !handling_;
    }
    if (idle) delete this;
  }

 private:
  struct Outgoing {
    Response response;
    // Bytes of deliveries in it, for the session's accounting.
    int64_t delivery_bytes;
  };
  ~StreamingPullCall() override = default;

  // The first request: who calls (before anything of it is read), who may
  // read, then the session.
  grpc::Status Open() {
    if (grpc::Status s = access_.Authenticate(*context_); !s.ok()) return s;
    absl::StatusOr<StreamSettings> settings = protocol_.Settings(request_);
    if (!settings.ok()) return ToGrpcStatus(settings.status());
    if (grpc::Status s = access_.Check(*context_, auth::Action::kSubscribe,
                                       auth::Subscription(settings->subscription));
        !s.ok()) {
      return s;
    }
    // Check let the caller in, so its principal resolves.
    const std::string principal = access_.Principal(*context_).value_or("anonymous");
    const std::optional<int> own_limit = access_.StreamLimit(principal);
    slot_ = quota_.Acquire(principal, own_limit.value_or(quota_.limit()));
    if (!slot_) {
      if (own_limit) {
        // Streams come back as others close: a client retries after a while.
        return access_.QuotaExceeded(principal, auth::QuotaKind::kStreams, absl::Seconds(1));
      }
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("'", principal, "' has ", quota_.limit(),
                       " streams open, the most it may (--max_streams_per_principal)"));
    }
    settings->budget = access_.PullBudget(*context_);
    absl::StatusOr<std::unique_ptr<StreamSession>> session = hub_.OpenStream(*settings);
    if (!session.ok()) return ToGrpcStatus(session.status());
    StreamSession* started = session->get();
    {
      absl::MutexLock lock(&mu_);
      session_ = *std::move(session);
    }
    return ToGrpcStatus(started->Start(this));
  }

  void Handled(absl::StatusOr<StreamOutcome> outcome) {
    if (!outcome.ok()) {
      End(ToGrpcStatus(outcome.status()));
    } else {
      Outgoing outgoing{{}, 0};
      if (protocol_.Outcome(*outcome, &outgoing.response)) Write(std::move(outgoing));
    }
    bool gone = false;
    {
      absl::MutexLock lock(&mu_);
      handling_ = false;
      gone = done_;
      // The next request is read only now: one at a time, in order.
      if (!done_ && !ending_) this->StartRead(&request_);
    }
    if (gone) delete this;
  }

  void Write(Outgoing outgoing) {
    absl::MutexLock lock(&mu_);
    if (ending_) {
      if (outgoing.delivery_bytes > 0) session_->Sent(outgoing.delivery_bytes);
      return;
    }
    outbox_.push_back(std::move(outgoing));
    if (!writing_) {
      writing_ = true;
      this->StartWrite(&outbox_.front().response);
    }
  }

  // Ends the call once with `status`: delivery stops, and the status goes
  // out after the write in flight.
  void End(const grpc::Status& status) {
    StreamSession* session = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (ending_) return;
      ending_ = status;
      session = session_.get();
    }
    // First, so that no delivery comes after the status.
    if (session != nullptr) session->Close();
    absl::MutexLock lock(&mu_);
    // What is queued behind the write in flight is dropped; its leases
    // expire and the messages go to others.
    while (outbox_.size() > (writing_ ? 1u : 0u)) {
      if (outbox_.back().delivery_bytes > 0) session_->Sent(outbox_.back().delivery_bytes);
      outbox_.pop_back();
    }
    if (!writing_ && !finished_) {
      finished_ = true;
      this->Finish(*ending_);
    }
  }

  // StreamSink, for the session.
  void Send(Claimed claimed, int64_t bytes) override {
    Outgoing outgoing{{}, bytes};
    protocol_.Deliveries(std::move(claimed), &outgoing.response);
    Write(std::move(outgoing));
  }
  void End(absl::Status status) override { End(ToGrpcStatus(status)); }

  Hub& hub_;
  const auth::AccessControl& access_;
  StreamQuota& quota_;
  grpc::CallbackServerContext* const context_;
  Protocol protocol_;
  Request request_;
  std::unique_ptr<StreamSession> session_;
  std::optional<StreamQuota::Slot> slot_;

  absl::Mutex mu_;
  std::deque<Outgoing> outbox_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> ending_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // The engine works on a request; its answer still comes.
  bool handling_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hub::services

#endif  // SERVICES_STREAMING_PULL_CALL_H_
