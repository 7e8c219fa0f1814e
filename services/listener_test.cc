// The gRPC port's accept loop, with a fake acceptor in place of gRPC's.
#include "services/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hub::services {
namespace {

class CountingProbe final : public ListenerProbe {
 public:
  void Connections(int64_t) override {}
  void ConnectionRefused() override { ++refused; }
  void ConnectionUnauthenticatedClosed() override { ++unauthenticated_closed; }
  std::atomic<int> unauthenticated_closed{0};
  std::atomic<int> refused{0};
};

// Keeps what it is handed, and whether each came with TCP_NODELAY.
class FakeAcceptor final : public grpc::experimental::ExternalConnectionAcceptor {
 public:
  void HandleNewConnection(NewConnectionParameters* p) override {
    int nodelay = 0;
    socklen_t length = sizeof(nodelay);
    getsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &length);
    absl::MutexLock lock(&mu);
    fds.push_back(p->fd);
    all_nodelay = all_nodelay && nodelay == 1;
  }
  size_t Count() {
    absl::MutexLock lock(&mu);
    return fds.size();
  }
  absl::Mutex mu;
  std::vector<int> fds;
  bool all_nodelay = true;
};

ListenerLimits Limits(int max_connections) {
  ListenerLimits limits;
  limits.max_connections = max_connections;
  limits.max_connections_per_peer = max_connections;
  return limits;
}

// Connects from `from` (a loopback address) to the listener's port.
int Connect(int port, const char* from = "127.0.0.1") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  inet_pton(AF_INET, from, &source.sin_addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Whether the other side closed `fd` within a second.
bool Closed(int fd) {
  pollfd p{fd, POLLIN, 0};
  char byte;
  return poll(&p, 1, 1000) > 0 && read(fd, &byte, 1) <= 0;
}

// gRPC's name of the peer of client socket `fd`.
std::string GrpcPeer(int fd) {
  sockaddr_in local{};
  socklen_t length = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &local.sin_addr, text, sizeof(text));
  return absl::StrCat("ipv4:", text, ":", ntohs(local.sin_port));
}

// Connects, waits until the listener has handed the connection over, and
// says that a call on it authenticated.
int ConnectAuthenticated(Listener& listener, FakeAcceptor& handed) {
  const size_t before = handed.Count();
  const int fd = Connect(listener.port());
  for (int i = 0; i < 100 && handed.Count() == before; ++i) absl::SleepFor(absl::Milliseconds(10));
  listener.Authenticated(GrpcPeer(fd));
  return fd;
}

TEST(ListenerTest, HandsOverLowLatencySocketsAndClosesThosePastTheCap) {
  CountingProbe probe;
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listener::Bind("127.0.0.1:0", Limits(2), probe);
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto acceptor = std::make_unique<FakeAcceptor>();
  FakeAcceptor& handed = *acceptor;
  (*listener)->Start(std::move(acceptor));
  std::vector<int> clients;
  for (int i = 0; i < 2; ++i) clients.push_back(ConnectAuthenticated(**listener, handed));
  absl::SleepFor(absl::Milliseconds(300));  // past the sweep interval
  clients.push_back(Connect((*listener)->port()));
  EXPECT_TRUE(Closed(clients[2]));  // past the cap of 2
  EXPECT_EQ(handed.Count(), 2u);
  EXPECT_TRUE(handed.all_nodelay);  // small writes do not wait for delayed acks
  EXPECT_EQ(probe.refused.load(), 1);
  EXPECT_FALSE((*listener)->accepting());

  // A connection gRPC closed frees its place.
  close(handed.fds[0]);
  absl::SleepFor(absl::Milliseconds(300));  // past the sweep interval
  const int again = Connect((*listener)->port());
  EXPECT_FALSE(Closed(again));
  EXPECT_EQ(handed.Count(), 3u);
  EXPECT_TRUE((*listener)->accepting());
  (*listener)->Stop();
  for (int fd : clients) close(fd);
  close(again);
  for (size_t i = 1; i < handed.fds.size(); ++i) close(handed.fds[i]);
}

