// AVRO schemas: a JSON schema parsed by Avro's C library (libavro), whose
// schema objects the validators and the resolution rules walk. Avro's C
// library keeps no record field defaults, so they are read from the
// definition's JSON beside it.
#include "hub/schema/avro_schema.h"

#include <avro.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>

#include <google/protobuf/stubs/common.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace hub {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 100;

absl::Status Invalid(absl::string_view what) { return absl::InvalidArgumentError(what); }

absl::Status FieldError(const std::string& path, absl::string_view what) {
  return Invalid(
      absl::StrCat(path.empty() ? "the message" : absl::StrCat("field ", path), ": ", what));
}

std::string Child(const std::string& path, absl::string_view name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
}

avro_schema_t Resolved(avro_schema_t schema) {
  while (avro_typeof(schema) == AVRO_LINK) schema = avro_schema_link_target(schema);
  return schema;
}

bool IsNamed(avro_schema_t schema) {
  const avro_type_t t = avro_typeof(schema);
  return t == AVRO_RECORD || t == AVRO_ENUM || t == AVRO_FIXED;
}

std::string FullName(avro_schema_t schema) {
  const char* ns = avro_schema_namespace(schema);
  const std::string name = avro_schema_name(schema);
  return ns == nullptr || *ns == '\0' ? name : absl::StrCat(ns, ".", name);
}

// The name a union's JSON encoding gives a branch: the type's name, or a
// named type's full name.
std::string BranchName(avro_schema_t branch) {
  branch = Resolved(branch);
  return IsNamed(branch) ? FullName(branch) : avro_schema_type_name(branch);
}

// The record fields that have a default, by the record's full name.
using Defaults = std::map<std::string, std::set<std::string>>;

void CollectDefaults(const json& node, const std::string& enclosing, Defaults& out) {
  if (node.is_array()) {
    for (const json& branch : node) CollectDefaults(branch, enclosing, out);
    return;
  }
  if (!node.is_object() || !node.contains("type")) return;
  const json& type = node["type"];
  if (!type.is_string()) {
    CollectDefaults(type, enclosing, out);
    return;
  }
  const std::string kind = type.get<std::string>();
  if (kind == "array" && node.contains("items")) CollectDefaults(node["items"], enclosing, out);
  if (kind == "map" && node.contains("values")) CollectDefaults(node["values"], enclosing, out);
  if ((kind != "record" && kind != "error") || !node.value("name", json()).is_string()) return;
  const std::string name = node["name"].get<std::string>();
  std::string ns = node.contains("namespace") && node["namespace"].is_string()
                       ? node["namespace"].get<std::string>()
                       : enclosing;
  std::string full = ns.empty() ? name : absl::StrCat(ns, ".", name);
  if (const size_t dot = name.rfind('.'); dot != std::string::npos) {
    full = name;
    ns = name.substr(0, dot);
  }
  std::set<std::string>& fields = out[full];
  for (const json& field : node.value("fields", json::array())) {
    if (!field.is_object()) continue;
    if (field.contains("default") && field.value("name", json()).is_string()) {
      fields.insert(field["name"].get<std::string>());
    }
    if (field.contains("type")) CollectDefaults(field, ns, out);
  }
}

// Avro's binary encoding, read against the schema.
class BinaryReader {
 public:
  explicit BinaryReader(absl::string_view bytes) : bytes_(bytes) {}

