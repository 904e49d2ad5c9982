// The front door's request decoder: Chat Completions JSON -> canonical::ChatRequest, with
// OpenAI's own validation wording so SDK users see the errors they already know.

#include "basalt/api/openai_chat/chat_codec.h"

#include "basalt/api/openai_chat/validation.h"
#include "json_util.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::api::openai_chat {

namespace json = boost::json;
using canonical::ChatRequest;
using canonical::ContentBlock;
using canonical::Message;
using canonical::Role;
using detail::field;
using detail::indexed;
using detail::invalidType;
using detail::invalidValue;
using detail::missing;
using detail::oneOf;
using detail::optBool;
using detail::optInt;
using detail::optNumber;
using detail::optString;
using detail::typeName;

namespace {

constexpr std::size_t kMaxExtrasBytes = 1 << 20;
constexpr std::size_t kMaxStop = 4;

constexpr std::string_view kUnparseableBody =
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was "
    "not valid JSON. If you have trouble figuring out how to fix this, please contact us through "
    "our help center at help.openai.com.)";

// ---- the decoder ----

class RequestDecoder {
 public:
  Result<ChatRequest> decode(std::string_view body);

 private:
  Result<void> decodeMessages(const json::value* messages);
  Result<void> decodeMessage(const json::value& v, const std::string& path);
  Result<void> decodeContent(const json::value& content, const std::string& path, Role role,
                             bool is_assistant, Message& msg);
  Result<ContentBlock> decodePart(const json::value& part, const std::string& path, bool is_user,
                                  bool is_assistant);
  Result<void> decodeToolCalls(const json::value& calls, const std::string& path, Message& msg);
  Result<void> decodeTools(const json::value& tools);
  Result<bool> decodeToolChoice(const json::value& choice);
  Result<void> decodeResponseFormat(const json::value& format);
  Result<void> decodeStop(const json::value& stop);
  Result<void> decodeMetadata(const json::value& metadata);
  Result<void> decodeSampling(const json::object& body);
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
  // The parsed tree dies with this call: a stack arena serves it (heap only beyond 8 KiB).
  alignas(16) unsigned char arena_buffer[8192];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  std::optional<json::value> parsed = detail::parseJson(body, &arena);
  if (!parsed) return Error::invalid(std::string(kUnparseableBody));
  if (!parsed->is_object()) {
    return Error::invalid("Invalid type for request body: expected an object, but got " +
                          std::string(typeName(*parsed)) + " instead.");
  }
  const json::object& o = parsed->get_object();
  req_.door = canonical::Door::kOpenAIChat;

  const json::value* model = field(o, "model");
  if (model == nullptr) return Error::invalid("you must provide a model parameter");
  if (!model->is_string()) return invalidType("model", "a string", *model);
  if (model->get_string().empty()) return Error::invalid("you must provide a model parameter");
  req_.model = std::string(model->get_string());

  if (auto r = decodeMessages(field(o, "messages")); !r) return r.error();

