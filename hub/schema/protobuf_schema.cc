// PROTOCOL_BUFFER schemas: a .proto source with one top-level message,
// parsed by libprotobuf's compiler classes into a pool of its own.
#include "hub/schema/protobuf_schema.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/wire_format_lite.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace hub {
namespace {

namespace gp = ::google::protobuf;
using gp::Descriptor;
using gp::FieldDescriptor;
using gp::internal::WireFormatLite;

// Deeper messages than this are refused rather than followed: protobuf's
// own parsers stop at 100 as well.
constexpr int kMaxDepth = 100;

absl::Status Invalid(absl::string_view what) { return absl::InvalidArgumentError(what); }

// The first error the tokenizer, the parser or the pool reports, with its
// place in the definition.
class FirstError final : public gp::io::ErrorCollector, public gp::DescriptorPool::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty())
      first_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ", message);
  }
  void AddError(const std::string&, const std::string& element, const gp::Message*, ErrorLocation,
                const std::string& message) override {
    if (first_.empty()) first_ = absl::StrCat(element, ": ", message);
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

std::string Path(const std::string& parent, const FieldDescriptor& field) {
  return parent.empty() ? field.name() : absl::StrCat(parent, ".", field.name());
}

absl::Status FieldError(const std::string& path, absl::string_view what) {
  return Invalid(
      absl::StrCat(path.empty() ? "the message" : absl::StrCat("field ", path), ": ", what));
}

// Reads one value of `wire_type`; false when the bytes end first or the
// value is malformed.
bool ReadScalar(WireFormatLite::WireType wire_type, gp::io::CodedInputStream& in) {
  uint64_t v64;
  uint32_t v32;
  switch (wire_type) {
    case WireFormatLite::WIRETYPE_VARINT:
      return in.ReadVarint64(&v64);
    case WireFormatLite::WIRETYPE_FIXED64:
      return in.ReadLittleEndian64(&v64);
    case WireFormatLite::WIRETYPE_FIXED32:
      return in.ReadLittleEndian32(&v32);
    default:
      return false;
  }
}

// Walks a binary message field by field against its descriptor, so that an
// error names the field: protobuf's parser only says that parsing failed.
// Fields the schema does not know are skipped, as every reader keeps them.
class BinaryWalker {
 public:
  // `bytes` is what `in` reads: strings are checked in place, not copied.
  BinaryWalker(absl::string_view bytes, bool check_utf8) : bytes_(bytes), check_utf8_(check_utf8) {}

  absl::Status Message(const Descriptor& type, gp::io::CodedInputStream& in,
                       const std::string& path, int depth) {
    if (depth > kMaxDepth) return FieldError(path, "nested deeper than 100 messages");
    // Field numbers seen, kept only when some field is required (proto2).
    bool track = false;
    for (int i = 0; i < type.field_count() && !track; ++i) track = type.field(i)->is_required();
    std::set<int> seen;
    for (;;) {
      const uint32_t tag = in.ReadTag();
      if (tag == 0) break;
      const int number = WireFormatLite::GetTagFieldNumber(tag);
      const WireFormatLite::WireType wire = WireFormatLite::GetTagWireType(tag);
      const FieldDescriptor* field = type.FindFieldByNumber(number);
      if (number == 0) return FieldError(path, "a field number 0 is not valid");
      if (field == nullptr || field->type() == FieldDescriptor::TYPE_GROUP) {
        if (!WireFormatLite::SkipField(&in, tag)) {
          return FieldError(path, absl::StrCat("field number ", number, " is malformed"));
        }
        continue;
      }
      if (track) seen.insert(number);
      RETURN_IF_ERROR(Field(*field, wire, in, path, depth));
    }
    if (in.BytesUntilLimit() != 0) return FieldError(path, "malformed field tag or truncated");
    for (int i = 0; i < type.field_count(); ++i) {
      const FieldDescriptor& f = *type.field(i);
      if (f.is_required() && seen.count(f.number()) == 0) {
        return FieldError(Path(path, f), "required, and missing");
      }
    }
    return absl::OkStatus();
  }

 private:
  // `parent` is the path of the message holding `field`; the field's own
  // path is made only for an error or a nested message.
  absl::Status Field(const FieldDescriptor& field, WireFormatLite::WireType wire,
                     gp::io::CodedInputStream& in, const std::string& parent, int depth) {
    auto error = [&](absl::string_view what) { return FieldError(Path(parent, field), what); };
    const auto expected =
        WireFormatLite::WireTypeForFieldType(static_cast<WireFormatLite::FieldType>(field.type()));
    if (wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED && field.is_packable()) {
      uint32_t length;
      if (!in.ReadVarint32(&length)) return error("truncated");
      const auto limit = in.PushLimit(static_cast<int>(length));
      while (in.BytesUntilLimit() > 0) {
        if (!ReadScalar(expected, in)) return error("packed values are malformed");
      }
      in.PopLimit(limit);
      return absl::OkStatus();
    }
    if (wire != expected) {
      return error(
          absl::StrCat("has wire type ", wire, ", which does not carry a ", field.type_name()));
    }
    if (wire != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!ReadScalar(wire, in)) return error("truncated or malformed");
      return absl::OkStatus();
    }
    uint32_t length;
    if (!in.ReadVarint32(&length)) return error("truncated");
    if (field.type() == FieldDescriptor::TYPE_MESSAGE) {
      const auto limit = in.PushLimit(static_cast<int>(length));
      if (in.BytesUntilLimit() != static_cast<int>(length)) return error("truncated");
      RETURN_IF_ERROR(Message(*field.message_type(), in, Path(parent, field), depth + 1));
      in.PopLimit(limit);
      return absl::OkStatus();
    }
    const int at = in.CurrentPosition();
    if (!in.Skip(static_cast<int>(length))) return error("truncated");
    if (field.type() == FieldDescriptor::TYPE_STRING && check_utf8_ &&
        !gp::internal::IsStructurallyValidUTF8(bytes_.data() + at, static_cast<int>(length))) {
      return error("a string that is not valid UTF-8");
    }
    return absl::OkStatus();
  }

  const absl::string_view bytes_;
  const bool check_utf8_;
};

