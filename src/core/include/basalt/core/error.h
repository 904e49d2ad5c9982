#pragma once
/// Errors on the data plane are values: every fallible operation returns `Result<T>`.

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>

namespace basalt {

/// What went wrong, independent of any wire format. Each front door maps an ErrorKind to its
/// own status code and error body (see api/<door>/errors).
enum class ErrorKind : std::uint8_t {
  kInvalidRequest,       ///< 400: malformed JSON, wrong types, missing fields
  kUnauthenticated,      ///< 401: missing or unknown credentials
  kPermissionDenied,     ///< 403: denied by policy, bad signature
  kNotFound,             ///< 404: unknown model, route or object
  kMethodNotAllowed,     ///< 405
  kPayloadTooLarge,      ///< 413
  kHeadersTooLarge,      ///< 431
  kRateLimited,          ///< 429 (client quota or upstream throttling); retry_after_s is set
  kUpstreamError,        ///< 502: bad upstream answer or connect failure
  kUpstreamUnavailable,  ///< 503: upstream overloaded / circuit open
  kUpstreamTimeout,      ///< 504
  kInternal,             ///< 500: a Basalt bug; logged with BASALT_BUG
  kCancelled,            ///< the client went away; nothing is sent
};

/// The HTTP status an ErrorKind maps to on every door.
int httpStatus(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  std::string param;  ///< the offending request field ("messages[0].content"), may be empty
  std::string code;   ///< machine-readable code ("model_not_found"), may be empty
  int retry_after_s = 0;      ///< > 0 when the caller may retry after this many seconds
  int upstream_status = 0;    ///< the provider's HTTP status when the error came from upstream

  static Error invalid(std::string message, std::string param = {}, std::string code = {});
  static Error notFound(std::string message, std::string code = {});
  static Error internal(std::string message);
};

/// Makes `Result<T>::value()` on an error throw (only reachable through a bug).
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace basalt
