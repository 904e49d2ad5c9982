// The front door's request decoder: Responses JSON -> canonical::ChatRequest, with OpenAI's
// own validation wording. Everything Basalt does not model is kept in `extras` so that an
// OpenAI Responses upstream receives the request as the client sent it.

#include "basalt/api/openai_responses/responses_codec.h"

#include "items.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::openai_responses {

namespace json = boost::json;
using canonical::ChatRequest;
using detail::field;
using detail::invalidType;
using detail::invalidValue;
using detail::missing;
using detail::oneOf;
using detail::optBool;
using detail::optInt;
using detail::optNumber;
using detail::optString;

namespace {

constexpr std::size_t kMaxExtrasBytes = 1 << 20;

constexpr std::string_view kUnparseableBody =
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was "
    "not valid JSON. If you have trouble figuring out how to fix this, please contact us through "
    "our help center at help.openai.com.)";

class RequestDecoder {
 public:
  Result<ChatRequest> decode(std::string_view body);

 private:
  Result<void> decodeInput(const json::value& input);
  Result<void> decodeTools(const json::value& tools);
  Result<bool> decodeToolChoice(const json::value& choice);
  Result<void> decodeReasoning(const json::value& reasoning, json::object& extras);
  Result<void> decodeText(const json::value& text, json::object& extras);
  Result<void> decodeMetadata(const json::value& metadata);
  Result<void> addExtra(json::object& extras, std::string_view key, const json::value& v);

