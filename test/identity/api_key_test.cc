#include "basalt/identity/api_key.h"

#include "basalt/identity/access_key.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace basalt::identity {
namespace {

bool onlyChars(std::string_view s, std::string_view alphabet) {
  return s.find_first_not_of(alphabet) == std::string_view::npos;
}

constexpr std::string_view kBase62 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

TEST(ApiKey, GeneratedKeyHasTheDocumentedForm) {
  const GeneratedApiKey k = generateApiKey();
  ASSERT_EQ(k.api_key.size(), kApiKeyLength);
  EXPECT_EQ(k.api_key.substr(0, 4), "bsk-");
  EXPECT_EQ(k.key_id.size(), kApiKeyIdLength);
  EXPECT_TRUE(onlyChars(k.key_id, "abcdefghijklmnopqrstuvwxyz0123456789"));
  EXPECT_EQ(k.api_key.substr(4, kApiKeyIdLength), k.key_id);
  EXPECT_EQ(k.api_key[4 + kApiKeyIdLength], '-');
  EXPECT_TRUE(onlyChars(k.api_key.substr(5 + kApiKeyIdLength), kBase62));

  const auto parsed = parseApiKey(k.api_key);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->key_id, k.key_id);
  EXPECT_EQ(parsed->secret.size(), kApiKeySecretLength);
}

TEST(ApiKey, KeysAreUniqueAndUseTheWholeAlphabet) {
  std::set<std::string> ids, keys;
  std::set<char> seen;
  for (int i = 0; i < 2000; ++i) {
    const GeneratedApiKey k = generateApiKey();
    ids.insert(k.key_id);
    keys.insert(k.api_key);
    const std::optional<ParsedApiKey> parsed = parseApiKey(k.api_key);
    ASSERT_TRUE(parsed.has_value());
    for (char c : parsed->secret) seen.insert(c);
  }
  EXPECT_EQ(ids.size(), 2000u);
  EXPECT_EQ(keys.size(), 2000u);
  // 86,000 uniform draws over 62 symbols: each appears ~1,387 times; missing one means the
  // generator is broken, not unlucky.
  EXPECT_EQ(seen.size(), kBase62.size());
}

TEST(ApiKey, ParseRejectsAnythingElse) {
  const std::string good = generateApiKey().api_key;
  EXPECT_TRUE(parseApiKey(good).has_value());
  EXPECT_FALSE(parseApiKey("").has_value());
  EXPECT_FALSE(parseApiKey(good.substr(1)).has_value());
  EXPECT_FALSE(parseApiKey(good + "A").has_value());
  EXPECT_FALSE(parseApiKey("sk-" + good.substr(3)).has_value());
  std::string bad_sep = good;
  bad_sep[4 + kApiKeyIdLength] = '_';
  EXPECT_FALSE(parseApiKey(bad_sep).has_value());
  std::string bad_secret = good;
  bad_secret.back() = '+';
  EXPECT_FALSE(parseApiKey(bad_secret).has_value());
  std::string upper_id = good;
  upper_id[4] = 'A';
  EXPECT_FALSE(parseApiKey(upper_id).has_value());
}

TEST(ApiKey, StoredFormIsAKeyedHash) {
  const std::string pepper = generatePepper();
  EXPECT_EQ(pepper.size(), kPepperLength);
  const GeneratedApiKey k = generateApiKey();
  const ApiKeyDigest stored = hashApiKey(pepper, k.api_key);
  EXPECT_EQ(hashApiKey(pepper, k.api_key), stored);            // deterministic
  EXPECT_NE(hashApiKey(generatePepper(), k.api_key), stored);  // depends on the pepper

  // Known answer: HMAC-SHA256(key="pepper", "bsk-...") computed independently.
  const ApiKeyDigest kat = hashApiKey("key", "The quick brown fox jumps over the lazy dog");
  const ApiKeyDigest expected = {0xf7, 0xbc, 0x83, 0xf4, 0x30, 0x53, 0x84, 0x24, 0xb1, 0x32, 0x98,
                                 0xe6, 0xaa, 0x6f, 0xb1, 0x43, 0xef, 0x4d, 0x59, 0xa1, 0x49, 0x46,
                                 0x17, 0x59, 0x97, 0x47, 0x9d, 0xbc, 0x2d, 0x1a, 0x3c, 0xd8};
  EXPECT_EQ(kat, expected);
}

