#include "basalt/storage/key_index.h"

#include "basalt/identity/access_key.h"
#include "basalt/storage/store.h"
#include "storage/temp_dir.h"

#include <gtest/gtest.h>

namespace basalt::storage {
namespace {

TEST(KeyIndex, AuthenticatesStoredKeysAndSeesRevocationInTheNextSnapshot) {
  basalt::testing::TempDir dir;
  auto store = Store::open(dir.file("basalt.db"));
  ASSERT_TRUE(store.has_value());
  auto alice = (*store)->createPrincipal("alice", PrincipalKind::kUser);
  ASSERT_TRUE(alice.has_value());

  const std::string pepper = identity::generatePepper();
  const identity::GeneratedApiKey generated = identity::generateApiKey();
  ApiKey key;
  key.key_id = generated.key_id;
  key.digest = identity::hashApiKey(pepper, generated.api_key);
  key.principal_id = alice->id;
  ASSERT_TRUE((*store)->addApiKey(key).has_value());
  const identity::GeneratedAccessKey ak = identity::generateAccessKey();
  ASSERT_TRUE(
      (*store)->addAccessKey({ak.access_key_id, ak.secret_access_key, alice->id, {}, {}, {}}));

  const auto now = std::chrono::system_clock::now();
  auto index = std::make_shared<KeyIndex>(*(*store)->loadSnapshot());
  auto who = identity::authenticateApiKey(pepper, generated.api_key, index->apiKeys(), now);
  ASSERT_TRUE(who.has_value()) << who.error().message;
  EXPECT_EQ(who->principal_id, alice->id);
  EXPECT_EQ(who->key_id, generated.key_id);
  EXPECT_FALSE(index->findApiKey("unknown").has_value());

  auto access = index->accessKeys().find(ak.access_key_id);
  ASSERT_TRUE(access.has_value());
  EXPECT_EQ(access->secret_access_key, ak.secret_access_key);
  EXPECT_FALSE(access->revoked);

  ASSERT_TRUE((*store)->revokeKey(generated.key_id).has_value());
  // The old index is immutable; the next one sees the revocation.
  EXPECT_TRUE(identity::authenticateApiKey(pepper, generated.api_key, index->apiKeys(), now));
  index = std::make_shared<KeyIndex>(*(*store)->loadSnapshot());
  auto revoked = identity::authenticateApiKey(pepper, generated.api_key, index->apiKeys(), now);
  ASSERT_FALSE(revoked.has_value());
  EXPECT_EQ(revoked.error().code, "api_key_revoked");
}

}  // namespace
}  // namespace basalt::storage
