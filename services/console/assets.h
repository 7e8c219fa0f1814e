#ifndef SERVICES_CONSOLE_ASSETS_H_
#define SERVICES_CONSOLE_ASSETS_H_

#include "absl/strings/string_view.h"

namespace hub::services {

// A file of services/console/assets/, built into hubd (embed_assets.cmake)
// so that the console needs nothing beside the binary.
struct ConsoleAsset {
  absl::string_view name;
  const char* content_type;
  absl::string_view body;
};

// The asset named `name`; null when there is none.
const ConsoleAsset* FindConsoleAsset(absl::string_view name);

}  // namespace hub::services

#endif  // SERVICES_CONSOLE_ASSETS_H_
