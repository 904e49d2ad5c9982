// Output items and the Response object (wire.md §2.4), shared by the non-streamed body and the
// stream encoder; plus the request parameters both echo (tools, tool_choice, text.format).

#include "items.h"

#include <boost/json/serialize.hpp>

#include <cmath>

namespace basalt::api::openai_responses::detail {

using canonical::ContentBlock;

namespace {

/// Integral numbers print as integers: Boost.JSON would write 1.0 as 1E0.
json::value number(double d) {
  if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 1e15) {
    return static_cast<std::int64_t>(d);
  }
  return d;
}

json::value parsedOr(const std::string& text, json::value fallback) {
  if (text.empty()) return fallback;
  if (auto v = parseJson(text)) return std::move(*v);
  return fallback;
}

json::object customFormat(const std::string& format_json) {
  auto v = parseJson(format_json);
  if (!v || !v->is_object()) return json::object{{"type", "text"}};
  json::object f = std::move(v->get_object());
  // The Chat form nests {"grammar": {definition, syntax}}; Responses has them flat.
  if (json::value* g = f.if_contains("grammar"); g && g->is_object()) {
    json::object flat{{"type", "grammar"}};
    for (const auto& [k, val] : g->get_object()) flat[k] = val;
    return flat;
  }
  return f;
}

}  // namespace

json::value toolJson(const canonical::ToolSpec& tool, bool faithful) {
  if (!tool.extras.empty()) {
    if (tool.extras.vendor != canonical::Vendor::kOpenAI) return nullptr;  // another vendor's
    auto v = parseJson(tool.extras.json);
    if (v && v->is_object() && !v->get_object().contains("function") &&
        !v->get_object().contains("custom")) {
      return std::move(*v);  // a hosted tool (or a future kind) in Responses' own flat form
    }
  }
  json::object t;
  if (tool.kind == canonical::ToolKind::kCustom) {
    t["type"] = "custom";
    t["name"] = tool.name;
    if (!tool.description.empty()) t["description"] = tool.description;
    if (!tool.custom_format_json.empty()) t["format"] = customFormat(tool.custom_format_json);
    return t;
  }
  t["type"] = "function";
  t["name"] = tool.name;
  if (!tool.description.empty()) t["description"] = tool.description;
  if (!tool.parameters_json.empty()) {
    t["parameters"] = parsedOr(tool.parameters_json, json::object{{"type", "object"}});
  } else if (!faithful) {
    t["parameters"] = json::object{{"type", "object"}, {"properties", json::object()}};
  }
  if (tool.strict) {
    t["strict"] = *tool.strict;
  } else if (!faithful) {
    t["strict"] = false;  // Responses defaults to strict, Chat/Anthropic/Bedrock do not
  }
  return t;
}

json::value toolChoiceJson(const canonical::ChatRequest& request) {
  using Kind = canonical::ToolChoice::Kind;
  switch (request.tool_choice.kind) {
    case Kind::kUnset:
      return nullptr;
    case Kind::kAuto:
      return "auto";
    case Kind::kNone:
      return "none";
    case Kind::kRequired:
      return "required";
    case Kind::kNamed: {
      const char* type = "function";
      for (const canonical::ToolSpec& t : request.tools) {
        if (t.name == request.tool_choice.name && t.kind == canonical::ToolKind::kCustom) {
          type = "custom";
        }
      }
      return json::object{{"type", type}, {"name", request.tool_choice.name}};
    }
  }
  return nullptr;
}

json::value textFormatJson(const canonical::ResponseFormat& rf) {
  using Kind = canonical::ResponseFormat::Kind;
  switch (rf.kind) {
    case Kind::kUnset:
      return nullptr;
    case Kind::kText:
      return json::object{{"type", "text"}};
    case Kind::kJsonObject:
      return json::object{{"type", "json_object"}};
    case Kind::kJsonSchema: {
      json::object f{{"type", "json_schema"},
                     {"name", rf.name.empty() ? std::string("response") : rf.name}};
      if (!rf.description.empty()) f["description"] = rf.description;
      f["schema"] = parsedOr(rf.schema_json, json::object());
      if (rf.strict) f["strict"] = *rf.strict;
      return f;
    }
  }
  return nullptr;
}

std::string instructionsOf(const canonical::ChatRequest& request) {
  std::string out;
  for (const ContentBlock& b : request.system) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&b)) {
      if (!out.empty()) out += "\n\n";
      out += t->text;
    }
  }
  return out;
}

