#pragma once
/// Outbound AWS Signature Version 4 (Authorization-header form), for calls Basalt makes to AWS
/// (the bedrock provider). Built from the same canonical pieces as the inbound verifier
/// (sigv4_canonical.h), so the code base has one SigV4.
///
/// Signed headers: `host` plus every header the caller passes (names lower-cased), except the
/// ones SDKs never sign because proxies rewrite them (`user-agent`, `expect`,
/// `x-amzn-trace-id`, `authorization`). The caller must send exactly the headers it passed and
/// the `host` value it named, and must not change them afterwards.

#include "basalt/core/exchange.h"

#include <chrono>
#include <string>
#include <string_view>

namespace basalt::identity {

/// Long-term access keys or temporary (STS) credentials. Never logged.
struct Sigv4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  ///< empty for long-term keys
};

/// One request to sign. Views: the caller keeps the storage alive during `sign`.
struct Sigv4SignInput {
  std::string_view method = "POST";
  std::string_view host;       ///< the Host header value exactly as sent ("h" or "h:port")
  std::string_view raw_path;   ///< as it goes on the wire (already percent-encoded once)
  std::string_view raw_query;  ///< as it goes on the wire, without '?'; may be empty
  std::string_view body;
};

class Sigv4Signer {
 public:
  /// `service` is the signing name ("bedrock" for Bedrock Runtime). With
  /// `sign_content_sha256`, `x-amz-content-sha256` is sent and signed (the JS SDK's habit;
  /// botocore leaves it out for non-S3 services).
  Sigv4Signer(Sigv4Credentials credentials, std::string region, std::string service,
              bool sign_content_sha256 = false);

  /// Appends `x-amz-date`, optionally `x-amz-content-sha256`, `x-amz-security-token` when the
  /// credentials carry a session token, and `authorization: AWS4-HMAC-SHA256
  /// Credential=<id>/<date>/<region>/<service>/aws4_request, SignedHeaders=..., Signature=...`
  /// to `headers`. Any of those already in `headers` are replaced. `now` is the signing time.
  void sign(const Sigv4SignInput& input, Headers& headers,
            std::chrono::system_clock::time_point now) const;

  const std::string& region() const { return region_; }
  const std::string& service() const { return service_; }

 private:
  Sigv4Credentials credentials_;
  std::string region_;
  std::string service_;
  bool sign_content_sha256_;
};

}  // namespace basalt::identity
