// Schemas without a server: definitions that compile or not, messages that
// validate or not in each encoding, and the compatibility rules as a table
// of allowed and refused changes.
#include "hub/schema/schema.h"

#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace hub {
namespace {

constexpr char kOrder[] = R"(
syntax = "proto3";
package shop;
message Order {
  message Line {
    string sku = 1;
    int32 quantity = 2;
  }
  int64 id = 1;
  string customer = 2;
  repeated Line lines = 3;
  repeated int32 codes = 4;
  oneof payment {
    string card = 5;
    string invoice = 6;
  }
}
)";

std::unique_ptr<const CompiledSchema> Compile(const std::string& definition) {
  auto compiled = CompileSchema(SchemaType::kProtocolBuffer, definition);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? *std::move(compiled) : nullptr;
}

// Wire-format pieces, so that each case says what it sends.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Tag(int number, int wire) { return Varint((number << 3) | wire); }
std::string Delimited(int number, const std::string& bytes) {
  return Tag(number, 2) + Varint(bytes.size()) + bytes;
}

// One row of a compatibility table: the new revision (what the test's
// `definition` makes of `change`), and what a commit says of it, empty when
// allowed (readers of the base revision read its messages).
struct CompatibilityCase {
  std::string what;
  std::string change;
  std::string refused;
};

void ExpectVerdicts(SchemaType type, const std::string& base,
                    const std::vector<CompatibilityCase>& cases,
                    const std::function<std::string(const std::string&)>& definition) {
  auto reader = CompileSchema(type, definition(base));
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (const CompatibilityCase& c : cases) {
    auto writer = CompileSchema(type, definition(c.change));
    ASSERT_TRUE(writer.ok()) << c.what << ": " << writer.status();
    const absl::Status s = (*reader)->CanRead(**writer);
    if (c.refused.empty()) {
      EXPECT_TRUE(s.ok()) << c.what << " -> " << s;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.what;
      EXPECT_TRUE(absl::StrContains(s.message(), c.refused)) << c.what << " -> " << s;
    }
  }
}

TEST(SchemaTest, DefinitionsThatAreNotOneMessageAreRefusedWithTheirPlace) {
  struct Case {
    std::string definition;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"syntax = \"proto3\";\nmessage A { int32 x = 1 }", "line 2"},
      {"syntax = \"proto3\";", "exactly one top-level message type; it declares 0"},
      {"syntax = \"proto3\"; message A {} message B {}", "it declares 2"},
      {"syntax = \"proto3\"; import \"other.proto\"; message A {}", "imports other.proto"},
      {"syntax = \"proto3\"; message A { Missing m = 1; }", "Missing"},
      {"syntax = \"proto3\"; message A { int32 x = 1; int32 y = 1; }", "number 1"},
  };
  for (const Case& c : cases) {
    auto compiled = CompileSchema(SchemaType::kProtocolBuffer, c.definition);
    ASSERT_FALSE(compiled.ok()) << c.definition;
    EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(compiled.status().message(), c.says))
        << c.definition << " -> " << compiled.status();
  }
}

TEST(SchemaTest, BinaryMessagesAreCheckedFieldByField) {
  auto schema = Compile(kOrder);
  ASSERT_NE(schema, nullptr);
  const std::string line = Delimited(1, "A-1") + Tag(2, 0) + Varint(3);
  const std::string good = Tag(1, 0) + Varint(42) + Delimited(2, "ada") + Delimited(3, line) +
                           Delimited(4, Varint(1) + Varint(2)) + Tag(4, 0) + Varint(3) +
                           Delimited(5, "visa") + Delimited(99, "a field of a later revision");
  EXPECT_TRUE(schema->Validate(good, SchemaEncoding::kBinary).ok());
  EXPECT_TRUE(schema->Validate("", SchemaEncoding::kBinary).ok());

  struct Case {
    std::string what;
    std::string bytes;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"a string in an int64", Delimited(1, "x"), "field id: has wire type 2"},
      {"bad UTF-8 in a nested string", Delimited(3, Delimited(1, "\xff\xfe")),
       "field lines.sku: a string that is not valid UTF-8"},
      {"a fixed64 in a nested int32", Delimited(3, Tag(2, 1) + std::string(8, '\0')),
       "field lines.quantity: has wire type 1"},
      {"truncated length", Tag(2, 2) + Varint(10) + "abc", "field customer: truncated"},
      {"truncated nested message", Tag(3, 2) + Varint(10) + Delimited(1, "a"),
       "field lines: truncated"},
      {"a varint cut short", Tag(1, 0) + "\x80", "field id: truncated or malformed"},
      {"field number 0", Tag(0, 1) + std::string(8, '\0'), "field number 0"},
      {"a zero tag", Tag(0, 0) + Varint(1), "the message: malformed field tag"},
      {"a malformed packed run", Delimited(4, "\x80"), "field codes: packed values"},
  };
  for (const Case& c : cases) {
    const absl::Status s = schema->Validate(c.bytes, SchemaEncoding::kBinary);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_TRUE(absl::StrContains(s.message(), c.says)) << c.what << " -> " << s;
  }
}

