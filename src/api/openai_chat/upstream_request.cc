// canonical::ChatRequest -> the Chat Completions body Basalt POSTs to an OpenAI-compatible
// upstream (OpenAI, Azure, vLLM, Ollama, llama.cpp). Requests from other doors are reshaped
// into Chat's conventions (tool results as `tool` messages, images as data URLs ...).

#include "basalt/api/openai_chat/chat_codec.h"

#include "basalt/core/log.h"
#include "json_util.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::openai_chat {

namespace json = boost::json;
using canonical::ContentBlock;
using canonical::Message;
using canonical::Role;

namespace {

class UpstreamEncoder {
 public:
  explicit UpstreamEncoder(const canonical::ChatRequest& request) : req_(request) {}
  std::string encode(const UpstreamRequestOptions& options);

 private:
  void encodeMessage(const Message& m);
  void encodeUser(const Message& m);
  void encodeAssistant(const Message& m);
  void encodeToolResult(const canonical::ToolResultBlock& result, const Message& m);
  json::value contentValue(const std::vector<ContentBlock>& blocks, bool as_string) const;
  json::object toolJson(const canonical::ToolSpec& tool) const;
  json::object toolCallJson(const canonical::ToolUseBlock& call) const;
  /// Custom (freeform) tools stay custom only for a request that came in through this door
  /// (its client targets OpenAI); from other doors they become function tools that take
  /// {"content": string}, which every OpenAI-compatible server understands.
  bool keepCustom() const { return req_.door == canonical::Door::kOpenAIChat; }
  /// OpenAI-vendor extras are Chat Completions fields, except from the Responses door, whose
  /// extras are Responses fields (include, store, text, hosted tools ...) that a Chat upstream
  /// would reject.
  bool chatExtras() const { return req_.door != canonical::Door::kOpenAIResponses; }
  void mergeMissing(json::object& into, const canonical::VendorExtras& extras) const;
  /// Opaque parts are Chat parts when they came from a Chat-format door; from the Responses
  /// door only a refusal has the same shape in both formats.
  bool forwardOpaque(const canonical::OpaqueBlock& o) const;
  void push(json::object message, const Message& m);

  const canonical::ChatRequest& req_;
  json::array messages_;
  std::vector<canonical::ImageBlock> pending_images_;  ///< from tool results, for a user turn
};

json::value parsedOr(const std::string& text, json::value fallback) {
  if (text.empty()) return fallback;
  if (auto v = detail::parseJson(text)) return std::move(*v);
  return fallback;
}

json::object imagePart(const canonical::ImageBlock& image) {
  json::object url;
  if (!image.data.empty()) {
    url["url"] =
        "data:" + (image.media_type.empty() ? std::string("image/png") : image.media_type) +
        ";base64," + image.data;
  } else {
    url["url"] = image.url;
  }
  if (!image.detail.empty()) url["detail"] = image.detail;
  return json::object{{"type", "image_url"}, {"image_url", std::move(url)}};
}

json::object textPart(const std::string& text) {
  return json::object{{"type", "text"}, {"text", text}};
}

void UpstreamEncoder::mergeMissing(json::object& into,
                                   const canonical::VendorExtras& extras) const {
  if (extras.vendor != canonical::Vendor::kOpenAI || extras.empty() || !chatExtras()) return;
  auto v = detail::parseJson(extras.json);
  if (!v || !v->is_object()) return;
  for (const auto& [key, value] : v->get_object()) {
    if (!into.contains(key)) into[key] = value;
  }
}

bool UpstreamEncoder::forwardOpaque(const canonical::OpaqueBlock& o) const {
  if (o.vendor != canonical::Vendor::kOpenAI) return false;  // other vendors' parts: dropped
  if (chatExtras()) return true;
  auto v = detail::parseJson(o.json);
  const json::value* type = (v && v->is_object()) ? v->get_object().if_contains("type") : nullptr;
  return type != nullptr && type->is_string() && type->get_string() == "refusal";
}

void UpstreamEncoder::push(json::object message, const Message& m) {
  mergeMissing(message, m.extras);
  messages_.push_back(std::move(message));
}

json::value UpstreamEncoder::contentValue(const std::vector<ContentBlock>& blocks,
                                          bool as_string) const {
  std::size_t texts = 0;
  bool only_text = true;
  for (const ContentBlock& b : blocks) {
    if (std::holds_alternative<canonical::TextBlock>(b)) {
      ++texts;
    } else {
      only_text = false;
    }
  }
  if (only_text && texts == 1 && as_string) {
    return json::string(std::get<canonical::TextBlock>(blocks.front()).text);
  }
  if (only_text && texts == 0) return json::string();
  json::array parts;
  for (const ContentBlock& b : blocks) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&b)) {
      parts.push_back(textPart(t->text));
    } else if (const auto* i = std::get_if<canonical::ImageBlock>(&b)) {
      parts.push_back(imagePart(*i));
    } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&b)) {
      if (!forwardOpaque(*o)) continue;
      if (auto v = detail::parseJson(o->json); v && v->is_object()) parts.push_back(std::move(*v));
    }
  }
  if (parts.empty()) return json::string();  // Chat rejects an empty parts array
  return parts;
}

