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

using detail::appendJsonString;
using detail::ObjectWriter;

/// Writes the body straight into a string (see ObjectWriter for why there is no json tree).
class UpstreamEncoder {
 public:
  explicit UpstreamEncoder(const canonical::ChatRequest& request) : req_(request) {}
  std::string encode(const UpstreamRequestOptions& options);

 private:
  void encodeMessage(const Message& m);
  void encodeUser(const Message& m);
  void encodeAssistant(const Message& m);
  void encodeToolResult(const canonical::ToolResultBlock& result, const Message& m);
  /// A message's `content`: a plain string, or an array of parts.
  void appendContent(std::string& out, const std::vector<ContentBlock>& blocks,
                     bool as_string) const;
  void appendTool(std::string& out, const canonical::ToolSpec& tool) const;
  void appendToolCall(std::string& out, const canonical::ToolUseBlock& call) const;
  /// Custom (freeform) tools stay custom only for a request that came in through this door
  /// (its client targets OpenAI); from other doors they become function tools that take
  /// {"content": string}, which every OpenAI-compatible server understands.
  bool keepCustom() const { return req_.door == canonical::Door::kOpenAIChat; }
  /// OpenAI-vendor extras are Chat Completions fields, except from the Responses door, whose
  /// extras are Responses fields (include, store, text, hosted tools ...) that a Chat upstream
  /// would reject.
  bool chatExtras() const { return req_.door != canonical::Door::kOpenAIResponses; }
  /// Adds the members of `extras` the object does not have yet, then closes it.
  void closeWithExtras(ObjectWriter& object, const canonical::VendorExtras& extras) const;
  /// Opaque parts are Chat parts when they came from a Chat-format door; from the Responses
  /// door only a refusal has the same shape in both formats.
  bool forwardOpaque(const canonical::OpaqueBlock& o) const;
  /// Starts the next element of the messages array and returns the string to write it to.
  std::string& nextMessage() {
    messages_.push_back(messages_.empty() ? '[' : ',');
    return messages_;
  }

  const canonical::ChatRequest& req_;
  std::string messages_;  ///< the `messages` array's text, without its closing bracket
  std::vector<canonical::ImageBlock> pending_images_;  ///< from tool results, for a user turn
};

/// Appends schema text the decoders produced (json::serialize), or `fallback` when empty.
/// A schema that is not valid JSON (a canonical request built by hand) becomes `fallback`.
void appendSchema(std::string& out, const std::string& text, std::string_view fallback) {
  if (text.empty() || !detail::parseJson(text)) {
    out += fallback;
  } else {
    out += text;
  }
}

void appendImagePart(std::string& out, const canonical::ImageBlock& image) {
  out += R"({"type":"image_url","image_url":{"url":)";
  if (!image.data.empty()) {
    appendJsonString(
        out, "data:" + (image.media_type.empty() ? std::string("image/png") : image.media_type) +
                 ";base64," + image.data);
  } else {
    appendJsonString(out, image.url);
  }
  if (!image.detail.empty()) {
    out += R"(,"detail":)";
    appendJsonString(out, image.detail);
  }
  out += "}}";
}

void appendTextPart(std::string& out, const std::string& text) {
  out += R"({"type":"text","text":)";
  appendJsonString(out, text);
  out.push_back('}');
}

void UpstreamEncoder::closeWithExtras(ObjectWriter& object,
                                      const canonical::VendorExtras& extras) const {
  if (extras.vendor == canonical::Vendor::kOpenAI && !extras.empty() && chatExtras()) {
    object.mergeMissing(extras.json);
  }
  object.close();
}

bool UpstreamEncoder::forwardOpaque(const canonical::OpaqueBlock& o) const {
  if (o.vendor != canonical::Vendor::kOpenAI) return false;  // other vendors' parts: dropped
  if (chatExtras()) return true;
  auto v = detail::parseJson(o.json);
  const json::value* type = (v && v->is_object()) ? v->get_object().if_contains("type") : nullptr;
  return type != nullptr && type->is_string() && type->get_string() == "refusal";
}

