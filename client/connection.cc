#include "client/connection.h"

#include "client/internal/grpc_hub_stub.h"

namespace hub::client {

absl::StatusOr<Connection> Connection::Open(const ConnectionOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = internal::MakeChannel(options);
  if (!channel.ok()) return channel.status();
  return Connection(std::make_shared<internal::GrpcHubStub>(*std::move(channel), options));
}

}  // namespace hub::client