  absl::Status Value(avro_schema_t schema, const std::string& path, int depth) {
    schema = Resolved(schema);
    if (depth > kMaxDepth) return FieldError(path, "nested deeper than 100 values");
    switch (avro_typeof(schema)) {
      case AVRO_NULL:
        return absl::OkStatus();
      case AVRO_BOOLEAN: {
        if (at_ >= bytes_.size()) return FieldError(path, "truncated");
        const char b = bytes_[at_++];
        if (b != 0 && b != 1) return FieldError(path, "a boolean is neither 0 nor 1");
        return absl::OkStatus();
      }
      case AVRO_INT32:
      case AVRO_INT64: {
        int64_t v;
        RETURN_IF_ERROR(Long(path, v));
        if (avro_typeof(schema) == AVRO_INT32 &&
            (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())) {
          return FieldError(path, "an int out of 32-bit range");
        }
        return absl::OkStatus();
      }
      case AVRO_FLOAT:
        return Skip(path, 4);
      case AVRO_DOUBLE:
        return Skip(path, 8);
      case AVRO_FIXED:
        return Skip(path, static_cast<size_t>(avro_schema_fixed_size(schema)));
      case AVRO_BYTES:
      case AVRO_STRING: {
        int64_t length;
        RETURN_IF_ERROR(Long(path, length));
        if (length < 0) return FieldError(path, "a negative length");
        const size_t start = at_;
        RETURN_IF_ERROR(Skip(path, static_cast<size_t>(length)));
        if (avro_typeof(schema) == AVRO_STRING &&
            !google::protobuf::internal::IsStructurallyValidUTF8(bytes_.data() + start,
                                                                 static_cast<int>(length))) {
          return FieldError(path, "a string that is not valid UTF-8");
        }
        return absl::OkStatus();
      }
      case AVRO_ENUM: {
        int64_t index;
        RETURN_IF_ERROR(Long(path, index));
        if (index < 0 || index >= avro_schema_enum_number_of_symbols(schema)) {
          return FieldError(
              path, absl::StrCat("enum index ", index, " is not a symbol of ", FullName(schema)));
        }
        return absl::OkStatus();
      }
      case AVRO_ARRAY:
      case AVRO_MAP:
        return Blocks(schema, path, depth);
      case AVRO_UNION: {
        int64_t index;
        RETURN_IF_ERROR(Long(path, index));
        if (index < 0 || index >= static_cast<int64_t>(avro_schema_union_size(schema))) {
          return FieldError(path, absl::StrCat("union branch ", index, " does not exist"));
        }
        return Value(avro_schema_union_branch(schema, static_cast<int>(index)), path, depth + 1);
      }
      case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(schema); ++i) {
          RETURN_IF_ERROR(Value(
              avro_schema_record_field_get_by_index(schema, static_cast<int>(i)),
              Child(path, avro_schema_record_field_name(schema, static_cast<int>(i))), depth + 1));
        }
        return absl::OkStatus();
      case AVRO_LINK:
        break;
    }
    return FieldError(path, "a type the hub does not know");
  }

  bool at_end() const { return at_ == bytes_.size(); }

 private:
  // Arrays and maps: blocks of items, each block a count (negative: followed
  // by its size in bytes), until a count of 0.
  absl::Status Blocks(avro_schema_t schema, const std::string& path, int depth) {
    const bool map = avro_typeof(schema) == AVRO_MAP;
    avro_schema_t items = map ? avro_schema_map_values(schema) : avro_schema_array_items(schema);
    for (;;) {
      int64_t count;
      RETURN_IF_ERROR(Long(path, count));
      if (count == 0) return absl::OkStatus();
      if (count < 0) {
        if (count == std::numeric_limits<int64_t>::min()) return FieldError(path, "a bad count");
        count = -count;
        int64_t size;
        RETURN_IF_ERROR(Long(path, size));
      }
      if (static_cast<uint64_t>(count) > bytes_.size() - at_) {
        return FieldError(path, "more items than bytes");
      }
      for (int64_t i = 0; i < count; ++i) {
        if (map) {
          int64_t length;
          RETURN_IF_ERROR(Long(path, length));
          if (length < 0) return FieldError(path, "a negative key length");
          RETURN_IF_ERROR(Skip(path, static_cast<size_t>(length)));
        }
        RETURN_IF_ERROR(Value(items, path, depth + 1));
      }
    }
  }

  // A zigzag varint.
  absl::Status Long(const std::string& path, int64_t& out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ >= bytes_.size()) return FieldError(path, "truncated");
      const uint8_t b = static_cast<uint8_t>(bytes_[at_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
        return absl::OkStatus();
      }
    }
    return FieldError(path, "a varint longer than 10 bytes");
  }

  absl::Status Skip(const std::string& path, size_t n) {
    if (n > bytes_.size() - at_) return FieldError(path, "truncated");
    at_ += n;
    return absl::OkStatus();
  }

  const absl::string_view bytes_;
  size_t at_ = 0;
};

// Avro's JSON encoding (the specification's "JSON Encoding"): a union is
// null or an object naming its branch, bytes and fixed are strings of code
// points 0..255.
class JsonChecker {
 public:
  explicit JsonChecker(const Defaults& defaults) : defaults_(defaults) {}

