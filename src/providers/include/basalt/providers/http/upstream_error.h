#pragma once
/// How an upstream's HTTP answer becomes a canonical Error. Shared by every provider adapter so
/// that the status -> ErrorKind policy (and thus what the router retries) is decided once.

#include "basalt/core/error.h"
#include "basalt/core/exchange.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::providers::http {

/// The error for a non-2xx upstream status. `message` is the upstream's own error text.
///  - 429 -> kRateLimited, retry_after_s from the headers;
///  - 503 -> kUpstreamUnavailable, other 5xx -> kUpstreamError (retryable);
///  - 401/403 -> kUpstreamError "provider rejected Basalt's credentials" (never the client's
///    own auth failure);
///  - 400/422 -> kInvalidRequest, 404 -> kNotFound, 413 -> kPayloadTooLarge, 408 ->
///    kUpstreamTimeout, other statuses -> kUpstreamError or kInvalidRequest (4xx).
/// upstream_status is always set.
Error errorFromStatus(int status, const Headers& headers, std::string_view message,
                      std::chrono::system_clock::time_point now =
                          std::chrono::system_clock::now());

/// Seconds to wait from `retry-after-ms` (preferred, rounded up) or `retry-after` (delta seconds
/// or an HTTP date); 0 when absent or unparseable.
int retryAfterSeconds(const Headers& headers, std::chrono::system_clock::time_point now);

/// Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the form RFC 9110 requires senders
/// to use. Locale independent.
std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view text);

/// The `kind` label for metrics::recordUpstreamError: "status_429", "status_5xx", "status_4xx",
/// "auth", "timeout", "connect", "protocol".
std::string_view metricKind(const Error& error);

/// The first header named `lower_name` (lower-case), or nullptr.
const std::string* findHeader(const Headers& headers, std::string_view lower_name);

}  // namespace basalt::providers::http
