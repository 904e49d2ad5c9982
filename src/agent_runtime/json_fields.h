#pragma once
// Private to basalt_agent_runtime: reading the JSON payloads stored in the session log and in
// agent/environment bodies, where a missing or mistyped field reads as empty (those documents
// were validated by the agents API when they were written).

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace basalt::agent_runtime::detail {

/// The object `text` holds, or an empty object when it is not a JSON object.
inline boost::json::object parseObject(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

/// A string member, or "" when absent or not a string.
inline std::string str(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

/// A numeric member as an integer, or 0 when absent or not a number.
inline std::int64_t num(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return 0;
}

}  // namespace basalt::agent_runtime::detail
