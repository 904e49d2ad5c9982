// Anthropic's error shape for every ErrorKind (wire.md §4.5), both directions.

#include "basalt/api/anthropic/messages_codec.h"

#include "json_util.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::api::anthropic {

namespace json = boost::json;

namespace {

constexpr std::size_t kMessageCap = 2048;

/// The upstream answered 529 itself: the door passes the status on (the SDKs retry it).
bool upstreamOverloaded(const Error& error) {
  return error.kind == ErrorKind::kUpstreamUnavailable && error.upstream_status == 529;
}

}  // namespace

const char* errorType(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kMethodNotAllowed:
    case ErrorKind::kHeadersTooLarge:
      return "invalid_request_error";
    case ErrorKind::kUnauthenticated:
      return "authentication_error";
    case ErrorKind::kPermissionDenied:
      return "permission_error";
    case ErrorKind::kNotFound:
      return "not_found_error";
    case ErrorKind::kPayloadTooLarge:
      return "request_too_large";
    case ErrorKind::kRateLimited:
      return "rate_limit_error";
    case ErrorKind::kUpstreamUnavailable:
      return "overloaded_error";
    case ErrorKind::kUpstreamTimeout:
      return "timeout_error";
    case ErrorKind::kUpstreamError:
    case ErrorKind::kInternal:
    case ErrorKind::kCancelled:
      return "api_error";
  }
  return "api_error";
}

std::string errorBody(const Error& error) {
  json::object body{
      {"type", "error"},
      {"error", json::object{{"type", errorType(error)}, {"message", error.message}}}};
  return json::serialize(body);
}

canonical::EncodedReply encodeError(const Error& error) {
  canonical::EncodedReply reply;
  reply.status = upstreamOverloaded(error) ? 529 : httpStatus(error.kind);
  reply.headers.push_back({"content-type", "application/json"});
  if ((reply.status == 429 || reply.status == 503 || reply.status == 529) &&
      error.retry_after_s > 0) {
    reply.headers.push_back({"retry-after", std::to_string(error.retry_after_s)});
  }
  if (error.kind == ErrorKind::kUpstreamUnavailable) {
    reply.headers.push_back({"x-should-retry", "true"});
  }
  reply.body = errorBody(error);
  return reply;
}

std::string encodeStreamError(const Error& error) {
  std::string out = "event: error\ndata: ";
  out += errorBody(error);
  out += "\n\n";
  return out;
}

Error decodeUpstreamError(int status, const Headers& headers, std::string_view body) {
  Error e;
  e.upstream_status = status;
  std::string type;
  std::string message;
  if (auto v = detail::parseJson(body); v && v->is_object()) {
    const json::value* err = v->get_object().if_contains("error");
    if (err != nullptr && err->is_object()) {
      type = detail::str(err->get_object(), "type");
      message = detail::str(err->get_object(), "message");
    }
  }
  if (message.empty()) message = std::string(body.substr(0, kMessageCap));
  if (message.empty()) message = "upstream answered HTTP " + std::to_string(status);
  e.message = std::move(message);
  if (type == "invalid_request_error") {
    e.kind = ErrorKind::kInvalidRequest;
  } else if (type == "not_found_error") {
    e.kind = ErrorKind::kNotFound;
  } else if (type == "request_too_large") {
    e.kind = ErrorKind::kPayloadTooLarge;
  } else if (type == "rate_limit_error") {
    e.kind = ErrorKind::kRateLimited;
  } else if (type == "overloaded_error") {
    e.kind = ErrorKind::kUpstreamUnavailable;
    if (status == 0) e.upstream_status = 529;
  } else if (type == "timeout_error") {
    e.kind = ErrorKind::kUpstreamTimeout;
  } else if (type == "authentication_error" || type == "permission_error" ||
             type == "billing_error") {
    // Basalt's own credentials were refused: never the client's authentication failure.
    e.kind = ErrorKind::kUpstreamError;
    e.message = "provider rejected Basalt's credentials: " + e.message;
  } else if (type == "api_error") {
    e.kind = ErrorKind::kUpstreamError;
  } else if (status == 529 || status == 503) {
    e.kind = ErrorKind::kUpstreamUnavailable;
  } else if (status == 429) {
    e.kind = ErrorKind::kRateLimited;
  } else if (status == 400 || status == 422) {
    e.kind = ErrorKind::kInvalidRequest;
  } else if (status == 404) {
    e.kind = ErrorKind::kNotFound;
  } else if (status == 413) {
    e.kind = ErrorKind::kPayloadTooLarge;
  } else if (status == 408 || status == 504) {
    e.kind = ErrorKind::kUpstreamTimeout;
  } else {
    e.kind = ErrorKind::kUpstreamError;
  }
  if (e.kind == ErrorKind::kRateLimited || e.kind == ErrorKind::kUpstreamUnavailable) {
    for (const Header& h : headers) {
      if (h.name == "retry-after") {
        int s = 0;
        for (char c : h.value) {
          if (c < '0' || c > '9') {
            s = 0;
            break;
          }
          s = s * 10 + (c - '0');
          if (s > 86400) break;
        }
        e.retry_after_s = s;
        break;
      }
    }
  }
  return e;
}

}  // namespace basalt::api::anthropic
