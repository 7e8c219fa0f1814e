#include "hub/pg/connection_pool.h"

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

ConnectionPool::ConnectionPool(std::string url, int size, Setup setup, Observer observer)
    : url_(std::move(url)), size_(size), setup_(std::move(setup)), observer_(std::move(observer)) {}

void ConnectionPool::Observe() {
  if (observer_.state) {
    observer_.state(open_ - static_cast<int>(idle_.size()), open_, waiting_);
  }
}

absl::StatusOr<ConnectionPool::Handle> ConnectionPool::Acquire(absl::Duration wait) {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < size_;
    };
    if (!available()) {
      ++waiting_;
      Observe();
      const bool got = mu_.AwaitWithTimeout(absl::Condition(&available), wait);
      --waiting_;
      if (!got) {
        Observe();
        return absl::UnavailableError("no database connection became free in time");
      }
    }
    if (!idle_.empty()) {
      std::unique_ptr<pqxx::connection> conn = std::move(idle_.back());
      idle_.pop_back();
      Observe();
      return Handle(this, std::move(conn));
    }
    ++open_;
    Observe();
  }
  // Opening a connection takes a round trip or more; it happens outside
  // the lock with the slot already reserved.
  try {
    auto conn = std::make_unique<pqxx::connection>(url_);
    if (setup_) setup_(*conn);
    return Handle(this, std::move(conn));
  } catch (const std::exception& e) {
    Forget();
    const DbErrorKind kind = ClassifyException(e);
    if (observer_.connect_failed) observer_.connect_failed(kind);
    return ReportDbError(kind, e.what());
  }
}

void ConnectionPool::Return(std::unique_ptr<pqxx::connection> conn) {
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
