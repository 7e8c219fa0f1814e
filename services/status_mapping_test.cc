#include "services/status_mapping.h"

#include <gtest/gtest.h>

namespace hub::services {
namespace {

struct Row {
  absl::StatusCode absl_code;
  grpc::StatusCode grpc_code;
};

// Every absl code, one row each: the mapping must be one-to-one.
constexpr Row kTable[] = {
    {absl::StatusCode::kOk, grpc::StatusCode::OK},
    {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
    {absl::StatusCode::kUnknown, grpc::StatusCode::UNKNOWN},
    {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
    {absl::StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED},
    {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
    {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
    {absl::StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
    {absl::StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
    {absl::StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
    {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED},
    {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE},
    {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED},
    {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL},
    {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
    {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS},
    {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
};

TEST(StatusMappingTest, EveryCodeMapsToItsGrpcNamesake) {
  for (const Row& row : kTable) {
    EXPECT_EQ(ToGrpcCode(row.absl_code), row.grpc_code) << absl::StatusCodeToString(row.absl_code);
  }
}

TEST(StatusMappingTest, MessageIsKept) {
  const grpc::Status s = ToGrpcStatus(absl::NotFoundError("topic orders not found"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "topic orders not found");
}

TEST(StatusMappingTest, ALongMessageIsCutToWhatGrpcSends) {
  const grpc::Status short_one(grpc::StatusCode::NOT_FOUND, "topic orders not found", "details");
  EXPECT_EQ(Sendable(short_one).error_message(), short_one.error_message());
  const grpc::Status long_one(grpc::StatusCode::INVALID_ARGUMENT, std::string(5'000'000, 'x'),
                              "details");
  const grpc::Status cut = Sendable(long_one);
  EXPECT_EQ(cut.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(cut.error_message(), std::string(kMaxStatusMessageBytes, 'x') + "... (5000000 bytes)");
  EXPECT_EQ(cut.error_details(), "details");
}

TEST(StatusMappingTest, OkIsOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(ToGrpcCode(absl::StatusCode::kOk), grpc::StatusCode::OK);
}

}  // namespace
}  // namespace hub::services
