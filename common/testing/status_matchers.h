#ifndef COMMON_TESTING_STATUS_MATCHERS_H_
#define COMMON_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include <gmock/gmock.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// gMock matchers of absl::Status and absl::StatusOr<T>, which Abseil
// 20220623 does not ship (STYLE.md, 7):
//
//   EXPECT_THAT(hub.Publish(...), StatusIs(absl::StatusCode::kInvalidArgument));
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("topic")));
//   EXPECT_THAT(result, IsOk());
namespace hub::testing {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// The status's code is `code` and its message matches `message`.
MATCHER_P2(StatusIs, code, message,
           std::string(negation ? "isn't" : "is") + " a status of code " +
               absl::StatusCodeToString(code) + " whose message " +
               ::testing::DescribeMatcher<std::string>(message, negation)) {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "whose status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message, std::string(status.message()), result_listener);
}

// The status's code is `code`, whatever its message.
MATCHER_P(StatusIs, code,
          std::string(negation ? "isn't" : "is") + " a status of code " +
              absl::StatusCodeToString(code)) {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "whose status is " << status;
  return status.code() == code;
}

MATCHER(IsOk, std::string(negation ? "isn't" : "is") + " OK") {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "whose status is " << status;
  return status.ok();
}

}  // namespace hub::testing

#endif  // COMMON_TESTING_STATUS_MATCHERS_H_
