#ifndef COMMON_FLAG_USAGE_H_
#define COMMON_FLAG_USAGE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace hub {

// Sets what --help and --version print for `program`: --help lists the
// flags defined in the file whose path ends in `flags_file` (the program's
// own, not Abseil's, which would leave "No flags matched."), with paths as
// in the repository; --version prints "<program> <version>". `usage` is the
// line above the flags. Call before absl::ParseCommandLine.
void ConfigureFlagUsage(std::string program, std::string flags_file, absl::string_view usage);

// absl::ParseCommandLine, but --help (and --helpfull, --helpshort, ...)
// exits 0 after printing, as every other tool's help does: Abseil's exits
// 1, which a script takes for a failure. A bad flag still exits 1.
void ParseFlags(int argc, char** argv);

}  // namespace hub

#endif  // COMMON_FLAG_USAGE_H_
