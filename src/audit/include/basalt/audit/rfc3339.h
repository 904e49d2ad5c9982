#pragma once
/// RFC 3339 timestamps as audit records write them and as `basalt audit query --since` takes
/// them.

#include "basalt/core/error.h"

#include <chrono>
#include <string>
#include <string_view>

namespace basalt::audit {

/// `2026-11-26T07:10:20.123Z`: UTC, always exactly three fractional digits, so the strings of
/// two records compare like their times.
std::string formatRfc3339Ms(std::chrono::system_clock::time_point t);

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` (`t` and `z`
/// accepted, a space for `T` too). Fractions beyond milliseconds are truncated.
Result<std::chrono::system_clock::time_point> parseRfc3339(std::string_view text);

}  // namespace basalt::audit
