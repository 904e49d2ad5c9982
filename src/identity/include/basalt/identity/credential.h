#pragma once
/// Which credential a request presents, before anything is looked up or verified. Exactly one
/// mechanism per request: two different credentials (say a Bearer key and a different
/// x-api-key, or a Bearer key and a SigV4 signature) are rejected rather than letting one
/// layer pick a different one than another.

#include "basalt/core/exchange.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace basalt::identity {

enum class ApiKeySource : std::uint8_t {
  kAuthorizationBearer,  ///< `Authorization: Bearer KEY` (OpenAI, Bedrock API keys)
  kXApiKey,              ///< `x-api-key: KEY` (Anthropic)
};

/// No credential at all (401 on every door).
struct NoCredential {};

/// An API key, not yet checked. `key` views the request's header value.
struct ApiKeyCredential {
  std::string_view key;
  ApiKeySource source = ApiKeySource::kAuthorizationBearer;
};

/// AWS Signature V4; hand the request to `Sigv4Verifier`.
struct Sigv4Credential {
  bool presigned = false;  ///< query-string form rather than the Authorization header
};

/// Something credential-shaped that cannot be used (401 with `reason`, which names no secret).
struct MalformedCredential {
  std::string reason;
};

using Credential =
    std::variant<NoCredential, ApiKeyCredential, Sigv4Credential, MalformedCredential>;

/// Classifies the credential of a request from its headers (lower-case names) and raw target.
Credential parseCredential(std::span<const Header> headers, std::string_view target);

}  // namespace basalt::identity
