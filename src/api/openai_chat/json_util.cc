#include "json_util.h"

#include <boost/json/parse.hpp>

#include <chrono>
#include <cmath>
#include <limits>

namespace basalt::api::openai_chat::detail {

namespace json = boost::json;

const char* typeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return "a string";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a decimal";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::object:
      return "an object";
    case json::kind::array:
      return "an array";
    case json::kind::null:
      return "null";
  }
  return "an unknown type";
}

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const char* escape = nullptr;
    switch (c) {
      case '"':
        escape = "\\\"";
        break;
      case '\\':
        escape = "\\\\";
        break;
      case '\n':
        escape = "\\n";
        break;
      case '\r':
        escape = "\\r";
        break;
      case '\t':
        escape = "\\t";
        break;
      case '\b':
        escape = "\\b";
        break;
      case '\f':
        escape = "\\f";
        break;
      default:
        break;
    }
    if (escape == nullptr && c >= 0x20) continue;
    out.append(s.data() + run_start, i - run_start);
    if (escape != nullptr) {
      out.append(escape);
    } else {
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(u, 6);
    }
    run_start = i + 1;
  }
  out.append(s.data() + run_start, s.size() - run_start);
  out.push_back('"');
}

std::optional<json::value> parseJson(std::string_view text) {
  // Boost.JSON's default depth limit (32) is below what real tool schemas reach; 256 stays far
  // from any stack risk (the parser keeps its own stack).
  json::parse_options options;
  options.max_depth = 256;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) return std::nullopt;
  return v;
}

const char* finishReason(canonical::StopReason reason, bool has_tool_calls) {
  using canonical::StopReason;
  switch (reason) {
    case StopReason::kEndTurn:
    case StopReason::kStopSequence:
    case StopReason::kPauseTurn:
    case StopReason::kError:
      return "stop";
    case StopReason::kMaxTokens:
    case StopReason::kContextWindowExceeded:
      return "length";
    case StopReason::kToolUse:
      return "tool_calls";
    case StopReason::kContentFilter:
    case StopReason::kRefusal:
      return "content_filter";
    case StopReason::kUnset:
      break;
  }
  return has_tool_calls ? "tool_calls" : "stop";
}

canonical::StopReason stopReasonFromFinish(std::string_view finish_reason) {
  using canonical::StopReason;
  if (finish_reason == "stop" || finish_reason == "eos") return StopReason::kEndTurn;
  if (finish_reason == "length") return StopReason::kMaxTokens;
  if (finish_reason == "tool_calls" || finish_reason == "function_call") {
    return StopReason::kToolUse;
  }
  if (finish_reason == "content_filter") return StopReason::kContentFilter;
  return StopReason::kEndTurn;
}

json::object usageJson(const canonical::Usage& usage) {
  json::object u;
  u["prompt_tokens"] = usage.input_tokens;
  u["completion_tokens"] = usage.output_tokens;
  u["total_tokens"] = usage.total();
  json::object prompt_details;
  prompt_details["cached_tokens"] = usage.cache_read_tokens;
  prompt_details["audio_tokens"] = 0;
  u["prompt_tokens_details"] = std::move(prompt_details);
  json::object completion_details;
  completion_details["reasoning_tokens"] = usage.reasoning_tokens;
  completion_details["audio_tokens"] = 0;
  completion_details["accepted_prediction_tokens"] = 0;
  completion_details["rejected_prediction_tokens"] = 0;
  u["completion_tokens_details"] = std::move(completion_details);
  return u;
}

std::optional<std::int64_t> asInt(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    const std::uint64_t u = v.get_uint64();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e18) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

namespace {
std::int64_t intField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  return asInt(*v).value_or(0);
}
}  // namespace

canonical::Usage usageFromJson(const json::object& usage) {
  canonical::Usage u;
  u.input_tokens = intField(usage, "prompt_tokens");
  u.output_tokens = intField(usage, "completion_tokens");
  if (const json::value* d = usage.if_contains("prompt_tokens_details"); d && d->is_object()) {
    u.cache_read_tokens = intField(d->get_object(), "cached_tokens");
  }
  if (const json::value* d = usage.if_contains("completion_tokens_details"); d && d->is_object()) {
    u.reasoning_tokens = intField(d->get_object(), "reasoning_tokens");
  }
  // LiteLLM-style proxies report Anthropic cache writes here.
  u.cache_write_tokens = intField(usage, "cache_creation_input_tokens");
  if (u.cache_read_tokens == 0) u.cache_read_tokens = intField(usage, "cache_read_input_tokens");
  return u;
}

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace basalt::api::openai_chat::detail
