// Client Messages JSON -> canonical::ChatRequest, with Anthropic's validation wording
// ("max_tokens: Field required", dotted field paths) and unknown fields kept in `extras`.

#include "basalt/api/anthropic/messages_codec.h"

#include "json_util.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::anthropic {

namespace json = boost::json;
using canonical::ChatRequest;
using detail::invalidType;
using detail::invalidValue;
using detail::missing;

namespace {

constexpr std::size_t kExtrasCap = 1U << 20U;

const json::value* present(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

Result<std::optional<double>> optNumber(const json::object& o, std::string_view key, double min,
                                        double max) {
  const json::value* v = present(o, key);
  if (v == nullptr) return std::optional<double>();
  double d = 0;
  if (v->is_double()) {
    d = v->get_double();
  } else if (auto i = detail::asInt(*v)) {
    d = static_cast<double>(*i);
  } else {
    return invalidType(std::string(key), json::kind::double_);
  }
  if (d < min || d > max) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "Input should be between %g and %g", min, max);
    return invalidValue(std::string(key), buf);
  }
  return std::optional<double>(d);
}

Result<std::optional<std::int64_t>> optInt(const json::object& o, std::string_view key,
                                           std::int64_t min) {
  const json::value* v = present(o, key);
  if (v == nullptr) return std::optional<std::int64_t>();
  std::optional<std::int64_t> i = detail::asInt(*v);
  if (!i) return invalidType(std::string(key), json::kind::int64);
  if (*i < min) {
    return invalidValue(std::string(key),
                        "Input should be greater than or equal to " + std::to_string(min));
  }
  return i;
}

Result<void> decodeSystem(const json::value& v, ChatRequest& req) {
  if (v.is_string()) {
    if (!v.get_string().empty()) {
      req.system.emplace_back(canonical::TextBlock{std::string(v.get_string())});
    }
    return {};
  }
  if (!v.is_array()) return invalidType("system", json::kind::array);
  std::size_t i = 0;
  for (const json::value& item : v.get_array()) {
    const std::string where = "system." + std::to_string(i++);
    if (!item.is_object()) return invalidType(where, json::kind::object);
    const json::object& b = item.get_object();
    if (detail::str(b, "type") != "text") {
      return invalidValue(where + ".type", "Input should be 'text'");
    }
    const json::value* text = b.if_contains("text");
    if (text == nullptr) return missing(where + ".text");
    if (!text->is_string()) return invalidType(where + ".text", json::kind::string);
    canonical::TextBlock t{std::string(text->get_string())};
    t.cache_point = b.contains("cache_control");
    req.system.emplace_back(std::move(t));
  }
  return {};
}

Result<void> decodeMessages(const json::value& v, ChatRequest& req) {
  if (!v.is_array()) return invalidType("messages", json::kind::array);
  std::size_t i = 0;
  for (const json::value& item : v.get_array()) {
    const std::string where = "messages." + std::to_string(i++);
    if (!item.is_object()) return invalidType(where, json::kind::object);
    const json::object& m = item.get_object();
    const json::value* role = m.if_contains("role");
    if (role == nullptr) return missing(where + ".role");
    if (!role->is_string()) return invalidType(where + ".role", json::kind::string);
    canonical::Message msg;
    const std::string_view r = role->get_string();
    if (r == "user") {
      msg.role = canonical::Role::kUser;
    } else if (r == "assistant") {
      msg.role = canonical::Role::kAssistant;
    } else if (r == "system") {
      // Not in the API, but some clients send it (wire.md §4.7): hoisted by the providers.
      msg.role = canonical::Role::kSystem;
    } else {
      return invalidValue(where + ".role", "Input should be 'user' or 'assistant'");
    }
    const json::value* content = m.if_contains("content");
    if (content == nullptr) return missing(where + ".content");
    msg.content_was_string = content->is_string();
    if (Result<void> d = detail::decodeContent(*content, where + ".content", true, msg.content);
        !d) {
      return d.error();
    }
    req.messages.push_back(std::move(msg));
  }
  return {};
}

