// OpenAI's error shape for every ErrorKind (wire.md §3.6).

#include "basalt/api/openai_chat/chat_codec.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::api::openai_chat {

namespace json = boost::json;

namespace {

const char* errorType(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kUnauthenticated:  // OpenAI: invalid_request_error + code invalid_api_key
    case ErrorKind::kPermissionDenied:
    case ErrorKind::kNotFound:
    case ErrorKind::kMethodNotAllowed:
    case ErrorKind::kPayloadTooLarge:
    case ErrorKind::kHeadersTooLarge:
      return "invalid_request_error";
    case ErrorKind::kRateLimited:
      return error.code == "insufficient_quota" ? "insufficient_quota" : "requests";
    case ErrorKind::kUpstreamError:
    case ErrorKind::kUpstreamUnavailable:
    case ErrorKind::kUpstreamTimeout:
    case ErrorKind::kInternal:
    case ErrorKind::kCancelled:
      return "server_error";
  }
  return "server_error";
}

std::string defaultCode(const Error& error) {
  if (!error.code.empty()) return error.code;
  switch (error.kind) {
    case ErrorKind::kUnauthenticated:
      return "invalid_api_key";
    case ErrorKind::kRateLimited:
      return "rate_limit_exceeded";
    default:
      return {};
  }
}

json::object errorObject(const Error& error) {
  json::object e;
  e["message"] = error.message;
  e["type"] = errorType(error);
  if (error.param.empty()) {
    e["param"] = nullptr;
  } else {
    e["param"] = error.param;
  }
  if (std::string code = defaultCode(error); code.empty()) {
    e["code"] = nullptr;
  } else {
    e["code"] = std::move(code);
  }
  return e;
}

}  // namespace

canonical::EncodedReply encodeError(const Error& error) {
  canonical::EncodedReply reply;
  reply.status = httpStatus(error.kind);
  reply.headers.push_back({"content-type", "application/json"});
  if ((reply.status == 429 || reply.status == 503) && error.retry_after_s > 0) {
    reply.headers.push_back({"retry-after", std::to_string(error.retry_after_s)});
    reply.headers.push_back(
        {"retry-after-ms", std::to_string(static_cast<long long>(error.retry_after_s) * 1000)});
  }
  json::object body;
  body["error"] = errorObject(error);
  reply.body = json::serialize(body);
  return reply;
}

std::string encodeStreamError(const Error& error) {
  json::object body;
  body["error"] = errorObject(error);
  std::string out = "data: ";
  out += json::serialize(body);
  out += "\n\n";
  return out;
}

}  // namespace basalt::api::openai_chat
