#ifndef HUB_SCHEMA_PROTOBUF_SCHEMA_H_
#define HUB_SCHEMA_PROTOBUF_SCHEMA_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hub/schema/schema.h"

namespace hub {

// A .proto source declaring one top-level message type (nested types and
// enums allowed, imports not): the messages are that type.
absl::StatusOr<std::unique_ptr<const CompiledSchema>> CompileProtobufSchema(
    absl::string_view definition);

}  // namespace hub

#endif  // HUB_SCHEMA_PROTOBUF_SCHEMA_H_
