#pragma once
// An independent SigV4 *signer* for tests, written separately from the verifier (different
// structure, OpenSSL's EVP_Q_* one-shot API) so that a shared misunderstanding cannot make a
// wrong verifier pass. It signs the way botocore and @smithy/signature-v4 do for non-S3
// services.

#include "basalt/core/exchange.h"

#include <string>
#include <utility>
#include <vector>

namespace basalt::identity::testing {

struct SignInput {
  std::string method = "POST";
  std::string authority = "bedrock-runtime.us-east-1.amazonaws.com";
  bool http2 = false;      ///< sign and send `:authority` instead of `host` (JS SDK over h2)
  std::string path = "/";  ///< as it goes on the wire (already percent-encoded once)
  /// Decoded query parameters; the signer encodes them as SDKs do.
  std::vector<std::pair<std::string, std::string>> query;
  /// Extra headers sent and signed (names any case).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool sign_content_sha256 = false;  ///< send and sign x-amz-content-sha256 (JS SDK does)
  std::string content_sha256;        ///< when set, the x-amz-content-sha256 value to send
  std::string session_token;         ///< when set, x-amz-security-token is sent and signed
  std::string access_key_id = "AKIDEXAMPLE";
  std::string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  std::string region = "us-east-1";
  std::string service = "bedrock";
  std::string amz_date = "20150830T123600Z";
  /// When set (header form), sign and send `Date: <http_date>` instead of X-Amz-Date; the
  /// string to sign still carries `amz_date`.
  std::string http_date;
};

struct SignedRequest {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

/// Authorization-header form.
SignedRequest signWithHeader(const SignInput& in);

/// Presigned query form with X-Amz-Expires = `expires_s` (payload hash: the body's SHA-256).
SignedRequest presign(const SignInput& in, long expires_s);

std::string sha256HexForTest(const std::string& data);

}  // namespace basalt::identity::testing