TEST(SchemaTest, RequiredFieldsOfProto2AreRequiredInBothEncodings) {
  auto schema = Compile("syntax = \"proto2\"; message A { required int32 id = 1; }");
  ASSERT_NE(schema, nullptr);
  EXPECT_TRUE(schema->Validate(Tag(1, 0) + Varint(1), SchemaEncoding::kBinary).ok());
  EXPECT_TRUE(absl::StrContains(schema->Validate("", SchemaEncoding::kBinary).message(),
                                "field id: required, and missing"));
  EXPECT_TRUE(schema->Validate(R"({"id": 1})", SchemaEncoding::kJson).ok());
  EXPECT_TRUE(absl::StrContains(schema->Validate("{}", SchemaEncoding::kJson).message(), "id"));
}

TEST(SchemaTest, JsonMessagesFollowProtobufsJsonMapping) {
  auto schema = Compile(kOrder);
  ASSERT_NE(schema, nullptr);
  EXPECT_TRUE(schema
                  ->Validate(R"({"id": "42", "customer": "ada", "lines": [{"sku": "A-1",
                      "quantity": 3}], "codes": [1, 2], "card": "visa"})",
                             SchemaEncoding::kJson)
                  .ok());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"id": "forty-two"})", "id"},
      {R"({"lines": [{"sku": 7}]})", "sku"},
      {R"({"unknown": 1})", "unknown"},
      {R"({"id": 1)", "not JSON of shop.Order"},
  };
  for (const auto& [json, says] : cases) {
    const absl::Status s = schema->Validate(json, SchemaEncoding::kJson);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_TRUE(absl::StrContains(s.message(), says)) << json << " -> " << s;
  }
}

// Each row: the new revision's body of `message Order`, and what a commit
// says of it, empty when allowed (readers of kBase read its messages).
TEST(SchemaTest, CompatibilityRulesOfProtocolBuffers) {
  const std::string base = R"(
    int64 id = 1;
    string customer = 2;
    repeated int32 codes = 3;
    oneof payment { string card = 4; string invoice = 5; }
    Address address = 6;
    message Address { string city = 1; }
  )";
  auto order = [](const std::string& body) {
    return "syntax = \"proto3\"; message Order { " + body + " }";
  };
  const std::vector<CompatibilityCase> cases = {
      {"unchanged", base, ""},
      {"a field added", base + " string note = 7;", ""},
      {"a field renamed", R"(int64 order_id = 1; string customer = 2; repeated int32 codes = 3;
         oneof payment { string card = 4; string invoice = 5; } Address address = 6;
         message Address { string city = 1; })",
       ""},
      {"int64 to uint64, one family", R"(uint64 id = 1; string customer = 2;
         repeated int32 codes = 3; oneof payment { string card = 4; string invoice = 5; }
         Address address = 6; message Address { string city = 1; })",
       ""},
      {"a removed field, its number reserved", R"(int64 id = 1; reserved 2;
         repeated int32 codes = 3; oneof payment { string card = 4; string invoice = 5; }
         Address address = 6; message Address { string city = 1; })",
       ""},
      {"a field added to the oneof", R"(int64 id = 1; string customer = 2;
         repeated int32 codes = 3; oneof payment { string card = 4; string invoice = 5;
         string voucher = 7; } Address address = 6; message Address { string city = 1; })",
       ""},
      {"a number reused with another type", R"(string id = 1; string customer = 2;
         repeated int32 codes = 3; oneof payment { string card = 4; string invoice = 5; }
         Address address = 6; message Address { string city = 1; })",
       "field 1 (id) of Order changes type from int64 to string"},
      {"a removed field, its number not reserved", R"(int64 id = 1;
         repeated int32 codes = 3; oneof payment { string card = 4; string invoice = 5; }
         Address address = 6; message Address { string city = 1; })",
       "field 2 (customer) of Order was removed without reserving its number"},
      {"a field moved out of the oneof", R"(int64 id = 1; string customer = 2;
         repeated int32 codes = 3; string card = 4; oneof payment { string invoice = 5; }
         Address address = 6; message Address { string city = 1; })",
       "field 4 (card) of Order changes its oneof"},
      {"a nested field's type changed", R"(int64 id = 1; string customer = 2;
         repeated int32 codes = 3; oneof payment { string card = 4; string invoice = 5; }
         Address address = 6; message Address { int32 city = 1; })",
       "field 1 (city) of Order.Address changes type from string to int32"},
      {"a repeated number made singular", R"(int64 id = 1; string customer = 2;
         int32 codes = 3; oneof payment { string card = 4; string invoice = 5; }
         Address address = 6; message Address { string city = 1; })",
       "field 3 (codes) of Order changes between repeated and singular"},
  };
  ExpectVerdicts(SchemaType::kProtocolBuffer, base, cases, order);
}

