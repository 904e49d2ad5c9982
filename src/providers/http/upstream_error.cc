#include "basalt/providers/http/upstream_error.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ctime>

namespace basalt::providers::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class T>
bool parseNumber(std::string_view s, T& out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && ptr == end;
}

// The longest wait Basalt forwards; an upstream asking for more is treated as misconfigured.
constexpr long long kMaxRetryAfterS = 24 * 3600;

int clampSeconds(long long s) {
  return static_cast<int>(std::clamp<long long>(s, 0, kMaxRetryAfterS));
}

std::string withMessage(std::string prefix, std::string_view message) {
  if (message.empty()) return prefix;
  return prefix + ": " + std::string(message);
}

}  // namespace

const std::string* findHeader(const Headers& headers, std::string_view lower_name) {
  for (const Header& h : headers) {
    if (h.name == lower_name) return &h.value;
  }
  return nullptr;
}

std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view text) {
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" — fixed width, 29 characters.
  text = trim(text);
  if (text.size() != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto month_it = std::find(kMonths.begin(), kMonths.end(), text.substr(8, 3));
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (month_it == kMonths.end() || !parseNumber(text.substr(5, 2), day) ||
      !parseNumber(text.substr(12, 4), year) || !parseNumber(text.substr(17, 2), hour) ||
      !parseNumber(text.substr(20, 2), minute) || !parseNumber(text.substr(23, 2), second) ||
      day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 || year < 1970) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = static_cast<int>(month_it - kMonths.begin());
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

int retryAfterSeconds(const Headers& headers, std::chrono::system_clock::time_point now) {
  if (const std::string* ms = findHeader(headers, "retry-after-ms")) {
    // A float in milliseconds (OpenAI); round up so a client never retries too early.
    const std::string_view v = trim(*ms);
    double value = 0;
    if (parseNumber(v, value) && std::isfinite(value) && value >= 0) {
      return clampSeconds(static_cast<long long>(std::ceil(value / 1000.0)));
    }
  }
  if (const std::string* ra = findHeader(headers, "retry-after")) {
    const std::string_view v = trim(*ra);
    long long seconds = 0;
    if (parseNumber(v, seconds)) return clampSeconds(seconds);
    if (auto when = parseHttpDate(v)) {
      const auto delta = std::chrono::ceil<std::chrono::seconds>(*when - now);
      return clampSeconds(delta.count());
    }
  }
  return 0;
}

Error errorFromStatus(int status, const Headers& headers, std::string_view message,
                      std::chrono::system_clock::time_point now) {
  Error e;
  e.upstream_status = status;
  const std::string status_text = "upstream returned HTTP " + std::to_string(status);
  if (status == 429) {
    e.kind = ErrorKind::kRateLimited;
    e.message = withMessage("upstream rate limit: " + status_text, message);
    e.retry_after_s = retryAfterSeconds(headers, now);
  } else if (status == 503) {
    e.kind = ErrorKind::kUpstreamUnavailable;
    e.message = withMessage(status_text, message);
    e.retry_after_s = retryAfterSeconds(headers, now);
  } else if (status >= 500) {
    e.kind = status == 504 ? ErrorKind::kUpstreamTimeout : ErrorKind::kUpstreamError;
    e.message = withMessage(status_text, message);
  } else if (status == 401 || status == 403) {
    // The client's own credentials were fine (Basalt checked them); the upstream refused the
    // provider key. Reporting 401/403 would make SDKs tell the user their key is wrong.
    e.kind = ErrorKind::kUpstreamError;
    e.message = "provider rejected Basalt's credentials (" + status_text + ")";
  } else if (status == 400 || status == 422) {
    e.kind = ErrorKind::kInvalidRequest;
    e.message = message.empty() ? status_text : std::string(message);
  } else if (status == 404) {
    e.kind = ErrorKind::kNotFound;
    e.message = message.empty() ? status_text : std::string(message);
  } else if (status == 413) {
    e.kind = ErrorKind::kPayloadTooLarge;
    e.message = message.empty() ? status_text : std::string(message);
  } else if (status == 408) {
    e.kind = ErrorKind::kUpstreamTimeout;
    e.message = withMessage(status_text, message);
  } else if (status >= 400 && status < 500 && status != 405) {
    e.kind = ErrorKind::kInvalidRequest;
    e.message = message.empty() ? status_text : std::string(message);
  } else {
    // 405, 1xx, 3xx (Basalt does not follow redirects): the base_url is probably wrong.
    e.kind = ErrorKind::kUpstreamError;
    e.message = withMessage("unexpected upstream answer: " + status_text, message);
  }
  return e;
}

std::string_view metricKind(const Error& error) {
  const int status = error.upstream_status;
  if (status == 429) return "status_429";
  if (status == 401 || status == 403) return "auth";
  if (status >= 500) return "status_5xx";
  if (status >= 400) return "status_4xx";
  if (error.kind == ErrorKind::kUpstreamTimeout) return "timeout";
  if (status == 0) return "connect";
  return "protocol";
}

}  // namespace basalt::providers::http
