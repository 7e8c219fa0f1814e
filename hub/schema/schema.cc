#include "hub/schema/schema.h"

#include "hub/schema/protobuf_schema.h"

namespace hub {

absl::StatusOr<std::unique_ptr<const CompiledSchema>> CompileSchema(SchemaType type,
                                                                    absl::string_view definition) {
  switch (type) {
    case SchemaType::kProtocolBuffer:
      return CompileProtobufSchema(definition);
    case SchemaType::kAvro:
      // Not yet: docs/schemas.md says so, and the call is UNIMPLEMENTED.
      return absl::UnimplementedError("AVRO schemas are not served yet; use PROTOCOL_BUFFER");
  }
  return absl::InvalidArgumentError("unknown schema type");
}

absl::string_view SchemaTypeName(SchemaType type) {
  return type == SchemaType::kAvro ? "AVRO" : "PROTOCOL_BUFFER";
}

absl::string_view SchemaEncodingName(SchemaEncoding encoding) {
  return encoding == SchemaEncoding::kBinary ? "BINARY" : "JSON";
}

}  // namespace hub
