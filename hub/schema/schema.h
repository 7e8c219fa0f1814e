#ifndef HUB_SCHEMA_SCHEMA_H_
#define HUB_SCHEMA_SCHEMA_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hub/types.h"

// Schemas of topics (docs/schemas.md): a definition parsed once, then used
// to validate every message published to a topic, and to decide whether a
// new revision may follow the ones topics use. Protocol Buffers definitions
// are read with libprotobuf's own parser into a descriptor pool (no code is
// generated); Avro ones with Avro's C library.
namespace hub {

class CompiledSchema {
 public:
  virtual ~CompiledSchema() = default;

  // OK when `message` is a valid encoding of the schema's type; otherwise
  // INVALID_ARGUMENT saying where (the field's path) and what is wrong.
  virtual absl::Status Validate(absl::string_view message, SchemaEncoding encoding) const = 0;

  // OK when a consumer built on this revision can read every message
  // written with `writer` (a revision of the same type); otherwise
  // INVALID_ARGUMENT naming the first change that breaks it.
  virtual absl::Status CanRead(const CompiledSchema& writer) const = 0;
};

// INVALID_ARGUMENT, with the line and column where it can, when the
// definition is not one of `type`.
absl::StatusOr<std::unique_ptr<const CompiledSchema>> CompileSchema(SchemaType type,
                                                                    absl::string_view definition);

// The API's names of types and encodings ("PROTOCOL_BUFFER", "JSON").
absl::string_view SchemaTypeName(SchemaType type);
absl::string_view SchemaEncodingName(SchemaEncoding encoding);

}  // namespace hub

#endif  // HUB_SCHEMA_SCHEMA_H_
