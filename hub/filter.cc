#include "hub/filter.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace hub {

class FilterNode {
 public:
  virtual ~FilterNode() = default;
  virtual bool Matches(const Labels& attributes) const = 0;
};

namespace {

class Equals final : public FilterNode {
 public:
  Equals(std::string key, std::string value, bool negate)
      : key_(std::move(key)), value_(std::move(value)), negate_(negate) {}
  bool Matches(const Labels& attributes) const override {
    auto it = attributes.find(key_);
    const bool equal = it != attributes.end() && it->second == value_;
    return negate_ ? !equal : equal;
  }

 private:
  std::string key_, value_;
  bool negate_;
};

class Has final : public FilterNode {
 public:
  explicit Has(std::string key) : key_(std::move(key)) {}
  bool Matches(const Labels& attributes) const override { return attributes.count(key_) != 0; }

 private:
  std::string key_;
};

class HasPrefix final : public FilterNode {
 public:
  HasPrefix(std::string key, std::string prefix)
      : key_(std::move(key)), prefix_(std::move(prefix)) {}
  bool Matches(const Labels& attributes) const override {
    auto it = attributes.find(key_);
    return it != attributes.end() && absl::StartsWith(it->second, prefix_);
  }

 private:
  std::string key_, prefix_;
};

class Not final : public FilterNode {
 public:
  explicit Not(std::unique_ptr<FilterNode> inner) : inner_(std::move(inner)) {}
  bool Matches(const Labels& attributes) const override { return !inner_->Matches(attributes); }

 private:
  std::unique_ptr<FilterNode> inner_;
};

// AND (all) or OR (any) of its operands.
class Junction final : public FilterNode {
 public:
  Junction(bool all, std::vector<std::unique_ptr<FilterNode>> operands)
      : all_(all), operands_(std::move(operands)) {}
  bool Matches(const Labels& attributes) const override {
    for (const auto& op : operands_) {
      if (op->Matches(attributes) != all_) return !all_;
    }
    return all_;
  }

 private:
  bool all_;
  std::vector<std::unique_ptr<FilterNode>> operands_;
};

// Nesting deeper than this is refused, so a hostile filter cannot exhaust
// the stack.
constexpr int kMaxDepth = 32;

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::unique_ptr<FilterNode>> ParseAll() {
    auto expr = ParseExpr(0);
    if (!expr.ok()) return expr;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text");
    return expr;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed filter at offset ", pos_, ": ", what));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }

  // Consumes `word` if it comes next as a whole word.
  bool Keyword(absl::string_view word) {
    SkipSpace();
    if (!absl::StartsWith(text_.substr(pos_), word)) return false;
    const size_t end = pos_ + word.size();
    if (end < text_.size() &&
        (absl::ascii_isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_')) {
      return false;
    }
    pos_ = end;
    return true;
  }

  bool Symbol(absl::string_view symbol) {
    SkipSpace();
    if (!absl::StartsWith(text_.substr(pos_), symbol)) return false;
    pos_ += symbol.size();
    return true;
  }

  static bool IsKeyChar(char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  }

  absl::StatusOr<std::string> String() {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected a string");
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') {
        if (++pos_ >= text_.size()) break;
        if (text_[pos_] != '"' && text_[pos_] != '\\') return Error("bad escape");
      }
      out += text_[pos_++];
    }
    if (pos_ >= text_.size()) return Error("unterminated string");
    ++pos_;
    return out;
  }

  absl::StatusOr<std::string> Key() {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '"') return String();
    const size_t start = pos_;
    while (pos_ < text_.size() && IsKeyChar(text_[pos_])) ++pos_;
    if (pos_ == start) return Error("expected an attribute key");
    return std::string(text_.substr(start, pos_ - start));
  }

  absl::StatusOr<std::unique_ptr<FilterNode>> ParseJunction(bool all, int depth) {
    std::vector<std::unique_ptr<FilterNode>> operands;
    do {
      auto operand = all ? ParseFactor(depth) : ParseJunction(true, depth);
      if (!operand.ok()) return operand.status();
      operands.push_back(std::move(*operand));
    } while (Keyword(all ? "AND" : "OR"));
    if (operands.size() == 1) return std::move(operands[0]);
    return std::unique_ptr<FilterNode>(new Junction(all, std::move(operands)));
  }

  absl::StatusOr<std::unique_ptr<FilterNode>> ParseExpr(int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    return ParseJunction(false, depth);
  }

  absl::StatusOr<std::unique_ptr<FilterNode>> ParseFactor(int depth) {
    if (Keyword("NOT")) {
      if (depth > kMaxDepth) return Error("nested too deeply");
      auto inner = ParseFactor(depth + 1);
      if (!inner.ok()) return inner;
      return std::unique_ptr<FilterNode>(new Not(std::move(*inner)));
    }
    if (Symbol("(")) {
      auto inner = ParseExpr(depth + 1);
      if (!inner.ok()) return inner;
      if (!Symbol(")")) return Error("expected ')'");
      return inner;
    }
    if (Keyword("hasPrefix")) {
      if (!Symbol("(")) return Error("expected '(' after hasPrefix");
      if (!Keyword("attributes") || !Symbol(".")) return Error("expected attributes.KEY");
      auto key = Key();
      if (!key.ok()) return key.status();
      if (!Symbol(",")) return Error("expected ','");
      auto prefix = String();
      if (!prefix.ok()) return prefix.status();
      if (!Symbol(")")) return Error("expected ')'");
      return std::unique_ptr<FilterNode>(new HasPrefix(std::move(*key), std::move(*prefix)));
    }
    if (!Keyword("attributes")) return Error("expected a predicate");
    if (Symbol(":")) {
      auto key = Key();
      if (!key.ok()) return key.status();
      return std::unique_ptr<FilterNode>(new Has(std::move(*key)));
    }
    if (!Symbol(".")) return Error("expected '.' or ':' after attributes");
    auto key = Key();
    if (!key.ok()) return key.status();
    bool negate;
    if (Symbol("!=")) {
      negate = true;
    } else if (Symbol("==")) {
      // The comparison of most languages; Pub/Sub's (and so the hub's) is =.
      pos_ -= 2;
      return Error("the operator is '=', not '=='");
    } else if (Symbol("=")) {
      negate = false;
    } else {
      return Error("expected '=' or '!='");
    }
    auto value = String();
    if (!value.ok()) return value.status();
    return std::unique_ptr<FilterNode>(new Equals(std::move(*key), std::move(*value), negate));
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Filter::Filter() = default;
Filter::~Filter() = default;
Filter::Filter(Filter&&) noexcept = default;
Filter& Filter::operator=(Filter&&) noexcept = default;
Filter::Filter(std::unique_ptr<FilterNode> root) : root_(std::move(root)) {}

absl::StatusOr<Filter> Filter::Parse(absl::string_view text) {
  bool blank = true;
  for (char c : text) blank = blank && absl::ascii_isspace(static_cast<unsigned char>(c));
  if (blank) return Filter();
  auto root = Parser(text).ParseAll();
  if (!root.ok()) return root.status();
  return Filter(std::move(*root));
}

bool Filter::Matches(const Labels& attributes) const {
  return root_ == nullptr || root_->Matches(attributes);
}

}  // namespace hub
