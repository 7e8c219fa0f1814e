#ifndef CLIENT_CONNECTION_H_
#define CLIENT_CONNECTION_H_

#include <memory>

#include "absl/status/statusor.h"
#include "client/internal/hub_stub.h"
#include "client/options.h"

namespace hub::client {

// A connection to the hub (one gRPC channel, shared by every Publisher,
// Subscriber and AdminClient made from it). Cheap to copy.
class Connection {
 public:
  // Fails only when a TLS file cannot be read; the channel itself connects
  // lazily and reconnects by itself.
  static absl::StatusOr<Connection> Open(const ConnectionOptions& options = {});

  // Over any stub: tests use fakes, and decorators (fault injection,
  // logging) wrap the real one.
  explicit Connection(std::shared_ptr<internal::HubStub> stub) : stub_(std::move(stub)) {}

  const std::shared_ptr<internal::HubStub>& stub() const { return stub_; }

  // Waits until the hub answers a connection or `timeout` passes; then
  // UNAVAILABLE naming the endpoint. Calls need not wait for it: they
  // connect by themselves. For tools that should say at once when there is
  // no hub (hubctl).
  absl::Status WaitUntilReachable(absl::Duration timeout) const {
    return stub_->WaitUntilReachable(timeout);
  }

 private:
  std::shared_ptr<internal::HubStub> stub_;
};

}  // namespace hub::client

#endif  // CLIENT_CONNECTION_H_
