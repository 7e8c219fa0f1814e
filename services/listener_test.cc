// The gRPC port's accept loop, with a fake acceptor in place of gRPC's.
#include "services/listener.h"

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

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
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

TEST(ListenerTest, HandsOverLowLatencySocketsAndClosesThosePastTheCap) {
  CountingProbe probe;
  absl::StatusOr<std::unique_ptr<Listener>> listener = Listener::Bind("127.0.0.1:0", 2, probe);
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto acceptor = std::make_unique<FakeAcceptor>();
  FakeAcceptor& handed = *acceptor;
  (*listener)->Start(std::move(acceptor));
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(Connect((*listener)->port()));
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

TEST(ListenerTest, ABadOrTakenAddressIsRefused) {
  CountingProbe probe;
  EXPECT_FALSE(Listener::Bind("no-port", 10, probe).ok());
  absl::StatusOr<std::unique_ptr<Listener>> first = Listener::Bind("127.0.0.1:0", 10, probe);
  ASSERT_TRUE(first.ok());
  const absl::StatusOr<std::unique_ptr<Listener>> second =
      Listener::Bind(absl::StrCat("127.0.0.1:", (*first)->port()), 10, probe);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("another hubd?"), absl::string_view::npos)
      << second.status();
}

}  // namespace
}  // namespace hub::services
