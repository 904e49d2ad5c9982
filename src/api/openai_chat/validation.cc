#include "basalt/api/openai_chat/validation.h"

#include "json_util.h"

#include <array>
#include <charconv>

namespace basalt::api::openai_chat::detail {

namespace json = boost::json;

namespace {
std::string formatNumber(double d) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  if (ec != std::errc()) return "?";
  return std::string(buf.data(), end);
}
}  // namespace

Error invalidType(const std::string& path, std::string_view expected, const json::value& got) {
  return Error::invalid("Invalid type for '" + path + "': expected " + std::string(expected) +
                            ", but got " + typeName(got) + " instead.",
                        path, "invalid_type");
}

Error missing(const std::string& path) {
  return Error::invalid("Missing required parameter: '" + path + "'.", path,
                        "missing_required_parameter");
}

Error invalidValue(const std::string& path, std::string_view got,
                   std::initializer_list<std::string_view> supported) {
  std::string msg = "Invalid value: '" + std::string(got) + "'. Supported values are: ";
  std::size_t i = 0;
  for (std::string_view s : supported) {
    if (i > 0) msg += supported.size() > 2 ? ", " : " ";
    if (i > 0 && i + 1 == supported.size()) msg += "and ";
    msg += "'" + std::string(s) + "'";
    ++i;
  }
  msg += ".";
  return Error::invalid(std::move(msg), path, "invalid_value");
}

bool oneOf(std::string_view s, std::initializer_list<std::string_view> set) {
  for (std::string_view x : set) {
    if (s == x) return true;
  }
  return false;
}

std::string indexed(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

const json::value* field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

Result<std::optional<std::string>> optString(const json::object& o, std::string_view key,
                                             const std::string& path) {
  const json::value* v = field(o, key);
  if (v == nullptr) return std::optional<std::string>{};
  if (!v->is_string()) return invalidType(path, "a string", *v);
  return std::optional<std::string>{std::string(v->get_string())};
}

Result<std::optional<bool>> optBool(const json::object& o, std::string_view key,
                                    const std::string& path) {
  const json::value* v = field(o, key);
  if (v == nullptr) return std::optional<bool>{};
  if (!v->is_bool()) return invalidType(path, "a boolean", *v);
  return std::optional<bool>{v->get_bool()};
}

Result<std::optional<double>> optNumber(const json::object& o, std::string_view key, double min,
                                        double max) {
  const std::string path(key);
  const json::value* v = field(o, key);
  if (v == nullptr) return std::optional<double>{};
  double d = 0;
  if (v->is_double()) {
    d = v->get_double();
  } else if (v->is_int64()) {
    d = static_cast<double>(v->get_int64());
  } else if (v->is_uint64()) {
    d = static_cast<double>(v->get_uint64());
  } else {
    return invalidType(path, "a number", *v);
  }
  if (d < min) {
    return Error::invalid("Invalid '" + path +
                              "': decimal below minimum value. Expected a value >= " +
                              formatNumber(min) + ", but got " + formatNumber(d) + " instead.",
                          path, "decimal_below_min_value");
  }
  if (d > max) {
    return Error::invalid("Invalid '" + path +
                              "': decimal above maximum value. Expected a value <= " +
                              formatNumber(max) + ", but got " + formatNumber(d) + " instead.",
                          path, "decimal_above_max_value");
  }
  return std::optional<double>{d};
}

Result<std::optional<std::int64_t>> optInt(const json::object& o, std::string_view key,
                                           std::optional<std::int64_t> min) {
  const std::string path(key);
  const json::value* v = field(o, key);
  if (v == nullptr) return std::optional<std::int64_t>{};
  std::optional<std::int64_t> i = detail::asInt(*v);
  if (!i) return invalidType(path, "an integer", *v);
  if (min && *i < *min) {
    return Error::invalid(
        "Invalid '" + path + "': integer below minimum value. Expected a value >= " +
            std::to_string(*min) + ", but got " + std::to_string(*i) + " instead.",
        path, "integer_below_min_value");
  }
  return i;
}

}  // namespace basalt::api::openai_chat::detail
