#ifndef HUB_FILTER_H_
#define HUB_FILTER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hub/types.h"

// The attribute filter language of docs/api.md:
//
//   expr      := term ("OR" term)*
//   term      := factor ("AND" factor)*
//   factor    := "NOT" factor | "(" expr ")" | predicate
//   predicate := attributes.KEY ("=" | "!=") STRING
//              | attributes:KEY
//              | hasPrefix(attributes.KEY, STRING)
//
// KEY is a run of letters, digits, '_', '-' and '.', or a quoted STRING;
// STRING is double-quoted with \" and \\ escapes. Keywords are upper case.
// An empty filter matches everything.
namespace hub {

class FilterNode;

class Filter {
 public:
  // INVALID_ARGUMENT naming the position of the first error.
  static absl::StatusOr<Filter> Parse(absl::string_view text);

  Filter();  // matches everything
  ~Filter();
  Filter(Filter&&) noexcept;
  Filter& operator=(Filter&&) noexcept;

  bool Matches(const Labels& attributes) const;
  bool MatchesEverything() const { return root_ == nullptr; }

 private:
  explicit Filter(std::unique_ptr<FilterNode> root);
  std::unique_ptr<FilterNode> root_;
};

}  // namespace hub

#endif  // HUB_FILTER_H_