// Types whose values one another's readers parse alike (the Protocol
// Buffers language guide, "Updating a message type").
int TypeFamily(FieldDescriptor::Type type) {
  switch (type) {
    case FieldDescriptor::TYPE_INT32:
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_UINT32:
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_BOOL:
    case FieldDescriptor::TYPE_ENUM:
      return 1;
    case FieldDescriptor::TYPE_SINT32:
    case FieldDescriptor::TYPE_SINT64:
      return 2;
    case FieldDescriptor::TYPE_FIXED32:
    case FieldDescriptor::TYPE_SFIXED32:
      return 3;
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64:
      return 4;
    case FieldDescriptor::TYPE_STRING:
    case FieldDescriptor::TYPE_BYTES:
      return 5;
    default:
      return 10 + static_cast<int>(type);
  }
}

// The field numbers of a field's oneof, empty when it is in none (a proto3
// `optional` is a oneof of its own only in name).
std::set<int> OneofOf(const FieldDescriptor& field) {
  std::set<int> numbers;
  const gp::OneofDescriptor* oneof = field.real_containing_oneof();
  if (oneof == nullptr) return numbers;
  for (int i = 0; i < oneof->field_count(); ++i) numbers.insert(oneof->field(i)->number());
  return numbers;
}

bool Reserved(const Descriptor& type, int number) {
  for (int i = 0; i < type.reserved_range_count(); ++i) {
    const Descriptor::ReservedRange* range = type.reserved_range(i);
    if (number >= range->start && number < range->end) return true;
  }
  return false;
}

// Whether a reader of `reader` parses what a writer of `writer` writes:
// fields matched by number, messages followed into their fields.
absl::Status Readable(const Descriptor& reader, const Descriptor& writer,
                      std::set<std::pair<const Descriptor*, const Descriptor*>>& checked) {
  if (!checked.insert({&reader, &writer}).second) return absl::OkStatus();
  for (int i = 0; i < reader.field_count(); ++i) {
    const FieldDescriptor& r = *reader.field(i);
    const FieldDescriptor* w = writer.FindFieldByNumber(r.number());
    const std::string what =
        absl::StrCat("field ", r.number(), " (", r.name(), ") of ", reader.full_name());
    if (w == nullptr) {
      if (r.is_required()) return Invalid(absl::StrCat(what, " is required and was removed"));
      if (!Reserved(writer, r.number())) {
        return Invalid(absl::StrCat(
            what, " was removed without reserving its number (add `reserved ", r.number(), ";`)"));
      }
      continue;
    }
    if (TypeFamily(r.type()) != TypeFamily(w->type())) {
      return Invalid(absl::StrCat(what, " changes type from ", r.type_name(), " to ",
                                  w->type_name(), ": its number is reused with another type"));
    }
    // A singular reader of a packed run takes it for an unknown field; of
    // strings and messages it keeps the last.
    if (r.is_repeated() != w->is_repeated() && FieldDescriptor::IsTypePackable(r.type())) {
      return Invalid(absl::StrCat(what, " changes between repeated and singular"));
    }
    if (r.is_required() && !w->is_required()) {
      return Invalid(absl::StrCat(what, " is required by readers and no longer by writers"));
    }
    const std::set<int> before = OneofOf(r);
    const std::set<int> after = OneofOf(*w);
    bool same_oneof = before.empty() == after.empty();
    for (int number : before) {
      if (writer.FindFieldByNumber(number) != nullptr && after.count(number) == 0) {
        same_oneof = false;
      }
    }
    if (!same_oneof) {
      return Invalid(absl::StrCat(what, " changes its oneof: a writer may now set it with ",
                                  "fields a reader takes for alternatives"));
    }
    if (r.type() == FieldDescriptor::TYPE_MESSAGE) {
      RETURN_IF_ERROR(Readable(*r.message_type(), *w->message_type(), checked));
    }
  }
  return absl::OkStatus();
}

