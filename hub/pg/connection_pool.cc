#include "hub/pg/connection_pool.h"

#include <poll.h>

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "hub/pg/pg_errors.h"

namespace hub::pg {

ConnectionPool::Handle::~Handle() {
  if (conn_ != nullptr) pool_->Return(std::move(conn_));
}

void ConnectionPool::Handle::Discard() {
  if (conn_ == nullptr) return;
  conn_.reset();
  pool_->Forget();
}

namespace {

// An idle connection has nothing to read: the server sends nothing unasked
// on the pool's sessions, except the error it sends as it ends one (a
// shutdown, a terminated backend) and the end of the stream. One poll, no
// round trip.
bool Alive(const Connection& conn) {
  if (!conn.is_open()) return false;
  pollfd fd{conn.sock(), POLLIN, 0};
  return poll(&fd, 1, 0) == 0;
}

}  // namespace

ConnectionPool::ConnectionPool(std::string url, int size, Setup setup, Observer observer)
    : url_(std::move(url)), size_(size), setup_(std::move(setup)), observer_(std::move(observer)) {}

void ConnectionPool::Observe() {
  if (observer_.state) {
    observer_.state(open_ - static_cast<int>(idle_.size()), open_, waiting_);
  }
}

absl::StatusOr<ConnectionPool::Handle> ConnectionPool::Acquire(absl::Duration wait) {
  const absl::Time deadline = absl::Now() + wait;
  for (;;) {
    std::unique_ptr<Connection> idle;
    {
      absl::MutexLock lock(&mu_);
      auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < size_;
      };
      if (!available()) {
        ++waiting_;
        Observe();
        const bool got = mu_.AwaitWithDeadline(absl::Condition(&available), deadline);
        --waiting_;
        if (!got) {
          Observe();
          return absl::UnavailableError("no database connection became free in time");
        }
      }
      if (idle_.empty()) {
        ++open_;
        Observe();
        break;
      }
      idle = std::move(idle_.back());
      idle_.pop_back();
      Observe();
    }
    if (Alive(*idle)) return Handle(this, std::move(idle));
    // Its server went away while it idled (a restart, a failover): nothing
    // was sent on it, and the next one, or a new one, serves the call.
    idle.reset();
    Forget();
  }
  // Opening a connection takes a round trip or more; it happens outside
  // the lock with the slot already reserved.
  try {
    auto conn = std::make_unique<Connection>(url_);
    if (setup_) setup_(*conn);
    return Handle(this, std::move(conn));
  } catch (const std::exception& e) {
    Forget();
    const DbErrorKind kind = ClassifyException(e);
    if (observer_.connect_failed) observer_.connect_failed(kind);
    return ReportDbError(kind, e.what());
  }
}

void ConnectionPool::Return(std::unique_ptr<Connection> conn) {
  if (!conn->is_open()) {
    Forget();
    return;
  }
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(conn));
  Observe();
}

void ConnectionPool::Forget() {
  absl::MutexLock lock(&mu_);
  --open_;
  Observe();
}

}  // namespace hub::pg
