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

// A PostgreSQL array literal built element by element, so that a batch's
// parameters are written in one pass over it, without a copy of each value
// first.
class ArrayLiteral {
 public:
  void AddText(absl::string_view value);  // quoted and escaped
  void AddInt(int64_t value);
  std::string Finish() &&;

 private:
  void Separate();

  std::string text_ = "{";
};

std::string IntArray(const std::vector<int64_t>& values);
std::string IntArray(const std::vector<int32_t>& values);
std::string TextArray(const std::vector<std::string>& values);
// Parses the text form of a bigint[] ("{1,2,3}").
std::vector<int64_t> ParseIntArray(absl::string_view text);

std::string LabelsToJson(const Labels& labels);
Labels LabelsFromJson(absl::string_view text);

// The UTC day the partition `name` of `table` holds (<table>_pYYYYMMDD);
// nullopt for any other name.
std::optional<absl::Time> PartitionDay(absl::string_view table, absl::string_view name);

// The delivery guarantee as subscriptions.delivery_guarantee stores it. The
// numbers are part of the schema: a new guarantee takes a new number, none
// is ever renumbered. An unknown stored number throws (a row no hubd wrote).
int StoredGuarantee(DeliveryGuarantee guarantee);
DeliveryGuarantee GuaranteeFromStored(int stored);

// Columns of kGetTopic / kListTopics.
TopicConfig TopicFromRow(const pqxx::row& row);
// Columns of kGetSnapshot / kListSnapshots.
SnapshotConfig SnapshotFromRow(const pqxx::row& row);
SchemaRevision SchemaFromRow(const pqxx::row& row);
// Columns of kGetSubscription / kListSubscriptions; parses the filter.
SubscriptionRecord SubscriptionFromRow(const pqxx::row& row);

}  // namespace hub::pg

#endif  // HUB_PG_PG_VALUES_H_