constexpr char kAvroOrder[] = R"({
  "type": "record", "name": "Order", "namespace": "shop",
  "fields": [
    {"name": "id", "type": "long"},
    {"name": "customer", "type": "string"},
    {"name": "note", "type": ["null", "string"], "default": null},
    {"name": "lines", "type": {"type": "array", "items": {
      "type": "record", "name": "Line",
      "fields": [{"name": "sku", "type": "string"}, {"name": "quantity", "type": "int"}]}}},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
    {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 2}}
  ]})";

std::unique_ptr<const CompiledSchema> CompileAvro(const std::string& definition) {
  auto compiled = CompileSchema(SchemaType::kAvro, definition);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? *std::move(compiled) : nullptr;
}

// Avro's binary pieces: zigzag varints, and strings as a length and bytes.
std::string Long(int64_t v) { return Varint((static_cast<uint64_t>(v) << 1) ^ (v >> 63)); }
std::string AvroString(const std::string& s) { return Long(s.size()) + s; }

TEST(AvroSchemaTest, DefinitionsThatAreNotAvroAreRefused) {
  for (const std::string definition :
       {"{", R"({"type": "record", "name": "A", "fields": [{"name": "x", "type": "nope"}]})",
        R"({"type": "enum", "name": "E"})"}) {
    auto compiled = CompileSchema(SchemaType::kAvro, definition);
    EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument) << definition;
  }
}

TEST(AvroSchemaTest, BinaryValuesAreReadAgainstTheSchema) {
  auto schema = CompileAvro(kAvroOrder);
  ASSERT_NE(schema, nullptr);
  const std::string line = AvroString("A-1") + Long(3);
  const std::string head = Long(42) + AvroString("ada");
  const std::string tail = Long(1) + line + Long(0) + Long(1) + "xy";
  EXPECT_TRUE(schema->Validate(head + Long(0) + tail, SchemaEncoding::kBinary).ok());
  EXPECT_TRUE(
      schema->Validate(head + Long(1) + AvroString("rush") + tail, SchemaEncoding::kBinary).ok());
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"truncated", head, "field note: truncated"},
      {"a union branch that does not exist", head + Long(2) + tail,
       "field note: union branch 2 does not exist"},
      {"an enum index past its symbols", head + Long(0) + Long(1) + line + Long(0) + Long(5) + "xy",
       "field status: enum index 5"},
      {"an int out of range",
       head + Long(0) + Long(1) + AvroString("A-1") + Long(1LL << 40) + Long(0) + Long(1) + "xy",
       "field lines.quantity: an int out of 32-bit range"},
      {"bad UTF-8", Long(42) + AvroString("\xff") + Long(0) + tail,
       "field customer: a string that is not valid UTF-8"},
      {"trailing bytes", head + Long(0) + tail + "z", "bytes follow the end of the value"},
  };
  for (const auto& [what, bytes, says] : cases) {
    const absl::Status s = schema->Validate(bytes, SchemaEncoding::kBinary);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << what;
    EXPECT_TRUE(absl::StrContains(s.message(), says)) << what << " -> " << s;
  }
}

