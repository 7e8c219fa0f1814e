#ifndef HUB_PG_CONNECTION_POOL_H_
#define HUB_PG_CONNECTION_POOL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hub/pg/connection.h"

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "hub/pg/pg_errors.h"

namespace hub::pg {

// A fixed-size pool of PostgreSQL connections, opened on demand. A
// connection that failed is discarded and a new one opened on the next
// demand, and an idle one is checked before it is handed out (one poll of
// its socket): that is how the hub rides out a database restart without
// failing a call on a connection that died while it idled.
class ConnectionPool {
 public:
  using Setup = std::function<void(Connection&)>;

  // The connection returns to the pool when the handle dies, unless it was
  // discarded.
  class Handle {
   public:
    Handle(ConnectionPool* pool, std::unique_ptr<Connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Handle(Handle&&) = default;
    Handle& operator=(Handle&&) = default;
    ~Handle();
    Connection& operator*() { return *conn_; }
    void Discard();

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // What the pool tells its owner (metrics): its state after each change,
  // and a connection that could not be opened.
  struct Observer {
    std::function<void(int in_use, int open, int waiting)> state;
    std::function<void(DbErrorKind)> connect_failed;
  };

  // `setup` runs once on every new connection (prepared statements, session
  // settings).
  ConnectionPool(std::string url, int size, Setup setup, Observer observer = {});

  // UNAVAILABLE when no connection can be opened or none frees up within
  // `wait`.
  absl::StatusOr<Handle> Acquire(absl::Duration wait = absl::Seconds(5));

 private:
  void Return(std::unique_ptr<Connection> conn);
  void Forget();
  void Observe() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string url_;
  const int size_;
  const Setup setup_;
  const Observer observer_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hub::pg

#endif  // HUB_PG_CONNECTION_POOL_H_