  ChatRequest req_;
  std::size_t extras_bytes_ = 0;
};

Result<void> RequestDecoder::addExtra(json::object& extras, std::string_view key,
                                      const json::value& v) {
  extras_bytes_ += key.size() + json::serialize(v).size() + 4;
  if (extras_bytes_ > kMaxExtrasBytes) {
    return Error::invalid("Unrecognized request fields are too large: together they exceed " +
                              std::to_string(kMaxExtrasBytes) + " bytes.",
                          std::string(key), "request_too_large");
  }
  extras[key] = v;
  return {};
}

Result<ChatRequest> RequestDecoder::decode(std::string_view body) {
  std::optional<json::value> parsed = detail::parseJson(body);
  if (!parsed) return Error::invalid(std::string(kUnparseableBody));
  if (!parsed->is_object()) {
    return Error::invalid("Invalid type for request body: expected an object, but got " +
                          std::string(detail::typeName(*parsed)) + " instead.");
  }
  const json::object& o = parsed->get_object();
  req_.door = canonical::Door::kOpenAIResponses;

  const json::value* model = field(o, "model");
  if (model == nullptr) return missing("model");
  if (!model->is_string()) return invalidType("model", "a string", *model);
  if (model->get_string().empty()) return missing("model");
  req_.model = std::string(model->get_string());

  json::object extras;
  for (const auto& [key, value] : o) {
    const std::string_view k = key;
    if (k == "model") continue;
    if (value.is_null()) continue;
    if (k == "input") {
      if (auto r = decodeInput(value); !r) return r.error();
    } else if (k == "instructions") {
      if (!value.is_string()) return invalidType("instructions", "a string", value);
      if (!value.get_string().empty()) {
        req_.system.emplace_back(canonical::TextBlock{std::string(value.get_string())});
      }
    } else if (k == "tools") {
      if (auto r = decodeTools(value); !r) return r.error();
    } else if (k == "tool_choice") {
      auto modelled = decodeToolChoice(value);
      if (!modelled) return modelled.error();
      if (!*modelled) {
        if (auto r = addExtra(extras, k, value); !r) return r.error();
      }
    } else if (k == "reasoning") {
      if (auto r = decodeReasoning(value, extras); !r) return r.error();
    } else if (k == "text") {
      if (auto r = decodeText(value, extras); !r) return r.error();
    } else if (k == "metadata") {
      if (auto r = decodeMetadata(value); !r) return r.error();
    } else if (k == "include") {
      if (!value.is_array()) return invalidType("include", "an array", value);
      for (std::size_t i = 0; i < value.get_array().size(); ++i) {
        const json::value& v = value.get_array()[i];
        if (!v.is_string()) return invalidType(detail::indexed("include", i), "a string", v);
      }
      if (auto r = addExtra(extras, k, value); !r) return r.error();
    } else if (oneOf(k, {"previous_response_id", "prompt_cache_key", "service_tier",
                         "safety_identifier", "truncation", "prompt_cache_retention"})) {
      if (!value.is_string()) return invalidType(std::string(k), "a string", value);
      if (auto r = addExtra(extras, k, value); !r) return r.error();
    } else if (k == "store" || k == "background") {
      if (!value.is_bool()) return invalidType(std::string(k), "a boolean", value);
      if (auto r = addExtra(extras, k, value); !r) return r.error();
    } else if (oneOf(k, {"parallel_tool_calls", "temperature", "top_p", "max_output_tokens", "user",
                         "stream"})) {
      continue;  // read by name below
    } else {
      // client_metadata, max_tool_calls, top_logprobs, stream_options, conversation, prompt
      // and fields newer than this gateway: forwarded verbatim to an OpenAI upstream.
      if (auto r = addExtra(extras, k, value); !r) return r.error();
    }
  }
  if (!o.contains("input") || o.at("input").is_null()) {
    if (!extras.contains("previous_response_id") && !extras.contains("conversation") &&
        !extras.contains("prompt")) {
      return missing("input");
    }
  }

  auto temperature = optNumber(o, "temperature", 0, 2);
  if (!temperature) return temperature.error();
  req_.temperature = *temperature;
  auto top_p = optNumber(o, "top_p", 0, 1);
  if (!top_p) return top_p.error();
  req_.top_p = *top_p;
  auto max_tokens = optInt(o, "max_output_tokens", 1);
  if (!max_tokens) return max_tokens.error();
  req_.max_tokens = *max_tokens;
  auto user = optString(o, "user", "user");
  if (!user) return user.error();
  req_.user = user->value_or("");
  auto stream = optBool(o, "stream", "stream");
  if (!stream) return stream.error();
  req_.stream = stream->value_or(false);
  auto parallel = optBool(o, "parallel_tool_calls", "parallel_tool_calls");
  if (!parallel) return parallel.error();
  req_.parallel_tool_calls = *parallel;

  if (!extras.empty()) req_.extras = {canonical::Vendor::kOpenAI, json::serialize(extras)};
  return std::move(req_);
}

Result<void> RequestDecoder::decodeInput(const json::value& input) {
  if (input.is_string()) {
    canonical::Message m;
    m.role = canonical::Role::kUser;
    m.content_was_string = true;
    m.content.emplace_back(canonical::TextBlock{std::string(input.get_string())});
    req_.messages.push_back(std::move(m));
    return {};
  }
  if (!input.is_array()) return invalidType("input", "a string or an array", input);
  return detail::decodeItems(input.get_array(), "input", req_.messages, extras_bytes_);
}

Result<void> RequestDecoder::decodeTools(const json::value& tools) {
  if (!tools.is_array()) return invalidType("tools", "an array", tools);
  const json::array& arr = tools.get_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string p = detail::indexed("tools", i);
    if (!arr[i].is_object()) return invalidType(p, "an object", arr[i]);
    const json::object& t = arr[i].get_object();
    auto type = optString(t, "type", p + ".type");
    if (!type) return type.error();
    if (!*type) return missing(p + ".type");
    canonical::ToolSpec spec;
    if (**type == "function" || **type == "custom") {
      auto name = optString(t, "name", p + ".name");
      if (!name) return name.error();
      if (!*name) return missing(p + ".name");
      spec.name = std::move(**name);
      auto description = optString(t, "description", p + ".description");
      if (!description) return description.error();
      spec.description = description->value_or("");
      if (**type == "function") {
        if (const json::value* params = field(t, "parameters")) {
          if (!params->is_object()) return invalidType(p + ".parameters", "an object", *params);
          spec.parameters_json = json::serialize(*params);
        }
        auto strict = optBool(t, "strict", p + ".strict");
        if (!strict) return strict.error();
        spec.strict = *strict;
      } else {
        spec.kind = canonical::ToolKind::kCustom;
        if (const json::value* format = field(t, "format")) {
          if (!format->is_object()) return invalidType(p + ".format", "an object", *format);
          spec.custom_format_json = json::serialize(*format);
        }
      }
    } else {
      // Hosted tools (web_search, local_shell, tool_search, file_search, mcp ...): only an
      // OpenAI Responses upstream can run them; other providers drop them and log it.
      auto name = optString(t, "name", p + ".name");
      spec.name = (name && *name) ? std::move(**name) : **type;
      spec.extras = {canonical::Vendor::kOpenAI, json::serialize(t)};
      extras_bytes_ += spec.extras.json.size();
      if (extras_bytes_ > kMaxExtrasBytes) {
        return Error::invalid("Invalid 'tools': the tool definitions are too large.", "tools",
                              "request_too_large");
      }
    }
    req_.tools.push_back(std::move(spec));
  }
  return {};
}

Result<bool> RequestDecoder::decodeToolChoice(const json::value& choice) {
  using Kind = canonical::ToolChoice::Kind;
  if (choice.is_string()) {
    const std::string_view s = choice.get_string();
    if (s == "auto") {
      req_.tool_choice.kind = Kind::kAuto;
    } else if (s == "none") {
      req_.tool_choice.kind = Kind::kNone;
    } else if (s == "required") {
      req_.tool_choice.kind = Kind::kRequired;
    } else {
      return invalidValue("tool_choice", s, {"none", "auto", "required"});
    }
    return true;
  }
  if (!choice.is_object()) return invalidType("tool_choice", "a string or an object", choice);
  const json::object& c = choice.get_object();
  auto type = optString(c, "type", "tool_choice.type");
  if (!type) return type.error();
  if (!*type) return missing("tool_choice.type");
  if (**type != "function" && **type != "custom") return false;  // allowed_tools, hosted: raw
  auto name = optString(c, "name", "tool_choice.name");
  if (!name) return name.error();
  if (!*name) return missing("tool_choice.name");
  req_.tool_choice.kind = Kind::kNamed;
  req_.tool_choice.name = std::move(**name);
  return true;
}

