#include "admin_json.h"

#include "basalt/audit/rfc3339.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>

namespace basalt::admin {

std::string errorType(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 409:
      return "conflict_error";
    case 503:
      return "storage_error";
    default:
      return "api_error";
  }
}

std::string errorBody(const Error& error, int status) {
  boost::json::object inner;
  inner["message"] = error.message;
  inner["type"] = errorType(status);
  if (error.code.empty()) {
    inner["code"] = nullptr;
  } else {
    inner["code"] = error.code;
  }
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

Result<boost::json::object> parseObject(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return boost::json::object{};
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) return Error::invalid("The request body is not valid JSON: " + ec.message());
  if (!v.is_object()) return Error::invalid("The request body must be a JSON object");
  return std::move(v.as_object());
}

Result<std::optional<std::string>> optionalString(const boost::json::object& o,
                                                  std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) {
    return Error::invalid("'" + std::string(key) + "' must be a string", std::string(key));
  }
  return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::string> requiredString(const boost::json::object& o, std::string_view key) {
  Result<std::optional<std::string>> s = optionalString(o, key);
  if (!s) return s.error();
  if (!*s || (*s)->empty()) {
    return Error::invalid("'" + std::string(key) + "' is required", std::string(key));
  }
  return std::move(**s);
}

Result<std::optional<bool>> optionalBool(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<bool>{};
  if (!v->is_bool()) {
    return Error::invalid("'" + std::string(key) + "' must be true or false", std::string(key));
  }
  return std::optional<bool>(v->as_bool());
}

Result<std::optional<std::int64_t>> optionalInt(const boost::json::object& o,
                                                std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::int64_t>{};
  if (v->is_int64()) return std::optional<std::int64_t>(v->as_int64());
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->as_uint64()));
  }
  if (v->is_double()) {
    const double d = v->as_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18) {
      return std::optional<std::int64_t>(static_cast<std::int64_t>(d));
    }
  }
  return Error::invalid("'" + std::string(key) + "' must be an integer", std::string(key));
}

std::string formatTime(std::chrono::system_clock::time_point t) {
  return audit::formatRfc3339Ms(t);
}

}  // namespace basalt::admin
