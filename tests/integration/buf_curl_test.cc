// The API through an independent client: buf curl, which knows nothing of
// our C++ code and learns the schema from server reflection.
#include <cstdio>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

struct CurlResult {
  int exit_code;
  std::string output;
};

class BufCurlTest : public HubTest {
 protected:
  CurlResult Call(const std::string& method, const std::string& json) {
    const std::string command =
        absl::StrCat(BUF_PATH, " curl --protocol grpc --http2-prior-knowledge -d '", json,
                     "' http://", hubd_->address(), "/", method, " 2>&1");
    FILE* pipe = popen(command.c_str(), "r");
    std::string output;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), pipe)) > 0) output.append(chunk, n);
    const int status = pclose(pipe);
    return {WEXITSTATUS(status), output};
  }
};

TEST_F(BufCurlTest, PublishPullAndAckThroughReflection) {
  CurlResult r = Call("hub.v1.Publisher/CreateTopic", R"({"name":"orders"})");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, R"("dedupWindow": "86400s")")) << r.output;

  r = Call("hub.v1.Subscriber/CreateSubscription",
           R"({"name":"billing","topic":"orders","deliveryGuarantee":"EXACTLY_ONCE"})");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  r = Call(
      "hub.v1.Publisher/Publish",
      R"({"topic":"orders","messages":[{"data":"aGVsbG8=","attributes":{"kind":"order"},"idempotencyKey":"k1"}]})");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, R"("messageId": "1")")) << r.output;
  r = Call("hub.v1.Publisher/Publish",
           R"({"topic":"orders","messages":[{"data":"aGVsbG8=","idempotencyKey":"k1"}]})");
  EXPECT_TRUE(absl::StrContains(r.output, R"("duplicate": true)")) << r.output;

  r = Call("hub.v1.Subscriber/Pull",
           R"({"subscription":"billing","maxMessages":10,"maxWait":"2s"})");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, R"("data": "aGVsbG8=")")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, R"("deliveryAttempt": 1)")) << r.output;
  const size_t at = r.output.find(R"("ackId": ")");
  ASSERT_NE(at, std::string::npos);
  const size_t start = at + 10;
  const std::string ack_id = r.output.substr(start, r.output.find('"', start) - start);

  r = Call("hub.v1.Subscriber/Acknowledge",
           absl::StrCat(R"({"subscription":"billing","ackIds":[")", ack_id, R"(","nope"]})"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, R"("status": "OK")")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, R"("status": "INVALID")")) << r.output;
}

// Reflection describes every service it lists: the health service and
// the Pub/Sub API too.
TEST_F(BufCurlTest, ReflectionDescribesTheHealthService) {
  FILE* pipe = popen(absl::StrCat(BUF_PATH, " curl --protocol grpc --http2-prior-knowledge ",
                                  "--list-methods http://", hubd_->address(), " 2>&1")
                         .c_str(),
                     "r");
  std::string methods;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), pipe)) > 0) methods.append(chunk, n);
  EXPECT_EQ(WEXITSTATUS(pclose(pipe)), 0) << methods;
  EXPECT_TRUE(absl::StrContains(methods, "grpc.health.v1.Health/Check")) << methods;
  EXPECT_TRUE(absl::StrContains(methods, "hub.v1.Publisher/Publish")) << methods;
  // The Pub/Sub API beside it (docs/pubsub.md).
  EXPECT_TRUE(absl::StrContains(methods, "google.pubsub.v1.Publisher/Publish")) << methods;
  EXPECT_TRUE(absl::StrContains(methods, "google.pubsub.v1.Subscriber/StreamingPull")) << methods;

  CurlResult r = Call("grpc.health.v1.Health/Check", "{}");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, R"("status": "SERVING")")) << r.output;
  // Pub/Sub's messages too, with the google/api files they import.
  r = Call("google.pubsub.v1.Publisher/CreateTopic", R"({"name":"projects/hub/topics/via-buf"})");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, R"("name": "projects/hub/topics/via-buf")")) << r.output;
}

TEST_F(BufCurlTest, ErrorsCarryTheApiCodes) {
  CurlResult r = Call("hub.v1.Publisher/GetTopic", R"({"name":"missing"})");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.output, R"("code": "not_found")")) << r.output;
  r = Call("hub.v1.Publisher/CreateTopic", R"({"name":"9bad"})");
  EXPECT_TRUE(absl::StrContains(r.output, R"("code": "invalid_argument")")) << r.output;
  r = Call("hub.v1.Publisher/Publish", R"({"topic":"orders","messages":[]})");
  EXPECT_TRUE(absl::StrContains(r.output, R"("code": "invalid_argument")")) << r.output;
}

}  // namespace
}  // namespace hub::testing
