#pragma once
/// HTTP status reason phrases, shared by every component that writes an HTTP/1.1 status line
/// by hand (the server, the sandbox egress proxy).

#include <string_view>

namespace basalt {

/// The reason phrase of a status code ("Not Found"), or "Unknown".
std::string_view reasonPhrase(int status);

}  // namespace basalt
