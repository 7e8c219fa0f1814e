#ifndef SERVICES_STREAMING_PULL_CALL_H_
#define SERVICES_STREAMING_PULL_CALL_H_

#include <atomic>

#include <grpcpp/server_context.h>
#include <grpcpp/support/sync_stream.h>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "hub/stream_session.h"
#include "hub/v1/subscriber.grpc.pb.h"

namespace hub::services {

// One StreamingPull call after its first request opened the session. The
// sync API allows one reader and one writer at a time: the calling thread
// writes deliveries, a second one reads acks. When delivery ends while the
// client still sends (shutdown, deleted subscription, a failed write) the
// call is cancelled, the only way to release the reader from a blocking
// Read; the client then sees CANCELLED and reconnects.
class StreamingPullCall {
 public:
  using Stream = grpc::ServerReaderWriter<v1::StreamingPullResponse, v1::StreamingPullRequest>;

  StreamingPullCall(grpc::ServerContext& context, Stream& stream, StreamSession& session)
      : context_(context), stream_(stream), session_(session) {}

  // Applies `first` (which may carry acks too), then serves until either
  // side ends; the call's status.
  grpc::Status Run(const v1::StreamingPullRequest& first);

 private:
  // Applies one request's acks and deadline changes, writing ack results on
  // exactly-once subscriptions; false when the request ends the stream.
  bool Handle(const v1::StreamingPullRequest& request);
  // Writes deliveries until the session or the stream ends; the session's
  // status (OK when the write failed).
  absl::Status WriteDeliveries();

  grpc::ServerContext& context_;
  Stream& stream_;
  StreamSession& session_;
  absl::Mutex write_mu_;
  absl::Mutex status_mu_;
  absl::Status reader_status_ ABSL_GUARDED_BY(status_mu_);
  std::atomic<bool> reader_done_{false};
};

}  // namespace hub::services

#endif  // SERVICES_STREAMING_PULL_CALL_H_
