#pragma once
// Typed condition values: numbers, dates, booleans, IP addresses (internal). Each parser is
// used for both sides: once at compile time for policy values, and per evaluation for the
// request's value, so they are allocation-free and never throw.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace basalt::policy::detail {

/// A decimal number (integer, fraction, exponent). Rejects empty, inf, nan and trailing junk.
std::optional<double> parseNumber(std::string_view s);

/// Milliseconds since the Unix epoch, from ISO 8601 (`2026-11-26`, `2026-11-26T07:00:00Z`,
/// `...T07:00Z`, `...T07:00:00.250+01:00`, no offset = UTC) or integer epoch seconds.
std::optional<std::int64_t> parseDate(std::string_view s);

/// "true" / "false", ASCII case-insensitive.
std::optional<bool> parseBool(std::string_view s);

/// An IPv4 or IPv6 network. IPv4 is stored as an IPv4-mapped IPv6 address so one comparison
/// handles both families and `::ffff:10.0.0.1` matches `10.0.0.0/8`.
struct IpNetwork {
  std::array<std::uint8_t, 16> address{};
  int prefix = 128;  ///< in IPv6 bits (an IPv4 /8 is stored as /104)

  bool contains(const IpNetwork& host) const;
};

/// `a.b.c.d`, `a.b.c.d/n`, IPv6 `x:x::x`, `x::/n`. A bare address is a /32 or /128.
std::optional<IpNetwork> parseIpNetwork(std::string_view s);

}  // namespace basalt::policy::detail
