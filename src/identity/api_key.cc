#include "basalt/identity/api_key.h"

#include "basalt/core/ids.h"
#include "crypto.h"

#include <algorithm>

namespace basalt::identity {
namespace {

constexpr std::string_view kIdAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

bool allIn(std::string_view s, std::string_view alphabet) {
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alphabet.find(c) != std::string_view::npos; });
}

}  // namespace

GeneratedApiKey generateApiKey() {
  GeneratedApiKey out;
  out.key_id = crypto::randomString(kIdAlphabet, kApiKeyIdLength);
  std::string secret = crypto::randomString(kSecretAlphabet, kApiKeySecretLength);
  out.api_key.reserve(kApiKeyLength);
  out.api_key.append(kApiKeyPrefix).append(out.key_id).append("-").append(secret);
  crypto::cleanse(secret);
  return out;
}

std::optional<ParsedApiKey> parseApiKey(std::string_view presented) {
  if (presented.size() != kApiKeyLength || !presented.starts_with(kApiKeyPrefix)) {
    return std::nullopt;
  }
  const std::string_view key_id = presented.substr(kApiKeyPrefix.size(), kApiKeyIdLength);
  const std::size_t dash = kApiKeyPrefix.size() + kApiKeyIdLength;
  if (presented[dash] != '-') return std::nullopt;
  const std::string_view secret = presented.substr(dash + 1);
  if (!allIn(key_id, kIdAlphabet) || !allIn(secret, kSecretAlphabet)) return std::nullopt;
  return ParsedApiKey{key_id, secret};
}

ApiKeyDigest hashApiKey(std::string_view pepper, std::string_view api_key) {
  return crypto::hmacSha256Fixed(pepper, api_key);
}

bool verifyApiKey(std::string_view pepper, std::string_view presented, const ApiKeyDigest* stored) {
  static const ApiKeyDigest kDummy{};
  const ApiKeyDigest computed = hashApiKey(pepper, presented);
  const bool equal = crypto::constantTimeEqual(computed, stored != nullptr ? *stored : kDummy);
  return equal && stored != nullptr;
}

std::string generatePepper() {
  return secureRandomBytes(kPepperLength);
}

Result<ApiKeyPrincipal> authenticateApiKey(std::string_view pepper, std::string_view presented,
                                           const ApiKeyLookup& keys,
                                           std::chrono::system_clock::time_point now) {
  return authenticateApiKeyDigest(presented, hashApiKey(pepper, presented), keys, now);
}

Result<ApiKeyPrincipal> authenticateApiKeyDigest(std::string_view presented,
                                                 const ApiKeyDigest& digest,
                                                 const ApiKeyLookup& keys,
                                                 std::chrono::system_clock::time_point now) {
  const auto invalid = [] {
    return Error{ErrorKind::kUnauthenticated, "Invalid API key.", {}, "invalid_api_key"};
  };
  const std::optional<ParsedApiKey> parsed = parseApiKey(presented);
  if (!parsed) return invalid();
  const std::optional<ApiKeyRecord> record = keys.find(parsed->key_id);
  // Unknown ids still pay for the digest compare (against a dummy digest).
  static const ApiKeyDigest kDummy{};
  const bool match =
      crypto::constantTimeEqual(digest, record ? record->digest : kDummy) && record.has_value();
  if (!match || record->key_id != parsed->key_id) return invalid();
  if (record->revoked) {
    return Error{
        ErrorKind::kUnauthenticated, "This API key has been revoked.", {}, "api_key_revoked"};
  }
  if (record->expires_at && *record->expires_at <= now) {
    return Error{ErrorKind::kUnauthenticated, "This API key has expired.", {}, "api_key_expired"};
  }
  return ApiKeyPrincipal{record->principal_id, record->key_id};
}

}  // namespace basalt::identity
