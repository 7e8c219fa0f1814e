#include "adapters/runtime/config.h"

#include <gtest/gtest.h>

#include "adapters/runtime/runtime.h"

namespace hub::adapters {
namespace {

ConfigSection Parse(const std::string& yaml) {
  auto root = ConfigSection::Parse(yaml);
  EXPECT_TRUE(root.ok()) << root.status();
  return *root;
}

TEST(ConfigSectionTest, ReadsTypedValuesAndDefaults) {
  ConfigSection root = Parse(R"(
a:
  name: orders
  count: 7
  on: true
  wait: 250ms
  paths: [/x/*.log, /y/*.log]
  labels: {team: billing}
)");
  ConfigSection a = root.Section("a");
  EXPECT_EQ(a.RequiredString("name"), "orders");
  EXPECT_EQ(a.Int("count", 1, 0, 10), 7);
  EXPECT_TRUE(a.Bool("on", false));
  EXPECT_EQ(a.Duration("wait", absl::Seconds(1)), absl::Milliseconds(250));
  EXPECT_EQ(a.StringList("paths"), (std::vector<std::string>{"/x/*.log", "/y/*.log"}));
  EXPECT_EQ(a.StringMap("labels").at("team"), "billing");
  EXPECT_EQ(a.String("absent", "fallback"), "fallback");
  EXPECT_TRUE(root.Finish().ok()) << root.Finish();
}

TEST(ConfigSectionTest, UnknownKeyIsAnErrorWithItsPath) {
  ConfigSection root = Parse("a:\n  name: x\n  nmae: y\n");
  ConfigSection a = root.Section("a");
  a.RequiredString("name");
  absl::Status status = root.Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("a.nmae"), std::string::npos) << status;
}

TEST(ConfigSectionTest, MissingRequiredWrongTypeAndOutOfRangeAreErrors) {
  {
    ConfigSection root = Parse("a: {}\n");
    root.Section("a").RequiredString("topic");
    EXPECT_NE(root.Finish().message().find("a.topic is required"), std::string::npos);
  }
  {
    ConfigSection root = Parse("n: [1, 2]\n");
    root.Int("n", 0, 0, 10);
    EXPECT_NE(root.Finish().message().find("n has a value of the wrong type"), std::string::npos);
  }
  {
    ConfigSection root = Parse("n: 11\n");
    root.Int("n", 0, 0, 10);
    EXPECT_NE(root.Finish().message().find("between 0 and 10"), std::string::npos);
  }
  {
    ConfigSection root = Parse("d: soon\n");
    root.Duration("d", absl::Seconds(1));
    EXPECT_NE(root.Finish().message().find("positive duration"), std::string::npos);
  }
}

TEST(ConfigSectionTest, HubSectionBecomesConnectionOptions) {
  ConfigSection root =
      Parse("hub:\n  endpoint: hub:50051\n  token: secret\n  tls: true\n  call_timeout: 3s\n");
  client::ConnectionOptions options = ReadHubSection(root.Section("hub"));
  EXPECT_TRUE(root.Finish().ok());
  EXPECT_EQ(options.endpoint, "hub:50051");
  EXPECT_EQ(options.bearer_token, "secret");
  EXPECT_TRUE(options.tls);
  EXPECT_EQ(options.call_timeout, absl::Seconds(3));
}

TEST(ConfigSectionTest, UnreadableTokenFileIsAnError) {
  ConfigSection root = Parse("hub:\n  token_file: /nonexistent/token\n");
  ReadHubSection(root.Section("hub"));
  EXPECT_NE(root.Finish().message().find("hub.token_file"), std::string::npos);
}

}  // namespace
}  // namespace hub::adapters
