#include "services/auth/tokens.h"

#include <gtest/gtest.h>

namespace hub::services::auth {
namespace {

TEST(TokenStoreTest, FindsPrincipalsByTheHashOfTheToken) {
  // printf %s s3cret | sha256sum
  const std::string hash = "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0";
  EXPECT_EQ(TokenStore::Sha256Hex("s3cret"), hash);
  absl::StatusOr<TokenStore> store = TokenStore::Parse("# team tokens\n" + hash + " orders\n");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(store->PrincipalOf("s3cret"), "orders");
  EXPECT_EQ(store->PrincipalOf("s3cret "), std::nullopt);
  EXPECT_EQ(store->PrincipalOf(hash), std::nullopt);  // the hash is not the token
}

TEST(TokenStoreTest, RefusesLinesThatAreNotHashes) {
  for (const char* bad : {"s3cret orders", "abc orders", "5b5a orders extra"}) {
    absl::StatusOr<TokenStore> store = TokenStore::Parse(bad);
    ASSERT_FALSE(store.ok()) << bad;
    // The line is not echoed: it may be a token pasted by mistake.
    EXPECT_EQ(std::string(store.status().message()).find("s3cret"), std::string::npos);
  }
}

}  // namespace
}  // namespace hub::services::auth