  json::object extras;
  for (const auto& [key, value] : o) {
    const std::string_view k = key;
    if (k == "model" || k == "messages") continue;
    if (k == "tools") {
      if (!value.is_null()) {
        if (auto r = decodeTools(value); !r) return r.error();
      }
    } else if (k == "tool_choice") {
      if (value.is_null()) continue;
      auto modelled = decodeToolChoice(value);
      if (!modelled) return modelled.error();
      if (!*modelled) {
        if (auto r = addExtra(extras, k, value); !r) return r.error();
      }
    } else if (k == "response_format") {
      if (!value.is_null()) {
        if (auto r = decodeResponseFormat(value); !r) return r.error();
      }
    } else if (k == "stop") {
      if (!value.is_null()) {
        if (auto r = decodeStop(value); !r) return r.error();
      }
    } else if (k == "metadata") {
      if (!value.is_null()) {
        if (auto r = decodeMetadata(value); !r) return r.error();
      }
    } else if (k == "stream_options") {
      if (value.is_null()) continue;
      if (!value.is_object()) return invalidType("stream_options", "an object", value);
      auto include = optBool(value.get_object(), "include_usage", "stream_options.include_usage");
      if (!include) return include.error();
      req_.include_usage = include->value_or(false);
    } else if (k == "top_k") {
      // Not OpenAI, but vLLM and friends take it: keep it verbatim for them and let
      // non-OpenAI providers (Anthropic, Bedrock) see it as the canonical top_k.
      if (auto i = detail::asInt(value)) req_.top_k = *i;
      if (auto r = addExtra(extras, k, value); !r) return r.error();
    } else if (oneOf(k, {"parallel_tool_calls", "n", "temperature", "top_p", "max_tokens",
                         "max_completion_tokens", "seed", "user", "stream", "reasoning_effort",
                         "presence_penalty", "frequency_penalty"})) {
      continue;  // decodeSampling reads these by name
    } else {
      if (auto r = addExtra(extras, k, value); !r) return r.error();
    }
  }
  if (auto r = decodeSampling(o); !r) return r.error();
  if (!extras.empty()) {
    req_.extras = {canonical::Vendor::kOpenAI, json::serialize(extras)};
  }
  return std::move(req_);
}

Result<void> RequestDecoder::decodeSampling(const json::object& o) {
  auto n = optInt(o, "n", 1);
  if (!n) return n.error();
  if (*n && **n != 1) {
    return Error::invalid(
        "Invalid 'n': this gateway returns one choice per request, so 'n' must "
        "be 1, but got " +
            std::to_string(**n) + " instead.",
        "n", "unsupported_value");
  }
  auto temperature = optNumber(o, "temperature", 0, 2);
  if (!temperature) return temperature.error();
  req_.temperature = *temperature;
  auto top_p = optNumber(o, "top_p", 0, 1);
  if (!top_p) return top_p.error();
  req_.top_p = *top_p;
  auto presence = optNumber(o, "presence_penalty", -2, 2);
  if (!presence) return presence.error();
  req_.presence_penalty = *presence;
  auto frequency = optNumber(o, "frequency_penalty", -2, 2);
  if (!frequency) return frequency.error();
  req_.frequency_penalty = *frequency;

  auto max_tokens = optInt(o, "max_tokens", 1);
  if (!max_tokens) return max_tokens.error();
  auto max_completion = optInt(o, "max_completion_tokens", 1);
  if (!max_completion) return max_completion.error();
  // max_completion_tokens supersedes the deprecated max_tokens when both are sent.
  req_.max_tokens = *max_completion ? *max_completion : *max_tokens;

  auto seed = optInt(o, "seed", std::nullopt);
  if (!seed) return seed.error();
  req_.seed = *seed;

  auto user = optString(o, "user", "user");
  if (!user) return user.error();
  req_.user = user->value_or("");
  auto stream = optBool(o, "stream", "stream");
  if (!stream) return stream.error();
  req_.stream = stream->value_or(false);
  if (!req_.stream) req_.include_usage = false;
  auto parallel = optBool(o, "parallel_tool_calls", "parallel_tool_calls");
  if (!parallel) return parallel.error();
  req_.parallel_tool_calls = *parallel;
  auto effort = optString(o, "reasoning_effort", "reasoning_effort");
  if (!effort) return effort.error();
  req_.reasoning.effort = effort->value_or("");
  return {};
}

Result<void> RequestDecoder::decodeMessages(const json::value* messages) {
  if (messages == nullptr) return missing("messages");
  if (!messages->is_array()) return invalidType("messages", "an array", *messages);
  const json::array& arr = messages->get_array();
  if (arr.empty()) {
    return Error::invalid(
        "Invalid 'messages': empty array. Expected an array with minimum "
        "length 1, but got an empty array instead.",
        "messages", "empty_array");
  }
  req_.messages.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    if (auto r = decodeMessage(arr[i], indexed("messages", i)); !r) return r.error();
  }
  return {};
}

