#include "services/listener.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace hub::services {
namespace {

constexpr int kBacklog = 1024;
// How often the open connections are counted again (one fstat each).
constexpr absl::Duration kSweepInterval = absl::Milliseconds(200);

absl::Status Errno(absl::string_view what, const std::string& address) {
  const bool taken = errno == EADDRINUSE;
  return absl::UnavailableError(
      absl::StrCat(what, " ", address, ": ", std::strerror(errno),
                   taken ? " (another hubd? `ss -ltnp` names the process that holds it)" : ""));
}

}  // namespace

int DefaultMaxConnections(int64_t open_file_limit) {
  if (open_file_limit <= 0) return 1000;
  return static_cast<int>(std::max<int64_t>(64, open_file_limit * 9 / 10 - 64));
}

absl::StatusOr<std::unique_ptr<Listener>> Listener::Bind(const std::string& address,
                                                         int max_connections,
                                                         ListenerProbe& probe) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("listen address ", address, " has no port"));
  }
  std::string host = address.substr(0, colon);
  const std::string service = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int rc =
          getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address ", address, ": ", gai_strerror(rc)));
  }
  absl::Status failed = absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      failed = Errno("socket for", address);
      continue;
    }
    const int on = 1, off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    // "[::]" takes IPv4 too, as gRPC's own listener does.
    if (a->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, kBacklog) != 0) {
      failed = Errno("cannot listen on", address);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return failed;
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  const int port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return std::unique_ptr<Listener>(new Listener(fd, port, max_connections, probe));
}

Listener::Listener(int fd, int port, int max_connections, ListenerProbe& probe)
    : fd_(fd), port_(port), max_connections_(max_connections), probe_(probe) {
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  spare_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

Listener::~Listener() {
  Stop();
  for (int fd : {fd_, wake_[0], wake_[1], spare_}) {
    if (fd >= 0) close(fd);
  }
}

void Listener::Start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor) {
  acceptor_ = std::move(acceptor);
  thread_ = std::thread([this] { Run(); });
}

void Listener::Stop() {
  if (!thread_.joinable()) return;
  const char byte = 0;
  [[maybe_unused]] ssize_t n = write(wake_[1], &byte, 1);
  thread_.join();
}

int64_t Listener::Sweep(absl::Time now) {
  if (now - swept_ < kSweepInterval) return static_cast<int64_t>(open_.size());
  swept_ = now;
  for (auto it = open_.begin(); it != open_.end();) {
    struct stat st {};
    // Closed by gRPC, and maybe reused for something else since.
    const bool gone = fstat(it->first, &st) != 0 || st.st_ino != it->second.inode ||
                      st.st_dev != it->second.device;
    if (gone) {
      open_.erase(it++);
    } else {
      ++it;
    }
  }
  probe_.Connections(static_cast<int64_t>(open_.size()));
  return static_cast<int64_t>(open_.size());
}

bool Listener::Shed() {
  if (spare_ < 0) return false;
  close(spare_);
  const int fd = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) {
    probe_.ConnectionRefused();  // before the close, which the peer sees at once
    close(fd);
  }
  spare_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0;
}

void Listener::AcceptAll() {
  if (spare_ < 0) spare_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (;;) {
    const int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        if (accepting_.exchange(false)) {
          Log(LogLevel::kWarning, "accept_failed",
              {{"error", std::strerror(errno)}, {"open_connections", absl::StrCat(open_.size())}});
        }
        // Until descriptors come back, connections are reset, not queued.
        if (Shed()) continue;
      }
      return;  // EAGAIN: none waiting; anything else is tried again later
    }
    struct stat st {};
    fstat(fd, &st);
    if (Sweep(absl::Now()) >= max_connections_) {
      // Recounted now, not at the last sweep: only a true cap refuses.
      swept_ = absl::InfinitePast();
      if (Sweep(absl::Now()) >= max_connections_) {
        // Counted and said before the close, which the peer sees at once.
        probe_.ConnectionRefused();
        if (accepting_.exchange(false)) {
          Log(LogLevel::kWarning, "connection_cap_reached",
              {{"max_connections", absl::StrCat(max_connections_)}});
        }
        close(fd);
        continue;
      }
    }
    if (!accepting_.exchange(true)) {
      Log(LogLevel::kInfo, "accepting_again", {{"open_connections", absl::StrCat(open_.size())}});
    }
    // As gRPC's own listener does: without it small writes wait for the
    // peer's delayed ack (Nagle), 40 ms at a time.
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    open_[fd] = Identity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
    p.listener_fd = fd_;
    p.fd = fd;
    acceptor_->HandleNewConnection(&p);
  }
}

void Listener::Run() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    // Out of descriptors, the listen socket stays readable: look again
    // shortly instead of spinning.
    const int timeout_ms = accepting_.load() ? 1000 : 100;
    const int ready = poll(fds, 2, timeout_ms);
    if (fds[1].revents != 0) return;
    const int64_t open = Sweep(absl::Now());
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) {
      AcceptAll();
    } else if (!accepting_.load() && open < max_connections_ && spare_ >= 0) {
      // Nothing waits, and there is room again.
      accepting_ = true;
      Log(LogLevel::kInfo, "accepting_again", {{"open_connections", absl::StrCat(open)}});
    }
  }
}

}  // namespace hub::services