Result<void> decodeTools(const json::value& v, ChatRequest& req) {
  if (!v.is_array()) return invalidType("tools", json::kind::array);
  std::size_t i = 0;
  for (const json::value& item : v.get_array()) {
    const std::string where = "tools." + std::to_string(i++);
    if (!item.is_object()) return invalidType(where, json::kind::object);
    const json::object& t = item.get_object();
    canonical::ToolSpec spec;
    const json::value* name = t.if_contains("name");
    if (name == nullptr) return missing(where + ".name");
    if (!name->is_string()) return invalidType(where + ".name", json::kind::string);
    spec.name = std::string(name->get_string());
    spec.cache_point = t.contains("cache_control");
    const std::string type = detail::str(t, "type");
    if (!type.empty() && type != "custom") {
      // A server or versioned tool (web_search_20250305, bash_20250124, text_editor_...):
      // runnable only by Anthropic, so it travels raw.
      spec.extras = canonical::VendorExtras{canonical::Vendor::kAnthropic, json::serialize(t)};
      req.tools.push_back(std::move(spec));
      continue;
    }
    if (const json::value* d = present(t, "description")) {
      if (!d->is_string()) return invalidType(where + ".description", json::kind::string);
      spec.description = std::string(d->get_string());
    }
    const json::value* schema = t.if_contains("input_schema");
    if (schema == nullptr) return missing(where + ".input_schema");
    if (!schema->is_object()) return invalidType(where + ".input_schema", json::kind::object);
    spec.parameters_json = json::serialize(*schema);
    if (const json::value* s = present(t, "strict")) {
      if (!s->is_bool()) return invalidType(where + ".strict", json::kind::bool_);
      spec.strict = s->get_bool();
    }
    req.tools.push_back(std::move(spec));
  }
  return {};
}

Result<void> decodeToolChoice(const json::value& v, ChatRequest& req) {
  if (!v.is_object()) return invalidType("tool_choice", json::kind::object);
  const json::object& c = v.get_object();
  const std::string type = detail::str(c, "type");
  using Kind = canonical::ToolChoice::Kind;
  if (type == "auto") {
    req.tool_choice.kind = Kind::kAuto;
  } else if (type == "any") {
    req.tool_choice.kind = Kind::kRequired;
  } else if (type == "none") {
    req.tool_choice.kind = Kind::kNone;
  } else if (type == "tool") {
    req.tool_choice.kind = Kind::kNamed;
    req.tool_choice.name = detail::str(c, "name");
    if (req.tool_choice.name.empty()) return missing("tool_choice.name");
  } else {
    return invalidValue("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'");
  }
  if (const json::value* d = present(c, "disable_parallel_tool_use")) {
    if (!d->is_bool()) {
      return invalidType("tool_choice.disable_parallel_tool_use", json::kind::bool_);
    }
    if (d->get_bool()) req.parallel_tool_calls = false;
  }
  return {};
}

/// Returns true when `thinking` was fully modelled (else it also travels raw in extras).
Result<bool> decodeThinking(const json::value& v, ChatRequest& req) {
  if (!v.is_object()) return invalidType("thinking", json::kind::object);
  const json::object& t = v.get_object();
  const std::string type = detail::str(t, "type");
  if (type == "enabled") {
    const json::value* budget = t.if_contains("budget_tokens");
    if (budget == nullptr) return missing("thinking.budget_tokens");
    std::optional<std::int64_t> b = detail::asInt(*budget);
    if (!b) return invalidType("thinking.budget_tokens", json::kind::int64);
    if (*b < 1024) {
      return invalidValue("thinking.budget_tokens",
                          "Input should be greater than or equal to 1024");
    }
    req.reasoning.budget_tokens = *b;
    return true;
  }
  if (type == "disabled") {
    req.reasoning.effort = "none";
    return true;
  }
  if (type.empty()) return missing("thinking.type");
  // "adaptive" and newer kinds: other vendors see a medium effort, Anthropic gets it verbatim.
  req.reasoning.effort = "medium";
  return false;
}

}  // namespace