Result<void> RequestDecoder::decodeMessage(const json::value& v, const std::string& path) {
  if (!v.is_object()) return invalidType(path, "an object", v);
  const json::object& m = v.get_object();
  const json::value* role_v = field(m, "role");
  if (role_v == nullptr) return missing(path + ".role");
  if (!role_v->is_string()) return invalidType(path + ".role", "a string", *role_v);
  const std::string_view role = role_v->get_string();

  Message msg;
  if (role == "system") {
    msg.role = Role::kSystem;
  } else if (role == "developer") {
    msg.role = Role::kDeveloper;
  } else if (role == "user") {
    msg.role = Role::kUser;
  } else if (role == "assistant") {
    msg.role = Role::kAssistant;
  } else if (role == "tool" || role == "function") {
    msg.role = Role::kTool;
  } else {
    return invalidValue(path + ".role", role,
                        {"system", "assistant", "user", "function", "tool", "developer"});
  }
  auto name = optString(m, "name", path + ".name");
  if (!name) return name.error();
  msg.name = name->value_or("");

  const json::value* content = field(m, "content");
  const bool is_assistant = msg.role == Role::kAssistant;
  if (role == "tool" || role == "function") {
    canonical::ToolResultBlock result;
    if (role == "tool") {
      auto id = optString(m, "tool_call_id", path + ".tool_call_id");
      if (!id) return id.error();
      if (!*id) return missing(path + ".tool_call_id");
      result.tool_use_id = std::move(**id);
    } else if (msg.name.empty()) {
      // Legacy function results carry no call id: the empty id plus the name tells the
      // upstream encoder to re-emit role "function".
      return missing(path + ".name");
    }
    if (content == nullptr && role == "tool") return missing(path + ".content");
    if (content != nullptr) {
      Message parts;
      if (auto r = decodeContent(*content, path + ".content", Role::kTool, false, parts); !r) {
        return r.error();
      }
      msg.content_was_string = parts.content_was_string;
      for (ContentBlock& b : parts.content) {
        if (auto* t = std::get_if<canonical::TextBlock>(&b)) result.content.emplace_back(*t);
      }
    } else {
      msg.content_was_string = true;
    }
    msg.content.emplace_back(std::move(result));
  } else if (is_assistant) {
    // Reasoning first, then text/refusal, then tool calls: the order the model produced them.
    const json::value* blocks = field(m, "thinking_blocks");
    if (blocks != nullptr && blocks->is_array()) {
      for (const json::value& b : blocks->get_array()) {
        if (!b.is_object()) continue;
        const json::object& bo = b.get_object();
        canonical::ReasoningBlock r;
        if (const json::value* t = bo.if_contains("thinking"); t && t->is_string()) {
          r.text = std::string(t->get_string());
        }
        if (const json::value* s = bo.if_contains("signature"); s && s->is_string()) {
          r.signature = std::string(s->get_string());
        }
        if (const json::value* d = bo.if_contains("data"); d && d->is_string()) {
          r.redacted_data = std::string(d->get_string());
        }
        msg.content.emplace_back(std::move(r));
      }
    } else if (const json::value* rc = field(m, "reasoning_content"); rc && rc->is_string()) {
      if (!rc->get_string().empty()) {
        msg.content.emplace_back(canonical::ReasoningBlock{std::string(rc->get_string())});
      }
    }
    if (content != nullptr) {
      if (auto r = decodeContent(*content, path + ".content", msg.role, true, msg); !r) {
        return r.error();
      }
    } else {
      msg.content_was_string = true;
    }
    auto refusal = optString(m, "refusal", path + ".refusal");
    if (!refusal) return refusal.error();
    if (*refusal) {
      json::object part{{"type", "refusal"}, {"refusal", **refusal}};
      msg.content.emplace_back(
          canonical::OpaqueBlock{canonical::Vendor::kOpenAI, json::serialize(part)});
    }
    if (const json::value* calls = field(m, "tool_calls")) {
      if (auto r = decodeToolCalls(*calls, path + ".tool_calls", msg); !r) return r.error();
    }
    if (const json::value* fc = field(m, "function_call")) {
      if (!fc->is_object()) return invalidType(path + ".function_call", "an object", *fc);
      canonical::ToolUseBlock call;
      auto fname = optString(fc->get_object(), "name", path + ".function_call.name");
      if (!fname) return fname.error();
      if (!*fname) return missing(path + ".function_call.name");
      call.name = std::move(**fname);
      auto args = optString(fc->get_object(), "arguments", path + ".function_call.arguments");
      if (!args) return args.error();
      call.input_json = args->value_or("");
      if (call.input_json.empty()) call.input_json = "{}";
      msg.content.emplace_back(std::move(call));
    }
  } else {
    if (content == nullptr) return missing(path + ".content");
    if (auto r = decodeContent(*content, path + ".content", msg.role, false, msg); !r) {
      return r.error();
    }
  }

  json::object extras;
  for (const auto& [key, value] : m) {
    if (oneOf(key, {"role", "content", "name", "tool_call_id", "tool_calls", "refusal",
                    "function_call", "reasoning_content", "thinking_blocks"})) {
      continue;
    }
    if (auto r = addExtra(extras, key, value); !r) return r.error();
  }
  if (!extras.empty()) msg.extras = {canonical::Vendor::kOpenAI, json::serialize(extras)};
  req_.messages.push_back(std::move(msg));
  return {};
}

