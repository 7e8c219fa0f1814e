#ifndef HUB_PG_CONNECTION_H_
#define HUB_PG_CONNECTION_H_

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

// The store's connection: a libpqxx connection whose libpq handle the hot
// paths also use directly. libpqxx 6.4 asks for every result in text form,
// so a bytea comes back as hex, twice its size, and is decoded again; the
// statements that move payloads (publish, claims, the reads of segments)
// run through ExecBinary instead, with the payload sent as one binary
// parameter and every result column in binary form (docs/design.md,
// "Segments").
namespace hub::pg {

class Connection final : public pqxx::connection_base {
 public:
  explicit Connection(const std::string& url);
  ~Connection() noexcept;

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The libpq connection libpqxx opened (null while closed).
  PGconn* raw() const { return policy_.conn; }

  // Whether `name` was prepared on the current libpq connection; if not,
  // records that it now is (the caller prepares it).
  bool NeedsPrepare(const char* name);

  // A connection through a pooler in transaction mode (PgBouncer) reaches
  // a different server session in each transaction, where nothing it
  // prepared exists: its statements then go unnamed, parsed with each
  // execution (docs/deploy.md, "Through PgBouncer").
  void UseUnnamedStatements() { unnamed_statements_ = true; }
  bool unnamed_statements() const { return unnamed_statements_; }

 private:
  // libpqxx's direct connection policy, which also notes the handle it
  // opens, so that a reconnect starts with nothing prepared.
  struct Policy final : pqxx::connect_direct {
    explicit Policy(const std::string& options) : pqxx::connect_direct(options) {}
    handle do_startconnect(handle orig) override;
    handle do_dropconnect(handle orig) noexcept override;
    handle do_disconnect(handle orig) noexcept override;
    PGconn* conn = nullptr;
    int generation = 0;
  };

  std::string options_;
  Policy policy_;
  int prepared_generation_ = -1;
  std::set<std::string> prepared_;
  bool unnamed_statements_ = false;
};

// One parameter of ExecBinary: text, binary (bytea) or NULL. The value is
// not copied: it must outlive the call. libpq reads a text parameter up to
// its NUL, hence a whole std::string.
struct Param {
  static Param Text(const std::string& v) { return {v, 0, false}; }
  static Param Binary(absl::string_view v) { return {v, 1, false}; }
  static Param Null() { return {{}, 0, true}; }
  absl::string_view value;
  int format;
  bool null;
};

// A result whose columns are in binary form, read by their PostgreSQL types.
class BinaryResult {
 public:
  explicit BinaryResult(PGresult* result) : result_(result, &PQclear) {}

  int size() const { return PQntuples(result_.get()); }
  bool empty() const { return size() == 0; }
  bool IsNull(int row, int column) const;
  // bigint, integer, boolean, bytea or text, and timestamptz as unix
  // microseconds.
  int64_t Int64(int row, int column) const;
  int32_t Int32(int row, int column) const;
  bool Bool(int row, int column) const;
  absl::string_view Bytes(int row, int column) const;
  int64_t UnixMicros(int row, int column) const;
  // integer[] and bigint[] (one dimension, no NULL elements).
  std::vector<int32_t> Int32Array(int row, int column) const;
  std::vector<int64_t> Int64Array(int row, int column) const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

struct Statement;

// Prepares `statement` for ExecBinary on `conn`, unless it is already.
void PrepareBinary(Connection& conn, const Statement& statement);

// Runs `statement` on `conn` (inside whatever transaction libpqxx has open
// on it), preparing it first on a connection that has not; every result
// column in binary form. Throws what libpqxx would (pqxx::sql_error with
// the SQLSTATE, pqxx::broken_connection), so that the store's error
// handling treats both kinds of statement alike.
BinaryResult ExecBinary(Connection& conn, const Statement& statement,
                        absl::Span<const Param> params);

}  // namespace hub::pg

#endif  // HUB_PG_CONNECTION_H_
