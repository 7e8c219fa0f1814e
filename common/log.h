#ifndef COMMON_LOG_H_
#define COMMON_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

// Structured logs: one JSON object per line on stderr, for notable events
// only (start, stop, database lost and back), never per message at info.
namespace hub {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
bool ParseLogLevel(absl::string_view text, LogLevel* level);
// "debug", "info", "warning" or "error".
const char* LogLevelName(LogLevel level);

using LogField = std::pair<absl::string_view, std::string>;
void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields = {});

}  // namespace hub

#endif  // COMMON_LOG_H_
