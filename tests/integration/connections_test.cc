// Connection bounds (docs/security.md, "Connections"): sockets that never
// finish the HTTP/2 handshake, and connections with no call, are closed, so
// that they cannot hold hubd's file descriptors; past the cap or the
// open-file limit the port sheds connections and is not ready, and serves
// again once they go. With HUB_SERVING_SCALE=full at the scale of issue 20.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
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

// A metric's value on /metrics (0 when absent).
double Metric(const HubProcess& hubd, const std::string& name) {
  const std::string text = HttpGet(hubd.metrics_port(), "/metrics");
  const size_t at = text.find(absl::StrCat("\n", name, " "));
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + name.size() + 2));
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
    if (i % 2 == 0) {
      EXPECT_GT(write(fd, "PRI * HTTP/2.0\r\n", 16), 0);
    }
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

bool FullScale() {
  const char* scale = std::getenv("HUB_SERVING_SCALE");
  return scale != nullptr && std::string(scale) == "full";
}

// Waits until /readyz says `body`.
bool ReadyzSays(const HubProcess& hubd, const std::string& body, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (HttpGet(hubd.metrics_port(), "/readyz") == body) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

// One call on a fresh connection, with `limit` to succeed.
grpc::Status CallWithin(const HubProcess& hubd, absl::Duration limit) {
  // A channel of its own down to the subchannel: channels that share one
  // inherit its reconnect backoff from a connection refused a moment ago.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto publisher = v1::Publisher::NewStub(
      grpc::CreateCustomChannel(hubd.address(), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + limit));
  v1::ListTopicsRequest request;
  v1::ListTopicsResponse response;
  return publisher->ListTopics(&context, request, &response);
}

// Opens up to `count` sockets to hubd that send nothing.
std::vector<int> SilentSockets(const HubProcess& hubd, int count) {
  // This process needs a descriptor for each of them too.
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) {
    const int fd = Connect(PortOf(hubd));
    if (fd < 0) break;
    fds.push_back(fd);
  }
  return fds;
}

// Issue 20, finding 1: silent sockets past hubd's open-file limit stopped
// gRPC's listener for good. With the default cap (below the limit) hubd
// closes what is past it, says it is not ready meanwhile, and serves again
// as soon as they close.
TEST(ConnectionLimitsTest, SilentSocketsPastTheDefaultCapAreShedAndThePortRecovers) {
  const int limit = FullScale() ? 16384 : 1024;
  const int sockets = FullScale() ? 19000 : 1200;
  HubProcess hubd(SharedPostgres().CreateDatabase(), {"--handshake_timeout=120s"});
  hubd.LimitOpenFiles(limit);
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  std::vector<int> fds = SilentSockets(hubd, sockets);
  EXPECT_TRUE(ReadyzSays(hubd, "not ready\n", absl::Seconds(10)));
  const double refused = Metric(hubd, "hub_grpc_connections_refused_total");
  EXPECT_GT(refused, 0);
  for (int fd : fds) close(fd);
  // gRPC closes its side of each socket as it sees the end of it: at the
  // full scale (14,681 connections on two cores) that takes longer than a
  // second, and a connection that comes first meets the cap.
  const absl::Time closed = absl::Now();
  grpc::Status call = CallWithin(hubd, absl::Seconds(1));
  while (!call.ok() && absl::Now() - closed < absl::Seconds(30)) {
    call = CallWithin(hubd, absl::Seconds(1));
  }
  const absl::Duration recovered = absl::Now() - closed;
  std::printf(
      "%zu silent sockets, open-file limit %d: %.0f refused; a call succeeded %s after "
      "they closed\n",
      fds.size(), limit, refused, absl::FormatDuration(recovered).c_str());
  EXPECT_TRUE(call.ok()) << call.error_message();
  EXPECT_LT(recovered, FullScale() ? absl::Seconds(10) : absl::Seconds(1));
  EXPECT_TRUE(ReadyzSays(hubd, "ready\n", absl::Seconds(2)));
}

// With a cap above the open-file limit, accept itself fails for want of a
// descriptor; hubd resets what it cannot take, and its port comes back.
TEST(ConnectionLimitsTest, AcceptOutOfFileDescriptorsRecovers) {
  HubProcess hubd(SharedPostgres().CreateDatabase(),
                  {"--handshake_timeout=120s", "--max_connections=100000"});
  hubd.LimitOpenFiles(1024);
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  std::vector<int> fds = SilentSockets(hubd, 1200);
  absl::SleepFor(absl::Seconds(2));
  for (int fd : fds) close(fd);
  const absl::Time closed = absl::Now();
  const grpc::Status call = CallWithin(hubd, absl::Seconds(1));
  EXPECT_TRUE(call.ok()) << call.error_message() << " after "
                         << absl::FormatDuration(absl::Now() - closed);
  EXPECT_TRUE(ReadyzSays(hubd, "ready\n", absl::Seconds(2)));
  EXPECT_GT(Metric(hubd, "hub_grpc_connections_refused_total"), 0);
}

// Connections past --max_connections are closed at once, and the port is
// not ready until there is room.
TEST(ConnectionLimitsTest, ConnectionsPastTheCapAreClosedAtOnce) {
  HubProcess hubd(SharedPostgres().CreateDatabase(),
                  {"--handshake_timeout=120s", "--max_connections=50"});
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  // The harness's readiness check used a connection; wait for it to go.
  ASSERT_TRUE(ReadyzSays(hubd, "ready\n", absl::Seconds(5)));
  std::vector<int> fds;
  for (int i = 0; i < 80; ++i) fds.push_back(Connect(PortOf(hubd)));
  int closed = 0;
  for (int fd : fds) closed += ClosedWithin(fd, absl::Milliseconds(100));
  // The harness's own channel may hold one of the 50.
  EXPECT_GE(closed, 30);
  EXPECT_LE(closed, 31);
  EXPECT_TRUE(ReadyzSays(hubd, "not ready\n", absl::Seconds(2)));
  EXPECT_FALSE(CallWithin(hubd, absl::Seconds(1)).ok());
  for (int fd : fds) close(fd);
  // A call the moment they close may still meet the cap (the count is
  // taken again every 200 ms); within a second one gets through.
  const absl::Time closed_at = absl::Now();
  grpc::Status call = CallWithin(hubd, absl::Seconds(1));
  while (!call.ok() && absl::Now() - closed_at < absl::Seconds(1)) {
    call = CallWithin(hubd, absl::Seconds(1));
  }
  EXPECT_TRUE(call.ok()) << call.error_message();
  EXPECT_TRUE(ReadyzSays(hubd, "ready\n", absl::Seconds(2)));
  EXPECT_GE(Metric(hubd, "hub_grpc_connections_refused_total"), 30);
}

}  // namespace
}  // namespace hub::testing

namespace hub::testing {
namespace {

// A second hubd on a port in use says so, and exits 1 (issue 22: a second
// `make run`).
TEST(ListenTest, APortInUseIsNamedAsSuch) {
  const int port = FreePort();
  const int taken = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(taken, 1), 0);
  const CommandResult run = RunCommand(
      absl::StrCat("HUB_DATABASE_URL='", SharedPostgres().CreateDatabase(), "' ", HUBD_PATH,
                   " --listen=127.0.0.1:", port, " --metrics_listen=127.0.0.1:", FreePort()));
  close(taken);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "Address already in use")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "another hubd?")) << run.err;
}

}  // namespace
}  // namespace hub::testing
