#include "basalt/core/error.h"

#include <stdexcept>

namespace basalt {

int httpStatus(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidRequest: return 400;
    case ErrorKind::kUnauthenticated: return 401;
    case ErrorKind::kPermissionDenied: return 403;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kMethodNotAllowed: return 405;
    case ErrorKind::kPayloadTooLarge: return 413;
    case ErrorKind::kHeadersTooLarge: return 431;
    case ErrorKind::kRateLimited: return 429;
    case ErrorKind::kUpstreamError: return 502;
    case ErrorKind::kUpstreamUnavailable: return 503;
    case ErrorKind::kUpstreamTimeout: return 504;
    case ErrorKind::kInternal: return 500;
    case ErrorKind::kCancelled: return 499;
  }
  return 500;
}

Error Error::invalid(std::string message, std::string param, std::string code) {
  return Error{ErrorKind::kInvalidRequest, std::move(message), std::move(param), std::move(code)};
}

Error Error::notFound(std::string message, std::string code) {
  return Error{ErrorKind::kNotFound, std::move(message), {}, std::move(code)};
}

Error Error::internal(std::string message) {
  return Error{ErrorKind::kInternal, std::move(message), {}, {}};
}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error("Result holds an error: " + e.message);
}

}  // namespace basalt