TEST(AvroSchemaTest, JsonValuesFollowTheAvroJsonEncoding) {
  auto schema = CompileAvro(kAvroOrder);
  ASSERT_NE(schema, nullptr);
  const std::string lines = R"("lines": [{"sku": "A-1", "quantity": 3}])";
  const std::string rest = R"(, "status": "PAID", "digest": "ÿa")";
  EXPECT_TRUE(schema
                  ->Validate(R"({"id": 1, "customer": "ada", "note": {"string": "rush"}, )" +
                                 lines + rest + "}",
                             SchemaEncoding::kJson)
                  .ok());
  // A field with a default may be left out; null is a union's null branch.
  EXPECT_TRUE(
      schema
          ->Validate(R"({"id": 1, "customer": "ada", )" + lines + rest + "}", SchemaEncoding::kJson)
          .ok());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"id": 1, )" + lines + rest + "}", "field customer: missing, and it has no default"},
      {R"({"id": "1", "customer": "a", )" + lines + rest + "}", "field id: expected a long"},
      {R"({"id": 1, "customer": "a", "note": "x", )" + lines + rest + "}",
       "field note: a union value: null, or an object naming its branch"},
      {R"({"id": 1, "customer": "a", "note": {"int": 1}, )" + lines + rest + "}",
       "the union has no branch int (it has null, string)"},
      {R"({"id": 1, "customer": "a", "lines": [{"sku": "A", "quantity": 1.5}])" + rest + "}",
       "field lines.quantity: expected an int"},
      {R"({"id": 1, "customer": "a", "extra": 1, )" + lines + rest + "}",
       "field extra: not a field of shop.Order"},
      {R"({"id": 1, "customer": "a", )" + lines + R"(, "status": "LOST", "digest": "ab"})",
       "is not a symbol of shop.Status"},
      {R"({"id": 1, "customer": "a", )" + lines + R"(, "status": "NEW", "digest": "abc"})",
       "field digest: expected 2 bytes, got 3"},
      {"not json", "not JSON"},
  };
  for (const auto& [json, says] : cases) {
    const absl::Status s = schema->Validate(json, SchemaEncoding::kJson);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_TRUE(absl::StrContains(s.message(), says)) << json << " -> " << s;
  }
}

// Avro's schema resolution, as a table: fields of the new revision's record
// after `id` (a long), and what a commit says of them.
TEST(AvroSchemaTest, CompatibilityRulesOfAvro) {
  auto record = [](const std::string& fields) {
    return R"({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "long"})" +
           fields + "]}";
  };
  const std::string base =
      R"(, {"name": "qty", "type": "int"}, {"name": "note", "type": "string", "default": ""},
         {"name": "status", "type": {"type": "enum", "name": "S", "symbols": ["A", "B"]}})";
  const std::vector<CompatibilityCase> cases = {
      {"unchanged", base, ""},
      {"a field added", base + R"(, {"name": "extra", "type": "string"})", ""},
      {"a field with a default removed",
       R"(, {"name": "qty", "type": "int"},
          {"name": "status", "type": {"type": "enum", "name": "S", "symbols": ["A", "B"]}})",
       ""},
      {"an enum symbol removed",
       R"(, {"name": "qty", "type": "int"}, {"name": "note", "type": "string", "default": ""},
          {"name": "status", "type": {"type": "enum", "name": "S", "symbols": ["A"]}})",
       ""},
      {"a field without a default removed",
       R"(, {"name": "note", "type": "string", "default": ""},
          {"name": "status", "type": {"type": "enum", "name": "S", "symbols": ["A", "B"]}})",
       "field qty of Order was removed, and readers have no default for it"},
      {"int widened to long: readers of int cannot take it",
       R"(, {"name": "qty", "type": "long"}, {"name": "note", "type": "string", "default": ""},
          {"name": "status", "type": {"type": "enum", "name": "S", "symbols": ["A", "B"]}})",
       "field qty changes from int to long"},
      {"an enum symbol added",
       R"(, {"name": "qty", "type": "int"}, {"name": "note", "type": "string", "default": ""},
          {"name": "status", "type": {"type": "enum", "name": "S", "symbols": ["A", "B", "C"]}})",
       "enum S gains symbol C"},
      {"a field made nullable",
       R"(, {"name": "qty", "type": ["null", "int"]},
          {"name": "note", "type": "string", "default": ""},
          {"name": "status", "type": {"type": "enum", "name": "S", "symbols": ["A", "B"]}})",
       "field qty changes from int to null"},
  };
  ExpectVerdicts(SchemaType::kAvro, base, cases, record);
  // Promotions go the other way: readers of long take an int.
  auto long_reader = CompileAvro(record(""));
  auto int_writer = CompileAvro(
      R"({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "int"}]})");
  EXPECT_TRUE(long_reader->CanRead(*int_writer).ok());
  auto proto = Compile("syntax = \"proto3\"; message Order { int64 id = 1; }");
  EXPECT_FALSE(long_reader->CanRead(*proto).ok());
}

}  // namespace
}  // namespace hub