void UpstreamEncoder::encodeMessage(const Message& m) {
  switch (m.role) {
    case Role::kSystem:
    case Role::kDeveloper: {
      std::vector<ContentBlock> texts;
      for (const ContentBlock& b : m.content) {
        if (std::holds_alternative<canonical::TextBlock>(b)) texts.push_back(b);
      }
      json::object msg{{"role", canonical::roleName(m.role)},
                       {"content", contentValue(texts, m.content_was_string)}};
      if (!m.name.empty()) msg["name"] = m.name;
      push(std::move(msg), m);
      return;
    }
    case Role::kUser:
      encodeUser(m);
      return;
    case Role::kAssistant:
      encodeAssistant(m);
      return;
    case Role::kTool:
      for (const ContentBlock& b : m.content) {
        if (const auto* r = std::get_if<canonical::ToolResultBlock>(&b)) encodeToolResult(*r, m);
      }
      if (!pending_images_.empty()) {
        // Chat tool messages carry only text: their images follow as a user turn.
        std::vector<ContentBlock> images(pending_images_.begin(), pending_images_.end());
        pending_images_.clear();
        messages_.push_back(
            json::object{{"role", "user"}, {"content", contentValue(images, false)}});
      }
      return;
  }
}

void UpstreamEncoder::encodeToolResult(const canonical::ToolResultBlock& result, const Message& m) {
  std::vector<ContentBlock> texts;
  for (const canonical::ToolResultPart& part : result.content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&part)) {
      texts.emplace_back(*t);
    } else if (const auto* i = std::get_if<canonical::ImageBlock>(&part)) {
      pending_images_.push_back(*i);
    }
  }
  // A single text part travels as a plain string, which every Chat server accepts.
  const bool as_string = m.content_was_string || texts.size() <= 1;
  json::object msg;
  if (result.tool_use_id.empty() && !m.name.empty()) {
    msg["role"] = "function";  // legacy function-calling result
    msg["name"] = m.name;
  } else {
    msg["role"] = "tool";
    msg["tool_call_id"] = result.tool_use_id;
  }
  msg["content"] = contentValue(texts, as_string);
  if (m.role == Role::kTool) {
    push(std::move(msg), m);
  } else {
    messages_.push_back(std::move(msg));  // hoisted from a user message: its extras stay there
  }
}

void UpstreamEncoder::encodeUser(const Message& m) {
  std::vector<ContentBlock> rest;
  bool had_tool_results = false;
  for (const ContentBlock& b : m.content) {
    if (const auto* r = std::get_if<canonical::ToolResultBlock>(&b)) {
      encodeToolResult(*r, m);  // tool results go first, as their own tool messages
      had_tool_results = true;
    } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&b)) {
      if (forwardOpaque(*o)) rest.push_back(b);
    } else if (std::holds_alternative<canonical::TextBlock>(b) ||
               std::holds_alternative<canonical::ImageBlock>(b)) {
      rest.push_back(b);
    }
  }
  if (!pending_images_.empty()) {
    rest.insert(rest.begin(), pending_images_.begin(), pending_images_.end());
    pending_images_.clear();
  }
  if (rest.empty() && had_tool_results) return;  // nothing but tool results
  json::object msg{{"role", "user"}, {"content", contentValue(rest, m.content_was_string)}};
  if (!m.name.empty()) msg["name"] = m.name;
  push(std::move(msg), m);
}

