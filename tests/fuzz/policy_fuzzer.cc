// libFuzzer target: the access policy and tokens file parsers, and the
// decisions of whatever policy they accept.
#include <cstddef>
#include <cstdint>

#include "services/auth/policy.h"
#include "services/auth/tokens.h"

using hub::services::auth::Action;
using hub::services::auth::Resource;
using hub::services::auth::ResourceKind;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<hub::services::auth::Policy> policy = hub::services::auth::Policy::Parse(text);
  if (policy.ok()) {
    for (Action action : {Action::kPublish, Action::kSubscribe, Action::kAdmin}) {
      (void)policy->Allows("orders", action, {ResourceKind::kTopic, "orders.created"});
      (void)policy->Allows("", action, {ResourceKind::kSubscription, ""});
    }
  }
  (void)hub::services::auth::TokenStore::Parse(text);
  return 0;
}
