#include "client/internal/grpc_hub_stub.h"

#include <gtest/gtest.h>

#include "common/testing/status_matchers.h"

namespace hub::client::internal {
namespace {

using ::hub::testing::IsOk;
using ::hub::testing::StatusIs;

TEST(FromGrpcCodeTest, MapsEveryCodeToItsNamesake) {
  const std::pair<grpc::StatusCode, absl::StatusCode> table[] = {
      {grpc::StatusCode::OK, absl::StatusCode::kOk},
      {grpc::StatusCode::CANCELLED, absl::StatusCode::kCancelled},
      {grpc::StatusCode::UNKNOWN, absl::StatusCode::kUnknown},
      {grpc::StatusCode::INVALID_ARGUMENT, absl::StatusCode::kInvalidArgument},
      {grpc::StatusCode::DEADLINE_EXCEEDED, absl::StatusCode::kDeadlineExceeded},
      {grpc::StatusCode::NOT_FOUND, absl::StatusCode::kNotFound},
      {grpc::StatusCode::ALREADY_EXISTS, absl::StatusCode::kAlreadyExists},
      {grpc::StatusCode::PERMISSION_DENIED, absl::StatusCode::kPermissionDenied},
      {grpc::StatusCode::UNAUTHENTICATED, absl::StatusCode::kUnauthenticated},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, absl::StatusCode::kResourceExhausted},
      {grpc::StatusCode::FAILED_PRECONDITION, absl::StatusCode::kFailedPrecondition},
      {grpc::StatusCode::ABORTED, absl::StatusCode::kAborted},
      {grpc::StatusCode::OUT_OF_RANGE, absl::StatusCode::kOutOfRange},
      {grpc::StatusCode::UNIMPLEMENTED, absl::StatusCode::kUnimplemented},
      {grpc::StatusCode::INTERNAL, absl::StatusCode::kInternal},
      {grpc::StatusCode::UNAVAILABLE, absl::StatusCode::kUnavailable},
      {grpc::StatusCode::DATA_LOSS, absl::StatusCode::kDataLoss},
      {grpc::StatusCode::DO_NOT_USE, absl::StatusCode::kUnknown},
  };
  for (const auto& [grpc_code, absl_code] : table) {
    EXPECT_EQ(FromGrpcCode(grpc_code), absl_code) << static_cast<int>(grpc_code);
  }
  const absl::Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "no topic"));
  EXPECT_EQ(s, absl::NotFoundError("no topic"));
}

TEST(MakeChannelTest, RefusesAUrlWhereHostAndPortBelong) {
  for (const char* endpoint : {"http://127.0.0.1:50051", "HTTPS://hub:443", "hub:1,http://x:2"}) {
    ConnectionOptions o;
    o.endpoint = endpoint;
    EXPECT_THAT(MakeChannel(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                         ::testing::HasSubstr("give host:port, without")))
        << endpoint;
  }
  ConnectionOptions plain;
  plain.endpoint = "127.0.0.1:50051";
  EXPECT_THAT(MakeChannel(plain), IsOk());
}

TEST(MakeChannelTest, RefusesUnreadableOrHalfGivenCertificates) {
  ConnectionOptions o;
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(MakeChannel(o), StatusIs(absl::StatusCode::kInvalidArgument));
  ConnectionOptions half;
  half.tls = true;
  half.cert_file = "/etc/hostname";
  EXPECT_THAT(MakeChannel(half), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(MakeChannel(ConnectionOptions{}).ok());
}

}  // namespace
}  // namespace hub::client::internal
