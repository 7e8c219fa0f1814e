#include "adapters/http_ingress/publish_request.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace hub::adapters {
namespace {

const char kPath[] = "/v1/topics/orders:publish";
const HttpHeaders kJson = {{"content-type", "application/json; charset=utf-8"}};

TEST(ParsePublishRequestTest, JsonMessagesWithEveryField) {
  auto request = ParsePublishRequest(kPath, kJson, R"({"messages": [
      {"data": "one", "attributes": {"kind": "a"}, "ordering_key": "k", "idempotency_key": "i1"},
      {"data_base64": "AAEC"}]})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->topic, "orders");
  ASSERT_EQ(request->messages.size(), 2u);
  EXPECT_EQ(request->messages[0].data, "one");
  EXPECT_EQ(request->messages[0].attributes.at("kind"), "a");
  EXPECT_EQ(request->messages[0].ordering_key, "k");
  EXPECT_EQ(request->messages[0].idempotency_key, "i1");
  EXPECT_EQ(request->messages[1].data, std::string("\0\1\2", 3));
}

TEST(ParsePublishRequestTest, IdempotencyKeyHeaderKeysEachMessage) {
  HttpHeaders headers = kJson;
  headers.emplace_back("idempotency-key", "req-7");
  auto one = ParsePublishRequest(kPath, headers, R"({"messages": [{"data": "a"}]})");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->messages[0].idempotency_key, "req-7");
  auto two = ParsePublishRequest(
      kPath, headers, R"({"messages": [{"data": "a"}, {"data": "b", "idempotency_key": "own"}]})");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->messages[0].idempotency_key, "req-7:0");
  EXPECT_EQ(two->messages[1].idempotency_key, "own");
}

TEST(ParsePublishRequestTest, RawBodyTakesAttributesFromHeaders) {
  auto request = ParsePublishRequest(kPath,
                                     {{"content-type", "text/plain"},
                                      {"x-hub-attribute-source", "legacy"},
                                      {"x-hub-ordering-key", "customer-1"},
                                      {"idempotency-key", "k1"}},
                                     "raw bytes");
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_EQ(request->messages.size(), 1u);
  EXPECT_EQ(request->messages[0].data, "raw bytes");
  EXPECT_EQ(request->messages[0].attributes.at("source"), "legacy");
  EXPECT_EQ(request->messages[0].ordering_key, "customer-1");
  EXPECT_EQ(request->messages[0].idempotency_key, "k1");
}

TEST(ParsePublishRequestTest, BadRequestsAreRefusedWithTheirReason) {
  struct Case {
    std::string path, body, expected;
    absl::StatusCode code;
  };
  std::string too_many = R"({"messages": [)";
  for (int i = 0; i <= kMaxMessagesPerRequest; ++i)
    absl::StrAppend(&too_many, i ? "," : "", R"({"data":"x"})");
  too_many += "]}";
  const Case cases[] = {
      {"/v1/topics/orders", "{}", "the only path", absl::StatusCode::kNotFound},
      {"/v1/topics/:publish", "{}", "the only path", absl::StatusCode::kNotFound},
      {"/v1/topics/a/b:publish", "{}", "the only path", absl::StatusCode::kNotFound},
      {kPath, "{not json", "not valid JSON", absl::StatusCode::kInvalidArgument},
      {kPath, R"({"data": "x"})", "must be {\"messages\"", absl::StatusCode::kInvalidArgument},
      {kPath, R"({"messages": []})", "must not be empty", absl::StatusCode::kInvalidArgument},
      {kPath, R"({"messages": [{"data": 5}]})", "messages[0].data must be a string",
       absl::StatusCode::kInvalidArgument},
      {kPath, R"({"messages": [{"dta": "x"}]})", "unknown field \"dta\"",
       absl::StatusCode::kInvalidArgument},
      {kPath, R"({"messages": [{"data_base64": "%%%"}]})", "not base64",
       absl::StatusCode::kInvalidArgument},
      {kPath, R"({"messages": [{"attributes": {"a": 1}}]})", "attributes.a must be a string",
       absl::StatusCode::kInvalidArgument},
      {kPath, too_many, "at most 1000 messages", absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    auto request = ParsePublishRequest(c.path, kJson, c.body);
    EXPECT_EQ(request.status().code(), c.code) << c.path << " " << c.body.substr(0, 40);
    EXPECT_NE(request.status().message().find(c.expected), std::string::npos)
        << request.status() << " wanted " << c.expected;
  }
}

TEST(HttpStatusForTest, PushBackIsRetryableEverythingElseIsNot) {
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kResourceExhausted), 503);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusFor(absl::StatusCode::kInternal), 500);
}

TEST(ResponseBodyTest, ResultsAndErrorsAreJson) {
  EXPECT_EQ(ResultsBody({{"m1", false}, {"m2", true}}),
            "{\"results\":[{\"duplicate\":false,\"message_id\":\"m1\"},"
            "{\"duplicate\":true,\"message_id\":\"m2\"}]}\n");
  EXPECT_EQ(ErrorBody(absl::NotFoundError("no topic")),
            "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"no topic\"}}\n");
}

}  // namespace
}  // namespace hub::adapters
