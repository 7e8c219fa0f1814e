#include "hub/schema/schema.h"

#include "hub/schema/avro_schema.h"
#include "hub/schema/protobuf_schema.h"

namespace hub {

absl::StatusOr<std::unique_ptr<const CompiledSchema>> CompileSchema(SchemaType type,
                                                                    absl::string_view definition) {
  switch (type) {
    case SchemaType::kProtocolBuffer:
      return CompileProtobufSchema(definition);
    case SchemaType::kAvro:
      return CompileAvroSchema(definition);
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
