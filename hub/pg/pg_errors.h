#ifndef HUB_PG_PG_ERRORS_H_
#define HUB_PG_PG_ERRORS_H_

#include <exception>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

// pqxx exceptions -> absl::Status, in two exhaustive steps: an exception is
// first classified into a DbErrorKind (which also labels error metrics),
// and the kind decides the status code by what the caller should do.
namespace hub::pg {

enum class DbErrorKind {
  kConnection,           // the server is unreachable or went away: retry
  kCommitUnknown,        // COMMIT's outcome is unknown: retry with the same keys
  kConflict,             // serialization failure, deadlock, lock timeout
  kUniqueViolation,      // a row with that key exists
  kForeignKeyViolation,  // a referenced row is gone
  kServerShutdown,       // admin shutdown, crash recovery, starting up
  kReadOnly,             // a standby (or a demoted primary): the primary moved
  kCanceled,             // statement timeout or cancel request
  kDiskFull,             // the server's disk is full: writes fail until space is freed
  kResources,            // out of memory or connections on the server
  kOther,                // a bug: bad SQL, broken invariant (keep it last)
};

// Classifies by exception type first and then by SQLSTATE.
DbErrorKind ClassifySqlState(absl::string_view sqlstate);
DbErrorKind ClassifyException(const std::exception& e);

// What the caller is told: a code by what to do, and a message that names
// the kind of failure only. Database details (server addresses, SQL, table
// names) stay in the log.
absl::Status StatusFromDbError(DbErrorKind kind);

// Logs `detail` (at most one line per kind a second) and maps the kind.
absl::Status ReportDbError(DbErrorKind kind, absl::string_view detail);

// Convenience for catch blocks: classify, report and map.
absl::Status StatusFromException(const std::exception& e);

absl::string_view DbErrorKindName(DbErrorKind kind);

}  // namespace hub::pg

#endif  // HUB_PG_PG_ERRORS_H_
