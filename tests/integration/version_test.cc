// One version everywhere it is reported (CHANGELOG.md): hubd --version,
// hub_build_info, the chart's appVersion, the newest changelog entry.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/version.h"
#include "tests/support/hub_test.h"

namespace hub::testing {
namespace {

std::string ReadSourceFile(const std::string& path) {
  std::ifstream in(std::string(HUB_SOURCE_DIR) + "/" + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class VersionTest : public HubTest {};

TEST_F(VersionTest, HubdTheMetricTheChartAndTheChangelogAgree) {
  const CommandResult version = RunCommand(absl::StrCat(HUBD_PATH, " --version"));
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, absl::StrCat("hubd ", kVersion, "\n"));
  EXPECT_TRUE(absl::StrContains(HttpGet(hubd_->metrics_port(), "/metrics"),
                                absl::StrCat("hub_build_info{version=\"", kVersion, "\"} 1")));
  EXPECT_TRUE(absl::StrContains(ReadSourceFile("charts/message-hub/Chart.yaml"),
                                absl::StrCat("appVersion: \"", kVersion, "\"")));
  const std::string changelog = ReadSourceFile("CHANGELOG.md");
  // The newest entry is the first "## <version>" heading.
  const size_t newest = changelog.find("\n## ");
  ASSERT_NE(newest, std::string::npos);
  const size_t end = changelog.find_first_of(" \n", newest + 4);
  EXPECT_EQ(changelog.substr(newest + 4, end - newest - 4), kVersion);
}

// --help lists hubd's own flags (Abseil's would hide them: "No flags
// matched").
TEST(HubdHelpTest, ListsEveryFlagOfHubd) {
  const CommandResult help = RunCommand(absl::StrCat(HUBD_PATH, " --help"));
  for (const char* flag : {"--listen", "--database_url", "--metrics_listen", "--tls_cert_file",
                           "--policy_file", "--max_message_bytes", "--migrate_only"}) {
    EXPECT_TRUE(absl::StrContains(help.out + help.err, flag)) << flag;
  }
}

}  // namespace
}  // namespace hub::testing
