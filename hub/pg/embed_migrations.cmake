# Writes a C++ source holding every migrations/*.sql file, so hubd carries
# its schema and runs from any folder. Invoked at build time with
#   -DMIGRATIONS_DIR=... -DOUTPUT=...
file(GLOB files "${MIGRATIONS_DIR}/*.sql")
list(SORT files)
set(body "")
foreach(path IN LISTS files)
  get_filename_component(name "${path}" NAME)
  string(REGEX MATCH "^[0-9]+" version "${name}")
  if(version STREQUAL "")
    message(FATAL_ERROR "migration ${name} does not start with its number")
  endif()
  math(EXPR version "${version}")
  file(READ "${path}" sql)
  string(APPEND body "    {${version}, \"${name}\", R\"hubsql(${sql})hubsql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from migrations/ by embed_migrations.cmake. Do not edit.
#include \"hub/pg/migrations.h\"

namespace hub::pg {

absl::Span<const Migration> EmbeddedMigrations() {
  static constexpr Migration kMigrations[] = {
${body}  };
  return kMigrations;
}

}  // namespace hub::pg
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
