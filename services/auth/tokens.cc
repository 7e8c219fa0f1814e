#include "services/auth/tokens.h"

#include <openssl/evp.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/auth/config_lines.h"

namespace hub::services::auth {

std::string TokenStore::Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

absl::StatusOr<TokenStore> TokenStore::Parse(absl::string_view text) {
  TokenStore store;
  for (const ConfigLine& line : ConfigLines(text)) {
    const std::vector<absl::string_view>& f = line.fields;
    if (f.size() != 2 || f[0].size() != 64 ||
        f[0].find_first_not_of("0123456789abcdefABCDEF") != absl::string_view::npos) {
      // The line is not echoed: it might hold a token pasted by mistake.
      return absl::InvalidArgumentError(
          absl::StrCat("tokens line ", line.number, ": expected SHA256-HEX PRINCIPAL"));
    }
    store.principals_[absl::AsciiStrToLower(f[0])] = std::string(f[1]);
  }
  return store;
}

std::optional<std::string> TokenStore::PrincipalOf(absl::string_view token) const {
  auto it = principals_.find(Sha256Hex(token));
  if (it == principals_.end()) return std::nullopt;
  return it->second;
}

}  // namespace hub::services::auth
