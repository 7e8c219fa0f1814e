#ifndef HUB_PG_PG_VALUES_H_
#define HUB_PG_PG_VALUES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/row>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hub/types.h"

// Conversions between domain values and what PgStore sends and reads:
// PostgreSQL array literals (text parameters), JSON label maps, rows.
namespace hub::pg {

inline int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

std::string IntArray(const std::vector<int64_t>& values);
std::string IntArray(const std::vector<int32_t>& values);
std::string BoolArray(const std::vector<bool>& values);
std::string TextArray(const std::vector<std::string>& values);
// nullopt elements become SQL NULL.
std::string TextArray(const std::vector<std::optional<std::string>>& values);
// Parses the text form of a bigint[] ("{1,2,3}").
std::vector<int64_t> ParseIntArray(absl::string_view text);

std::string LabelsToJson(const Labels& labels);
Labels LabelsFromJson(absl::string_view text);

// Columns of kGetTopic / kListTopics.
TopicConfig TopicFromRow(const pqxx::row& row);
// Columns of HUB_SQL_SUBSCRIPTION_COLUMNS; parses the filter.
SubscriptionRecord SubscriptionFromRow(const pqxx::row& row);
// HUB_SQL_MESSAGE_COLUMNS from column `first`: (position, message).
std::pair<int64_t, Message> MessageFromRow(const pqxx::row& row, int first);

}  // namespace hub::pg

#endif  // HUB_PG_PG_VALUES_H_
