#ifndef SERVICES_LISTENER_H_
#define SERVICES_LISTENER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/server_builder.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hub::services {

// Counts of the listener, for metrics.
class ListenerProbe {
 public:
  virtual ~ListenerProbe() = default;
  virtual void Connections(int64_t open) = 0;
  virtual void ConnectionRefused() = 0;
};

// hubd's gRPC port, accepted by hubd and handed to gRPC (an external
// connection acceptor). gRPC 1.51's own listener stops for good at the first
// accept that fails for want of a file descriptor and caps nothing; this one
// retries, sheds connections it cannot take (so their clients hear a reset
// instead of waiting in the listen queue), closes those past
// `max_connections` at once, and says whether it takes new ones (/readyz).
class Listener {
 public:
  // Binds and listens on `address` (host:port; host may be a name, an IPv4
  // address or a bracketed IPv6 one).
  static absl::StatusOr<std::unique_ptr<Listener>> Bind(const std::string& address,
                                                        int max_connections, ListenerProbe& probe);
  ~Listener();

  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Starts handing connections to `acceptor` (the server must be started).
  void Start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor);
  void Stop();

  // False while connections are refused: at the cap, or out of file
  // descriptors.
  bool accepting() const { return accepting_.load(); }
  int port() const { return port_; }

 private:
  Listener(int fd, int port, int max_connections, ListenerProbe& probe);
  void Run();
  void AcceptAll();
  // Forgets the connections gRPC has closed; the number still open.
  int64_t Sweep(absl::Time now);
  // Accepts one waiting connection with the spare descriptor and closes
  // it, so that its client is not left waiting; false when none was spare.
  bool Shed();

  struct Identity {
    uint64_t device;
    uint64_t inode;
  };

  const int fd_;
  const int port_;
  const int max_connections_;
  ListenerProbe& probe_;
  int wake_[2] = {-1, -1};
  // Held open to be given up when accept finds no descriptor free.
  int spare_ = -1;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  // Connections handed to gRPC, by descriptor, while it keeps them open.
  absl::flat_hash_map<int, Identity> open_;
  absl::Time swept_ = absl::InfinitePast();
  std::atomic<bool> accepting_{true};
  std::thread thread_;
};

// The connection cap when none is configured: most of the open-file limit,
// leaving the rest to the database pool, files and the ops port.
int DefaultMaxConnections(int64_t open_file_limit);

}  // namespace hub::services

#endif  // SERVICES_LISTENER_H_