  absl::Status Value(avro_schema_t schema, const json& value, const std::string& path,
                     int depth) const {
    schema = Resolved(schema);
    if (depth > kMaxDepth) return FieldError(path, "nested deeper than 100 values");
    auto expect = [&](bool ok, absl::string_view what) {
      return ok ? absl::OkStatus() : FieldError(path, absl::StrCat("expected ", what));
    };
    switch (avro_typeof(schema)) {
      case AVRO_NULL:
        return expect(value.is_null(), "null");
      case AVRO_BOOLEAN:
        return expect(value.is_boolean(), "a boolean");
      case AVRO_INT32:
        return expect(value.is_number_integer() && value.get<int64_t>() >= INT32_MIN &&
                          value.get<int64_t>() <= INT32_MAX,
                      "an int");
      case AVRO_INT64:
        return expect(value.is_number_integer(), "a long");
      case AVRO_FLOAT:
      case AVRO_DOUBLE:
        return expect(value.is_number(), "a number");
      case AVRO_STRING:
        return expect(value.is_string(), "a string");
      case AVRO_BYTES:
      case AVRO_FIXED: {
        RETURN_IF_ERROR(expect(value.is_string(), "a string of bytes"));
        size_t count = 0;
        const std::string& s = value.get_ref<const std::string&>();
        for (size_t i = 0; i < s.size(); ++i) {
          const uint8_t c = static_cast<uint8_t>(s[i]);
          // UTF-8 of U+0000..U+00FF: one byte below 0x80, or 0xC2/0xC3 and
          // a continuation byte.
          if (c >= 0x80) {
            if ((c != 0xC2 && c != 0xC3) || i + 1 == s.size()) {
              return FieldError(path, "bytes are code points 0..255");
            }
            ++i;
          }
          ++count;
        }
        if (avro_typeof(schema) == AVRO_FIXED &&
            count != static_cast<size_t>(avro_schema_fixed_size(schema))) {
          return FieldError(path, absl::StrCat("expected ", avro_schema_fixed_size(schema),
                                               " bytes, got ", count));
        }
        return absl::OkStatus();
      }
      case AVRO_ENUM:
        RETURN_IF_ERROR(expect(value.is_string(), "an enum symbol"));
        if (avro_schema_enum_get_by_name(schema, value.get_ref<const std::string&>().c_str()) < 0) {
          return FieldError(path,
                            absl::StrCat(value.dump(), " is not a symbol of ", FullName(schema)));
        }
        return absl::OkStatus();
      case AVRO_ARRAY:
        RETURN_IF_ERROR(expect(value.is_array(), "an array"));
        for (const json& item : value) {
          RETURN_IF_ERROR(Value(avro_schema_array_items(schema), item, path, depth + 1));
        }
        return absl::OkStatus();
      case AVRO_MAP:
        RETURN_IF_ERROR(expect(value.is_object(), "an object (a map)"));
        for (const auto& [key, item] : value.items()) {
          RETURN_IF_ERROR(Value(avro_schema_map_values(schema), item, Child(path, key), depth + 1));
        }
        return absl::OkStatus();
      case AVRO_UNION:
        return Union(schema, value, path, depth);
      case AVRO_RECORD:
        return Record(schema, value, path, depth);
      case AVRO_LINK:
        break;
    }
    return FieldError(path, "a type the hub does not know");
  }

 private:
  absl::Status Union(avro_schema_t schema, const json& value, const std::string& path,
                     int depth) const {
    const size_t branches = avro_schema_union_size(schema);
    if (value.is_null()) {
      for (size_t i = 0; i < branches; ++i) {
        if (avro_typeof(Resolved(avro_schema_union_branch(schema, static_cast<int>(i)))) ==
            AVRO_NULL) {
          return absl::OkStatus();
        }
      }
      return FieldError(path, "null, which the union does not hold");
    }
    if (!value.is_object() || value.size() != 1) {
      return FieldError(path, "a union value: null, or an object naming its branch");
    }
    const std::string& name = value.begin().key();
    std::vector<std::string> names;
    for (size_t i = 0; i < branches; ++i) {
      avro_schema_t branch = avro_schema_union_branch(schema, static_cast<int>(i));
      names.push_back(BranchName(branch));
      if (names.back() == name) return Value(branch, value.begin().value(), path, depth + 1);
    }
    return FieldError(path, absl::StrCat("the union has no branch ", name, " (it has ",
                                         absl::StrJoin(names, ", "), ")"));
  }

