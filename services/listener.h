#ifndef SERVICES_LISTENER_H_
#define SERVICES_LISTENER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/server_builder.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hub::services {

// Counts of the listener, for metrics.
class ListenerProbe {
 public:
  virtual ~ListenerProbe() = default;
  virtual void Connections(int64_t open) = 0;
  virtual void ConnectionRefused() = 0;
  // Closed for carrying no authenticated call in time.
  virtual void ConnectionUnauthenticatedClosed() = 0;
};

// What the port takes.
struct ListenerLimits {
  // Connections at once. One that has not carried an authenticated call
  // counts twice: hubd holds a second descriptor of it, to close it by.
  int max_connections = 1000;
  // Connections from one address (IP) at once.
  int max_connections_per_peer = 250;
  // A connection that carried no authenticated call this long after it was
  // accepted is closed.
  absl::Duration unauthenticated_timeout = absl::Seconds(10);
};

// hubd's gRPC port, accepted by hubd and handed to gRPC (an external
// connection acceptor). gRPC 1.51's own listener stops for good at the first
// accept that fails for want of a file descriptor and caps nothing; this one
// retries, sheds connections it cannot take (so their clients hear a reset
// instead of waiting in the listen queue), closes those past
// `max_connections` or past one address's share at once, closes those that
// carried no authenticated call in time, and says whether it takes new ones
// (/readyz).
class Listener {
 public:
  // Binds and listens on `address` (host:port; host may be a name, an IPv4
  // address or a bracketed IPv6 one).
  static absl::StatusOr<std::unique_ptr<Listener>> Bind(const std::string& address,
                                                        ListenerLimits limits,
                                                        ListenerProbe& probe);
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

  // A call on the connection from `peer` (gRPC's peer: "ipv4:1.2.3.4:5678",
  // "ipv6:[::1]:5678") was authenticated: the connection stays. Any thread.
  void Authenticated(absl::string_view peer);
  // Whether some connection waits for its first authenticated call: when
  // none does, a call has nothing to tell (the common case, one atomic
  // load).
  bool awaiting_authentication() const { return awaiting_.load(std::memory_order_relaxed) > 0; }

 private:
  Listener(int fd, int port, ListenerLimits limits, ListenerProbe& probe);
  void Run();
  void AcceptAll();
  // Forgets the connections gRPC has closed; the number still open.
  int64_t Sweep(absl::Time now);
  // Accepts one waiting connection with the spare descriptor and closes
  // it, so that its client is not left waiting; false when none was spare.
  bool Shed();

  // A connection handed to gRPC.
  struct Connection {
    uint64_t device;
    uint64_t inode;
    std::string address;  // the peer's IP
    std::string peer;     // and port, as Authenticated() names it
    absl::Time accepted;
    // Until a call on it is authenticated, a descriptor of the listener's
    // own: the socket is shut down through it when its time is up, and it
    // cannot be some other file that took the number gRPC closed.
    int held = -1;
  };
  // The descriptors the port's connections take.
  int64_t Load() const { return static_cast<int64_t>(open_.size()) + held_; }
  void Release(Connection& c);
  void CloseUnauthenticated(Connection& c);
  void Forget(Connection& c);
  // Whether a call on `c` authenticated since it was accepted.
  bool HasAuthenticated(const Connection& c);
  // The connection on `fd` if it is still the one accepted with `inode` and
  // has not authenticated yet.
  Connection* Waiting(int fd, uint64_t inode);
  // Closes the connection that has waited longest without an authenticated
  // call; false when there is none.
  bool Evict();

  const int fd_;
  const int port_;
  const ListenerLimits limits_;
  ListenerProbe& probe_;
  int wake_[2] = {-1, -1};
  // Held open to be given up when accept finds no descriptor free.
  int spare_ = -1;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  // Connections handed to gRPC, by descriptor, while it keeps them open.
  absl::flat_hash_map<int, Connection> open_;
  absl::flat_hash_map<std::string, int> per_address_;
  // Connections with a held descriptor, and (descriptor, inode) of each in
  // the order they came (some since settled).
  int held_ = 0;
  std::deque<std::pair<int, uint64_t>> arrivals_;
  // Peers of connections that have not yet carried an authenticated call.
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> unauthenticated_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> awaiting_{0};  // unauthenticated_.size()
  absl::Time swept_ = absl::InfinitePast();
  std::atomic<bool> accepting_{true};
  std::thread thread_;
};

// The connection cap when none is configured: most of the open-file limit,
// leaving the rest to the database pool, files and the ops port.
int DefaultMaxConnections(int64_t open_file_limit);

}  // namespace hub::services

#endif  // SERVICES_LISTENER_H_
