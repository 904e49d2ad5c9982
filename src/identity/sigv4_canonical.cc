#include "basalt/identity/sigv4_canonical.h"

#include "crypto.h"
#include "text.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace basalt::identity {
namespace {

using text::asciiLower;
using text::equalsIgnoreCase;
using text::percentDecode;

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Appends the canonical values of every header called `name` (joined by ','); false if none.
bool appendHeaderValues(std::span<const Header> headers, std::string_view name, std::string& out) {
  bool found = false;
  for (const Header& h : headers) {
    if (!equalsIgnoreCase(h.name, name)) continue;
    if (found) out.push_back(',');
    out += sigv4CanonicalHeaderValue(h.value);
    found = true;
  }
  return found;
}

}  // namespace

std::string sigv4UriEncode(std::string_view bytes, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 2);
  for (unsigned char c : bytes) {
    if (isUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4U]);
      out.push_back(kHex[c & 15U]);
    }
  }
  return out;
}

std::string sigv4CanonicalUri(std::string_view raw_path) {
  // Same normalization as botocore's remove_dot_segments and @smithy/signature-v4's
  // getCanonicalPath: drop empty and "." segments, ".." pops, keep a trailing slash.
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= raw_path.size()) {
    std::size_t end = raw_path.find('/', start);
    if (end == std::string_view::npos) end = raw_path.size();
    const std::string_view seg = raw_path.substr(start, end - start);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    start = end + 1;
  }
  std::string out = "/";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out += sigv4UriEncode(segments[i], /*keep_slash=*/false);
  }
  if (!segments.empty() && !raw_path.empty() && raw_path.back() == '/') out.push_back('/');
  return out;
}

std::string sigv4CanonicalQuery(std::string_view raw_query, bool drop_signature) {
  std::vector<std::pair<std::string, std::string>> params;
  text::forEachQueryParam(raw_query, [&](std::string key, std::string_view raw_value) {
    if (drop_signature && key == "X-Amz-Signature") return;
    params.emplace_back(sigv4UriEncode(key, false),
                        sigv4UriEncode(percentDecode(raw_value), false));
  });
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += key;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::string sigv4CanonicalHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (isSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

bool sigv4CanonicalHeaders(std::span<const Header> headers, std::string_view signed_headers,
                           std::string& out) {
  out.clear();
  std::size_t start = 0;
  while (start <= signed_headers.size()) {
    std::size_t end = signed_headers.find(';', start);
    if (end == std::string_view::npos) end = signed_headers.size();
    const std::string_view name = signed_headers.substr(start, end - start);
    start = end + 1;
    if (name.empty()) return false;
    for (char c : name) out.push_back(asciiLower(c));
    out.push_back(':');
    if (!appendHeaderValues(headers, name, out)) {
      // HTTP/2 carries the authority as a pseudo-header; a server may present either form.
      std::string_view alias;
      if (equalsIgnoreCase(name, "host")) alias = ":authority";
      if (equalsIgnoreCase(name, ":authority")) alias = "host";
      if (alias.empty() || !appendHeaderValues(headers, alias, out)) return false;
    }
    out.push_back('\n');
  }
  return true;
}

bool sigv4CanonicalRequest(const CanonicalRequestParts& parts, std::span<const Header> headers,
                           std::string& out) {
  std::string canonical_headers;
  if (!sigv4CanonicalHeaders(headers, parts.signed_headers, canonical_headers)) return false;
  out.clear();
  out.reserve(parts.raw_path.size() * 2 + parts.raw_query.size() * 2 + canonical_headers.size() +
              parts.signed_headers.size() + 96);
  out += parts.method;
  out.push_back('\n');
  out += sigv4CanonicalUri(parts.raw_path);
  out.push_back('\n');
  out += sigv4CanonicalQuery(parts.raw_query, parts.drop_signature_param);
  out.push_back('\n');
  out += canonical_headers;
  out.push_back('\n');
  out += parts.signed_headers;
  out.push_back('\n');
  out += parts.payload_hash;
  return true;
}

std::string sigv4StringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view canonical_request) {
  std::string out = "AWS4-HMAC-SHA256\n";
  out += amz_date;
  out.push_back('\n');
  out += scope;
  out.push_back('\n');
  out += crypto::sha256Hex(canonical_request);
  return out;
}

Sha256Digest sigv4SigningKey(std::string_view secret, std::string_view date,
                             std::string_view region, std::string_view service) {
  std::string k_secret = "AWS4";
  k_secret += secret;
  const crypto::Digest k_date = crypto::hmacSha256(k_secret, date);
  crypto::cleanse(k_secret);
  auto view = [](const crypto::Digest& d) {
    return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
  };
  const crypto::Digest k_region = crypto::hmacSha256(view(k_date), region);
  const crypto::Digest k_service = crypto::hmacSha256(view(k_region), service);
  return crypto::hmacSha256(view(k_service), "aws4_request");
}

Sha256Digest sigv4Signature(const Sha256Digest& signing_key, std::string_view string_to_sign) {
  return crypto::hmacSha256(
      std::string_view(reinterpret_cast<const char*>(signing_key.data()), signing_key.size()),
      string_to_sign);
}

std::string sigv4Hex(const Sha256Digest& digest) {
  return crypto::toHex(digest);
}

}  // namespace basalt::identity
