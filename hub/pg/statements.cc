#include "hub/pg/statements.h"

#include "absl/strings/str_cat.h"

namespace hub::pg {

std::string PartitionName(absl::string_view table, absl::Time day) {
  return absl::StrCat(table, absl::FormatTime("_p%Y%m%d", day, absl::UTCTimeZone()));
}

std::string CreatePartitionSql(absl::string_view table, absl::Time day) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  constexpr char kBound[] = "%Y-%m-%d 00:00:00+00";
  return absl::StrCat("CREATE TABLE IF NOT EXISTS ", PartitionName(table, day), " PARTITION OF ",
                      table, " FOR VALUES FROM ('", absl::FormatTime(kBound, day, utc), "') TO ('",
                      absl::FormatTime(kBound, day + absl::Hours(24), utc), "')");
}

std::string DropPartitionSql(absl::string_view quoted_name) {
  return absl::StrCat("DROP TABLE IF EXISTS ", quoted_name);
}

}  // namespace hub::pg
