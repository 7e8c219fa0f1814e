#include "common/flag_usage.h"

#include <cstdlib>
#include <iostream>

#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/version.h"

namespace hub {

void ConfigureFlagUsage(std::string program, std::string flags_file, absl::string_view usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [flags_file](absl::string_view file) {
    return absl::EndsWith(file, flags_file);
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  // The repository's path, not the build machine's: from the file's folder.
  const std::string folder = flags_file.substr(0, flags_file.find('/') + 1);
  config.normalize_filename = [folder](absl::string_view file) {
    const size_t from = file.rfind(folder);
    return std::string(from == absl::string_view::npos ? file : file.substr(from));
  };
  config.version_string = [program] { return absl::StrCat(program, " ", kVersion, "\n"); };
  absl::SetFlagsUsageConfig(config);
}

void ParseFlags(int argc, char** argv) {
  absl::flags_internal::ParseCommandLineImpl(
      argc, argv, absl::flags_internal::ArgvListAction::kRemoveParsedArgs,
      absl::flags_internal::UsageFlagsAction::kIgnoreUsage,
      absl::flags_internal::OnUndefinedFlag::kAbortIfUndefined);
  if (absl::flags_internal::HandleUsageFlags(std::cout, absl::ProgramUsageMessage()) != -1) {
    std::exit(0);
  }
}

}  // namespace hub
