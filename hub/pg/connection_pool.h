#ifndef HUB_PG_CONNECTION_POOL_H_
#define HUB_PG_CONNECTION_POOL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hub::pg {

// A fixed-size pool of PostgreSQL connections, opened on demand. A
// connection that failed is discarded and a new one opened on the next
// demand, which is how the hub rides out a database restart.
class ConnectionPool {
 public:
  using Setup = std::function<void(pqxx::connection&)>;

  // The connection returns to the pool when the handle dies, unless it was
  // discarded.
  class Handle {
   public:
    Handle(ConnectionPool* pool, std::unique_ptr<pqxx::connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Handle(Handle&&) = default;
    Handle& operator=(Handle&&) = default;
    ~Handle();
    pqxx::connection& operator*() { return *conn_; }
    void Discard();

   private:
    ConnectionPool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  // `setup` runs once on every new connection (prepared statements, session
  // settings).
  ConnectionPool(std::string url, int size, Setup setup);

  // UNAVAILABLE when no connection can be opened or none frees up within
  // `wait`.
  absl::StatusOr<Handle> Acquire(absl::Duration wait = absl::Seconds(5));

 private:
  void Return(std::unique_ptr<pqxx::connection> conn);
  void Forget();

  const std::string url_;
  const int size_;
  const Setup setup_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hub::pg

#endif  // HUB_PG_CONNECTION_POOL_H_