void UpstreamEncoder::appendContent(std::string& out, const std::vector<ContentBlock>& blocks,
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
    appendJsonString(out, std::get<canonical::TextBlock>(blocks.front()).text);
    return;
  }
  const std::size_t start = out.size();
  bool any = false;
  for (const ContentBlock& b : blocks) {
    const std::size_t before = out.size();
    out.push_back(any ? ',' : '[');
    if (const auto* t = std::get_if<canonical::TextBlock>(&b)) {
      appendTextPart(out, t->text);
    } else if (const auto* i = std::get_if<canonical::ImageBlock>(&b)) {
      appendImagePart(out, *i);
    } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&b);
               o != nullptr && forwardOpaque(*o)) {
      auto v = detail::parseJson(o->json);
      if (v && v->is_object()) {
        out += o->json;
      } else {
        out.resize(before);
        continue;
      }
    } else {
      out.resize(before);
      continue;
    }
    any = true;
  }
  if (!any) {
    out.resize(start);
    out += R"("")";  // Chat rejects an empty parts array
    return;
  }
  out.push_back(']');
}

void UpstreamEncoder::encodeMessage(const Message& m) {
  switch (m.role) {
    case Role::kSystem:
    case Role::kDeveloper: {
      std::vector<ContentBlock> texts;
      for (const ContentBlock& b : m.content) {
        if (std::holds_alternative<canonical::TextBlock>(b)) texts.push_back(b);
      }
      ObjectWriter msg(nextMessage());
      msg.string("role", canonical::roleName(m.role));
      appendContent(msg.key("content"), texts, m.content_was_string);
      if (!m.name.empty()) msg.string("name", m.name);
      closeWithExtras(msg, m.extras);
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
        ObjectWriter msg(nextMessage());
        msg.string("role", "user");
        appendContent(msg.key("content"), images, false);
        msg.close();
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
  ObjectWriter msg(nextMessage());
  if (result.tool_use_id.empty() && !m.name.empty()) {
    msg.string("role", "function");  // legacy function-calling result
    msg.string("name", m.name);
  } else {
    msg.string("role", "tool");
    msg.string("tool_call_id", result.tool_use_id);
  }
  appendContent(msg.key("content"), texts, as_string);
  if (m.role == Role::kTool) {
    closeWithExtras(msg, m.extras);
  } else {
    msg.close();  // hoisted from a user message: its extras stay there
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
  ObjectWriter msg(nextMessage());
  msg.string("role", "user");
  appendContent(msg.key("content"), rest, m.content_was_string);
  if (!m.name.empty()) msg.string("name", m.name);
  closeWithExtras(msg, m.extras);
}

void UpstreamEncoder::encodeAssistant(const Message& m) {
  std::vector<ContentBlock> parts;
  std::string refusal;
  bool other_opaque = false;
  std::string tool_calls;
  const canonical::ToolUseBlock* function_call = nullptr;
  for (const ContentBlock& b : m.content) {
    if (std::holds_alternative<canonical::TextBlock>(b)) {
      parts.push_back(b);
    } else if (const auto* call = std::get_if<canonical::ToolUseBlock>(&b)) {
      if (call->id.empty()) {
        function_call = call;
      } else {
        tool_calls.push_back(tool_calls.empty() ? '[' : ',');
        appendToolCall(tool_calls, *call);
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

  ObjectWriter msg(nextMessage());
  msg.string("role", "assistant");
  if (!refusal.empty() && !other_opaque && (texts == 0 || m.content_was_string)) {
    // The common shape: refusal as the message field, text (if any) as a plain string.
    std::vector<ContentBlock> text_only;
    for (const ContentBlock& b : parts) {
      if (std::holds_alternative<canonical::TextBlock>(b)) text_only.push_back(b);
    }
    if (text_only.empty()) {
      msg.null("content");
    } else {
      appendContent(msg.key("content"), text_only, true);
    }
    msg.string("refusal", refusal);
  } else if (parts.empty()) {
    if (tool_calls.empty() && function_call == nullptr) {
      msg.string("content", "");
    } else {
      msg.null("content");
    }
  } else {
    appendContent(msg.key("content"), parts, m.content_was_string);
  }
  if (!m.name.empty()) msg.string("name", m.name);
  if (!tool_calls.empty()) msg.raw("tool_calls", tool_calls + "]");
  if (function_call != nullptr) {
    std::string& out = msg.key("function_call");
    out += R"({"name":)";
    appendJsonString(out, function_call->name);
    out += R"(,"arguments":)";
    appendJsonString(out, function_call->input_json);
    out.push_back('}');
  }
  closeWithExtras(msg, m.extras);
}

void UpstreamEncoder::appendToolCall(std::string& out, const canonical::ToolUseBlock& call) const {
  out += R"({"id":)";
  appendJsonString(out, call.id);
  if (call.kind == canonical::ToolKind::kCustom && keepCustom()) {
    std::string input = call.input_json;
    if (auto v = detail::parseJson(call.input_json); v && v->is_object()) {
      if (const json::value* c = v->get_object().if_contains("content"); c && c->is_string()) {
        input = std::string(c->get_string());
      }
    }
    out += R"(,"type":"custom","custom":{"name":)";
    appendJsonString(out, call.name);
    out += R"(,"input":)";
    appendJsonString(out, input);
  } else {
    out += R"(,"type":"function","function":{"name":)";
    appendJsonString(out, call.name);
    out += R"(,"arguments":)";
    appendJsonString(out, call.input_json.empty() ? "{}" : call.input_json);
  }
  out += "}}";
}

void UpstreamEncoder::appendTool(std::string& out, const canonical::ToolSpec& tool) const {
  if (tool.extras.vendor == canonical::Vendor::kOpenAI && !tool.extras.empty()) {
    if (auto v = detail::parseJson(tool.extras.json); v && v->is_object()) {
      out += tool.extras.json;  // the client's own tool object, forwarded as sent
      return;
    }
  }
  out += R"({"type":"function","function":)";
  ObjectWriter fn(out);
  fn.string("name", tool.name);
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
    if (!description.empty()) fn.string("description", description);
    fn.raw(
        "parameters",
        R"({"type":"object","properties":{"content":{"type":"string"}},"required":["content"]})");
  } else {
    if (!tool.description.empty()) fn.string("description", tool.description);
    if (!tool.parameters_json.empty()) {
      appendSchema(fn.key("parameters"), tool.parameters_json, R"({"type":"object"})");
    }
    if (tool.strict) fn.boolean("strict", *tool.strict);
  }
  fn.close();
  out.push_back('}');
}

std::string UpstreamEncoder::encode(const UpstreamRequestOptions& options) {
  if (!req_.system.empty()) {
    std::vector<ContentBlock> texts;
    for (const ContentBlock& b : req_.system) {
      if (std::holds_alternative<canonical::TextBlock>(b)) texts.push_back(b);
    }
    if (!texts.empty()) {
      ObjectWriter msg(nextMessage());
      msg.string("role", "system");
      appendContent(msg.key("content"), texts, true);
      msg.close();
    }
  }
  for (const Message& m : req_.messages) encodeMessage(m);
  messages_.push_back(messages_.empty() ? '[' : ']');
  if (messages_.size() == 1) messages_.push_back(']');

  std::string out;
  out.reserve(messages_.size() + 256);
  ObjectWriter body(out);
  body.string("model", options.model);
  body.raw("messages", messages_);

  if (!req_.tools.empty()) {
    std::string tools;
    for (const canonical::ToolSpec& t : req_.tools) {
      if (!t.extras.empty() && !chatExtras()) {
        // A hosted Responses tool (web_search, file_search ...): a Chat upstream cannot run it.
        log::info("request {}: hosted tool '{}' dropped for a Chat Completions upstream",
                  req_.request_id, t.name.empty() ? std::string("(unnamed)") : t.name);
        continue;
      }
      tools.push_back(tools.empty() ? '[' : ',');
      appendTool(tools, t);
    }
    if (!tools.empty()) body.raw("tools", tools + "]");
    using Kind = canonical::ToolChoice::Kind;
    switch (req_.tool_choice.kind) {
      case Kind::kUnset:
        break;
      case Kind::kAuto:
        body.string("tool_choice", "auto");
        break;
      case Kind::kNone:
        body.string("tool_choice", "none");
        break;
      case Kind::kRequired:
        body.string("tool_choice", "required");
        break;
      case Kind::kNamed: {
        bool custom = false;
        for (const canonical::ToolSpec& t : req_.tools) {
          if (t.name == req_.tool_choice.name) custom = t.kind == canonical::ToolKind::kCustom;
        }
        const std::string_view type = custom && keepCustom() ? "custom" : "function";
        std::string& choice = body.key("tool_choice");
        ObjectWriter named(choice);
        named.string("type", type);
        std::string& inner = named.key(type);
        ObjectWriter name(inner);
        name.string("name", req_.tool_choice.name);
        name.close();
        named.close();
        break;
      }
    }
    if (req_.parallel_tool_calls) body.boolean("parallel_tool_calls", *req_.parallel_tool_calls);
  }

  using Format = canonical::ResponseFormat::Kind;
  const canonical::ResponseFormat& rf = req_.response_format;
  switch (rf.kind) {
    case Format::kUnset:
      break;
    case Format::kText:
      body.raw("response_format", R"({"type":"text"})");
      break;
    case Format::kJsonObject:
      body.raw("response_format", R"({"type":"json_object"})");
      break;
    case Format::kJsonSchema: {
      std::string& format = body.key("response_format");
      format += R"({"type":"json_schema","json_schema":)";
      ObjectWriter schema(format);
      schema.string("name", rf.name.empty() ? std::string_view("response") : rf.name);
      if (!rf.description.empty()) schema.string("description", rf.description);
      if (!rf.schema_json.empty()) appendSchema(schema.key("schema"), rf.schema_json, "{}");
      if (rf.strict) schema.boolean("strict", *rf.strict);
      schema.close();
      format.push_back('}');
      break;
    }
  }

  if (req_.max_tokens) {
    body.integer("max_completion_tokens", *req_.max_tokens);
  } else if (options.max_tokens_default) {
    body.integer("max_completion_tokens", *options.max_tokens_default);
  }
  if (req_.temperature) body.number("temperature", *req_.temperature);
  if (req_.top_p) body.number("top_p", *req_.top_p);
  if (req_.seed) body.integer("seed", *req_.seed);
  if (!req_.stop.empty()) {
    std::string& stop = body.key("stop");
    for (std::size_t i = 0; i < req_.stop.size(); ++i) {
      stop.push_back(i == 0 ? '[' : ',');
      appendJsonString(stop, req_.stop[i]);
    }
    stop.push_back(']');
  }
  if (req_.presence_penalty) body.number("presence_penalty", *req_.presence_penalty);
  if (req_.frequency_penalty) body.number("frequency_penalty", *req_.frequency_penalty);
  if (!req_.user.empty()) body.string("user", req_.user);
  if (!req_.metadata.empty()) {
    std::string& metadata = body.key("metadata");
    ObjectWriter entries(metadata);
    for (const auto& [k, v] : req_.metadata) entries.string(k, v);
    entries.close();
  }
  if (!req_.reasoning.effort.empty()) body.string("reasoning_effort", req_.reasoning.effort);
  if (options.stream) {
    body.boolean("stream", true);
    body.raw("stream_options", R"({"include_usage":true})");
  }
  closeWithExtras(body, req_.extras);
  return out;
}

}  // namespace

std::string encodeUpstreamRequest(const canonical::ChatRequest& request,
                                  const UpstreamRequestOptions& options) {
  return UpstreamEncoder(request).encode(options);
}

}  // namespace basalt::api::openai_chat
