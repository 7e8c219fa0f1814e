#include "services/listener.h"

#include <arpa/inet.h>
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

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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

// A peer's address, and address and port, as gRPC writes them after its
// scheme ("1.2.3.4:5678", "[::1]:5678"; an IPv4-mapped address as IPv4).
std::pair<std::string, std::string> PeerOf(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(peer);
    const int port = ntohs(v6.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
      inet_ntop(AF_INET, &v6.sin6_addr.s6_addr[12], text, sizeof(text));
      return {text, absl::StrCat(text, ":", port)};
    }
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
    return {text, absl::StrCat("[", text, "]:", port)};
  }
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(peer);
  inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
  return {text, absl::StrCat(text, ":", ntohs(v4.sin_port))};
}

// gRPC's peer ("ipv4:1.2.3.4:5678", "ipv6:%5B::1%5D:5678") as PeerOf
// writes it.
std::string PeerKey(absl::string_view peer) {
  for (absl::string_view scheme : {"ipv4:", "ipv6:"}) {
    if (absl::StartsWith(peer, scheme)) peer.remove_prefix(scheme.size());
  }
  return absl::StrReplaceAll(peer, {{"%5B", "["}, {"%5D", "]"}});
}

}  // namespace

int DefaultMaxConnections(int64_t open_file_limit) {
  if (open_file_limit <= 0) return 1000;
  return static_cast<int>(std::max<int64_t>(64, open_file_limit * 9 / 10 - 64));
}

absl::StatusOr<std::unique_ptr<Listener>> Listener::Bind(const std::string& address,
                                                         ListenerLimits limits,
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
  return std::unique_ptr<Listener>(new Listener(fd, port, limits, probe));
}

Listener::Listener(int fd, int port, ListenerLimits limits, ListenerProbe& probe)
    : fd_(fd), port_(port), limits_(limits), probe_(probe) {
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  spare_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

Listener::~Listener() {
  Stop();
  for (int fd : {fd_, wake_[0], wake_[1], spare_}) {
    if (fd >= 0) close(fd);
  }
  for (const auto& [fd, c] : open_) {
    if (c.held >= 0) close(c.held);
  }
}

void Listener::Authenticated(absl::string_view peer) {
  const std::string key = PeerKey(peer);
  absl::MutexLock lock(&mu_);
  unauthenticated_.erase(key);
  awaiting_ = static_cast<int64_t>(unauthenticated_.size());
}

void Listener::Release(Connection& c) {
  if (c.held < 0) return;
  close(c.held);
  c.held = -1;
  --held_;
}

void Listener::CloseUnauthenticated(Connection& c) {
  probe_.ConnectionUnauthenticatedClosed();
  // gRPC reads the end of the stream and closes its side.
  shutdown(c.held, SHUT_RDWR);
  Release(c);
}

void Listener::Forget(Connection& c) {
  Release(c);
  if (--per_address_[c.address] == 0) per_address_.erase(c.address);
  absl::MutexLock lock(&mu_);
  unauthenticated_.erase(c.peer);
  awaiting_ = static_cast<int64_t>(unauthenticated_.size());
}

bool Listener::HasAuthenticated(const Connection& c) {
  absl::MutexLock lock(&mu_);
  return !unauthenticated_.contains(c.peer);
}

Listener::Connection* Listener::Waiting(int fd, uint64_t inode) {
  auto it = open_.find(fd);
  if (it == open_.end() || it->second.inode != inode || it->second.held < 0) return nullptr;
  return &it->second;
}

bool Listener::Evict() {
  while (!arrivals_.empty()) {
    const auto [fd, inode] = arrivals_.front();
    arrivals_.pop_front();
    Connection* c = Waiting(fd, inode);
    if (c == nullptr) continue;
    if (HasAuthenticated(*c)) {
      Release(*c);
      continue;
    }
    CloseUnauthenticated(*c);
    return true;
  }
  return false;
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
  if (now - swept_ < kSweepInterval) return Load();
  swept_ = now;
  for (auto it = open_.begin(); it != open_.end();) {
    Connection& c = it->second;
    struct stat st {};
    // Closed by gRPC, and maybe reused for something else since.
    const bool gone = fstat(it->first, &st) != 0 || st.st_ino != c.inode || st.st_dev != c.device;
    if (gone) {
      Forget(c);
      open_.erase(it++);
      continue;
    }
    if (c.held >= 0) {
      if (HasAuthenticated(c)) {
        Release(c);
      } else if (now - c.accepted >= limits_.unauthenticated_timeout) {
        CloseUnauthenticated(c);
      }
    }
    ++it;
  }
  // Arrivals settled since (closed, authenticated) go from the front.
  while (!arrivals_.empty() &&
         Waiting(arrivals_.front().first, arrivals_.front().second) == nullptr) {
    arrivals_.pop_front();
  }
  probe_.Connections(static_cast<int64_t>(open_.size()));
  return Load();
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
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof(peer);
    const int fd = accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
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
    auto [address, peer_key] = PeerOf(peer);
    if (Sweep(absl::Now()) >= limits_.max_connections) {
      // Recounted now, not at the last sweep: only a true cap refuses. A
      // full port makes room by closing the connection that has waited
      // longest without an authenticated call, before it refuses anyone.
      swept_ = absl::InfinitePast();
      if (Sweep(absl::Now()) >= limits_.max_connections && !Evict()) {
        // Counted and said before the close, which the peer sees at once.
        probe_.ConnectionRefused();
        if (accepting_.exchange(false)) {
          Log(LogLevel::kWarning, "connection_cap_reached",
              {{"max_connections", absl::StrCat(limits_.max_connections)}});
        }
        close(fd);
        continue;
      }
    }
    auto share_full = [&] {
      const auto it = per_address_.find(address);
      return it != per_address_.end() && it->second >= limits_.max_connections_per_peer;
    };
    if (share_full()) {
      swept_ = absl::InfinitePast();  // recounted now, as above
      Sweep(absl::Now());
      if (share_full()) {
        // One address's share is full; the port still takes everyone else.
        probe_.ConnectionRefused();
        close(fd);
        continue;
      }
    }
    const int held = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (held < 0) {
      // No descriptor to close it by later: not taken.
      probe_.ConnectionRefused();
      close(fd);
      continue;
    }
    if (!accepting_.exchange(true)) {
      Log(LogLevel::kInfo, "accepting_again", {{"open_connections", absl::StrCat(open_.size())}});
    }
    // As gRPC's own listener does: without it small writes wait for the
    // peer's delayed ack (Nagle), 40 ms at a time.
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    ++per_address_[address];
    {
      absl::MutexLock lock(&mu_);
      unauthenticated_.insert(peer_key);
      awaiting_ = static_cast<int64_t>(unauthenticated_.size());
    }
    ++held_;
    arrivals_.emplace_back(fd, static_cast<uint64_t>(st.st_ino));
    open_[fd] = Connection{static_cast<uint64_t>(st.st_dev),
                           static_cast<uint64_t>(st.st_ino),
                           std::move(address),
                           std::move(peer_key),
                           absl::Now(),
                           held};
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
    const int64_t load = Sweep(absl::Now());
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) {
      AcceptAll();
    } else if (!accepting_.load() && load < limits_.max_connections && spare_ >= 0) {
      // Nothing waits, and there is room again.
      accepting_ = true;
      Log(LogLevel::kInfo, "accepting_again", {{"open_connections", absl::StrCat(open_.size())}});
    }
  }
}

}  // namespace hub::services
