#pragma once
/// The pieces of AWS Signature Version 4 that turn a request into the bytes that are signed:
/// canonical URI, canonical query, canonical headers, canonical request, string to sign and the
/// derived signing key. `Sigv4Verifier` composes them; they are public so tests can reproduce
/// AWS's published canonical requests for any service name.
///
/// Reference:
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html and
/// reference/bedrock.md §4. Rules for services other than S3 (Bedrock among them):
///  - the canonical URI is the raw request path (as received, still percent-encoded) with dot
///    segments and empty segments removed, each segment URI-encoded again ("double encoding":
///    `%3A` on the wire becomes `%253A`);
///  - query names and values are percent-decoded and re-encoded (RFC 3986 unreserved kept, `%XX`
///    upper-case otherwise; `+` is a literal plus, not a space), then sorted by name, then value.

#include "basalt/core/exchange.h"

#include <array>
#include <span>
#include <string>
#include <string_view>

namespace basalt::identity {

/// A SHA-256 / HMAC-SHA256 output.
using Sha256Digest = std::array<unsigned char, 32>;

/// The lower-case hex SHA-256 of the empty string, the payload hash of a bodiless request.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// URI-encodes `bytes` the SigV4 way: `A-Za-z0-9-_.~` kept, every other byte `%XX` (upper-case
/// hex). `/` is kept when `keep_slash`.
std::string sigv4UriEncode(std::string_view bytes, bool keep_slash);

/// The canonical URI of a raw (not decoded) request path for a non-S3 service: dot segments
/// resolved, empty segments dropped, each segment encoded again. Empty path -> "/".
std::string sigv4CanonicalUri(std::string_view raw_path);

/// The canonical query string of a raw (not decoded) query. With `drop_signature`, the
/// `X-Amz-Signature` parameter is left out (presigned form).
std::string sigv4CanonicalQuery(std::string_view raw_query, bool drop_signature);

/// A header value as it appears in the canonical request: leading and trailing whitespace
/// removed, each inner run of whitespace replaced by one space.
std::string sigv4CanonicalHeaderValue(std::string_view value);

/// Builds the canonical headers block (each `name:value\n`) for the `;`-separated
/// `signed_headers`, looking names up case-insensitively in `headers`. Multiple occurrences of
/// a name are joined with `,` in arrival order. `host` and the HTTP/2 pseudo-header
/// `:authority` stand in for each other. Returns false (and leaves `out` unspecified) when a
/// signed header is absent from the request.
bool sigv4CanonicalHeaders(std::span<const Header> headers, std::string_view signed_headers,
                           std::string& out);

/// The parts of a canonical request. `payload_hash` is hex SHA-256 of the body or one of the
/// literal markers (`UNSIGNED-PAYLOAD`, `STREAMING-...`).
struct CanonicalRequestParts {
  std::string_view method;
  std::string_view raw_path;
  std::string_view raw_query;
  bool drop_signature_param = false;  ///< presigned form: leave X-Amz-Signature out
  std::string_view signed_headers;    ///< as sent, e.g. "content-type;host;x-amz-date"
  std::string_view payload_hash;
};

/// `METHOD\nURI\nQUERY\nHEADERS\nSIGNED_HEADERS\nPAYLOAD_HASH`; false when a signed header is
/// missing from `headers`.
bool sigv4CanonicalRequest(const CanonicalRequestParts& parts, std::span<const Header> headers,
                           std::string& out);

/// `AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical_request)>` where `scope` is
/// `DATE/REGION/SERVICE/aws4_request`.
std::string sigv4StringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request);

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
Sha256Digest sigv4SigningKey(std::string_view secret, std::string_view date,
                             std::string_view region, std::string_view service);

/// HMAC-SHA256(signing_key, string_to_sign), raw bytes.
Sha256Digest sigv4Signature(const Sha256Digest& signing_key, std::string_view string_to_sign);

/// Lower-case hex of a digest.
std::string sigv4Hex(const Sha256Digest& digest);

}  // namespace basalt::identity