void UpstreamEncoder::encodeAssistant(const Message& m) {
  std::vector<ContentBlock> parts;
  std::string refusal;
  bool other_opaque = false;
  json::array tool_calls;
  std::optional<json::object> function_call;
  for (const ContentBlock& b : m.content) {
    if (std::holds_alternative<canonical::TextBlock>(b)) {
      parts.push_back(b);
    } else if (const auto* call = std::get_if<canonical::ToolUseBlock>(&b)) {
      if (call->id.empty()) {
        function_call = json::object{{"name", call->name}, {"arguments", call->input_json}};
      } else {
        tool_calls.push_back(toolCallJson(*call));
      }
    } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&b)) {
      if (!forwardOpaque(*o)) continue;
      parts.push_back(b);
      auto v = detail::parseJson(o->json);
      const json::value* type =
          (v && v->is_object()) ? v->get_object().if_contains("type") : nullptr;
      if (type != nullptr && type->is_string() && type->get_string() == "refusal") {
        if (const json::value* r = v->get_object().if_contains("refusal"); r && r->is_string()) {
          refusal += r->get_string();
        }
      } else {
        other_opaque = true;
      }
    }
    // ReasoningBlocks are not sent back: Chat servers either ignore or reject them.
  }
  std::size_t texts = 0;
  for (const ContentBlock& b : parts) texts += std::holds_alternative<canonical::TextBlock>(b);

  json::object msg{{"role", "assistant"}};
  if (!refusal.empty() && !other_opaque && (texts == 0 || m.content_was_string)) {
    // The common shape: refusal as the message field, text (if any) as a plain string.
    std::vector<ContentBlock> text_only;
    for (const ContentBlock& b : parts) {
      if (std::holds_alternative<canonical::TextBlock>(b)) text_only.push_back(b);
    }
    msg["content"] = text_only.empty() ? json::value(nullptr) : contentValue(text_only, true);
    msg["refusal"] = refusal;
  } else if (parts.empty()) {
    msg["content"] =
        tool_calls.empty() && !function_call ? json::value(json::string()) : json::value(nullptr);
  } else {
    msg["content"] = contentValue(parts, m.content_was_string);
  }
  if (!m.name.empty()) msg["name"] = m.name;
  if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);
  if (function_call) msg["function_call"] = std::move(*function_call);
  push(std::move(msg), m);
}

json::object UpstreamEncoder::toolCallJson(const canonical::ToolUseBlock& call) const {
  json::object tc{{"id", call.id}};
  if (call.kind == canonical::ToolKind::kCustom && keepCustom()) {
    std::string input = call.input_json;
    if (auto v = detail::parseJson(call.input_json); v && v->is_object()) {
      if (const json::value* c = v->get_object().if_contains("content"); c && c->is_string()) {
        input = std::string(c->get_string());
      }
    }
    tc["type"] = "custom";
    tc["custom"] = json::object{{"name", call.name}, {"input", std::move(input)}};
  } else {
    tc["type"] = "function";
    tc["function"] = json::object{{"name", call.name},
                                  {"arguments", call.input_json.empty() ? "{}" : call.input_json}};
  }
  return tc;
}

json::object UpstreamEncoder::toolJson(const canonical::ToolSpec& tool) const {
  if (tool.extras.vendor == canonical::Vendor::kOpenAI && !tool.extras.empty()) {
    if (auto v = detail::parseJson(tool.extras.json); v && v->is_object()) {
      return std::move(v->get_object());
    }
  }
  json::object fn{{"name", tool.name}};
  if (tool.kind == canonical::ToolKind::kCustom) {
    // wire.md §6.4: a freeform tool becomes a function taking {"content": string}, with its
    // grammar appended to the description.
    std::string description = tool.description;
    if (auto format = detail::parseJson(tool.custom_format_json); format && format->is_object()) {
      const json::object& f = format->get_object();
      const json::object* grammar = &f;
      if (const json::value* g = f.if_contains("grammar"); g && g->is_object()) {
        grammar = &g->get_object();
      }
      const json::value* definition = grammar->if_contains("definition");
      const json::value* syntax = grammar->if_contains("syntax");
      if (definition != nullptr && definition->is_string()) {
        description += "\n\nFormat:\n```";
        if (syntax != nullptr && syntax->is_string()) description += syntax->get_string();
        description += "\n";
        description += definition->get_string();
        description += "\n```\n";
      }
    }
    if (!description.empty()) fn["description"] = std::move(description);
    fn["parameters"] =
        json::object{{"type", "object"},
                     {"properties", json::object{{"content", json::object{{"type", "string"}}}}},
                     {"required", json::array{"content"}}};
  } else {
    if (!tool.description.empty()) fn["description"] = tool.description;
    if (!tool.parameters_json.empty()) {
      fn["parameters"] = parsedOr(tool.parameters_json, json::object{{"type", "object"}});
    }
    if (tool.strict) fn["strict"] = *tool.strict;
  }
  return json::object{{"type", "function"}, {"function", std::move(fn)}};
}