  absl::Status Record(avro_schema_t schema, const json& value, const std::string& path,
                      int depth) const {
    if (!value.is_object()) return FieldError(path, "an object (a record)");
    const auto defaults = defaults_.find(FullName(schema));
    size_t known = 0;
    for (size_t i = 0; i < avro_schema_record_size(schema); ++i) {
      const std::string field = avro_schema_record_field_name(schema, static_cast<int>(i));
      const auto it = value.find(field);
      if (it == value.end()) {
        if (defaults == defaults_.end() || defaults->second.count(field) == 0) {
          return FieldError(Child(path, field), "missing, and it has no default");
        }
        continue;
      }
      ++known;
      RETURN_IF_ERROR(Value(avro_schema_record_field_get_by_index(schema, static_cast<int>(i)), *it,
                            Child(path, field), depth + 1));
    }
    if (known != value.size()) {
      for (const auto& [key, item] : value.items()) {
        if (avro_schema_record_field_get_index(schema, key.c_str()) < 0) {
          return FieldError(Child(path, key), absl::StrCat("not a field of ", FullName(schema)));
        }
      }
    }
    return absl::OkStatus();
  }

  const Defaults& defaults_;
};

// The specification's promotions: what a reader of `reader` takes from a
// writer of `writer` besides the same type.
bool Promotes(avro_type_t writer, avro_type_t reader) {
  switch (writer) {
    case AVRO_INT32:
      return reader == AVRO_INT64 || reader == AVRO_FLOAT || reader == AVRO_DOUBLE;
    case AVRO_INT64:
      return reader == AVRO_FLOAT || reader == AVRO_DOUBLE;
    case AVRO_FLOAT:
      return reader == AVRO_DOUBLE;
    case AVRO_STRING:
      return reader == AVRO_BYTES;
    case AVRO_BYTES:
      return reader == AVRO_STRING;
    default:
      return false;
  }
}

// Avro's schema resolution: whether data written with `writer` is read
// with `reader`.
class Resolution {
 public:
  explicit Resolution(const Defaults& reader_defaults) : defaults_(reader_defaults) {}

  absl::Status Check(avro_schema_t writer, avro_schema_t reader, const std::string& path,
                     int depth) {
    writer = Resolved(writer);
    reader = Resolved(reader);
    if (depth > kMaxDepth) return absl::OkStatus();
    const avro_type_t w = avro_typeof(writer);
    const avro_type_t r = avro_typeof(reader);
    if (w == AVRO_UNION) {
      for (size_t i = 0; i < avro_schema_union_size(writer); ++i) {
        RETURN_IF_ERROR(
            Check(avro_schema_union_branch(writer, static_cast<int>(i)), reader, path, depth + 1));
      }
      return absl::OkStatus();
    }
    if (r == AVRO_UNION) {
      for (size_t i = 0; i < avro_schema_union_size(reader); ++i) {
        if (Check(writer, avro_schema_union_branch(reader, static_cast<int>(i)), path, depth + 1)
                .ok()) {
          return absl::OkStatus();
        }
      }
      return Refused(path, absl::StrCat("a ", BranchName(writer),
                                        " that no branch of the readers' union takes"));
    }
    if (w != r) {
      if (Promotes(w, r)) return absl::OkStatus();
      return Refused(path,
                     absl::StrCat("changes from ", BranchName(reader), " to ", BranchName(writer)));
    }
    switch (w) {
      case AVRO_RECORD:
        return Record(writer, reader, path, depth);
      case AVRO_ENUM:
        RETURN_IF_ERROR(SameName(writer, reader, path));
        for (int i = 0; i < avro_schema_enum_number_of_symbols(writer); ++i) {
          const char* symbol = avro_schema_enum_get(writer, i);
          if (avro_schema_enum_get_by_name(reader, symbol) < 0) {
            return Refused(path, absl::StrCat("enum ", FullName(writer), " gains symbol ", symbol,
                                              ", which readers do not know"));
          }
        }
        return absl::OkStatus();
      case AVRO_FIXED:
        RETURN_IF_ERROR(SameName(writer, reader, path));
        if (avro_schema_fixed_size(writer) != avro_schema_fixed_size(reader)) {
          return Refused(path, absl::StrCat("fixed ", FullName(writer), " changes size"));
        }
        return absl::OkStatus();
      case AVRO_ARRAY:
        return Check(avro_schema_array_items(writer), avro_schema_array_items(reader), path,
                     depth + 1);
      case AVRO_MAP:
        return Check(avro_schema_map_values(writer), avro_schema_map_values(reader), path,
                     depth + 1);
      default:
        return absl::OkStatus();
    }
  }