Result<void> RequestDecoder::decodeContent(const json::value& content, const std::string& path,
                                           Role role, bool is_assistant, Message& msg) {
  if (content.is_string()) {
    msg.content_was_string = true;
    // An empty assistant string is "no text"; anywhere else it is the text the client sent.
    if (!(is_assistant && content.get_string().empty())) {
      msg.content.emplace_back(canonical::TextBlock{std::string(content.get_string())});
    }
    return {};
  }
  if (!content.is_array()) {
    return invalidType(path, "one of a string or array of objects", content);
  }
  const json::array& parts = content.get_array();
  if (parts.empty() && !is_assistant) {
    return Error::invalid("Invalid '" + path +
                              "': empty array. Expected an array with minimum "
                              "length 1, but got an empty array instead.",
                          path, "empty_array");
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto block = decodePart(parts[i], indexed(path, i), role == Role::kUser, is_assistant);
    if (!block) return block.error();
    msg.content.push_back(std::move(*block));
  }
  return {};
}

Result<ContentBlock> RequestDecoder::decodePart(const json::value& v, const std::string& path,
                                                bool is_user, bool is_assistant) {
  if (!v.is_object()) return invalidType(path, "an object", v);
  const json::object& part = v.get_object();
  const json::value* type_v = field(part, "type");
  if (type_v == nullptr) return missing(path + ".type");
  if (!type_v->is_string()) return invalidType(path + ".type", "a string", *type_v);
  const std::string_view type = type_v->get_string();

  if (type == "text") {
    auto text = optString(part, "text", path + ".text");
    if (!text) return text.error();
    if (!*text) return missing(path + ".text");
    canonical::TextBlock block{std::move(**text)};
    block.cache_point = field(part, "cache_control") != nullptr;
    return ContentBlock{std::move(block)};
  }
  if (is_user && type == "image_url") {
    const json::value* image = field(part, "image_url");
    if (image == nullptr) return missing(path + ".image_url");
    std::string url;
    std::string detail;
    if (image->is_string()) {  // older LangChain-style shorthand
      url = std::string(image->get_string());
    } else if (image->is_object()) {
      auto u = optString(image->get_object(), "url", path + ".image_url.url");
      if (!u) return u.error();
      if (!*u) return missing(path + ".image_url.url");
      url = std::move(**u);
      auto d = optString(image->get_object(), "detail", path + ".image_url.detail");
      if (!d) return d.error();
      detail = d->value_or("");
      if (!detail.empty() && !oneOf(detail, {"auto", "low", "high"})) {
        return invalidValue(path + ".image_url.detail", detail, {"auto", "low", "high"});
      }
    } else {
      return invalidType(path + ".image_url", "an object", *image);
    }
    canonical::ImageBlock block;
    block.detail = std::move(detail);
    constexpr std::string_view kBase64 = ";base64,";
    const std::size_t marker = url.find(kBase64);
    if (url.starts_with("data:") && marker != std::string::npos) {
      block.media_type = url.substr(5, marker - 5);
      block.data = url.substr(marker + kBase64.size());
    } else {
      block.url = std::move(url);
    }
    return ContentBlock{std::move(block)};
  }
  if ((is_user && (type == "input_audio" || type == "file")) ||
      (is_assistant && type == "refusal")) {
    if (type == "refusal" && field(part, "refusal") == nullptr) return missing(path + ".refusal");
    return ContentBlock{canonical::OpaqueBlock{canonical::Vendor::kOpenAI, json::serialize(part)}};
  }
  if (is_user)
    return invalidValue(path + ".type", type, {"text", "image_url", "input_audio", "file"});
  if (is_assistant) return invalidValue(path + ".type", type, {"text", "refusal"});
  return invalidValue(path + ".type", type, {"text"});
}

