// libFuzzer target: the subscription filter parser, and matching with
// whatever it accepts.
#include <cstddef>
#include <cstdint>

#include "hub/filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<hub::Filter> filter = hub::Filter::Parse(text);
  if (filter.ok()) {
    (void)filter->Matches({});
    (void)filter->Matches({{"kind", "order"}, {"region", "eu"}, {"", ""}});
  }
  return 0;
}
