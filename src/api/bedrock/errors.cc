// Bedrock's error shapes (bedrock.md §3): `x-amzn-ErrorType` + `{"message"}` before the stream,
// exception frames after it, and the reverse mapping for upstream errors.

#include "basalt/api/bedrock/converse_codec.h"

#include "json_util.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::api::bedrock {

namespace json = boost::json;

std::string exceptionName(const Error& error) {
  if (error.code.size() > 9 && error.code.ends_with("Exception")) return error.code;
  switch (error.kind) {
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kMethodNotAllowed:
    case ErrorKind::kPayloadTooLarge:
    case ErrorKind::kHeadersTooLarge:
      return "ValidationException";
    case ErrorKind::kUnauthenticated:
      return "UnrecognizedClientException";
    case ErrorKind::kPermissionDenied:
      return "AccessDeniedException";
    case ErrorKind::kNotFound:
      return "ResourceNotFoundException";
    case ErrorKind::kRateLimited:
      return "ThrottlingException";
    case ErrorKind::kUpstreamError:
      return "ModelErrorException";
    case ErrorKind::kUpstreamUnavailable:
      return "ServiceUnavailableException";
    case ErrorKind::kUpstreamTimeout:
      return "ModelTimeoutException";
    case ErrorKind::kInternal:
    case ErrorKind::kCancelled:
      return "InternalServerException";
  }
  return "InternalServerException";
}

canonical::EncodedReply encodeError(const Error& error) {
  canonical::EncodedReply reply;
  reply.status = httpStatus(error.kind);
  const std::string name = exceptionName(error);
  reply.headers.push_back({"content-type", "application/json"});
  reply.headers.push_back({"x-amzn-errortype", name});
  if ((reply.status == 429 || reply.status == 503) && error.retry_after_s > 0) {
    reply.headers.push_back({"retry-after", std::to_string(error.retry_after_s)});
  }
  json::object body;
  body["message"] = error.message;
  reply.body = json::serialize(body);
  return reply;
}

std::string encodeStreamError(const Error& error) {
  // The exception members ConverseStream models; anything else would reach SDKs as an
  // unknown exception, so the closest modelled one is used.
  const char* type = "internalServerException";
  switch (error.kind) {
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kPayloadTooLarge:
      type = "validationException";
      break;
    case ErrorKind::kRateLimited:
      type = "throttlingException";
      break;
    case ErrorKind::kUpstreamUnavailable:
      type = "serviceUnavailableException";
      break;
    case ErrorKind::kUpstreamError:
    case ErrorKind::kUpstreamTimeout:
      type = "modelStreamErrorException";
      break;
    default:
      break;
  }
  json::object payload;
  payload["message"] = error.message;
  if (std::string_view(type) == "modelStreamErrorException" && error.upstream_status > 0) {
    payload["originalStatusCode"] = error.upstream_status;
  }
  return encodeEventStreamMessage({{":exception-type", type},
                                   {":content-type", "application/json"},
                                   {":message-type", "exception"}},
                                  json::serialize(payload));
}

Error decodeUpstreamError(int status, std::string_view error_type_header, std::string_view body) {
  std::string type(error_type_header);
  std::string message;
  if (std::optional<json::value> v = detail::parseJson(body); v && v->is_object()) {
    const json::object& o = v->get_object();
    message = detail::str(o, "message");
    if (message.empty()) message = detail::str(o, "Message");
    if (type.empty()) type = detail::str(o, "__type");
    if (type.empty()) type = detail::str(o, "code");
  }
  // Clients take the part before the first ':' and after the last '#'.
  if (std::size_t colon = type.find(':'); colon != std::string::npos) type.resize(colon);
  if (std::size_t hash = type.rfind('#'); hash != std::string::npos) type.erase(0, hash + 1);
  if (message.empty()) {
    message = std::string(body.substr(0, 512));
    if (message.empty()) message = "Bedrock returned HTTP " + std::to_string(status);
  }
  Error e;
  e.message = std::move(message);
  e.upstream_status = status;
  e.code = type;
  if (type == "ValidationException" || status == 400) {
    e.kind = ErrorKind::kInvalidRequest;
  } else if (type == "ThrottlingException" || type == "ModelNotReadyException" || status == 429) {
    e.kind = ErrorKind::kRateLimited;
  } else if (type == "ServiceUnavailableException" || status == 503) {
    e.kind = ErrorKind::kUpstreamUnavailable;
  } else if (type == "ModelTimeoutException" || status == 408 || status == 504) {
    e.kind = ErrorKind::kUpstreamTimeout;
  } else {
    // Credentials, permissions or a model the provider cannot find are the gateway's
    // configuration problem, not the client's: they surface as an upstream failure.
    e.kind = ErrorKind::kUpstreamError;
  }
  if (type == "ServiceQuotaExceededException") e.kind = ErrorKind::kRateLimited;
  // An upstream AccessDenied or ResourceNotFound must not reach a Bedrock client under its own
  // name (it is about the gateway's credentials, not the caller's).
  if (e.kind == ErrorKind::kUpstreamError && type != "ModelErrorException") e.code.clear();
  if (e.kind == ErrorKind::kRateLimited) e.retry_after_s = 1;
  return e;
}

}  // namespace basalt::api::bedrock