Result<void> RequestDecoder::decodeToolCalls(const json::value& calls, const std::string& path,
                                             Message& msg) {
  if (!calls.is_array()) return invalidType(path, "an array", calls);
  const json::array& arr = calls.get_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string p = indexed(path, i);
    if (!arr[i].is_object()) return invalidType(p, "an object", arr[i]);
    const json::object& c = arr[i].get_object();
    canonical::ToolUseBlock call;
    auto id = optString(c, "id", p + ".id");
    if (!id) return id.error();
    if (!*id) return missing(p + ".id");
    call.id = std::move(**id);
    auto type = optString(c, "type", p + ".type");
    if (!type) return type.error();
    const std::string kind = type->value_or("function");
    if (kind != "function" && kind != "custom") {
      return invalidValue(p + ".type", kind, {"function", "custom"});
    }
    call.kind = kind == "custom" ? canonical::ToolKind::kCustom : canonical::ToolKind::kFunction;
    const json::value* fn = field(c, kind);
    if (fn == nullptr) return missing(p + "." + kind);
    if (!fn->is_object()) return invalidType(p + "." + kind, "an object", *fn);
    auto fname = optString(fn->get_object(), "name", p + "." + kind + ".name");
    if (!fname) return fname.error();
    if (!*fname) return missing(p + "." + kind + ".name");
    call.name = std::move(**fname);
    if (kind == "custom") {
      // Canonical custom-tool input is {"content": <raw input>} (wire.md §6.4).
      auto input = optString(fn->get_object(), "input", p + ".custom.input");
      if (!input) return input.error();
      call.input_json = json::serialize(json::object{{"content", input->value_or("")}});
    } else {
      const json::value* args = field(fn->get_object(), "arguments");
      if (args == nullptr) return missing(p + ".function.arguments");
      if (args->is_string()) {
        call.input_json = std::string(args->get_string());  // verbatim, even if not JSON
      } else if (args->is_object()) {
        call.input_json = json::serialize(*args);  // some clients send the object itself
      } else {
        return invalidType(p + ".function.arguments", "a string", *args);
      }
      if (call.input_json.empty()) call.input_json = "{}";
    }
    msg.content.emplace_back(std::move(call));
  }
  return {};
}