std::string UpstreamEncoder::encode(const UpstreamRequestOptions& options) {
  json::object body;
  body["model"] = options.model;

  if (!req_.system.empty()) {
    std::vector<ContentBlock> texts;
    for (const ContentBlock& b : req_.system) {
      if (std::holds_alternative<canonical::TextBlock>(b)) texts.push_back(b);
    }
    if (!texts.empty()) {
      messages_.push_back(json::object{{"role", "system"}, {"content", contentValue(texts, true)}});
    }
  }
  for (const Message& m : req_.messages) encodeMessage(m);
  body["messages"] = std::move(messages_);

  if (!req_.tools.empty()) {
    json::array tools;
    for (const canonical::ToolSpec& t : req_.tools) {
      if (!t.extras.empty() && !chatExtras()) {
        // A hosted Responses tool (web_search, file_search ...): a Chat upstream cannot run it.
        log::info("request {}: hosted tool '{}' dropped for a Chat Completions upstream",
                  req_.request_id, t.name.empty() ? std::string("(unnamed)") : t.name);
        continue;
      }
      tools.push_back(toolJson(t));
    }
    if (!tools.empty()) body["tools"] = std::move(tools);
    using Kind = canonical::ToolChoice::Kind;
    switch (req_.tool_choice.kind) {
      case Kind::kUnset:
        break;
      case Kind::kAuto:
        body["tool_choice"] = "auto";
        break;
      case Kind::kNone:
        body["tool_choice"] = "none";
        break;
      case Kind::kRequired:
        body["tool_choice"] = "required";
        break;
      case Kind::kNamed: {
        bool custom = false;
        for (const canonical::ToolSpec& t : req_.tools) {
          if (t.name == req_.tool_choice.name) custom = t.kind == canonical::ToolKind::kCustom;
        }
        const char* type = custom && keepCustom() ? "custom" : "function";
        body["tool_choice"] =
            json::object{{"type", type}, {type, json::object{{"name", req_.tool_choice.name}}}};
        break;
      }
    }
    if (req_.parallel_tool_calls) body["parallel_tool_calls"] = *req_.parallel_tool_calls;
  }

  using Format = canonical::ResponseFormat::Kind;
  const canonical::ResponseFormat& rf = req_.response_format;
  switch (rf.kind) {
    case Format::kUnset:
      break;
    case Format::kText:
      body["response_format"] = json::object{{"type", "text"}};
      break;
    case Format::kJsonObject:
      body["response_format"] = json::object{{"type", "json_object"}};
      break;
    case Format::kJsonSchema: {
      json::object schema{{"name", rf.name.empty() ? std::string("response") : rf.name}};
      if (!rf.description.empty()) schema["description"] = rf.description;
      if (!rf.schema_json.empty()) schema["schema"] = parsedOr(rf.schema_json, json::object());
      if (rf.strict) schema["strict"] = *rf.strict;
      body["response_format"] =
          json::object{{"type", "json_schema"}, {"json_schema", std::move(schema)}};
      break;
    }
  }

  if (req_.max_tokens) {
    body["max_completion_tokens"] = *req_.max_tokens;
  } else if (options.max_tokens_default) {
    body["max_completion_tokens"] = *options.max_tokens_default;
  }
  if (req_.temperature) body["temperature"] = *req_.temperature;
  if (req_.top_p) body["top_p"] = *req_.top_p;
  if (req_.seed) body["seed"] = *req_.seed;
  if (!req_.stop.empty()) {
    json::array stop;
    for (const std::string& s : req_.stop) stop.emplace_back(s);
    body["stop"] = std::move(stop);
  }
  if (req_.presence_penalty) body["presence_penalty"] = *req_.presence_penalty;
  if (req_.frequency_penalty) body["frequency_penalty"] = *req_.frequency_penalty;
  if (!req_.user.empty()) body["user"] = req_.user;
  if (!req_.metadata.empty()) {
    json::object metadata;
    for (const auto& [k, v] : req_.metadata) metadata[k] = v;
    body["metadata"] = std::move(metadata);
  }
  if (!req_.reasoning.effort.empty()) body["reasoning_effort"] = req_.reasoning.effort;
  if (options.stream) {
    body["stream"] = true;
    body["stream_options"] = json::object{{"include_usage", true}};
  }
  mergeMissing(body, req_.extras);
  return json::serialize(body);
}

}  // namespace

std::string encodeUpstreamRequest(const canonical::ChatRequest& request,
                                  const UpstreamRequestOptions& options) {
  return UpstreamEncoder(request).encode(options);
}

}  // namespace basalt::api::openai_chat