CallShape callShape(const canonical::ToolUseBlock& call, const canonical::ChatRequest& request) {
  if (call.kind == canonical::ToolKind::kCustom) return CallShape::kCustom;
  for (const canonical::ToolSpec& t : request.tools) {
    if (t.name != call.name) continue;
    if (t.kind == canonical::ToolKind::kCustom) return CallShape::kCustom;
    if (t.extras.vendor == canonical::Vendor::kOpenAI && !t.extras.empty()) {
      auto v = parseJson(t.extras.json);
      if (v && v->is_object() && str(v->get_object(), "type") == "local_shell") {
        return CallShape::kLocalShell;
      }
    }
  }
  return CallShape::kFunction;
}

std::string itemId(std::string_view prefix, std::string_view hex, std::size_t n) {
  std::string id(prefix);
  id += '_';
  id += hex;
  id += '_';
  id += std::to_string(n);
  return id;
}

json::object reasoningItem(std::string_view id, std::string_view summary,
                           std::string_view encrypted, bool done) {
  // `summary` is always present: Codex drops a reasoning item without it (wire.md §0 rule 4).
  json::array parts;
  if (done && !summary.empty()) {
    parts.push_back(json::object{{"type", "summary_text"}, {"text", summary}});
  }
  json::object item{{"id", id}, {"type", "reasoning"}, {"summary", std::move(parts)}};
  if (done && !encrypted.empty()) item["encrypted_content"] = encrypted;
  return item;
}

json::object outputText(std::string_view text) {
  return json::object{{"type", "output_text"},
                      {"annotations", json::array()},
                      {"logprobs", json::array()},
                      {"text", text}};
}

json::object messageItem(std::string_view id, json::array content, bool done) {
  return json::object{{"id", id},
                      {"type", "message"},
                      {"status", done ? "completed" : "in_progress"},
                      {"content", std::move(content)},
                      {"role", "assistant"}};
}

json::object callItem(CallShape shape, std::string_view id, std::string_view call_id,
                      std::string_view name, std::string_view input, bool done) {
  const char* status = done ? "completed" : "in_progress";
  switch (shape) {
    case CallShape::kCustom:
      return json::object{{"id", id},
                          {"type", "custom_tool_call"},
                          {"status", status},
                          {"call_id", call_id},
                          {"input", done ? input : std::string_view()},
                          {"name", name}};
    case CallShape::kLocalShell: {
      json::value action = json::object();
      if (auto v = parseJson(input); v && v->is_object()) action = std::move(*v);
      return json::object{{"id", id},
                          {"type", "local_shell_call"},
                          {"status", status},
                          {"call_id", call_id},
                          {"action", std::move(action)}};
    }
    case CallShape::kFunction:
      break;
  }
  return json::object{{"id", id},           {"type", "function_call"},
                      {"status", status},   {"arguments", done ? input : std::string_view()},
                      {"call_id", call_id}, {"name", name}};
}

json::array outputItems(const canonical::ChatResponse& response,
                        const canonical::ChatRequest& request, std::string_view hex) {
  json::array items;
  json::array parts;
  auto flush = [&] {
    if (parts.empty()) return;
    items.push_back(messageItem(itemId("msg", hex, items.size()), std::move(parts), true));
    parts = json::array();
  };
  for (const ContentBlock& b : response.content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&b)) {
      parts.push_back(outputText(t->text));
    } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&b)) {
      if (o->vendor != canonical::Vendor::kOpenAI) continue;
      auto v = parseJson(o->json);
      if (!v || !v->is_object()) continue;
      const std::string type = str(v->get_object(), "type");
      if (type == "refusal") {
        // Never a refusal part: Codex drops the whole message item (wire.md §6.3).
        parts.push_back(outputText(str(v->get_object(), "refusal")));
      } else if (type == "output_text") {
        parts.push_back(outputText(str(v->get_object(), "text")));
      } else if (!type.empty() && !oneOf(type, {"input_text", "input_image", "input_file"})) {
        flush();
        items.push_back(std::move(*v));
      }
    } else if (const auto* r = std::get_if<canonical::ReasoningBlock>(&b)) {
      flush();
      const std::string id = r->id.starts_with("rs_") ? r->id : itemId("rs", hex, items.size());
      items.push_back(reasoningItem(id, r->text, encryptedContentOf(*r), true));
    } else if (const auto* c = std::get_if<canonical::ToolUseBlock>(&b)) {
      flush();
      const CallShape shape = callShape(*c, request);
      const std::size_t n = items.size();
      switch (shape) {
        case CallShape::kCustom:
          items.push_back(callItem(shape, itemId("ctc", hex, n), c->id, c->name,
                                   customInput(c->input_json), true));
          break;
        case CallShape::kLocalShell:
          items.push_back(
              callItem(shape, itemId("lsh", hex, n), c->id, c->name, c->input_json, true));
          break;
        case CallShape::kFunction:
          items.push_back(callItem(shape, itemId("fc", hex, n), c->id, c->name,
                                   c->input_json.empty() ? "{}" : c->input_json, true));
          break;
      }
    }
  }
  flush();
  return items;
}

