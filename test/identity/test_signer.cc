#include "test_signer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <iomanip>
#include <map>
#include <sstream>
#include <stdexcept>

namespace basalt::identity::testing {
namespace {

std::string toHex(const unsigned char* p, size_t n) {
  std::ostringstream os;
  for (size_t i = 0; i < n; ++i) os << std::hex << std::setw(2) << std::setfill('0') << int(p[i]);
  return os.str();
}

std::string digestRaw(const std::string& data) {
  unsigned char out[32];
  size_t len = 0;
  if (!EVP_Q_digest(nullptr, "SHA256", nullptr, data.data(), data.size(), out, &len)) {
    throw std::runtime_error("EVP_Q_digest");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string macRaw(const std::string& key, const std::string& data) {
  unsigned char out[32];
  size_t len = 0;
  char digest[] = "SHA256";
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key.data(), key.size(),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
                 &len)) {
    throw std::runtime_error("EVP_Q_mac");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hexOf(const std::string& raw) {
  return toHex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

// encodeURIComponent plus !'()* (what @smithy/util-uri-escape does).
std::string escape(const std::string& s, bool keep_slash) {
  std::ostringstream os;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      os << c;
    } else {
      os << '%' << std::uppercase << std::hex << std::setw(2) << std::setfill('0') << int(c)
         << std::nouppercase << std::dec;
    }
  }
  return os.str();
}

// RFC 3986 remove_dot_segments plus dropping empty segments, then encode everything but '/'.
std::string canonicalPath(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream ss(path);
  std::string seg;
  while (std::getline(ss, seg, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(seg);
  }
  std::string joined = "/";
  for (size_t i = 0; i < out.size(); ++i) joined += (i ? "/" : "") + out[i];
  if (!out.empty() && path.back() == '/') joined += "/";
  return escape(joined, /*keep_slash=*/true);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string squash(const std::string& v) {
  std::istringstream is(v);
  std::string word, out;
  while (is >> word) out += (out.empty() ? "" : " ") + word;
  return out;
}

struct Built {
  SignedRequest req;
  std::string scope;
};

Built build(const SignInput& in, const std::vector<std::pair<std::string, std::string>>& query,
            bool presigned) {
  Built b;
  b.req.method = in.method;
  b.req.body = in.body;
  b.scope = in.amz_date.substr(0, 8) + "/" + in.region + "/" + in.service + "/aws4_request";

  // Headers to send (and sign): authority, date (header form), content hash, token, extras.
  std::vector<std::pair<std::string, std::string>> send;
  send.emplace_back(in.http2 ? ":authority" : "host", in.authority);
  if (!presigned && in.http_date.empty()) send.emplace_back("X-Amz-Date", in.amz_date);
  if (!presigned && !in.http_date.empty()) send.emplace_back("Date", in.http_date);
  std::string payload = hexOf(digestRaw(in.body));
  if (!in.content_sha256.empty()) payload = in.content_sha256;
  if (in.sign_content_sha256 || !in.content_sha256.empty()) {
    send.emplace_back("X-Amz-Content-Sha256", payload);
  }
  if (!in.session_token.empty() && !presigned) {
    send.emplace_back("X-Amz-Security-Token", in.session_token);
  }
  for (const auto& h : in.headers) send.push_back(h);

  std::map<std::string, std::vector<std::string>> by_name;
  for (const auto& [n, v] : send) by_name[lower(n)].push_back(squash(v));
  std::string signed_headers, canonical_headers;
  for (const auto& [n, vs] : by_name) {
    signed_headers += (signed_headers.empty() ? "" : ";") + n;
    canonical_headers += n + ":";
    for (size_t i = 0; i < vs.size(); ++i) canonical_headers += (i ? "," : "") + vs[i];
    canonical_headers += "\n";
  }

  auto params = query;
  if (presigned) {
    params.emplace_back("X-Amz-SignedHeaders", signed_headers);
  }
  std::vector<std::pair<std::string, std::string>> enc;
  for (const auto& [k, v] : params) enc.emplace_back(escape(k, false), escape(v, false));
  std::sort(enc.begin(), enc.end());
  std::string canonical_query;
  for (const auto& [k, v] : enc)
    canonical_query += (canonical_query.empty() ? "" : "&") + k + "=" + v;

  std::ostringstream creq;
  creq << in.method << '\n'
       << canonicalPath(in.path) << '\n'
       << canonical_query << '\n'
       << canonical_headers << '\n'
       << signed_headers << '\n'
       << payload;
  b.req.canonical_request = creq.str();
  b.req.string_to_sign = "AWS4-HMAC-SHA256\n" + in.amz_date + "\n" + b.scope + "\n" +
                         hexOf(digestRaw(b.req.canonical_request));
  std::string k = macRaw("AWS4" + in.secret, in.amz_date.substr(0, 8));
  k = macRaw(k, in.region);
  k = macRaw(k, in.service);
  k = macRaw(k, "aws4_request");
  b.req.signature = hexOf(macRaw(k, b.req.string_to_sign));

  b.req.target = in.path;
  std::string wire_query;
  for (const auto& [kk, v] : enc) wire_query += (wire_query.empty() ? "" : "&") + kk + "=" + v;
  if (presigned) wire_query += "&X-Amz-Signature=" + b.req.signature;
  if (!wire_query.empty()) b.req.target += "?" + wire_query;
  for (const auto& [n, v] : send) b.req.headers.push_back(Header{lower(n), v});
  if (!presigned) {
    b.req.headers.push_back(
        Header{"authorization", "AWS4-HMAC-SHA256 Credential=" + in.access_key_id + "/" + b.scope +
                                    ", SignedHeaders=" + signed_headers +
                                    ", Signature=" + b.req.signature});
  }
  return b;
}

}  // namespace

SignedRequest signWithHeader(const SignInput& in) {
  return build(in, in.query, false).req;
}

SignedRequest presign(const SignInput& in, long expires_s) {
  auto q = in.query;
  const std::string scope =
      in.amz_date.substr(0, 8) + "/" + in.region + "/" + in.service + "/aws4_request";
  q.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  q.emplace_back("X-Amz-Credential", in.access_key_id + "/" + scope);
  q.emplace_back("X-Amz-Date", in.amz_date);
  q.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  if (!in.session_token.empty()) q.emplace_back("X-Amz-Security-Token", in.session_token);
  return build(in, q, true).req;
}

std::string sha256HexForTest(const std::string& data) {
  return hexOf(digestRaw(data));
}

}  // namespace basalt::identity::testing
