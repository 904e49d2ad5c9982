#include "basalt/identity/sigv4_signer.h"

#include "basalt/identity/sigv4_canonical.h"
#include "basalt/identity/sigv4_verifier.h"
#include "crypto.h"
#include "text.h"

#include <algorithm>
#include <array>
#include <span>
#include <utility>
#include <vector>

namespace basalt::identity {
namespace {

/// Headers the signer itself writes: a caller's copy is replaced, never signed twice.
constexpr std::array<std::string_view, 4> kOwnHeaders = {
    "authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"};

/// Never signed: intermediaries add or rewrite them (botocore's and smithy's lists).
constexpr std::array<std::string_view, 3> kUnsignedHeaders = {"user-agent", "expect",
                                                              "x-amzn-trace-id"};

bool isOneOf(std::string_view name, std::span<const std::string_view> names) {
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view n) { return text::equalsIgnoreCase(name, n); });
}

std::string lowerCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = text::asciiLower(c);
  return out;
}

}  // namespace

Sigv4Signer::Sigv4Signer(Sigv4Credentials credentials, std::string region, std::string service,
                         bool sign_content_sha256)
    : credentials_(std::move(credentials)),
      region_(std::move(region)),
      service_(std::move(service)),
      sign_content_sha256_(sign_content_sha256) {}

void Sigv4Signer::sign(const Sigv4SignInput& input, Headers& headers,
                       std::chrono::system_clock::time_point now) const {
  std::erase_if(headers, [](const Header& h) { return isOneOf(h.name, kOwnHeaders); });

  const std::string amz_date = formatAmzDate(now);
  const std::string_view date = std::string_view(amz_date).substr(0, 8);
  const std::string payload_hash = crypto::sha256Hex(input.body);
  headers.push_back(Header{"x-amz-date", amz_date});
  if (sign_content_sha256_) headers.push_back(Header{"x-amz-content-sha256", payload_hash});
  if (!credentials_.session_token.empty()) {
    headers.push_back(Header{"x-amz-security-token", credentials_.session_token});
  }

  // The canonical headers are looked up in `headers` plus the Host the transport will send.
  std::vector<Header> all;
  all.reserve(headers.size() + 1);
  all.push_back(Header{"host", std::string(input.host)});
  std::vector<std::string> names{"host"};
  for (const Header& h : headers) {
    if (isOneOf(h.name, kUnsignedHeaders) || text::equalsIgnoreCase(h.name, "host")) continue;
    all.push_back(h);
    names.push_back(lowerCase(h.name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signed_headers;
  for (const std::string& n : names) {
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers += n;
  }

  std::string canonical_request;
  // Every signed name was taken from `all`, so no signed header can be missing.
  (void)sigv4CanonicalRequest(CanonicalRequestParts{input.method, input.raw_path, input.raw_query,
                                                    false, signed_headers, payload_hash},
                              all, canonical_request);
  std::string scope(date);
  scope += '/';
  scope += region_;
  scope += '/';
  scope += service_;
  scope += "/aws4_request";
  const std::string string_to_sign = sigv4StringToSign(amz_date, scope, canonical_request);
  const Sha256Digest key = sigv4SigningKey(credentials_.secret_access_key, date, region_, service_);
  const std::string signature = sigv4Hex(sigv4Signature(key, string_to_sign));

  std::string authorization = "AWS4-HMAC-SHA256 Credential=";
  authorization += credentials_.access_key_id;
  authorization += '/';
  authorization += scope;
  authorization += ", SignedHeaders=";
  authorization += signed_headers;
  authorization += ", Signature=";
  authorization += signature;
  headers.push_back(Header{"authorization", std::move(authorization)});
}

}  // namespace basalt::identity