Result<void> RequestDecoder::decodeReasoning(const json::value& reasoning, json::object& extras) {
  if (!reasoning.is_object()) return invalidType("reasoning", "an object", reasoning);
  const json::object& r = reasoning.get_object();
  auto effort = optString(r, "effort", "reasoning.effort");
  if (!effort) return effort.error();
  if (*effort && !oneOf(**effort, {"none", "minimal", "low", "medium", "high", "xhigh"})) {
    return invalidValue("reasoning.effort", **effort,
                        {"none", "minimal", "low", "medium", "high", "xhigh"});
  }
  req_.reasoning.effort = effort->value_or("");
  auto summary = optString(r, "summary", "reasoning.summary");
  if (!summary) return summary.error();
  if (*summary && !oneOf(**summary, {"auto", "concise", "detailed", "none"})) {
    return invalidValue("reasoning.summary", **summary, {"auto", "concise", "detailed"});
  }
  req_.reasoning.summary = summary->value_or("");
  json::object rest;
  for (const auto& [k, v] : r) {
    if (k != "effort" && k != "summary") rest[k] = v;
  }
  if (!rest.empty()) return addExtra(extras, "reasoning", rest);
  return {};
}

Result<void> RequestDecoder::decodeText(const json::value& text, json::object& extras) {
  using Kind = canonical::ResponseFormat::Kind;
  if (!text.is_object()) return invalidType("text", "an object", text);
  const json::object& t = text.get_object();
  json::object rest;
  for (const auto& [k, v] : t) {
    if (k != "format") rest[k] = v;
  }
  if (const json::value* verbosity = field(t, "verbosity")) {
    if (!verbosity->is_string()) return invalidType("text.verbosity", "a string", *verbosity);
    if (!oneOf(verbosity->get_string(), {"low", "medium", "high"})) {
      return invalidValue("text.verbosity", verbosity->get_string(), {"low", "medium", "high"});
    }
  }
  if (const json::value* format = field(t, "format")) {
    if (!format->is_object()) return invalidType("text.format", "an object", *format);
    const json::object& f = format->get_object();
    auto type = optString(f, "type", "text.format.type");
    if (!type) return type.error();
    if (!*type) return missing("text.format.type");
    canonical::ResponseFormat& rf = req_.response_format;
    if (**type == "text") {
      rf.kind = Kind::kText;
    } else if (**type == "json_object") {
      rf.kind = Kind::kJsonObject;
    } else if (**type == "json_schema") {
      rf.kind = Kind::kJsonSchema;
      auto name = optString(f, "name", "text.format.name");
      if (!name) return name.error();
      if (!*name) return missing("text.format.name");
      rf.name = std::move(**name);
      auto description = optString(f, "description", "text.format.description");
      if (!description) return description.error();
      rf.description = description->value_or("");
      const json::value* schema = field(f, "schema");
      if (schema == nullptr) return missing("text.format.schema");
      if (!schema->is_object()) return invalidType("text.format.schema", "an object", *schema);
      rf.schema_json = json::serialize(*schema);
      auto strict = optBool(f, "strict", "text.format.strict");
      if (!strict) return strict.error();
      rf.strict = *strict;
    } else {
      return invalidValue("text.format.type", **type, {"text", "json_object", "json_schema"});
    }
  }
  if (!rest.empty()) return addExtra(extras, "text", rest);
  return {};
}

Result<void> RequestDecoder::decodeMetadata(const json::value& metadata) {
  if (!metadata.is_object()) return invalidType("metadata", "an object", metadata);
  const json::object& m = metadata.get_object();
  if (m.size() > 16) {
    return Error::invalid(
        "Invalid 'metadata': too many properties. Expected an object with at "
        "most 16 properties, but got " +
            std::to_string(m.size()) + " instead.",
        "metadata", "object_above_max_properties");
  }
  for (const auto& [key, value] : m) {
    const std::string path = "metadata." + std::string(key);
    if (!value.is_string()) return invalidType(path, "a string", value);
    if (key.size() > 64 || value.get_string().size() > 512) {
      return Error::invalid("Invalid '" + path +
                                "': metadata keys are limited to 64 characters and values to "
                                "512 characters.",
                            path, "string_above_max_length");
    }
    req_.metadata.emplace_back(std::string(key), std::string(value.get_string()));
  }
  return {};
}

}  // namespace

Result<canonical::ChatRequest> decodeRequest(std::string_view body) {
  return RequestDecoder().decode(body);
}

std::optional<std::string> previousResponseId(const canonical::ChatRequest& request) {
  if (request.extras.vendor != canonical::Vendor::kOpenAI || request.extras.empty()) {
    return std::nullopt;
  }
  auto v = detail::parseJson(request.extras.json);
  if (!v || !v->is_object()) return std::nullopt;
  std::string id = detail::str(v->get_object(), "previous_response_id");
  if (id.empty()) return std::nullopt;
  return id;
}

}  // namespace basalt::api::openai_responses