TEST(ListenerTest, OneAddressGetsItsShareAndOthersAreStillServed) {
  CountingProbe probe;
  ListenerLimits limits = Limits(10);
  limits.max_connections_per_peer = 2;
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Bind("127.0.0.1:0", limits, probe);
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto acceptor = std::make_unique<FakeAcceptor>();
  FakeAcceptor& handed = *acceptor;
  (*listener)->Start(std::move(acceptor));
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(Connect((*listener)->port()));
  EXPECT_TRUE(Closed(clients[2]));  // the third from 127.0.0.1
  clients.push_back(Connect((*listener)->port(), "127.0.0.2"));
  EXPECT_FALSE(Closed(clients[3]));
  EXPECT_EQ(handed.Count(), 3u);
  EXPECT_EQ(probe.refused.load(), 1);
  EXPECT_TRUE((*listener)->accepting());  // the port is not full
  (*listener)->Stop();
  for (int fd : clients) close(fd);
  for (int fd : handed.fds) close(fd);
}

TEST(ListenerTest, AConnectionWithNoAuthenticatedCallIsClosedInTime) {
  CountingProbe probe;
  ListenerLimits limits = Limits(10);
  limits.unauthenticated_timeout = absl::Milliseconds(500);
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Bind("127.0.0.1:0", limits, probe);
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto acceptor = std::make_unique<FakeAcceptor>();
  FakeAcceptor& handed = *acceptor;
  (*listener)->Start(std::move(acceptor));
  const int silent = Connect((*listener)->port());
  const int calling = Connect((*listener)->port());
  absl::SleepFor(absl::Milliseconds(100));
  (*listener)->Authenticated(GrpcPeer(calling));
  // The listener looks again at least once a second.
  absl::SleepFor(absl::Milliseconds(1700));
  EXPECT_TRUE(Closed(silent));
  EXPECT_FALSE(Closed(calling));
  EXPECT_EQ(probe.unauthenticated_closed.load(), 1);
  (*listener)->Stop();
  close(silent);
  close(calling);
  for (int fd : handed.fds) close(fd);
}

// Unauthenticated connections count twice; a full port closes the one that
// has waited longest for an authenticated call to take a new one.
TEST(ListenerTest, AFullPortMakesRoomByClosingTheLongestUnauthenticated) {
  CountingProbe probe;
  absl::StatusOr<std::unique_ptr<Listener>> listener =
      Listener::Bind("127.0.0.1:0", Limits(4), probe);
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto acceptor = std::make_unique<FakeAcceptor>();
  FakeAcceptor& handed = *acceptor;
  (*listener)->Start(std::move(acceptor));
  const int first = Connect((*listener)->port());
  absl::SleepFor(absl::Milliseconds(50));
  const int second = Connect((*listener)->port());
  absl::SleepFor(absl::Milliseconds(50));
  const int third = Connect((*listener)->port());  // load 6 of 4: the first goes
  EXPECT_TRUE(Closed(first));
  EXPECT_FALSE(Closed(second));
  EXPECT_FALSE(Closed(third));
  EXPECT_EQ(handed.Count(), 3u);
  EXPECT_EQ(probe.refused.load(), 0);
  EXPECT_EQ(probe.unauthenticated_closed.load(), 1);
  (*listener)->Stop();
  for (int fd : {first, second, third}) close(fd);
  for (int fd : handed.fds) close(fd);
}

TEST(ListenerTest, ABadOrTakenAddressIsRefused) {
  CountingProbe probe;
  EXPECT_FALSE(Listener::Bind("no-port", Limits(10), probe).ok());
  absl::StatusOr<std::unique_ptr<Listener>> first =
      Listener::Bind("127.0.0.1:0", Limits(10), probe);
  ASSERT_TRUE(first.ok());
  const absl::StatusOr<std::unique_ptr<Listener>> second =
      Listener::Bind(absl::StrCat("127.0.0.1:", (*first)->port()), Limits(10), probe);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("another hubd?"), absl::string_view::npos)
      << second.status();
}

}  // namespace
}  // namespace hub::services