Result<void> RequestDecoder::decodeTools(const json::value& tools) {
  if (!tools.is_array()) return invalidType("tools", "an array", tools);
  const json::array& arr = tools.get_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string p = indexed("tools", i);
    if (!arr[i].is_object()) return invalidType(p, "an object", arr[i]);
    const json::object& t = arr[i].get_object();
    auto type = optString(t, "type", p + ".type");
    if (!type) return type.error();
    if (!*type) return missing(p + ".type");
    canonical::ToolSpec spec;
    if (**type == "function" || **type == "custom") {
      const std::string& kind = **type;
      const json::value* fn = field(t, kind);
      if (fn == nullptr) return missing(p + "." + kind);
      if (!fn->is_object()) return invalidType(p + "." + kind, "an object", *fn);
      const json::object& f = fn->get_object();
      auto name = optString(f, "name", p + "." + kind + ".name");
      if (!name) return name.error();
      if (!*name) return missing(p + "." + kind + ".name");
      spec.name = std::move(**name);
      auto description = optString(f, "description", p + "." + kind + ".description");
      if (!description) return description.error();
      spec.description = description->value_or("");
      if (kind == "function") {
        if (const json::value* params = field(f, "parameters")) {
          if (!params->is_object()) {
            return invalidType(p + ".function.parameters", "an object", *params);
          }
          spec.parameters_json = json::serialize(*params);
        }
        auto strict = optBool(f, "strict", p + ".function.strict");
        if (!strict) return strict.error();
        spec.strict = *strict;
      } else {
        spec.kind = canonical::ToolKind::kCustom;
        if (const json::value* format = field(f, "format")) {
          spec.custom_format_json = json::serialize(*format);
        }
        spec.extras = {canonical::Vendor::kOpenAI, json::serialize(t)};
      }
    } else {
      // Hosted or future tool types: kept whole for an OpenAI upstream.
      spec.name = **type;
      spec.extras = {canonical::Vendor::kOpenAI, json::serialize(t)};
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
  if (!choice.is_object()) return invalidType("tool_choice", "a string or object", choice);
  const json::object& c = choice.get_object();
  auto type = optString(c, "type", "tool_choice.type");
  if (!type) return type.error();
  if (!*type) return missing("tool_choice.type");
  if (**type != "function" && **type != "custom") return false;  // allowed_tools ...: raw
  const std::string& kind = **type;
  const json::value* fn = field(c, kind);
  if (fn == nullptr) return missing("tool_choice." + kind);
  if (!fn->is_object()) return invalidType("tool_choice." + kind, "an object", *fn);
  auto name = optString(fn->get_object(), "name", "tool_choice." + kind + ".name");
  if (!name) return name.error();
  if (!*name) return missing("tool_choice." + kind + ".name");
  req_.tool_choice.kind = Kind::kNamed;
  req_.tool_choice.name = std::move(**name);
  return true;
}

Result<void> RequestDecoder::decodeResponseFormat(const json::value& format) {
  using Kind = canonical::ResponseFormat::Kind;
  if (!format.is_object()) return invalidType("response_format", "an object", format);
  const json::object& f = format.get_object();
  auto type = optString(f, "type", "response_format.type");
  if (!type) return type.error();
  if (!*type) return missing("response_format.type");
  canonical::ResponseFormat& rf = req_.response_format;
  if (**type == "text") {
    rf.kind = Kind::kText;
  } else if (**type == "json_object") {
    rf.kind = Kind::kJsonObject;
  } else if (**type == "json_schema") {
    rf.kind = Kind::kJsonSchema;
    const json::value* js = field(f, "json_schema");
    if (js == nullptr) return missing("response_format.json_schema");
    if (!js->is_object()) return invalidType("response_format.json_schema", "an object", *js);
    const json::object& s = js->get_object();
    auto name = optString(s, "name", "response_format.json_schema.name");
    if (!name) return name.error();
    if (!*name) return missing("response_format.json_schema.name");
    rf.name = std::move(**name);
    auto description = optString(s, "description", "response_format.json_schema.description");
    if (!description) return description.error();
    rf.description = description->value_or("");
    if (const json::value* schema = field(s, "schema")) {
      if (!schema->is_object()) {
        return invalidType("response_format.json_schema.schema", "an object", *schema);
      }
      rf.schema_json = json::serialize(*schema);
    }
    auto strict = optBool(s, "strict", "response_format.json_schema.strict");
    if (!strict) return strict.error();
    rf.strict = *strict;
  } else {
    return invalidValue("response_format.type", **type, {"json_object", "json_schema", "text"});
  }
  return {};
}

Result<void> RequestDecoder::decodeStop(const json::value& stop) {
  if (stop.is_string()) {
    req_.stop.emplace_back(stop.get_string());
    return {};
  }
  if (!stop.is_array()) return invalidType("stop", "a string or array", stop);
  const json::array& arr = stop.get_array();
  if (arr.size() > kMaxStop) {
    return Error::invalid("Invalid 'stop': array too long. Expected an array with maximum length " +
                              std::to_string(kMaxStop) + ", but got an array with length " +
                              std::to_string(arr.size()) + " instead.",
                          "stop", "array_above_max_length");
  }
  for (std::size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_string()) return invalidType(indexed("stop", i), "a string", arr[i]);
    req_.stop.emplace_back(arr[i].get_string());
  }
  return {};
}

Result<void> RequestDecoder::decodeMetadata(const json::value& metadata) {
  if (!metadata.is_object()) return invalidType("metadata", "an object", metadata);
  for (const auto& [key, value] : metadata.get_object()) {
    if (!value.is_string()) {
      return invalidType("metadata." + std::string(key), "a string", value);
    }
    req_.metadata.emplace_back(std::string(key), std::string(value.get_string()));
  }
  return {};
}

}  // namespace

Result<canonical::ChatRequest> decodeRequest(std::string_view body) {
  return RequestDecoder().decode(body);
}

}  // namespace basalt::api::openai_chat
