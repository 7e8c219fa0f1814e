// Connection bounds (docs/security.md, "Connections"): sockets that never
// finish the HTTP/2 handshake, and connections with no call, are closed, so
// that they cannot hold hubd's file descriptors.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Whether hubd closed `fd` (end of file, or a reset) within `limit`.
bool ClosedWithin(int fd, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  char buffer[256];
  while (absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) return true;  // what the server sent before closing is read past
    }
  }
  return false;
}

int PortOf(const HubProcess& hubd) {
  const std::string address = hubd.address();
  return std::stoi(address.substr(address.rfind(':') + 1));
}

TEST(ConnectionLimitsTest, SocketsThatNeverFinishTheHandshakeAreClosed) {
  HubProcess hubd(SharedPostgres().CreateDatabase(), {"--handshake_timeout=1s"});
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  std::vector<int> sockets;
  for (int i = 0; i < 40; ++i) {
    const int fd = Connect(PortOf(hubd));
    // Half of them send half an HTTP/2 preface, the rest nothing.
    if (i % 2 == 0) EXPECT_GT(write(fd, "PRI * HTTP/2.0\r\n", 16), 0);
    sockets.push_back(fd);
  }
  int closed = 0;
  for (int fd : sockets) {
    closed += ClosedWithin(fd, absl::Seconds(5));
    close(fd);
  }
  EXPECT_EQ(closed, 40);
  auto publisher = hubd.Publisher();
  EXPECT_TRUE(CreateTopic(*publisher, "orders").ok());
}

TEST(ConnectionLimitsTest, ConnectionsWithNoCallAreClosedWhenIdle) {
  HubProcess hubd(SharedPostgres().CreateDatabase(), {"--max_connection_idle=1s"});
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  std::shared_ptr<grpc::Channel> channel = hubd.Channel();
  auto publisher = v1::Publisher::NewStub(channel);
  ASSERT_TRUE(CreateTopic(*publisher, "orders").ok());
  EXPECT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);
  // The server's GOAWAY takes the channel out of READY; a new call
  // reconnects.
  const absl::Time start = absl::Now();
  while (channel->GetState(false) == GRPC_CHANNEL_READY &&
         absl::Now() < start + absl::Seconds(20)) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_NE(channel->GetState(false), GRPC_CHANNEL_READY);
  EXPECT_LT(absl::Now() - start, absl::Seconds(15)) << absl::Now() - start;
  EXPECT_TRUE(CreateTopic(*publisher, "billing").ok());
}

}  // namespace
}  // namespace hub::testing
