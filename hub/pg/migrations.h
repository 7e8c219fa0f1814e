#ifndef HUB_PG_MIGRATIONS_H_
#define HUB_PG_MIGRATIONS_H_

#include "absl/strings/string_view.h"

#include <pqxx/connection>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace hub::pg {

struct Migration {
  int version;
  absl::string_view name;
  absl::string_view sql;
};

// The files of migrations/, built into the binary (generated at build time)
// in version order.
absl::Span<const Migration> EmbeddedMigrations();

// Applies the migrations not yet recorded in hub_schema_migrations, each in
// its own transaction together with its record, under a session advisory
// lock so that replicas starting at once apply each migration exactly once.
// Applying twice is a no-op.
absl::Status ApplyMigrations(pqxx::connection_base& conn, absl::Span<const Migration> migrations);

}  // namespace hub::pg

#endif  // HUB_PG_MIGRATIONS_H_
