#ifndef SERVICES_AUTH_TOKENS_H_
#define SERVICES_AUTH_TOKENS_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hub::services::auth {

// Bearer tokens, stored as SHA-256 hashes only: one `HEX PRINCIPAL` a line
// (`printf %s "$TOKEN" | sha256sum` gives the hex), `#` starts a comment.
// A leaked tokens file does not leak the tokens.
class TokenStore {
 public:
  static absl::StatusOr<TokenStore> Parse(absl::string_view text);

  // The principal of a presented token, if it is known.
  std::optional<std::string> PrincipalOf(absl::string_view token) const;
  size_t size() const { return principals_.size(); }

  static std::string Sha256Hex(absl::string_view data);

 private:
  absl::flat_hash_map<std::string, std::string> principals_;  // hash -> principal
};

}  // namespace hub::services::auth

#endif  // SERVICES_AUTH_TOKENS_H_
