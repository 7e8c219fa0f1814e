#ifndef HUB_SCHEMA_AVRO_SCHEMA_H_
#define HUB_SCHEMA_AVRO_SCHEMA_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hub/schema/schema.h"

namespace hub {

// An Avro schema in JSON (the specification's "Schema Declaration"): the
// messages are values of it, in Avro's binary or JSON encoding.
absl::StatusOr<std::unique_ptr<const CompiledSchema>> CompileAvroSchema(
    absl::string_view definition);

}  // namespace hub

#endif  // HUB_SCHEMA_AVRO_SCHEMA_H_
