#pragma once
// JSON helpers private to the admin module (Boost.JSON stays inside src/admin's .cc files).

#include "basalt/core/error.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::admin {

/// The error `type` for a status: invalid_request_error, authentication_error, ...
std::string errorType(int status);

/// `{"error":{"message","type","code"}}`.
std::string errorBody(const Error& error, int status);

/// Parses a request body that must be a JSON object (an empty body is an empty object).
Result<boost::json::object> parseObject(std::string_view body);

/// A string member; nullopt when absent; an error naming `key` when present but not a string.
Result<std::optional<std::string>> optionalString(const boost::json::object& o,
                                                  std::string_view key);
/// A required non-empty string member.
Result<std::string> requiredString(const boost::json::object& o, std::string_view key);
Result<std::optional<bool>> optionalBool(const boost::json::object& o, std::string_view key);
/// An integer member (JSON integer, or a number with no fraction); nullopt when absent.
Result<std::optional<std::int64_t>> optionalInt(const boost::json::object& o, std::string_view key);

std::string formatTime(std::chrono::system_clock::time_point t);

}  // namespace basalt::admin
