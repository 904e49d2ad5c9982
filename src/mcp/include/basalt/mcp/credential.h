#pragma once
/// MCP server credentials as vaults keep them (`static_bearer`, `mcp_oauth`), and the OAuth
/// refresh_token grant for an expired `mcp_oauth` access token. Tokens live only in these
/// structs and in request headers/bodies: never in error messages or logs.

#include "basalt/core/async.h"
#include "basalt/core/error.h"
#include "basalt/mcp/client.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::mcp {

using SystemTime = std::chrono::system_clock::time_point;

/// An mcp_oauth credential's refresh configuration.
struct OAuthRefresh {
  std::string token_endpoint;
  std::string client_id;
  std::string refresh_token;
  std::string auth_method = "none";  ///< none | client_secret_basic | client_secret_post
  std::string client_secret;
  std::string scope;     ///< may be empty
  std::string resource;  ///< RFC 8707 resource, may be empty
};

struct Credential {
  enum class Type : std::uint8_t { kStaticBearer, kOAuth };
  Type type = Type::kStaticBearer;
  std::string token;  ///< static_bearer token, or the mcp_oauth access_token
  std::optional<SystemTime> expires_at;
  std::optional<OAuthRefresh> refresh;
};

/// Builds a credential from the vault's full `auth` object (public fields merged with the
/// decrypted secret fields) as JSON. `expires_at` is passed parsed (RFC 3339 is the caller's).
Result<Credential> parseCredential(std::string_view auth_json,
                                   std::optional<SystemTime> expires_at = {});

/// True when the token is past (or within `skew` of) its expiry.
bool expired(const Credential& credential, SystemTime now,
             std::chrono::seconds skew = std::chrono::seconds(30));

/// What a successful refresh returned.
struct RefreshedToken {
  std::string access_token;
  std::optional<std::chrono::seconds> expires_in;
  std::string refresh_token;  ///< a rotated refresh token, or empty
};

/// POSTs `grant_type=refresh_token` (form-encoded, client authentication per auth_method) to
/// the token endpoint. A 400/401 answer (invalid_grant ...) is an auth failure
/// (kAuthFailedCode); transport trouble is kConnectFailedCode.
Task<Result<RefreshedToken>> refreshAccessToken(const OAuthRefresh& refresh,
                                                const ClientOptions& options);

}  // namespace basalt::mcp
