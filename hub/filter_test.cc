#include "hub/filter.h"
#include "common/testing/status_matchers.h"

#include <gtest/gtest.h>

namespace hub {
namespace {

using ::hub::testing::StatusIs;

bool Eval(const char* filter, const Labels& attributes) {
  absl::StatusOr<Filter> f = Filter::Parse(filter);
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
  return f.ok() && f->Matches(attributes);
}

TEST(FilterTest, EmptyMatchesEverything) {
  EXPECT_TRUE(Eval("", {}));
  EXPECT_TRUE(Eval("   ", {{"a", "b"}}));
}

TEST(FilterTest, Predicates) {
  const Labels order = {{"kind", "order"}, {"region", "eu-west"}};
  EXPECT_TRUE(Eval(R"(attributes.kind = "order")", order));
  EXPECT_FALSE(Eval(R"(attributes.kind = "refund")", order));
  EXPECT_TRUE(Eval(R"(attributes.kind != "refund")", order));
  EXPECT_TRUE(Eval(R"(attributes.missing != "x")", order));
  EXPECT_FALSE(Eval(R"(attributes.missing = "")", order));
  EXPECT_TRUE(Eval("attributes:region", order));
  EXPECT_FALSE(Eval("attributes:missing", order));
  EXPECT_TRUE(Eval(R"(hasPrefix(attributes.region, "eu-"))", order));
  EXPECT_FALSE(Eval(R"(hasPrefix(attributes.region, "us-"))", order));
  EXPECT_FALSE(Eval(R"(hasPrefix(attributes.missing, ""))", order));
}

TEST(FilterTest, BooleanStructureAndPrecedence) {
  const Labels a = {{"x", "1"}};
  EXPECT_TRUE(Eval(R"(attributes.x = "1" AND attributes:x)", a));
  EXPECT_FALSE(Eval(R"(attributes.x = "1" AND attributes:y)", a));
  EXPECT_TRUE(Eval(R"(attributes:y OR attributes:x)", a));
  // AND binds tighter than OR.
  EXPECT_TRUE(Eval(R"(attributes:x OR attributes:y AND attributes:z)", a));
  EXPECT_FALSE(Eval(R"((attributes:x OR attributes:y) AND attributes:z)", a));
  EXPECT_FALSE(Eval("NOT attributes:x", a));
  EXPECT_TRUE(Eval("NOT NOT attributes:x", a));
  EXPECT_TRUE(Eval("NOT (attributes:y AND attributes:x)", a));
}

TEST(FilterTest, QuotedKeysAndEscapes) {
  const Labels a = {{"my key", "say \"hi\" \\o/"}};
  EXPECT_TRUE(Eval(R"(attributes."my key" = "say \"hi\" \\o/")", a));
  EXPECT_TRUE(Eval(R"(attributes:"my key")", a));
}

TEST(FilterTest, EveryMalformedFormIsInvalidArgument) {
  for (const char* bad : {
           "attributes",                     // no predicate
           "attributes.",                    // no key
           "attributes.kind",                // no operator
           "attributes.kind =",              // no value
           "attributes.kind = order",        // unquoted value
           "attributes.kind = \"order",      // unterminated string
           "attributes.kind == \"x\"",       // unknown operator
           "attributes.kind = \"\\x\"",      // bad escape
           "attributes:",                    // no key
           "kind = \"x\"",                   // not an attribute
           "attributes:x AND",               // dangling AND
           "OR attributes:x",                // leading OR
           "attributes:x and attributes:y",  // lower-case keyword
           "(attributes:x",                  // unbalanced
           "attributes:x)",                  // unbalanced
           "NOT",                            // nothing to negate
           "hasPrefix(attributes.x)",        // missing prefix
           "hasPrefix(attributes.x, \"p\"",  // unbalanced
           "hasPrefix(x, \"p\")",            // not an attribute
           "attributes:x attributes:y",      // missing junction
       }) {
    absl::StatusOr<Filter> f = Filter::Parse(bad);
    EXPECT_THAT(f, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

// The mistake most users make first names the operator to use.
TEST(FilterTest, DoubleEqualsSaysTheOperatorIsASingleOne) {
  EXPECT_THAT(Filter::Parse("attributes.region == \"eu\""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "malformed filter at offset 18: the operator is '=', not '=='"));
}

TEST(FilterTest, DeepNestingIsRefusedNotFatal) {
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "(";
  deep += "attributes:x";
  for (int i = 0; i < 1000; ++i) deep += ")";
  EXPECT_THAT(Filter::Parse(deep), StatusIs(absl::StatusCode::kInvalidArgument));
  std::string nots;
  for (int i = 0; i < 1000; ++i) nots += "NOT ";
  nots += "attributes:x";
  EXPECT_THAT(Filter::Parse(nots), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace hub