class ProtobufSchema final : public CompiledSchema {
 public:
  ProtobufSchema(std::unique_ptr<gp::DescriptorPool> pool, const Descriptor* type)
      : pool_(std::move(pool)),
        type_(type),
        prototype_(factory_.GetPrototype(type)),
        proto3_(type->file()->syntax() == gp::FileDescriptor::SYNTAX_PROTO3) {}

  absl::Status Validate(absl::string_view message, SchemaEncoding encoding) const override {
    if (encoding == SchemaEncoding::kBinary) {
      gp::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(message.data()),
                                  static_cast<int>(message.size()));
      in.PushLimit(static_cast<int>(message.size()));
      return BinaryWalker(message, proto3_).Message(*type_, in, "", 0);
    }
    std::unique_ptr<gp::Message> parsed(prototype_->New());
    gp::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const auto status = gp::util::JsonStringToMessage(
        gp::StringPiece(message.data(), message.size()), parsed.get(), options);
    if (!status.ok()) {
      return Invalid(
          absl::StrCat("not JSON of ", type_->full_name(), ": ", std::string(status.message())));
    }
    std::vector<std::string> missing;
    parsed->FindInitializationErrors(&missing);
    if (!missing.empty()) {
      return Invalid(absl::StrCat("required fields missing: ", absl::StrJoin(missing, ", ")));
    }
    return absl::OkStatus();
  }

  absl::Status CanRead(const CompiledSchema& writer) const override {
    const auto* other = dynamic_cast<const ProtobufSchema*>(&writer);
    if (other == nullptr) return Invalid("the new revision is not a Protocol Buffers schema");
    if (other->type_->full_name() != type_->full_name()) {
      return Invalid(absl::StrCat("the message type changes from ", type_->full_name(), " to ",
                                  other->type_->full_name()));
    }
    std::set<std::pair<const Descriptor*, const Descriptor*>> checked;
    return Readable(*type_, *other->type_, checked);
  }

 private:
  const std::unique_ptr<gp::DescriptorPool> pool_;
  const Descriptor* const type_;
  gp::DynamicMessageFactory factory_;
  const gp::Message* const prototype_;
  const bool proto3_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<const CompiledSchema>> CompileProtobufSchema(
    absl::string_view definition) {
  FirstError errors;
  gp::io::ArrayInputStream input(definition.data(), static_cast<int>(definition.size()));
  gp::io::Tokenizer tokenizer(&input, &errors);
  gp::compiler::Parser parser;
  parser.RecordErrorsTo(&errors);
  gp::FileDescriptorProto file;
  if (!parser.Parse(&tokenizer, &file)) {
    return Invalid(absl::StrCat("the definition is not a valid .proto file: ", errors.first()));
  }
  if (file.dependency_size() > 0) {
    return Invalid(absl::StrCat("the definition imports ", file.dependency(0),
                                "; a schema is one .proto file, without imports"));
  }
  if (file.message_type_size() != 1) {
    return Invalid(
        absl::StrCat("the definition must declare exactly one top-level message type; "
                     "it declares ",
                     file.message_type_size()));
  }
  file.set_name("schema.proto");
  auto pool = std::make_unique<gp::DescriptorPool>();
  const gp::FileDescriptor* built = pool->BuildFileCollectingErrors(file, &errors);
  if (built == nullptr) {
    return Invalid(absl::StrCat("the definition is not a valid .proto file: ", errors.first()));
  }
  const Descriptor* type = built->message_type(0);
  return std::unique_ptr<const CompiledSchema>(new ProtobufSchema(std::move(pool), type));
}

}  // namespace hub
