#pragma once
/// Basalt API keys (`Authorization: Bearer KEY`, `x-api-key: KEY`, and Bedrock-style bearer
/// keys, which are the same thing).
///
/// Printable form: `bsk-<key_id>-<secret>`
///  - `key_id`: 16 characters [a-z0-9] (not secret; names the key in lookups, logs, revocation);
///  - `secret`: 43 characters [A-Za-z0-9] drawn uniformly from the OS CSPRNG (43 x log2 62 =
///    256.03 bits).
/// The key id is parseable without touching the secret, so the store finds the record in O(1).
/// Only `hashApiKey(pepper, key)` (HMAC-SHA256 keyed with a server-wide pepper) is stored; the
/// printable key is shown once at creation. See docs/adr/0006-credentials.md.

#include "basalt/core/error.h"

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::identity {

inline constexpr std::string_view kApiKeyPrefix = "bsk-";
inline constexpr std::size_t kApiKeyIdLength = 16;
inline constexpr std::size_t kApiKeySecretLength = 43;
/// Length of the whole printable key: prefix + id + '-' + secret.
inline constexpr std::size_t kApiKeyLength =
    kApiKeyPrefix.size() + kApiKeyIdLength + 1 + kApiKeySecretLength;
/// Length in bytes of a pepper made by `generatePepper`.
inline constexpr std::size_t kPepperLength = 32;

/// The stored form of an API key.
using ApiKeyDigest = std::array<unsigned char, 32>;

/// A freshly generated key. `api_key` is the only copy of the secret: show it once, store
/// `hashApiKey(pepper, api_key)`, and drop it.
struct GeneratedApiKey {
  std::string key_id;
  std::string api_key;
};

/// A presented key split into its parts (views into the presented string).
struct ParsedApiKey {
  std::string_view key_id;
  std::string_view secret;
};

/// A new key with a CSPRNG key id and 256-bit secret.
GeneratedApiKey generateApiKey();

/// Splits a presented key; nullopt unless it has exactly the printable form above.
std::optional<ParsedApiKey> parseApiKey(std::string_view presented);

/// The stored form: HMAC-SHA256(pepper, api_key) over the whole printable key, so the digest
/// is bound to its key id too.
ApiKeyDigest hashApiKey(std::string_view pepper, std::string_view api_key);

/// True when `presented` hashes to `stored`. Always computes the HMAC and compares in constant
/// time; with `stored == nullptr` (unknown key id) it compares against a dummy digest and
/// returns false, so the unknown-key path costs the same as a wrong-secret path.
bool verifyApiKey(std::string_view pepper, std::string_view presented, const ApiKeyDigest* stored);

/// A new random pepper (kPepperLength bytes from the OS CSPRNG, raw bytes).
std::string generatePepper();

/// What the key store keeps for one API key (never the key itself).
struct ApiKeyRecord {
  std::string key_id;
  ApiKeyDigest digest{};  ///< hashApiKey(pepper, api_key)
  std::string principal_id;
  std::optional<std::chrono::system_clock::time_point> expires_at;  ///< unset: never expires
  bool revoked = false;
};

/// Port: finds an API key record by key id (O(1) over the in-memory key snapshot). Must be
/// safe to call from any server thread.
class ApiKeyLookup {
 public:
  virtual ~ApiKeyLookup() = default;
  virtual std::optional<ApiKeyRecord> find(std::string_view key_id) const = 0;
};

struct ApiKeyPrincipal {
  std::string principal_id;
  std::string key_id;
};

/// Authenticates a presented API key: parse, look up by key id, constant-time digest check,
/// then revocation and expiry. Errors are kUnauthenticated with code
///  - "invalid_api_key": malformed, unknown id or wrong secret (deliberately indistinguishable);
///  - "api_key_revoked" / "api_key_expired": only after the secret was proven, so they reveal
///    nothing to someone who does not hold the key.
/// Messages never contain the presented key.
Result<ApiKeyPrincipal> authenticateApiKey(std::string_view pepper, std::string_view presented,
                                           const ApiKeyLookup& keys,
                                           std::chrono::system_clock::time_point now);

/// The same, for a caller that already computed `digest = hashApiKey(pepper, presented)` (the
/// perimeter does, to recognise the root key): one HMAC per request instead of two.
Result<ApiKeyPrincipal> authenticateApiKeyDigest(std::string_view presented,
                                                 const ApiKeyDigest& digest,
                                                 const ApiKeyLookup& keys,
                                                 std::chrono::system_clock::time_point now);

}  // namespace basalt::identity
