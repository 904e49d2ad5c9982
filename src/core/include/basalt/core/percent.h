#pragma once
/// Percent-decoding of URL path segments (RFC 3986). '+' stays '+': a path is not a form.

#include <optional>
#include <string>
#include <string_view>

namespace basalt {

/// Decodes `%XX` escapes in one path segment; nullopt on a malformed escape.
std::optional<std::string> percentDecodePath(std::string_view segment);

}  // namespace basalt