std::string_view incompleteReason(canonical::StopReason reason) {
  using canonical::StopReason;
  switch (reason) {
    case StopReason::kMaxTokens:
    case StopReason::kContextWindowExceeded:
      return "max_output_tokens";
    case StopReason::kContentFilter:
      return "content_filter";
    default:
      return {};
  }
}

json::object responseObject(const canonical::ChatRequest& request, std::string_view id,
                            std::int64_t created_at, std::string_view status, json::array output,
                            json::value usage) {
  json::object extras;
  if (request.extras.vendor == canonical::Vendor::kOpenAI && !request.extras.empty()) {
    if (auto v = parseJson(request.extras.json); v && v->is_object()) {
      extras = std::move(v->get_object());
    }
  }
  auto extra = [&](std::string_view key, json::value fallback) -> json::value {
    if (const json::value* v = extras.if_contains(key)) return *v;
    return fallback;
  };

  json::object r;
  r["id"] = id;
  r["object"] = "response";
  r["created_at"] = created_at;
  r["status"] = status;
  r["background"] = extra("background", false);
  r["error"] = nullptr;
  r["incomplete_details"] = nullptr;
  const std::string instructions = instructionsOf(request);
  r["instructions"] = instructions.empty() ? json::value(nullptr) : json::value(instructions);
  r["max_output_tokens"] =
      request.max_tokens ? json::value(*request.max_tokens) : json::value(nullptr);
  r["max_tool_calls"] = extra("max_tool_calls", nullptr);
  r["model"] = request.model;
  r["output"] = std::move(output);
  r["parallel_tool_calls"] = request.parallel_tool_calls.value_or(true);
  r["previous_response_id"] = extra("previous_response_id", nullptr);
  r["prompt_cache_key"] = extra("prompt_cache_key", nullptr);
  json::object reasoning;
  reasoning["effort"] = request.reasoning.effort.empty() ? json::value(nullptr)
                                                         : json::value(request.reasoning.effort);
  reasoning["summary"] = request.reasoning.summary.empty() ? json::value(nullptr)
                                                           : json::value(request.reasoning.summary);
  r["reasoning"] = std::move(reasoning);
  r["safety_identifier"] = extra("safety_identifier", nullptr);
  r["service_tier"] = extra("service_tier", "default");
  r["store"] = extra("store", true);
  r["temperature"] = number(request.temperature.value_or(1.0));
  json::object text;
  json::value format = textFormatJson(request.response_format);
  text["format"] = format.is_null() ? json::value(json::object{{"type", "text"}}) : format;
  text["verbosity"] = "medium";
  if (const json::value* t = extras.if_contains("text"); t && t->is_object()) {
    for (const auto& [k, v] : t->get_object()) text[k] = v;
  }
  r["text"] = std::move(text);
  json::value choice = toolChoiceJson(request);
  r["tool_choice"] = choice.is_null() ? extra("tool_choice", "auto") : choice;
  json::array tools;
  for (const canonical::ToolSpec& t : request.tools) {
    json::value v = toolJson(t, true);
    if (!v.is_null()) tools.push_back(std::move(v));
  }
  r["tools"] = std::move(tools);
  r["top_logprobs"] = extra("top_logprobs", 0);
  r["top_p"] = number(request.top_p.value_or(1.0));
  r["truncation"] = extra("truncation", "disabled");
  r["usage"] = std::move(usage);
  r["user"] = request.user.empty() ? json::value(nullptr) : json::value(request.user);
  json::object metadata;
  for (const auto& [k, v] : request.metadata) metadata[k] = v;
  r["metadata"] = std::move(metadata);
  return r;
}

}  // namespace basalt::api::openai_responses::detail
