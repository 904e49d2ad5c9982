#include "basalt/identity/sigv4_verifier.h"

#include "basalt/identity/sigv4_canonical.h"
#include "crypto.h"
#include "text.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace basalt::identity {
namespace {

using std::chrono::seconds;
using text::equalsIgnoreCase;
using text::trim;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr std::string_view kStreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
constexpr long kMaxSignedHeaders = 128;

Sigv4Error incomplete(std::string message) {
  return Sigv4Error{"IncompleteSignatureException", std::move(message), 403};
}
Sigv4Error invalidSignature(std::string message) {
  return Sigv4Error{"InvalidSignatureException", std::move(message), 403};
}
Sigv4Error mismatch() {
  return invalidSignature(std::string(kSignatureMismatchMessage));
}
Sigv4Error unrecognizedClient() {
  return Sigv4Error{"UnrecognizedClientException", std::string(kInvalidTokenMessage), 401};
}

const std::string* findHeader(std::span<const Header> headers, std::string_view lower_name,
                              int* count = nullptr) {
  const std::string* first = nullptr;
  int n = 0;
  for (const Header& h : headers) {
    if (!equalsIgnoreCase(h.name, lower_name)) continue;
    if (first == nullptr) first = &h.value;
    ++n;
  }
  if (count != nullptr) *count = n;
  return first;
}

// The decoded query parameters whose (decoded) names start with "X-Amz-"; the presigned form
// reads only those. A repeated parameter keeps its first value and is counted.
struct AmzQuery {
  std::vector<std::pair<std::string, std::string>> params;
  bool duplicate = false;

