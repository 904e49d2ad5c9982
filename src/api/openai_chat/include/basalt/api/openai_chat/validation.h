#pragma once
/// OpenAI's validation wording and typed field readers, shared by the OpenAI-family request
/// decoders (Chat Completions here, Responses in api/openai_responses) so both answer bad input
/// with the same messages and codes. Absent and null fields both mean "not given", as OpenAI
/// treats them.

#include "basalt/core/error.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::api::openai_chat::detail {

/// "Invalid type for 'path': expected <expected>, but got <type> instead." (invalid_type)
Error invalidType(const std::string& path, std::string_view expected,
                  const boost::json::value& got);
/// "Missing required parameter: 'path'." (missing_required_parameter)
Error missing(const std::string& path);
/// "Invalid value: 'got'. Supported values are: 'a', 'b', and 'c'." (invalid_value)
Error invalidValue(const std::string& path, std::string_view got,
                   std::initializer_list<std::string_view> supported);

bool oneOf(std::string_view s, std::initializer_list<std::string_view> set);
/// "path[i]"
std::string indexed(const std::string& path, std::size_t i);

/// The value of `key`, or nullptr when absent or null.
const boost::json::value* field(const boost::json::object& o, std::string_view key);

Result<std::optional<std::string>> optString(const boost::json::object& o, std::string_view key,
                                             const std::string& path);
Result<std::optional<bool>> optBool(const boost::json::object& o, std::string_view key,
                                    const std::string& path);
/// A number in [min, max]; the top-level parameter `key` is also the error's param.
Result<std::optional<double>> optNumber(const boost::json::object& o, std::string_view key,
                                        double min, double max);
/// An integer (integral decimals accepted) >= `min` when given.
Result<std::optional<std::int64_t>> optInt(const boost::json::object& o, std::string_view key,
                                           std::optional<std::int64_t> min);

}  // namespace basalt::api::openai_chat::detail