std::string hexOf(const ApiKeyDigest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

TEST(ApiKey, HmacMatchesRfc4231) {
  // hashApiKey is HMAC-SHA256(pepper, key): RFC 4231 test cases 1, 2, 6 and 7 (the last two
  // take the longer-than-a-block key path).
  EXPECT_EQ(hexOf(hashApiKey(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hexOf(hashApiKey("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hexOf(hashApiKey(std::string(131, '\xaa'),
                             "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(hexOf(hashApiKey(std::string(131, '\xaa'),
                             "This is a test using a larger than block-size key and a larger "
                             "than block-size data. The key needs to be hashed before being "
                             "used by the HMAC algorithm.")),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
  EXPECT_EQ(hexOf(hashApiKey(std::string(64, 'k'), "exactly one block of key")),
            hexOf(hashApiKey(std::string(64, 'k'), "exactly one block of key")));
  // Each thread caches the last key's absorbed pads: same key twice, then back to an old one.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(hexOf(hashApiKey("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
  EXPECT_EQ(hexOf(hashApiKey(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(ApiKey, VerifyAcceptsOnlyTheRightKey) {
  const std::string pepper = generatePepper();
  const GeneratedApiKey k = generateApiKey();
  const ApiKeyDigest stored = hashApiKey(pepper, k.api_key);
  EXPECT_TRUE(verifyApiKey(pepper, k.api_key, &stored));

  std::string wrong = k.api_key;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  EXPECT_FALSE(verifyApiKey(pepper, wrong, &stored));
  EXPECT_FALSE(verifyApiKey(generatePepper(), k.api_key, &stored));
  EXPECT_FALSE(verifyApiKey(pepper, generateApiKey().api_key, &stored));
  EXPECT_FALSE(verifyApiKey(pepper, "", &stored));
}

TEST(ApiKey, UnknownKeyPathNeverMatches) {
  // The unknown-key path compares against a dummy all-zero digest; even a stored digest of
  // zeros (or any presented value) must not turn that into a match.
  const std::string pepper = generatePepper();
  EXPECT_FALSE(verifyApiKey(pepper, generateApiKey().api_key, nullptr));
  const ApiKeyDigest zeros{};
  EXPECT_FALSE(verifyApiKey(pepper, "anything", &zeros));
}

class FakeApiKeys : public ApiKeyLookup {
 public:
  std::optional<ApiKeyRecord> find(std::string_view key_id) const override {
    auto it = records.find(std::string(key_id));
    if (it == records.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, ApiKeyRecord> records;
};

TEST(ApiKeyAuthentication, AcceptsTheKeyAndMapsItsPrincipal) {
  const std::string pepper = generatePepper();
  const auto now = std::chrono::system_clock::now();
  FakeApiKeys keys;
  const GeneratedApiKey k = generateApiKey();
  keys.records[k.key_id] =
      ApiKeyRecord{k.key_id, hashApiKey(pepper, k.api_key), "alice", {}, false};

  const Result<ApiKeyPrincipal> ok = authenticateApiKey(pepper, k.api_key, keys, now);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->principal_id, "alice");
  EXPECT_EQ(ok->key_id, k.key_id);

  auto code = [&](std::string_view presented) {
    const Result<ApiKeyPrincipal> r = authenticateApiKey(pepper, presented, keys, now);
    EXPECT_FALSE(r.has_value());
    if (r.has_value()) return std::string();
    EXPECT_EQ(r.error().kind, ErrorKind::kUnauthenticated);
    if (!presented.empty()) {
      EXPECT_EQ(r.error().message.find(presented), std::string::npos);  // never echoes the key
    }
    return r.error().code;
  };
  std::string wrong = k.api_key;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(code(wrong), "invalid_api_key");
  EXPECT_EQ(code(generateApiKey().api_key), "invalid_api_key");  // unknown id
  EXPECT_EQ(code("sk-not-a-basalt-key"), "invalid_api_key");
  EXPECT_EQ(code(""), "invalid_api_key");

  keys.records[k.key_id].expires_at = now;
  EXPECT_EQ(code(k.api_key), "api_key_expired");
  EXPECT_EQ(code(wrong), "invalid_api_key");  // expiry is only revealed to the key holder
  keys.records[k.key_id].expires_at = now + std::chrono::seconds(1);
  EXPECT_TRUE(authenticateApiKey(pepper, k.api_key, keys, now).has_value());
  keys.records[k.key_id].revoked = true;
  EXPECT_EQ(code(k.api_key), "api_key_revoked");
  EXPECT_EQ(code(wrong), "invalid_api_key");
}

TEST(ApiKeyAuthentication, ADigestStoredUnderAnotherIdDoesNotAuthenticate) {
  // A record whose digest belongs to a different key (say, rows swapped in the store) fails:
  // the digest covers the key id.
  const std::string pepper = generatePepper();
  FakeApiKeys keys;
  const GeneratedApiKey a = generateApiKey(), b = generateApiKey();
  keys.records[a.key_id] = ApiKeyRecord{a.key_id, hashApiKey(pepper, b.api_key), "a", {}, false};
  keys.records[b.key_id] = ApiKeyRecord{b.key_id, hashApiKey(pepper, a.api_key), "b", {}, false};
  const auto now = std::chrono::system_clock::now();
  EXPECT_FALSE(authenticateApiKey(pepper, a.api_key, keys, now).has_value());
  EXPECT_FALSE(authenticateApiKey(pepper, b.api_key, keys, now).has_value());
}

TEST(AccessKey, GeneratedKeyHasAwsShape) {
  std::set<std::string> ids;
  for (int i = 0; i < 500; ++i) {
    const GeneratedAccessKey k = generateAccessKey();
    ASSERT_EQ(k.access_key_id.size(), 20u);
    EXPECT_EQ(k.access_key_id.substr(0, 4), "AKIA");
    EXPECT_TRUE(onlyChars(k.access_key_id.substr(4), "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
    EXPECT_TRUE(isAccessKeyId(k.access_key_id));
    ASSERT_EQ(k.secret_access_key.size(), 40u);
    EXPECT_TRUE(onlyChars(k.secret_access_key,
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"));
    ids.insert(k.access_key_id);
  }
  EXPECT_EQ(ids.size(), 500u);
  EXPECT_FALSE(isAccessKeyId("AKIDEXAMPLE"));
  EXPECT_FALSE(isAccessKeyId("ASIAAAAAAAAAAAAAAAAA"));
  EXPECT_FALSE(isAccessKeyId("AKIAaaaaaaaaaaaaaaaa"));
}

}  // namespace
}  // namespace basalt::identity