  const std::string* get(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

AmzQuery parseAmzQuery(std::string_view query) {
  AmzQuery out;
  text::forEachQueryParam(query, [&](std::string key, std::string_view raw_value) {
    if (key.size() < 6 || !equalsIgnoreCase(std::string_view(key).substr(0, 6), "x-amz-")) return;
    if (out.get(key) != nullptr) {
      out.duplicate = true;
      return;
    }
    out.params.emplace_back(std::move(key), text::percentDecode(raw_value));
  });
  return out;
}

// Client-supplied text quoted back in an error message, cut short so a huge header cannot
// make a huge error body or log line.
std::string echo(std::string_view s) {
  constexpr std::size_t kMax = 64;
  if (s.size() <= kMax) return std::string(s);
  return std::string(s.substr(0, kMax)) + "...";
}

// True when the query carries any presigned-form parameter.
bool hasPresignParams(const AmzQuery& query) {
  return query.get("X-Amz-Algorithm") != nullptr || query.get("X-Amz-Signature") != nullptr ||
         query.get("X-Amz-Credential") != nullptr;
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int toInt(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

std::optional<Clock::time_point> makeTime(int y, int mo, int d, int h, int mi, int s) {
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

std::optional<Clock::time_point> parseIsoBasic(std::string_view t) {
  // YYYYMMDDTHHMMSSZ
  if (t.size() != 16 || t[8] != 'T' || t[15] != 'Z') return std::nullopt;
  if (!allDigits(t.substr(0, 8)) || !allDigits(t.substr(9, 6))) return std::nullopt;
  return makeTime(toInt(t.substr(0, 4)), toInt(t.substr(4, 2)), toInt(t.substr(6, 2)),
                  toInt(t.substr(9, 2)), toInt(t.substr(11, 2)), toInt(t.substr(13, 2)));
}

std::optional<Clock::time_point> parseHttpDate(std::string_view t) {
  // IMF-fixdate: "Sun, 30 Aug 2015 12:36:00 GMT" (the weekday is not checked).
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::size_t comma = t.find(", ");
  if (comma != std::string_view::npos) t.remove_prefix(comma + 2);
  if (t.size() != 24 || t[2] != ' ' || t[6] != ' ' || t[11] != ' ' || t[14] != ':' ||
      t[17] != ':' || t.substr(20) != " GMT") {
    return std::nullopt;
  }
  const std::string_view dd = t.substr(0, 2), yyyy = t.substr(7, 4), hh = t.substr(12, 2),
                         mi = t.substr(15, 2), ss = t.substr(18, 2);
  if (!allDigits(dd) || !allDigits(yyyy) || !allDigits(hh) || !allDigits(mi) || !allDigits(ss)) {
    return std::nullopt;
  }
  const auto month = std::find(kMonths.begin(), kMonths.end(), t.substr(3, 3));
  if (month == kMonths.end()) return std::nullopt;
  return makeTime(toInt(yyyy), static_cast<int>(month - kMonths.begin()) + 1, toInt(dd), toInt(hh),
                  toInt(mi), toInt(ss));
}

bool validRegion(std::string_view region) {
  if (region.empty() || region.size() > 64) return false;
  return std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool signsHost(std::string_view signed_headers) {
  std::size_t start = 0;
  while (start <= signed_headers.size()) {
    std::size_t end = signed_headers.find(';', start);
    if (end == std::string_view::npos) end = signed_headers.size();
    const std::string_view name = signed_headers.substr(start, end - start);
    if (equalsIgnoreCase(name, "host") || equalsIgnoreCase(name, ":authority")) return true;
    start = end + 1;
  }
  return false;
}

// Derived signing keys depend only on (secret, date, region, service), so one per key and day
// serves every request of that day. A handful of entries per thread, replaced round-robin:
// no locks, and a miss costs four HMACs.
class SigningKeyCache {
 public:
  SigningKeyCache(const SigningKeyCache&) = delete;
  SigningKeyCache& operator=(const SigningKeyCache&) = delete;
  SigningKeyCache() = default;
  ~SigningKeyCache() {
    for (Entry& e : entries_) {
      crypto::cleanse(e.secret);
      e.key.fill(0);
    }
  }

  Sha256Digest get(std::string_view secret, std::string_view date, std::string_view region,
                   std::string_view service) {
    for (const Entry& e : entries_) {
      if (e.used && e.date == date && e.region == region && e.service == service &&
          e.secret == secret) {
        return e.key;
      }
    }
    Entry& e = entries_[next_];
    next_ = (next_ + 1) % entries_.size();
    crypto::cleanse(e.secret);
    e.secret.assign(secret);
    e.date.assign(date);
    e.region.assign(region);
    e.service.assign(service);
    e.key = sigv4SigningKey(secret, date, region, service);
    e.used = true;
    return e.key;
  }

 private:
  struct Entry {
    std::string secret, date, region, service;
    Sha256Digest key{};
    bool used = false;
  };
  std::array<Entry, 8> entries_;
  std::size_t next_ = 0;
};

SigningKeyCache& signingKeyCache() {
  thread_local SigningKeyCache cache;
  return cache;
}

// The fields common to both forms once they are pulled out of the header or the query.
struct SignatureFields {
  std::string_view credential;
  std::string_view signed_headers;
  std::string_view signature;
  std::string amz_date;  // ISO 8601 basic, as it goes into the string to sign
  Clock::time_point signed_at;
};

// Parses `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
std::optional<Sigv4Error> parseAuthorization(std::string_view value, SignatureFields& out) {
  value = trim(value);
  const std::size_t space = value.find_first_of(" \t");
  const std::string_view algorithm = value.substr(0, space);
  if (algorithm != kAlgorithm) {
    return incomplete("Unsupported AWS 'algorithm': '" + echo(algorithm) +
                      "'. Only 'AWS4-HMAC-SHA256' is supported.");
  }
  std::string_view rest =
      space == std::string_view::npos ? std::string_view() : value.substr(space);
  bool has_credential = false, has_signed = false, has_signature = false;
  std::size_t start = 0;
  while (start <= rest.size()) {
    std::size_t end = rest.find(',', start);
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view item = trim(rest.substr(start, end - start));
    start = end + 1;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = item.substr(0, eq);
    const std::string_view val = item.substr(eq + 1);
    if (key == "Credential" && !has_credential) {
      out.credential = val;
      has_credential = true;
    } else if (key == "SignedHeaders" && !has_signed) {
      out.signed_headers = val;
      has_signed = true;
    } else if (key == "Signature" && !has_signature) {
      out.signature = val;
      has_signature = true;
    }
  }
  std::string message;
  if (!has_credential) message += "Authorization header requires 'Credential' parameter. ";
  if (!has_signature) message += "Authorization header requires 'Signature' parameter. ";
  if (!has_signed) message += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!message.empty()) {
    message.pop_back();
    return incomplete(std::move(message));
  }
  return std::nullopt;
}

std::string skewText(std::chrono::seconds skew) {
  if (skew.count() % 60 == 0) return std::to_string(skew.count() / 60) + " min.";
  return std::to_string(skew.count()) + " sec.";
}

}  // namespace

Error Sigv4Error::toError() const {
  ErrorKind kind = ErrorKind::kPermissionDenied;
  if (http_status == 401) kind = ErrorKind::kUnauthenticated;
  if (http_status == 400) kind = ErrorKind::kInvalidRequest;
  return Error{kind, message, {}, aws_error_code};
}

void throw_exception_from_error(const Sigv4Error& e, const boost::source_location&) {
  throw std::runtime_error("Sigv4Result holds an error: " + e.aws_error_code);
}

std::string formatAmzDate(Clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto days = floor<std::chrono::days>(secs);
  const year_month_day ymd{days};
  const hh_mm_ss hms{secs - days};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<Clock::time_point> parseAmzDate(std::string_view text) {
  if (auto t = parseIsoBasic(text)) return t;
  return parseHttpDate(text);
}

Sigv4Verifier::Sigv4Verifier(Sigv4Options options) : options_(std::move(options)) {}

bool Sigv4Verifier::isSigv4(const Sigv4Request& request) {
  if (const std::string* auth = findHeader(request.headers, "authorization")) {
    if (trim(*auth).starts_with("AWS4-")) return true;
  }
  const std::size_t q = request.target.find('?');
  if (q == std::string_view::npos) return false;
  const AmzQuery query = parseAmzQuery(request.target.substr(q + 1));
  return hasPresignParams(query);
}

Sigv4Result Sigv4Verifier::verify(const Sigv4Request& request, const AccessKeyLookup& keys,
                                  Clock::time_point now) const {
  const std::size_t qmark = request.target.find('?');
  const std::string_view raw_path = request.target.substr(0, qmark);
  const std::string_view raw_query =
      qmark == std::string_view::npos ? std::string_view() : request.target.substr(qmark + 1);

  int auth_count = 0;
  const std::string* auth = findHeader(request.headers, "authorization", &auth_count);
  const AmzQuery query = parseAmzQuery(raw_query);
  const bool presigned = hasPresignParams(query);

  if (auth_count > 1) return incomplete("Only one Authorization header is allowed.");
  // Headers that steer verification must be unambiguous (the canonical request would join
  // repeats, but the date and payload checks read one value).
  for (std::string_view name : {"x-amz-date", "date", "x-amz-content-sha256"}) {
    int count = 0;
    findHeader(request.headers, name, &count);
    if (count > 1) return incomplete("Only one '" + std::string(name) + "' header is allowed.");
  }
  if (auth != nullptr && presigned) {
    return incomplete(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
        "Authorization header should be specified.");
  }
  if (auth == nullptr && !presigned) {
    return Sigv4Error{"MissingAuthenticationTokenException", "Missing Authentication Token", 401};
  }

  SignatureFields fields;
  std::chrono::seconds expires{0};
  if (!presigned) {
    if (auto err = parseAuthorization(*auth, fields)) return *std::move(err);
    if (const std::string* x_amz_date = findHeader(request.headers, "x-amz-date")) {
      const auto t = parseIsoBasic(*x_amz_date);
      if (!t) {
        return incomplete("Date must be in ISO-8601 'basic format'. Got '" + echo(*x_amz_date) +
                          "'. See http://en.wikipedia.org/wiki/ISO_8601");
      }
      fields.amz_date = *x_amz_date;
      fields.signed_at = *t;
    } else if (const std::string* date = findHeader(request.headers, "date")) {
      const auto t = parseAmzDate(*date);
      if (!t) {
        return incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            "header.");
      }
      fields.signed_at = *t;
      fields.amz_date = formatAmzDate(*t);
    } else {
      return incomplete(
          "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
          "header.");
    }
  } else {
    if (query.duplicate) return incomplete("AWS query-string parameters must not repeat.");
    for (std::string_view name : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                                  "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires"}) {
      if (query.get(name) == nullptr) {
        return incomplete("AWS query-string parameters must include '" + std::string(name) +
                          "'. Re-examine the query-string parameters.");
      }
    }
    if (*query.get("X-Amz-Algorithm") != kAlgorithm) {
      return incomplete("Unsupported AWS 'algorithm': '" + echo(*query.get("X-Amz-Algorithm")) +
                        "'. Only 'AWS4-HMAC-SHA256' is supported.");
    }
    fields.credential = *query.get("X-Amz-Credential");
    fields.signed_headers = *query.get("X-Amz-SignedHeaders");
    fields.signature = *query.get("X-Amz-Signature");
    const std::string& date = *query.get("X-Amz-Date");
    const auto t = parseIsoBasic(date);
    if (!t) {
      return incomplete("Date must be in ISO-8601 'basic format'. Got '" + echo(date) +
                        "'. See http://en.wikipedia.org/wiki/ISO_8601");
    }
    fields.amz_date = date;
    fields.signed_at = *t;
    const std::string& exp = *query.get("X-Amz-Expires");
    if (!allDigits(exp) || exp.size() > 9) {
      return incomplete("X-Amz-Expires should be a number of seconds. Got '" + echo(exp) + "'.");
    }
    expires = std::chrono::seconds(toInt(exp));
    if (expires > options_.max_presign_expiry) {
      return incomplete("X-Amz-Expires must be less than a week (in seconds) that is " +
                        std::to_string(options_.max_presign_expiry.count()) + ".");
    }
  }

  // Credential = AKID/YYYYMMDD/REGION/SERVICE/aws4_request
  std::array<std::string_view, 5> scope;
  {
    std::string_view c = fields.credential;
    std::size_t n = 0;
    bool well_formed = true;
    while (well_formed) {
      const std::size_t slash = c.find('/');
      if (n == scope.size()) {
        well_formed = false;  // more than five parts
        break;
      }
      scope[n++] = c.substr(0, slash);
      if (slash == std::string_view::npos) break;
      c.remove_prefix(slash + 1);
    }
    if (!well_formed || n != scope.size() || scope[0].empty()) {
      return incomplete(
          "Credential should be of the form "
          "'<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request'. Got '" +
          echo(fields.credential) + "'.");
    }
  }
  const std::string_view access_key_id = scope[0], scope_date = scope[1], region = scope[2],
                         service = scope[3], terminator = scope[4];
  if (terminator != kTerminator) {
    return invalidSignature(
        "Credential should be scoped with a valid terminator: 'aws4_request', "
        "not '" +
        echo(terminator) + "'. ");
  }
  if (std::find(options_.services.begin(), options_.services.end(), service) ==
      options_.services.end()) {
    const std::string expected = options_.services.empty() ? "" : options_.services.front();
    return invalidSignature("Credential should be scoped to correct service: '" + expected + "'. ");
  }
  if (!validRegion(region))
    return invalidSignature("Credential should be scoped to a valid region. ");
  if (scope_date != std::string_view(fields.amz_date).substr(0, 8)) {
    return invalidSignature(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '" +
        std::string(scope_date) + "' != '" + fields.amz_date.substr(0, 8) + "', from '" +
        fields.amz_date + "'.");
  }
  if (std::count(fields.signed_headers.begin(), fields.signed_headers.end(), ';') >=
      kMaxSignedHeaders) {
    // Canonicalizing is O(signed headers x headers); real SDKs sign fewer than a dozen.
    return incomplete("Too many SignedHeaders (at most " + std::to_string(kMaxSignedHeaders) +
                      ").");
  }
  if (!signsHost(fields.signed_headers)) {
    return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  // Basalt issues no temporary credentials, so any session token is unknown to it.
  if (findHeader(request.headers, "x-amz-security-token") != nullptr ||
      query.get("X-Amz-Security-Token") != nullptr) {
    return unrecognizedClient();
  }

  if (!presigned) {
    if (fields.signed_at < now - options_.max_clock_skew) {
      return invalidSignature("Signature expired: " + fields.amz_date + " is now earlier than " +
                              formatAmzDate(now - options_.max_clock_skew) + " (" +
                              formatAmzDate(now) + " - " + skewText(options_.max_clock_skew) + ")");
    }
    if (fields.signed_at > now + options_.max_clock_skew) {
      return invalidSignature("Signature not yet current: " + fields.amz_date +
                              " is still later than " +
                              formatAmzDate(now + options_.max_clock_skew) + " (" +
                              formatAmzDate(now) + " + " + skewText(options_.max_clock_skew) + ")");
    }
  } else {
    if (fields.signed_at > now + options_.max_clock_skew) {
      return invalidSignature("Signature not yet current: " + fields.amz_date +
                              " is still later than " +
                              formatAmzDate(now + options_.max_clock_skew) + " (" +
                              formatAmzDate(now) + " + " + skewText(options_.max_clock_skew) + ")");
    }
    if (now > fields.signed_at + expires) {
      return invalidSignature("Signature expired: " + formatAmzDate(fields.signed_at + expires) +
                              " is now earlier than " + formatAmzDate(now) + " (" +
                              fields.amz_date + " + " + std::to_string(expires.count()) + " sec.)");
    }
  }

  const std::optional<AccessKeyRecord> key = keys.find(access_key_id);
  if (!key || key->revoked || (key->expires_at && *key->expires_at <= now) ||
      key->access_key_id != access_key_id) {
    return unrecognizedClient();
  }

  // The payload hash: the declared x-amz-content-sha256 (checked against the body unless it is
  // an unsigned marker), else the hash of the body.
  std::string payload_hash;
  bool payload_signed = true;
  if (const std::string* declared = findHeader(request.headers, "x-amz-content-sha256")) {
    if (*declared == kUnsignedPayload || *declared == kStreamingUnsignedTrailer) {
      payload_signed = false;
      payload_hash = *declared;
    } else if (declared->starts_with("STREAMING-")) {
      // Signed aws-chunked bodies (per-chunk signatures) are an S3 upload feature; Bedrock
      // clients never send them, and accepting the seed signature alone would leave the body
      // unauthenticated.
      return incomplete("The x-amz-content-sha256 value '" + echo(*declared) +
                        "' is not supported by this endpoint.");
    } else {
      crypto::Digest declared_digest{};
      if (!crypto::fromHex(*declared, declared_digest) ||
          !crypto::constantTimeEqual(declared_digest, crypto::sha256(request.body))) {
        return invalidSignature(
            "The provided 'x-amz-content-sha256' header does not match what was computed.");
      }
      payload_hash = *declared;
    }
  } else {
    payload_hash = crypto::sha256Hex(request.body);
  }

  Sha256Digest provided{};
  if (!crypto::fromHex(fields.signature, provided)) return mismatch();

  std::string canonical;
  const CanonicalRequestParts parts{request.method,        raw_path,    raw_query, presigned,
                                    fields.signed_headers, payload_hash};
  if (!sigv4CanonicalRequest(parts, request.headers, canonical)) return mismatch();

  std::string scope_string;
  scope_string.reserve(fields.credential.size());
  scope_string.append(scope_date).append("/").append(region).append("/").append(service);
  scope_string.append("/").append(kTerminator);
  const std::string string_to_sign = sigv4StringToSign(fields.amz_date, scope_string, canonical);
  const Sha256Digest signing_key =
      signingKeyCache().get(key->secret_access_key, scope_date, region, service);
  const Sha256Digest expected = sigv4Signature(signing_key, string_to_sign);
  if (!crypto::constantTimeEqual(expected, provided)) return mismatch();

  Sigv4Principal principal;
  principal.principal_id = key->principal_id;
  principal.access_key_id = std::string(access_key_id);
  principal.region = std::string(region);
  principal.service = std::string(service);
  principal.signed_at = fields.signed_at;
  principal.presigned = presigned;
  principal.payload_signed = payload_signed;
  return principal;
}

}  // namespace basalt::identity