 private:
  static absl::Status Refused(const std::string& path, absl::string_view what) {
    return Invalid(
        absl::StrCat(path.empty() ? "the message" : absl::StrCat("field ", path), " ", what));
  }

  // Named types match by their unqualified names.
  static absl::Status SameName(avro_schema_t writer, avro_schema_t reader,
                               const std::string& path) {
    if (std::strcmp(avro_schema_name(writer), avro_schema_name(reader)) != 0) {
      return Refused(path, absl::StrCat("changes its type's name from ", avro_schema_name(reader),
                                        " to ", avro_schema_name(writer)));
    }
    return absl::OkStatus();
  }

  absl::Status Record(avro_schema_t writer, avro_schema_t reader, const std::string& path,
                      int depth) {
    RETURN_IF_ERROR(SameName(writer, reader, path));
    // A pair met again inside itself (a recursive type) holds if the rest
    // does; a pair that failed is forgotten, so that it fails again.
    if (!checked_.insert({writer, reader}).second) return absl::OkStatus();
    absl::Status status = Fields(writer, reader, path, depth);
    if (!status.ok()) checked_.erase({writer, reader});
    return status;
  }

  absl::Status Fields(avro_schema_t writer, avro_schema_t reader, const std::string& path,
                      int depth) {
    const auto defaults = defaults_.find(FullName(reader));
    for (size_t i = 0; i < avro_schema_record_size(reader); ++i) {
      const char* field = avro_schema_record_field_name(reader, static_cast<int>(i));
      // avro_schema_record_field_get reads garbage for a missing name; the
      // index says -1.
      const int written = avro_schema_record_field_get_index(writer, field);
      if (written < 0) {
        if (defaults == defaults_.end() || defaults->second.count(field) == 0) {
          return Invalid(absl::StrCat("field ", Child(path, field), " of ", FullName(reader),
                                      " was removed, and readers have no default for it"));
        }
        continue;
      }
      RETURN_IF_ERROR(Check(avro_schema_record_field_get_by_index(writer, written),
                            avro_schema_record_field_get_by_index(reader, static_cast<int>(i)),
                            Child(path, field), depth + 1));
    }
    return absl::OkStatus();
  }

  const Defaults& defaults_;
  std::set<std::pair<avro_schema_t, avro_schema_t>> checked_;
};

class AvroSchema final : public CompiledSchema {
 public:
  AvroSchema(avro_schema_t schema, Defaults defaults)
      : schema_(schema), defaults_(std::move(defaults)) {}
  ~AvroSchema() override { avro_schema_decref(schema_); }

  absl::Status Validate(absl::string_view message, SchemaEncoding encoding) const override {
    if (encoding == SchemaEncoding::kBinary) {
      BinaryReader reader(message);
      RETURN_IF_ERROR(reader.Value(schema_, "", 0));
      if (!reader.at_end()) return Invalid("bytes follow the end of the value");
      return absl::OkStatus();
    }
    const json value = json::parse(message.begin(), message.end(), nullptr, false);
    if (value.is_discarded()) return Invalid("not JSON");
    return JsonChecker(defaults_).Value(schema_, value, "", 0);
  }

  absl::Status CanRead(const CompiledSchema& writer) const override {
    const auto* other = dynamic_cast<const AvroSchema*>(&writer);
    if (other == nullptr) return Invalid("the new revision is not an Avro schema");
    return Resolution(defaults_).Check(other->schema_, schema_, "", 0);
  }

 private:
  const avro_schema_t schema_;
  const Defaults defaults_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<const CompiledSchema>> CompileAvroSchema(
    absl::string_view definition) {
  const json parsed = json::parse(definition.begin(), definition.end(), nullptr, false);
  if (parsed.is_discarded()) return Invalid("the definition is not JSON");
  avro_schema_t schema = nullptr;
  if (avro_schema_from_json_length(definition.data(), definition.size(), &schema) != 0) {
    return Invalid(absl::StrCat("the definition is not an Avro schema: ", avro_strerror()));
  }
  Defaults defaults;
  CollectDefaults(parsed, "", defaults);
  return std::unique_ptr<const CompiledSchema>(new AvroSchema(schema, std::move(defaults)));
}

}  // namespace hub
