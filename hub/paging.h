#ifndef HUB_PAGING_H_
#define HUB_PAGING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "hub/types.h"
#include "hub/validation.h"

namespace hub {

// One page of a list: `fetch(after, limit)` reads one item more than the
// page holds, which says whether another page follows; the next page's
// token is `key(last item)` (its name, by default).
template <typename Fetch, typename Key>
auto ListPage(int page_size, absl::string_view page_token, Fetch fetch, Key key)
    -> absl::StatusOr<Page<typename decltype(fetch(page_token, 0))::value_type::value_type>> {
  RETURN_IF_ERROR(ValidatePageSize(page_size));
  RETURN_IF_ERROR(ValidatePageToken(page_token));
  const int limit = page_size == 0 ? Limits::kDefaultPageSize : page_size;
  auto items = fetch(page_token, limit + 1);
  if (!items.ok()) return items.status();
  Page<typename decltype(fetch(page_token, 0))::value_type::value_type> page;
  if (static_cast<int>(items->size()) > limit) {
    items->resize(limit);
    page.next_page_token = key(items->back());
  }
  page.items = *std::move(items);
  return page;
}

template <typename Fetch>
auto ListPage(int page_size, absl::string_view page_token, Fetch fetch) {
  return ListPage(page_size, page_token, fetch, [](const auto& item) { return item.name; });
}

}  // namespace hub

#endif  // HUB_PAGING_H_
