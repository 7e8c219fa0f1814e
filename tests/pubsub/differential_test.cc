// The same client script against Google's Pub/Sub emulator and against the
// hub: every line where the two answer differently must be one that
// docs/pubsub.md names in its table of differences from the emulator, and
// every line the table names must differ. So the table stays true both ways.
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/support/hub_test.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

constexpr char kEmulator[] =
    "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator";

// Step -> answer, from client.js's transcript scenario against `host`.
std::map<std::string, std::string> Transcript(const std::string& host, const std::string& run) {
  const CommandResult r = RunCommand(
      absl::StrCat("/usr/bin/env NODE_PATH=", HUB_SOURCE_DIR, "/.tools/node_modules ",
                   "METADATA_SERVER_DETECTION=none PUBSUB_EMULATOR_HOST=", host, " HUB_RUN=", run,
                   " node ", HUB_SOURCE_DIR, "/tests/pubsub/client.js transcript"));
  EXPECT_EQ(r.exit_code, 0) << host << "\n" << r.out << r.err;
  std::map<std::string, std::string> steps;
  const size_t at = r.out.rfind("RESULT ");
  if (at == std::string::npos) {
    ADD_FAILURE() << host << ": no RESULT in\n" << r.out << r.err;
    return steps;
  }
  const nlohmann::json result = nlohmann::json::parse(r.out.substr(at + 7));
  for (const auto& line : result["lines"]) {
    const std::string text = line.get<std::string>();
    const size_t colon = text.find(": ");
    steps[text.substr(0, colon)] = text.substr(colon + 2);
  }
  return steps;
}

// The steps docs/pubsub.md's "Differences from the emulator" table names:
// the first cell of each row, in backticks.
std::set<std::string> DocumentedDifferences() {
  std::ifstream in(absl::StrCat(HUB_SOURCE_DIR, "/docs/pubsub.md"));
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const size_t start = doc.find("## Differences from the emulator");
  EXPECT_NE(start, std::string::npos) << "docs/pubsub.md has no differences section";
  std::set<std::string> steps;
  if (start == std::string::npos) return steps;
  const size_t end = doc.find("\n## ", start + 1);
  for (absl::string_view line :
       absl::StrSplit(doc.substr(start, end == std::string::npos ? end : end - start), '\n')) {
    if (!absl::StartsWith(line, "| `")) continue;
    const size_t close = line.find('`', 3);
    steps.insert(std::string(line.substr(3, close - 3)));
  }
  return steps;
}

class DifferentialTest : public HubTest {
 protected:
  void SetUp() override {
    HubTest::SetUp();
    ASSERT_EQ(access(kEmulator, X_OK), 0)
        << kEmulator << " is missing: install google-cloud-cli-pubsub-emulator";
    emulator_port_ = FreePort();
    emulator_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/bin/sh", "-c",
        absl::StrCat("exec ", kEmulator, " --host=127.0.0.1 --port=", emulator_port_, " 2>&1")});
    // It says so on its output once it listens.
    std::string line;
    do {
      line = emulator_->ReadLine(absl::Seconds(60));
    } while (!line.empty() && !absl::StrContains(line, "Server started"));
    ASSERT_FALSE(line.empty()) << "the emulator did not start";
  }

  int emulator_port_ = 0;
  std::unique_ptr<ChildProcess> emulator_;
};

TEST_F(DifferentialTest, EveryDifferenceFromTheEmulatorIsDocumented) {
  const std::string run = absl::StrCat(absl::ToUnixMicros(absl::Now()));
  const auto reference = Transcript(absl::StrCat("127.0.0.1:", emulator_port_), run);
  const auto hub = Transcript(hubd_->address(), run);
  ASSERT_FALSE(reference.empty());
  ASSERT_EQ(reference.size(), hub.size());
  std::set<std::string> differ;
  std::vector<std::string> report;
  for (const auto& [step, answer] : reference) {
    ASSERT_TRUE(hub.contains(step)) << step;
    if (hub.at(step) == answer) continue;
    differ.insert(step);
    report.push_back(absl::StrCat(step, ": emulator ", answer, ", hub ", hub.at(step)));
  }
  // Printed, so that a run shows where the two differ.
  std::cout << "differences from the emulator:\n  " << absl::StrJoin(report, "\n  ") << "\n";
  EXPECT_EQ(differ, DocumentedDifferences()) << absl::StrJoin(report, "\n");
  // Most of the story the two tell alike.
  EXPECT_GT(reference.size() - differ.size(), differ.size());
}

}  // namespace
}  // namespace hub::testing
