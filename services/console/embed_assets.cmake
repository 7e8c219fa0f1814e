# Writes a C++ source holding every file of services/console/assets/, so
# that hubd serves its console from the binary alone. Invoked at build time
# with -DASSETS_DIR=... -DOUTPUT=...
file(GLOB files "${ASSETS_DIR}/*")
list(SORT files)
set(body "")
foreach(path IN LISTS files)
  get_filename_component(name "${path}" NAME)
  get_filename_component(ext "${path}" LAST_EXT)
  if(ext STREQUAL ".html")
    set(type "text/html; charset=utf-8")
  elseif(ext STREQUAL ".js")
    set(type "text/javascript; charset=utf-8")
  elseif(ext STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  elseif(ext STREQUAL ".svg")
    set(type "image/svg+xml")
  else()
    message(FATAL_ERROR "console asset ${name}: no content type for ${ext}")
  endif()
  file(READ "${path}" text)
  string(FIND "${text}" ")hubasset\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "console asset ${name} holds the raw string's delimiter")
  endif()
  string(APPEND body "    {\"${name}\", \"${type}\", R\"hubasset(${text})hubasset\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from services/console/assets/ by embed_assets.cmake. Do not edit.
#include \"services/console/assets.h\"

namespace hub::services {

const ConsoleAsset* FindConsoleAsset(absl::string_view name) {
  static constexpr ConsoleAsset kAssets[] = {
${body}  };
  for (const ConsoleAsset& asset : kAssets) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

}  // namespace hub::services
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
