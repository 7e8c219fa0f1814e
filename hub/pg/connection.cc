#include "hub/pg/connection.h"

#include <arpa/inet.h>

#include <cstring>

#include <pqxx/except>

#include "absl/strings/str_cat.h"
#include "hub/pg/statements.h"

namespace hub::pg {

Connection::Connection(const std::string& url)
    : pqxx::connection_base(policy_), options_(url), policy_(options_) {
  init();
}

Connection::~Connection() noexcept { close(); }

pqxx::connectionpolicy::handle Connection::Policy::do_startconnect(handle orig) {
  conn = pqxx::connect_direct::do_startconnect(orig);
  ++generation;
  return conn;
}

pqxx::connectionpolicy::handle Connection::Policy::do_dropconnect(handle orig) noexcept {
  conn = nullptr;
  return pqxx::connect_direct::do_dropconnect(orig);
}

pqxx::connectionpolicy::handle Connection::Policy::do_disconnect(handle orig) noexcept {
  conn = nullptr;
  return pqxx::connect_direct::do_disconnect(orig);
}

bool Connection::NeedsPrepare(const char* name) {
  if (prepared_generation_ != policy_.generation) {
    prepared_.clear();
    prepared_generation_ = policy_.generation;
  }
  return prepared_.insert(name).second;
}

namespace {

// Throws for a failed result what libpqxx would throw for it.
[[noreturn]] void Throw(PGconn* conn, const PGresult* result, const char* query) {
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string message =
      result == nullptr ? PQerrorMessage(conn) : PQresultErrorMessage(result);
  if (PQstatus(conn) != CONNECTION_OK) throw pqxx::broken_connection(message);
  if (state != nullptr && std::strcmp(state, "40001") == 0) {
    throw pqxx::serialization_failure(message);
  }
  if (state != nullptr && std::strcmp(state, "40P01") == 0) {
    throw pqxx::deadlock_detected(message);
  }
  throw pqxx::sql_error(message, query, state);
}

// Takes a result and throws unless it has the status wanted.
PGresult* Check(PGconn* conn, PGresult* result, ExecStatusType wanted, const char* query) {
  if (result != nullptr && PQresultStatus(result) == wanted) return result;
  const std::unique_ptr<PGresult, void (*)(PGresult*)> owned(result, &PQclear);
  Throw(conn, result, query);
}

uint32_t Be32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return ntohl(v);
}

uint64_t Be64(const char* p) { return (uint64_t{Be32(p)} << 32) | Be32(p + 4); }

// The elements of a one-dimensional array without NULLs, in binary form:
// ndim, has-nulls flag, element type, then per dimension its length and
// lower bound, then per element its length and bytes.
template <typename T>
std::vector<T> ParseArray(absl::string_view bytes, size_t element_size) {
  std::vector<T> out;
  if (bytes.size() < 12) return out;
  const char* p = bytes.data();
  const uint32_t dims = Be32(p);
  if (dims == 0) return out;
  if (dims != 1 || Be32(p + 4) != 0 || bytes.size() < 20) {
    throw pqxx::failure("unexpected array shape in a binary result");
  }
  const uint32_t n = Be32(p + 12);
  if (bytes.size() != 20 + n * (4 + element_size)) {
    throw pqxx::failure("binary array of unexpected size");
  }
  out.reserve(n);
  for (const char* e = p + 20; e < bytes.data() + bytes.size(); e += 4 + element_size) {
    if (Be32(e) != element_size) throw pqxx::failure("binary array element of unexpected size");
    out.push_back(static_cast<T>(element_size == 8 ? Be64(e + 4) : Be32(e + 4)));
  }
  return out;
}

// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
constexpr int64_t kPostgresEpochMicros = 946684800LL * 1000000;

}  // namespace

bool BinaryResult::IsNull(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

absl::string_view BinaryResult::Bytes(int row, int column) const {
  return absl::string_view(PQgetvalue(result_.get(), row, column),
                           static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

int64_t BinaryResult::Int64(int row, int column) const {
  const absl::string_view v = Bytes(row, column);
  if (v.size() == 8) return static_cast<int64_t>(Be64(v.data()));
  if (v.size() == 4) return static_cast<int32_t>(Be32(v.data()));
  throw pqxx::failure(absl::StrCat("column ", column, " is not an integer"));
}

int32_t BinaryResult::Int32(int row, int column) const {
  const absl::string_view v = Bytes(row, column);
  if (v.size() != 4) throw pqxx::failure(absl::StrCat("column ", column, " is not an integer"));
  return static_cast<int32_t>(Be32(v.data()));
}

bool BinaryResult::Bool(int row, int column) const {
  const absl::string_view v = Bytes(row, column);
  if (v.size() != 1) throw pqxx::failure(absl::StrCat("column ", column, " is not a boolean"));
  return v[0] != 0;
}

int64_t BinaryResult::UnixMicros(int row, int column) const {
  return Int64(row, column) + kPostgresEpochMicros;
}

std::vector<int32_t> BinaryResult::Int32Array(int row, int column) const {
  return ParseArray<int32_t>(Bytes(row, column), 4);
}

std::vector<int64_t> BinaryResult::Int64Array(int row, int column) const {
  return ParseArray<int64_t>(Bytes(row, column), 8);
}

bool UsesUnnamedStatements(pqxx::transaction_base& tx) {
  // libpqxx's connection_base has no virtual functions to check the type
  // by; every connection the statements run on is a Connection.
  return static_cast<const Connection&>(tx.conn()).unnamed_statements();
}

void PrepareBinary(Connection& conn, const Statement& statement) {
  PGconn* raw = conn.raw();
  if (raw == nullptr) throw pqxx::broken_connection("the connection is closed");
  if (!conn.NeedsPrepare(statement.name)) return;
  PQclear(Check(raw, PQprepare(raw, statement.name, statement.text, 0, nullptr), PGRES_COMMAND_OK,
                statement.text));
}

BinaryResult ExecBinary(Connection& conn, const Statement& statement,
                        absl::Span<const Param> params) {
  if (!conn.unnamed_statements()) PrepareBinary(conn, statement);
  PGconn* raw = conn.raw();
  if (raw == nullptr) throw pqxx::broken_connection("the connection is closed");
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size()), formats(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i].null ? nullptr : params[i].value.data();
    lengths[i] = static_cast<int>(params[i].value.size());
    formats[i] = params[i].format;
  }
  PGresult* result = conn.unnamed_statements()
                         ? PQexecParams(raw, statement.text, static_cast<int>(params.size()),
                                        nullptr, values.data(), lengths.data(), formats.data(), 1)
                         : PQexecPrepared(raw, statement.name, static_cast<int>(params.size()),
                                          values.data(), lengths.data(), formats.data(), 1);
  if (result != nullptr && PQresultStatus(result) == PGRES_COMMAND_OK) return BinaryResult(result);
  return BinaryResult(Check(raw, result, PGRES_TUPLES_OK, statement.text));
}

}  // namespace hub::pg
