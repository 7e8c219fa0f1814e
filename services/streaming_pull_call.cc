#include "services/streaming_pull_call.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/convert.h"
#include "services/status_mapping.h"

namespace hub::services {

StreamingPullCall::StreamingPullCall(Hub& hub, const auth::AccessControl& access,
                                     StreamQuota& quota, grpc::CallbackServerContext* context)
    : hub_(hub), access_(access), quota_(quota), context_(context) {
  StartRead(&request_);
}

grpc::Status StreamingPullCall::Open() {
  const std::string& name = request_.subscription();
  if (grpc::Status s = access_.Check(*context_, auth::Action::kSubscribe, auth::Subscription(name));
      !s.ok()) {
    return s;
  }
  // Check let the caller in, so its principal resolves.
  const std::string principal = access_.Principal(*context_).value_or("anonymous");
  slot_ = quota_.Acquire(principal);
  if (!slot_) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("'", principal, "' has ", quota_.limit(),
                     " streams open, the most it may (--max_streams_per_principal)"));
  }
  absl::StatusOr<std::unique_ptr<StreamSession>> session =
      hub_.OpenStream(StreamSettingsFromProto(request_));
  if (!session.ok()) return ToGrpcStatus(session.status());
  StreamSession* started = session->get();
  {
    absl::MutexLock lock(&mu_);
    session_ = *std::move(session);
  }
  return ToGrpcStatus(started->Start(this));
}

void StreamingPullCall::OnReadDone(bool ok) {
  // The client closed its side (a normal end), or the call is gone.
  if (!ok) return End(grpc::Status::OK);
  if (session_ == nullptr) {
    if (grpc::Status s = Open(); !s.ok()) return End(s);
  }
  {
    absl::MutexLock lock(&mu_);
    handling_ = true;
  }
  session_->Handle(
      StreamRequestFromProto(request_),
      [this](absl::StatusOr<std::vector<AckResult>> results) { Handled(std::move(results)); });
}

void StreamingPullCall::Handled(absl::StatusOr<std::vector<AckResult>> results) {
  if (!results.ok()) {
    End(ToGrpcStatus(results.status()));
  } else if (!results->empty()) {
    Outgoing outgoing{{}, 0};
    AckResultsToProto(*results, outgoing.response.mutable_ack_results());
    Write(std::move(outgoing));
  }
  bool gone = false;
  {
    absl::MutexLock lock(&mu_);
    handling_ = false;
    gone = done_;
    // The next request is read only now: one at a time, in order.
    if (!done_ && !ending_) StartRead(&request_);
  }
  if (gone) delete this;
}

void StreamingPullCall::Send(std::vector<Delivery> deliveries, int64_t bytes) {
  Outgoing outgoing{{}, bytes};
  for (const Delivery& d : deliveries) {
    DeliveryToProto(d, outgoing.response.add_received_messages());
  }
  Write(std::move(outgoing));
}

void StreamingPullCall::Write(Outgoing outgoing) {
  absl::MutexLock lock(&mu_);
  if (ending_) {
    if (outgoing.delivery_bytes > 0) session_->Sent(outgoing.delivery_bytes);
    return;
  }
  outbox_.push_back(std::move(outgoing));
  if (!writing_) {
    writing_ = true;
    StartWrite(&outbox_.front().response);
  }
}

void StreamingPullCall::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    const int64_t bytes = outbox_.front().delivery_bytes;
    outbox_.pop_front();
    writing_ = false;
    if (bytes > 0) session_->Sent(bytes);
    if (ok && !ending_ && !outbox_.empty()) {
      writing_ = true;
      StartWrite(&outbox_.front().response);
      return;
    }
    if (ending_) {
      if (!finished_) {
        finished_ = true;
        Finish(*ending_);
      }
      return;
    }
  }
  // The write failed: the client is gone.
  if (!ok) End(grpc::Status::OK);
}

void StreamingPullCall::End(const grpc::Status& status) {
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
  // What is queued behind the write in flight is dropped; its leases expire
  // and the messages go to others.
  while (outbox_.size() > (writing_ ? 1u : 0u)) {
    if (outbox_.back().delivery_bytes > 0) session_->Sent(outbox_.back().delivery_bytes);
    outbox_.pop_back();
  }
  if (!writing_ && !finished_) {
    finished_ = true;
    Finish(*ending_);
  }
}

void StreamingPullCall::End(absl::Status status) { End(ToGrpcStatus(status)); }

void StreamingPullCall::OnCancel() { End(grpc::Status::CANCELLED); }

void StreamingPullCall::OnDone() {
  bool idle = false;
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
    idle = !handling_;
  }
  if (idle) delete this;
}

}  // namespace hub::services
