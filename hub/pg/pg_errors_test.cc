#include "hub/pg/pg_errors.h"

#include <stdexcept>

#include <gtest/gtest.h>
#include <pqxx/except>

namespace hub::pg {
namespace {

TEST(PgErrorsTest, SqlStatesClassify) {
  const struct {
    const char* sqlstate;
    DbErrorKind kind;
  } table[] = {
      {"23505", DbErrorKind::kUniqueViolation}, {"23503", DbErrorKind::kForeignKeyViolation},
      {"40001", DbErrorKind::kConflict},        {"40P01", DbErrorKind::kConflict},
      {"55P03", DbErrorKind::kConflict},        {"57014", DbErrorKind::kCanceled},
      {"08006", DbErrorKind::kConnection},      {"08001", DbErrorKind::kConnection},
      {"57P01", DbErrorKind::kServerShutdown},  {"57P03", DbErrorKind::kServerShutdown},
      {"25006", DbErrorKind::kReadOnly},        {"53100", DbErrorKind::kDiskFull},
      {"53300", DbErrorKind::kResources},       {"42601", DbErrorKind::kOther},
      {"22P02", DbErrorKind::kOther},
  };
  for (const auto& row : table) {
    EXPECT_EQ(ClassifySqlState(row.sqlstate), row.kind) << row.sqlstate;
  }
}

TEST(PgErrorsTest, ExceptionTypesClassifyBeforeSqlState) {
  EXPECT_EQ(ClassifyException(pqxx::broken_connection("gone")), DbErrorKind::kConnection);
  EXPECT_EQ(ClassifyException(pqxx::in_doubt_error("commit?")), DbErrorKind::kCommitUnknown);
  EXPECT_EQ(ClassifyException(pqxx::statement_completion_unknown("?")),
            DbErrorKind::kCommitUnknown);
  EXPECT_EQ(ClassifyException(pqxx::serialization_failure("x")), DbErrorKind::kConflict);
  EXPECT_EQ(ClassifyException(pqxx::unique_violation("dup", "q", "23505")),
            DbErrorKind::kUniqueViolation);
  EXPECT_EQ(ClassifyException(pqxx::deadlock_detected("x")), DbErrorKind::kConflict);
  EXPECT_EQ(ClassifyException(pqxx::sql_error("syntax", "q", "42601")), DbErrorKind::kOther);
  EXPECT_EQ(ClassifyException(std::runtime_error("other")), DbErrorKind::kOther);
}

// Every kind, one row each, with the code the API promises for it.
TEST(PgErrorsTest, KindsMapToTheCodeThatSaysWhatToDo) {
  const struct {
    DbErrorKind kind;
    absl::StatusCode code;
  } table[] = {
      {DbErrorKind::kConnection, absl::StatusCode::kUnavailable},
      {DbErrorKind::kCommitUnknown, absl::StatusCode::kUnavailable},
      {DbErrorKind::kConflict, absl::StatusCode::kAborted},
      {DbErrorKind::kUniqueViolation, absl::StatusCode::kAlreadyExists},
      {DbErrorKind::kForeignKeyViolation, absl::StatusCode::kNotFound},
      {DbErrorKind::kServerShutdown, absl::StatusCode::kUnavailable},
      {DbErrorKind::kReadOnly, absl::StatusCode::kUnavailable},
      {DbErrorKind::kCanceled, absl::StatusCode::kUnavailable},
      {DbErrorKind::kDiskFull, absl::StatusCode::kUnavailable},
      {DbErrorKind::kResources, absl::StatusCode::kUnavailable},
      {DbErrorKind::kOther, absl::StatusCode::kInternal},
  };
  for (const auto& row : table) {
    EXPECT_EQ(StatusFromDbError(row.kind).code(), row.code) << DbErrorKindName(row.kind);
  }
}

// Callers never read the database's own words: a server address, SQL or a
// table name is the operator's to see, in the log.
TEST(PgErrorsTest, ReportedStatusesCarryNoDatabaseDetail) {
  const std::string detail =
      "connection to server at \"127.0.0.1\", port 5701 failed: Connection refused";
  for (int k = 0; k <= static_cast<int>(DbErrorKind::kOther); ++k) {
    const absl::Status status = ReportDbError(static_cast<DbErrorKind>(k), detail);
    EXPECT_EQ(status.message().find("127.0.0.1"), absl::string_view::npos) << status;
    EXPECT_EQ(status.message().find("port"), absl::string_view::npos) << status;
  }
  EXPECT_EQ(StatusFromException(pqxx::broken_connection(detail)).message(), "database unavailable");
}

}  // namespace
}  // namespace hub::pg
