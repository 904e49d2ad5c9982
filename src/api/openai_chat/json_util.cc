#include "json_util.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <charconv>
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

namespace {
/// Bytes that JSON strings must escape: control characters, '"' and '\\'.
constexpr std::array<bool, 256> kMustEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = true;
  t['\\'] = true;
  return t;
}();
}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t i = 0;
  while (i < s.size() && !kMustEscape[static_cast<unsigned char>(s[i])]) ++i;
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  if (i == s.size()) {  // the common case: nothing to escape, one copy
    out.append(s);
    out.push_back('"');
    return;
  }
  std::size_t run_start = 0;
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!kMustEscape[c]) continue;
    out.append(s.data() + run_start, i - run_start);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(u, 6);
      }
    }
    run_start = i + 1;
  }
  out.append(s.data() + run_start, s.size() - run_start);
  out.push_back('"');
}

std::string& ObjectWriter::key(std::string_view key) {
  if (!keys_.empty()) out_->push_back(',');
  keys_.push_back(key);
  appendJsonString(*out_, key);
  out_->push_back(':');
  return *out_;
}

void ObjectWriter::string(std::string_view k, std::string_view value) {
  appendJsonString(key(k), value);
}

void ObjectWriter::raw(std::string_view k, std::string_view json_text) {
  key(k) += json_text;
}

void ObjectWriter::integer(std::string_view k, std::int64_t value) {
  key(k) += std::to_string(value);
}

void ObjectWriter::number(std::string_view k, double value) {
  appendJsonNumber(key(k), value);
}

void ObjectWriter::boolean(std::string_view k, bool value) {
  key(k) += value ? "true" : "false";
}

void ObjectWriter::null(std::string_view k) {
  key(k) += "null";
}

bool ObjectWriter::has(std::string_view k) const {
  return std::find(keys_.begin(), keys_.end(), k) != keys_.end();
}

void ObjectWriter::mergeMissing(std::string_view object_json) {
  if (object_json.empty()) return;
  std::optional<json::value> parsed = parseJson(object_json);
  if (!parsed || !parsed->is_object()) return;
  for (const auto& [k, value] : parsed->get_object()) {
    if (has(k)) continue;
    key(k) += json::serialize(value);  // `k` lives in `parsed` only until here
    keys_.back() = {};
  }
}

void appendJsonNumber(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, ec == std::errc() ? end : buf);
}

std::optional<json::value> parseJson(std::string_view text, json::storage_ptr storage) {
  // Boost.JSON's default depth limit (32) is below what real tool schemas reach; 256 stays far
  // from any stack risk (the parser keeps its own stack).
  json::parse_options options;
  options.max_depth = 256;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, std::move(storage), options);
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

void appendUsageJson(std::string& out, const canonical::Usage& usage) {
  out += "{\"prompt_tokens\":";
  out += std::to_string(usage.input_tokens);
  out += ",\"completion_tokens\":";
  out += std::to_string(usage.output_tokens);
  out += ",\"total_tokens\":";
  out += std::to_string(usage.total());
  out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
  out += std::to_string(usage.cache_read_tokens);
  out += ",\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":";
  out += std::to_string(usage.reasoning_tokens);
  out +=
      ",\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
      "\"rejected_prediction_tokens\":0}}";
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
