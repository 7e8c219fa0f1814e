#ifndef SERVICES_AUTH_CONFIG_LINES_H_
#define SERVICES_AUTH_CONFIG_LINES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hub::services::auth {

// One meaningful line of a tokens or policy file.
struct ConfigLine {
  int number;  // from 1, for error messages
  std::vector<absl::string_view> fields;
};

// The lines of `text` split into blank-separated fields, with `#` comments
// and empty lines dropped. The views point into `text`.
std::vector<ConfigLine> ConfigLines(absl::string_view text);

// The whole file at `path`; INVALID_ARGUMENT "cannot read [what ]path".
absl::StatusOr<std::string> ReadConfigFile(const std::string& path, absl::string_view what = "");

}  // namespace hub::services::auth

#endif  // SERVICES_AUTH_CONFIG_LINES_H_
