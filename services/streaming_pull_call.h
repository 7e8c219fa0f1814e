#ifndef SERVICES_STREAMING_PULL_CALL_H_
#define SERVICES_STREAMING_PULL_CALL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/synchronization/mutex.h"
#include "hub/hub.h"
#include "hub/stream_session.h"
#include "hub/v1/subscriber.grpc.pb.h"
#include "services/auth/access_control.h"
#include "services/stream_quota.h"

namespace hub::services {

// One StreamingPull on gRPC's callback API: it holds no thread. Reads, and
// the engine's work on each request, go one at a time (so a client's
// requests apply in order and a flood of them waits on the one before);
// deliveries and ack results are written in turn, one write in flight. The
// call deletes itself when gRPC is done with it and the engine's last
// answer came.
class StreamingPullCall final
    : public grpc::ServerBidiReactor<v1::StreamingPullRequest, v1::StreamingPullResponse>,
      private StreamSink {
 public:
  StreamingPullCall(Hub& hub, const auth::AccessControl& access, StreamQuota& quota,
                    grpc::CallbackServerContext* context);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Outgoing {
    v1::StreamingPullResponse response;
    // Bytes of deliveries in it, for the session's accounting.
    int64_t delivery_bytes;
  };
  ~StreamingPullCall() override = default;

  // The first request: who may read, then the session.
  grpc::Status Open();
  void Handled(absl::StatusOr<std::vector<AckResult>> results);
  void Write(Outgoing outgoing);
  // Ends the call once with `status`: delivery stops, and the status goes
  // out after the write in flight.
  void End(const grpc::Status& status);

  // StreamSink, for the session.
  void Send(std::vector<Delivery> deliveries, int64_t bytes) override;
  void End(absl::Status status) override;

  Hub& hub_;
  const auth::AccessControl& access_;
  StreamQuota& quota_;
  grpc::CallbackServerContext* const context_;
  v1::StreamingPullRequest request_;
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
