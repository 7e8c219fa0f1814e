#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/time/clock.h"

namespace hub::testing {

struct FaultProxy::Link {
  ~Link() {
    if (client >= 0) close(client);
    if (target >= 0) close(target);
  }
  // Both directions end, and each socket is reset rather than closed in
  // order, so the peers see the link die as a cut cable's far end would.
  void End() {
    ended = true;
    for (int fd : {client.load(), target.load()}) Reset(fd);
  }
  static void Reset(int fd) {
    if (fd < 0) return;
    const linger reset{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    shutdown(fd, SHUT_RDWR);
  }
  std::atomic<int> client{-1};
  std::atomic<int> target{-1};
  std::atomic<bool> ended{false};
};

namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// Writes all of `data`; false when the socket failed.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

FaultProxy::FaultProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 128) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("fault proxy");
    std::abort();
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  acceptor_.join();
  close(listen_fd_);
  Cut();
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

void FaultProxy::Set(Mode mode) { mode_ = mode; }

void FaultProxy::SetDelay(absl::Duration delay) { delay_us_ = absl::ToInt64Microseconds(delay); }

void FaultProxy::Cut() {
  absl::MutexLock lock(&mu_);
  for (const std::shared_ptr<Link>& link : links_) link->End();
  links_.clear();
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    pollfd fd{listen_fd_, POLLIN, 0};
    if (poll(&fd, 1, 100) <= 0) continue;
    const int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    ++accepted_;
    auto link = std::make_shared<Link>();
    link->client = client;
    absl::MutexLock lock(&mu_);
    links_.push_back(link);
    threads_.emplace_back([this, link] { Serve(link); });
  }
}

void FaultProxy::Serve(std::shared_ptr<Link> link) {
  // A partitioned target cannot be reached: the connection waits, as a
  // SYN without an answer would.
  while (mode_ == Mode::kPartition && !link->ended && !stopping_) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const int target = socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in addr = Loopback(target_port_);
  if (connect(target, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(target);
    link->End();
    return;
  }
  link->target = target;
  // Cut while it connected: End did not see this socket.
  if (link->ended) {
    Link::Reset(target);
    return;
  }
  std::thread back([this, link] { Pump(link, false); });
  Pump(link, true);
  back.join();
}

void FaultProxy::Pump(std::shared_ptr<Link> link, bool to_target) {
  const int from = to_target ? link->client : link->target;
  const int to = to_target ? link->target : link->client;
  char buffer[64 * 1024];
  while (!link->ended && !stopping_) {
    if (mode_ == Mode::kPartition) {
      absl::SleepFor(absl::Milliseconds(20));
      continue;
    }
    pollfd fd{from, POLLIN, 0};
    // The mode is read again after the wait: bytes that arrive after a
    // partition began must not pass.
    if (poll(&fd, 1, 50) <= 0 || mode_ == Mode::kPartition) continue;
    const ssize_t n = recv(from, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    if (const int64_t delay = delay_us_; delay > 0) absl::SleepFor(absl::Microseconds(delay));
    if (!WriteAll(to, buffer, static_cast<size_t>(n))) break;
  }
  link->End();
}

}  // namespace hub::testing
