#include "values.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <cstring>

namespace basalt::policy::detail {
namespace {

bool readDigits(std::string_view s, std::size_t& pos, std::size_t count, int& out) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += count;
  out = v;
  return true;
}

/// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool isLeap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int daysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<double> parseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const char* begin = s.data();
  if (*begin == '+') ++begin;  // from_chars rejects a leading '+'
  double v = 0;
  const auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parseDate(std::string_view s) {
  if (s.empty()) return std::nullopt;
  // Epoch seconds: all digits (AWS accepts them for Date* operators and aws:EpochTime).
  if (s.find_first_not_of("0123456789") == std::string_view::npos) {
    if (s.size() > 15) return std::nullopt;
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v * 1000;
  }
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!readDigits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' ||
      !readDigits(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-' ||
      !readDigits(s, pos, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return std::nullopt;
  int offset_minutes = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't') return std::nullopt;
    ++pos;
    if (!readDigits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' ||
        !readDigits(s, pos, 2, minute)) {
      return std::nullopt;
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!readDigits(s, pos, 2, second)) return std::nullopt;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        const std::size_t frac_begin = pos;
        int scale = 100;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          millis += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == frac_begin) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;  // 60: leap second
    if (pos < s.size()) {
      const char z = s[pos];
      if (z == 'Z' || z == 'z') {
        ++pos;
      } else if (z == '+' || z == '-') {
        ++pos;
        int oh = 0, om = 0;
        if (!readDigits(s, pos, 2, oh)) return std::nullopt;
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (!readDigits(s, pos, 2, om) || oh > 23 || om > 59) return std::nullopt;
        offset_minutes = (oh * 60 + om) * (z == '+' ? 1 : -1);
      } else {
        return std::nullopt;
      }
    }
    if (pos != s.size()) return std::nullopt;
  }
  const std::int64_t days =
      daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 +
                            second - std::int64_t{offset_minutes} * 60;
  return secs * 1000 + millis;
}

std::optional<bool> parseBool(std::string_view s) {
  auto equals = [s](std::string_view word) {
    if (s.size() != word.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      if (c != word[i]) return false;
    }
    return true;
  };
  if (equals("true")) return true;
  if (equals("false")) return false;
  return std::nullopt;
}

bool IpNetwork::contains(const IpNetwork& host) const {
  int bits = prefix;
  for (std::size_t i = 0; i < address.size() && bits > 0; ++i, bits -= 8) {
    const std::uint8_t mask =
        bits >= 8 ? std::uint8_t{0xff} : static_cast<std::uint8_t>(0xff << (8 - bits));
    if ((address[i] & mask) != (host.address[i] & mask)) return false;
  }
  return true;
}

std::optional<IpNetwork> parseIpNetwork(std::string_view s) {
  std::string_view addr = s;
  int prefix = -1;
  if (const std::size_t slash = s.find('/'); slash != std::string_view::npos) {
    addr = s.substr(0, slash);
    const std::string_view bits = s.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 ||
        bits.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    const auto [ptr, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
    if (ec != std::errc{} || ptr != bits.data() + bits.size()) return std::nullopt;
  }
  char buf[64];  // inet_pton needs a NUL-terminated string; the longest valid text is 45 chars
  if (addr.empty() || addr.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, addr.data(), addr.size());
  buf[addr.size()] = '\0';

  IpNetwork net;
  if (addr.find(':') == std::string_view::npos) {
    std::uint8_t v4[4];
    if (inet_pton(AF_INET, buf, v4) != 1) return std::nullopt;
    if (prefix > 32) return std::nullopt;
    net.address[10] = 0xff;
    net.address[11] = 0xff;
    std::memcpy(net.address.data() + 12, v4, 4);
    net.prefix = 96 + (prefix < 0 ? 32 : prefix);
  } else {
    if (inet_pton(AF_INET6, buf, net.address.data()) != 1) return std::nullopt;
    if (prefix > 128) return std::nullopt;
    net.prefix = prefix < 0 ? 128 : prefix;
  }
  return net;
}

}  // namespace basalt::policy::detail
