#include "services/streaming_pull_call.h"

#include <thread>

#include "services/convert.h"
#include "services/status_mapping.h"

namespace hub::services {

bool StreamingPullCall::Handle(const v1::StreamingPullRequest& request) {
  absl::StatusOr<std::vector<AckResult>> results = session_.Handle(StreamRequestFromProto(request));
  if (!results.ok()) {
    absl::MutexLock lock(&status_mu_);
    reader_status_ = results.status();
    return false;
  }
  if (!results->empty()) {
    v1::StreamingPullResponse response;
    AckResultsToProto(*results, response.mutable_ack_results());
    absl::MutexLock lock(&write_mu_);
    stream_.Write(response);
  }
  return true;
}

absl::Status StreamingPullCall::WriteDeliveries() {
  for (;;) {
    absl::StatusOr<std::vector<Delivery>> deliveries = session_.Next();
    if (!deliveries.ok()) return deliveries.status();
    v1::StreamingPullResponse response;
    for (const Delivery& d : *deliveries) DeliveryToProto(d, response.add_received_messages());
    absl::MutexLock lock(&write_mu_);
    if (!stream_.Write(response)) return absl::OkStatus();
  }
}

grpc::Status StreamingPullCall::Run(const v1::StreamingPullRequest& first) {
  if (!Handle(first)) {
    absl::MutexLock lock(&status_mu_);
    return ToGrpcStatus(reader_status_);
  }
  std::thread reader([this] {
    v1::StreamingPullRequest request;
    while (stream_.Read(&request) && Handle(request)) {
    }
    reader_done_ = true;
    session_.Close();
  });
  const absl::Status status = WriteDeliveries();
  session_.Close();
  const bool client_closed = reader_done_.load();
  if (!client_closed) context_.TryCancel();
  reader.join();
  absl::MutexLock lock(&status_mu_);
  if (!reader_status_.ok()) return ToGrpcStatus(reader_status_);
  // The client ended its side of the stream: a normal end.
  if (client_closed) return grpc::Status::OK;
  return ToGrpcStatus(status);
}

}  // namespace hub::services
