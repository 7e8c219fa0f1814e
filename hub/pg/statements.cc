#include "hub/pg/statements.h"

#include "absl/strings/str_cat.h"

namespace hub::pg {

std::string CreatePartitionSql(absl::string_view name, absl::Time day) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  constexpr char kBound[] = "%Y-%m-%d 00:00:00+00";
  return absl::StrCat("CREATE TABLE IF NOT EXISTS ", name,
                      " PARTITION OF messages FOR VALUES FROM ('",
                      absl::FormatTime(kBound, day, utc), "') TO ('",
                      absl::FormatTime(kBound, day + absl::Hours(24), utc), "')");
}

std::string DropPartitionSql(absl::string_view quoted_name) {
  return absl::StrCat("DROP TABLE IF EXISTS ", quoted_name);
}

}  // namespace hub::pg
