#pragma once
/// A provider's `base_url`, parsed once at construction (Boost.URL) so that no request has to.

#include "basalt/core/error.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace basalt::providers::http {

struct BaseUrl {
  bool tls = false;        ///< https
  std::string host;        ///< a name or an IP literal (IPv6 without brackets)
  std::uint16_t port = 0;  ///< explicit, or 80 / 443 from the scheme
  std::string path;        ///< path prefix without a trailing '/', e.g. "/v1" or ""

  /// "host:port" ("[::1]:port" for IPv6), for error messages and the pool key.
  std::string hostPort() const;
  /// The Host header value: the port is omitted when it is the scheme's default.
  std::string hostHeader() const;
  /// "https://host:port" — one connection pool per origin.
  std::string origin() const;
};

/// Parses an absolute http(s) URL with a host and no query, fragment or credentials.
Result<BaseUrl> parseBaseUrl(std::string_view url);

}  // namespace basalt::providers::http
