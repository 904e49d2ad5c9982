#pragma once
/// Verifies AWS Signature Version 4 on an incoming request, in the `Authorization:
/// AWS4-HMAC-SHA256 ...` header form and the presigned query form, and answers either the
/// principal that signed it or the error AWS itself would have returned (code, message,
/// status). Stateless apart from a small per-thread cache of derived signing keys, so one
/// instance serves every server thread. See docs/adr/0006-credentials.md.

#include "basalt/core/error.h"
#include "basalt/core/exchange.h"

#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::identity {

using Clock = std::chrono::system_clock;

/// What the key store knows about one SigV4 access key.
struct AccessKeyRecord {
  std::string access_key_id;
  std::string secret_access_key;  ///< the protocol needs the plain secret (see the ADR)
  std::string principal_id;
  std::optional<Clock::time_point> expires_at;  ///< unset: never expires
  bool revoked = false;
};

/// Port: finds an access key by id. Implemented over the key snapshot (and by fakes in tests).
/// Must be safe to call from any server thread.
class AccessKeyLookup {
 public:
  virtual ~AccessKeyLookup() = default;
  /// The record for `access_key_id`, or nullopt when no such key exists.
  virtual std::optional<AccessKeyRecord> find(std::string_view access_key_id) const = 0;
};

/// A SigV4 rejection in AWS's own terms, so the Bedrock door can answer exactly like AWS
/// (`x-amzn-ErrorType: <aws_error_code>`, body `{"message": ...}`).
struct Sigv4Error {
  std::string aws_error_code;  ///< IncompleteSignatureException, InvalidSignatureException, ...
  std::string message;
  int http_status = 403;  ///< 401 unknown/unusable credentials, 403 bad or expired signature

  /// The same failure as a transport-neutral Error (kind from the status, code = AWS code).
  Error toError() const;
};

/// Makes `Sigv4Result::value()` on an error throw (only reachable through a bug).
[[noreturn]] void throw_exception_from_error(const Sigv4Error& e,
                                             const boost::source_location& loc);

/// Who signed a verified request, and how.
struct Sigv4Principal {
  std::string principal_id;
  std::string access_key_id;
  std::string region;   ///< from the credential scope (any region is accepted; recorded here)
  std::string service;  ///< from the credential scope (one of Sigv4Options::services)
  Clock::time_point signed_at;
  bool presigned = false;      ///< query-string form
  bool payload_signed = true;  ///< false for UNSIGNED-PAYLOAD: the body is not covered
};

using Sigv4Result = boost::system::result<Sigv4Principal, Sigv4Error>;

/// A request as the verifier needs it. Views: the caller keeps the storage alive.
struct Sigv4Request {
  std::string_view method;
  std::string_view target;          ///< raw path + query as received, not decoded
  std::span<const Header> headers;  ///< lower-case names; `host` or HTTP/2 `:authority`
  std::string_view body;            ///< the full body (hashed unless UNSIGNED-PAYLOAD)

  static Sigv4Request from(const HttpRequest& request) {
    return Sigv4Request{request.method, request.target, request.headers, request.body};
  }
};

struct Sigv4Options {
  /// Accepted signing names in the credential scope ("bedrock" for Bedrock Runtime).
  std::vector<std::string> services{"bedrock"};
  /// Largest accepted |now - signing time| for the header form.
  std::chrono::seconds max_clock_skew{300};
  /// Largest accepted X-Amz-Expires for the presigned form (AWS: one week).
  std::chrono::seconds max_presign_expiry{604800};
};

class Sigv4Verifier {
 public:
  explicit Sigv4Verifier(Sigv4Options options = {});

  /// True when the request carries SigV4 at all (Authorization starting with "AWS4-" or an
  /// X-Amz-Algorithm / X-Amz-Signature query parameter); only then is `verify` meaningful.
  static bool isSigv4(const Sigv4Request& request);

  /// Verifies the signature of `request` at time `now` against the keys in `keys`.
  /// Session tokens (x-amz-security-token / X-Amz-Security-Token) are always rejected: Basalt
  /// issues no temporary credentials.
  Sigv4Result verify(const Sigv4Request& request, const AccessKeyLookup& keys,
                     Clock::time_point now) const;

 private:
  Sigv4Options options_;
};

/// AWS's wording of the signature-mismatch error.
inline constexpr std::string_view kSignatureMismatchMessage =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// AWS's wording for an unknown, revoked or expired access key, and for session tokens.
inline constexpr std::string_view kInvalidTokenMessage =
    "The security token included in the request is invalid.";

/// Formats a time as ISO 8601 basic (`20150830T123600Z`), as SigV4 uses it.
std::string formatAmzDate(Clock::time_point t);

/// Parses ISO 8601 basic (`20150830T123600Z`) or an HTTP date (`Sun, 30 Aug 2015 12:36:00
/// GMT`); nullopt when `text` is neither.
std::optional<Clock::time_point> parseAmzDate(std::string_view text);

}  // namespace basalt::identity
