#include "basalt/audit/rfc3339.h"

#include <cstdint>
#include <cstdio>

namespace basalt::audit {
namespace {

// Howard Hinnant's civil-date algorithms (proleptic Gregorian calendar).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
}

bool isLeap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned daysInMonth(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t& pos, std::size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

std::string formatRfc3339Ms(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const std::int64_t ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::int64_t days = ms / 86400000;
  std::int64_t rem = ms % 86400000;
  if (rem < 0) {
    rem += 86400000;
    --days;
  }
  std::int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civilFromDays(days, y, m, d);
  const auto secs = static_cast<unsigned>(rem / 1000);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", static_cast<long long>(y),
                m, d, secs / 3600, secs / 60 % 60, secs % 60, static_cast<unsigned>(rem % 1000));
  return buf;
}

Result<std::chrono::system_clock::time_point> parseRfc3339(std::string_view s) {
  const auto bad = [&] {
    return Error::invalid("not an RFC 3339 timestamp (e.g. 2026-11-26T07:10:20Z)", "since",
                          "invalid_timestamp");
  };
  std::size_t pos = 0;
  unsigned year = 0;
  unsigned month = 0;
  unsigned day = 0;
  if (!digits(s, pos, 4, year) || !expect(s, pos, '-') || !digits(s, pos, 2, month) ||
      !expect(s, pos, '-') || !digits(s, pos, 2, day)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return bad();
  std::int64_t ms = daysFromCivil(year, month, day) * 86400000;
  if (pos == s.size()) return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));

  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return bad();
  ++pos;
  unsigned hh = 0;
  unsigned mm = 0;
  unsigned ss = 0;
  if (!digits(s, pos, 2, hh) || !expect(s, pos, ':') || !digits(s, pos, 2, mm) ||
      !expect(s, pos, ':') || !digits(s, pos, 2, ss)) {
    return bad();
  }
  if (hh > 23 || mm > 59 || ss > 60) return bad();  // 60: a leap second, counted as :59 + 1
  ms += (static_cast<std::int64_t>(hh) * 3600 + static_cast<std::int64_t>(mm) * 60 + ss) * 1000;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    unsigned frac = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 3) frac = frac * 10 + static_cast<unsigned>(s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return bad();
    for (std::size_t k = n; k < 3; ++k) frac *= 10;
    ms += frac;
  }
  if (pos >= s.size()) return bad();
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '+' ? 1 : -1;
    ++pos;
    unsigned oh = 0;
    unsigned om = 0;
    if (!digits(s, pos, 2, oh) || !expect(s, pos, ':') || !digits(s, pos, 2, om) || oh > 23 ||
        om > 59) {
      return bad();
    }
    ms -= sign * (static_cast<std::int64_t>(oh) * 3600 + static_cast<std::int64_t>(om) * 60) * 1000;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace basalt::audit
