// Schemas without a server: definitions that compile or not, messages that
// validate or not in each encoding, and the compatibility rules as a table
// of allowed and refused changes.
#include "hub/schema/schema.h"

#include <string>
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
  EXPECT_EQ(CompileSchema(SchemaType::kAvro, "{}").status().code(),
            absl::StatusCode::kUnimplemented);
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
  struct Case {
    std::string what;
    std::string body;
    std::string refused;  // empty: allowed
  };
  const std::vector<Case> cases = {
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
  auto reader = Compile(order(base));
  ASSERT_NE(reader, nullptr);
  for (const Case& c : cases) {
    auto writer = Compile(order(c.body));
    ASSERT_NE(writer, nullptr) << c.what;
    const absl::Status s = reader->CanRead(*writer);
    if (c.refused.empty()) {
      EXPECT_TRUE(s.ok()) << c.what << " -> " << s;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.what;
      EXPECT_TRUE(absl::StrContains(s.message(), c.refused)) << c.what << " -> " << s;
    }
  }
}

}  // namespace
}  // namespace hub