Result<ChatRequest> decodeRequest(std::string_view body, const DecodeOptions& options) {
  std::optional<json::value> parsed = detail::parseJson(body);
  if (!parsed) return Error::invalid("There was an error parsing the body: invalid JSON");
  if (!parsed->is_object()) return Error::invalid("Request body should be a JSON object");
  const json::object& o = parsed->get_object();

  ChatRequest req;
  req.door =
      options.bedrock ? canonical::Door::kBedrockInvoke : canonical::Door::kAnthropicMessages;
  json::object extras;

  for (const auto& [key, value] : o) {
    if (key == "model") {
      if (options.bedrock) continue;  // the model is in the path
      if (!value.is_string()) return invalidType("model", json::kind::string);
      req.model = std::string(value.get_string());
    } else if (key == "max_tokens") {
      Result<std::optional<std::int64_t>> m = optInt(o, "max_tokens", 1);
      if (!m) return m.error();
      req.max_tokens = *m;
    } else if (key == "messages") {
      if (Result<void> r = decodeMessages(value, req); !r) return r.error();
    } else if (key == "system") {
      if (value.is_null()) continue;
      if (Result<void> r = decodeSystem(value, req); !r) return r.error();
    } else if (key == "stop_sequences") {
      if (value.is_null()) continue;
      if (!value.is_array()) return invalidType("stop_sequences", json::kind::array);
      std::size_t i = 0;
      for (const json::value& s : value.get_array()) {
        if (!s.is_string()) {
          return invalidType("stop_sequences." + std::to_string(i), json::kind::string);
        }
        ++i;
        req.stop.emplace_back(s.get_string());
      }
    } else if (key == "temperature") {
      Result<std::optional<double>> t = optNumber(o, key, 0.0, 1.0);
      if (!t) return t.error();
      req.temperature = *t;
    } else if (key == "top_p") {
      Result<std::optional<double>> t = optNumber(o, key, 0.0, 1.0);
      if (!t) return t.error();
      req.top_p = *t;
    } else if (key == "top_k") {
      Result<std::optional<std::int64_t>> k = optInt(o, "top_k", 0);
      if (!k) return k.error();
      req.top_k = *k;
    } else if (key == "stream") {
      if (options.bedrock) continue;  // the operation decides
      if (value.is_null()) continue;
      if (!value.is_bool()) return invalidType("stream", json::kind::bool_);
      req.stream = value.get_bool();
    } else if (key == "metadata") {
      if (value.is_null()) continue;
      if (!value.is_object()) return invalidType("metadata", json::kind::object);
      const json::object& md = value.get_object();
      if (const json::value* u = present(md, "user_id")) {
        if (!u->is_string()) return invalidType("metadata.user_id", json::kind::string);
        req.user = std::string(u->get_string());
      }
    } else if (key == "tools") {
      if (value.is_null()) continue;
      if (Result<void> r = decodeTools(value, req); !r) return r.error();
    } else if (key == "tool_choice") {
      if (value.is_null()) continue;
      if (Result<void> r = decodeToolChoice(value, req); !r) return r.error();
    } else if (key == "thinking") {
      if (value.is_null()) continue;
      Result<bool> modelled = decodeThinking(value, req);
      if (!modelled) return modelled.error();
      if (!*modelled) extras[key] = value;
    } else if (key == "anthropic_beta" && options.bedrock) {
      if (!value.is_array()) return invalidType("anthropic_beta", json::kind::array);
      for (const json::value& b : value.get_array()) {
        if (!b.is_string()) return invalidType("anthropic_beta", json::kind::string);
        if (!req.anthropic_beta.empty()) req.anthropic_beta += ',';
        req.anthropic_beta += b.get_string();
      }
    } else if (key == "anthropic_version" && options.bedrock) {
      if (!value.is_string()) return invalidType("anthropic_version", json::kind::string);
    } else {
      extras[key] = value;  // service_tier, container, mcp_servers, context_management ...
    }
  }

  if (options.bedrock) {
    if (present(o, "anthropic_version") == nullptr) return missing("anthropic_version");
    req.model = options.model;
    req.stream = options.stream;
  } else if (req.model.empty()) {
    if (!o.contains("model")) return missing("model");
    return invalidValue("model", "String should have at least 1 character");
  }
  if (!options.count_tokens && !req.max_tokens) return missing("max_tokens");
  if (!o.contains("messages")) return missing("messages");
  if (req.messages.empty()) {
    return invalidValue("messages", "at least one message is required");
  }
  if (req.reasoning.budget_tokens && req.max_tokens &&
      *req.reasoning.budget_tokens >= *req.max_tokens) {
    return invalidValue("max_tokens", "`max_tokens` must be greater than `thinking.budget_tokens`");
  }
  if (!extras.empty()) {
    std::string text = json::serialize(extras);
    if (text.size() > kExtrasCap) {
      return Error{ErrorKind::kPayloadTooLarge, "request_too_large: unmodelled fields too large"};
    }
    req.extras = canonical::VendorExtras{canonical::Vendor::kAnthropic, std::move(text)};
  }
  return req;
}

}  // namespace basalt::api::anthropic
