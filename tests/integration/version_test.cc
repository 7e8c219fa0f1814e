// One version everywhere it is reported (CHANGELOG.md): hubd --version,
// hub_build_info, the chart's appVersion, the newest changelog entry.
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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

// hubd --help as flag -> default, from Abseil's lines "--name (help);
// default: value;" (wrapped; string defaults quoted, unquoted here).
std::map<std::string, std::string> HelpDefaults(const std::string& help) {
  const std::string text =
      absl::StrJoin(absl::StrSplit(help, absl::ByAnyChar("\n "), absl::SkipEmpty()), " ");
  std::map<std::string, std::string> defaults;
  for (size_t at = text.find("--"); at != std::string::npos; at = text.find(" --", at + 1)) {
    const size_t name_begin = text.find("--", at) + 2;
    const size_t name_end = text.find(" (", name_begin);
    const size_t value = text.find("; default: ", name_end);
    if (name_end == std::string::npos || value == std::string::npos) break;
    const std::string name = text.substr(name_begin, name_end - name_begin);
    if (name.find(' ') != std::string::npos) continue;  // "--" inside a help text
    const size_t begin = value + std::string("; default: ").size();
    std::string v = text.substr(begin, text.find(';', begin) - begin);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    defaults[name] = v;
  }
  return defaults;
}

// README's table of hubd flags as flag -> default ("" for none); a row of
// several flags lists their defaults in order.
std::map<std::string, std::string> ReadmeDefaults(const std::string& readme) {
  std::map<std::string, std::string> defaults;
  for (absl::string_view line : absl::StrSplit(readme, '\n')) {
    if (!absl::StartsWith(line, "| `--")) continue;
    const std::vector<std::string> cells = absl::StrSplit(line, " | ");
    if (cells.size() < 4) continue;
    auto ticked = [](const std::string& cell) {
      std::vector<std::string> out;
      const std::vector<std::string> parts = absl::StrSplit(cell, '`');
      for (size_t i = 1; i < parts.size(); i += 2) out.push_back(parts[i]);
      return out;
    };
    const std::vector<std::string> flags = ticked(cells[0]);
    std::vector<std::string> values = ticked(cells[2]);
    if (absl::StartsWith(cells[2], "none")) values.assign(flags.size(), "");
    if (values.size() != flags.size()) {
      ADD_FAILURE() << "README row with " << flags.size() << " flags and " << values.size()
                    << " defaults: " << line;
      continue;
    }
    for (size_t i = 0; i < flags.size(); ++i) defaults[flags[i].substr(2)] = values[i];
  }
  return defaults;
}

// --help lists hubd's own flags (Abseil's would hide them: "No flags
// matched") and exits 0; README's table names every one with the default
// hubd has (the defaults live in ServerConfig, and nowhere else in code).
TEST(HubdHelpTest, ReadmesTableOfFlagsIsHubdsHelp) {
  const CommandResult help = RunCommand(absl::StrCat(HUBD_PATH, " --help"));
  EXPECT_EQ(help.exit_code, 0);
  const std::map<std::string, std::string> from_help = HelpDefaults(help.out + help.err);
  EXPECT_GE(from_help.size(), 40u) << help.out;
  for (const char* flag : {"listen", "database_url", "metrics_listen", "tls_cert_file",
                           "policy_file", "max_message_bytes", "migrate_only"}) {
    EXPECT_TRUE(from_help.count(flag)) << flag;
  }
  EXPECT_EQ(ReadmeDefaults(ReadSourceFile("README.md")), from_help);
}

}  // namespace
}  // namespace hub::testing
