// canonical::ChatResponse -> OpenAI `chat.completion` body (wire.md §3.2).

#include "basalt/api/openai_chat/chat_codec.h"

#include "basalt/core/ids.h"
#include "json_util.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::openai_chat {

namespace json = boost::json;

namespace {

std::string customInput(const std::string& input_json) {
  // Canonical custom-tool input is {"content": "<raw>"}; Chat carries the raw string.
  if (auto v = detail::parseJson(input_json); v && v->is_object()) {
    if (const json::value* c = v->get_object().if_contains("content"); c && c->is_string()) {
      return std::string(c->get_string());
    }
  }
  return input_json;
}

json::object toolCallJson(const canonical::ToolUseBlock& call) {
  json::object tc;
  tc["id"] = call.id;
  if (call.kind == canonical::ToolKind::kCustom) {
    tc["type"] = "custom";
    tc["custom"] = json::object{{"name", call.name}, {"input", customInput(call.input_json)}};
  } else {
    tc["type"] = "function";
    tc["function"] = json::object{{"name", call.name},
                                  {"arguments", call.input_json.empty() ? "{}" : call.input_json}};
  }
  return tc;
}

}  // namespace

namespace detail {
std::string responseId(std::string_view provider_id) {
  if (provider_id.starts_with("chatcmpl-")) return std::string(provider_id);
  return randomId("chatcmpl-", 29);
}
}  // namespace detail

std::string encodeResponseBody(const canonical::ChatResponse& response,
                               const canonical::ChatRequest& request) {
  std::string text;
  std::string reasoning;
  std::string refusal;
  bool has_text = false;
  json::array tool_calls;
  for (const canonical::ContentBlock& block : response.content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&block)) {
      text += t->text;
      has_text = true;
    } else if (const auto* r = std::get_if<canonical::ReasoningBlock>(&block)) {
      reasoning += r->text;
    } else if (const auto* call = std::get_if<canonical::ToolUseBlock>(&block)) {
      tool_calls.push_back(toolCallJson(*call));
    } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&block)) {
      if (o->vendor != canonical::Vendor::kOpenAI) continue;
      if (auto v = detail::parseJson(o->json); v && v->is_object()) {
        const json::value* r = v->get_object().if_contains("refusal");
        if (r != nullptr && r->is_string()) refusal += r->get_string();
      }
    }
  }

  json::object message;
  message["role"] = "assistant";
  if (has_text) {
    message["content"] = text;
  } else {
    message["content"] = nullptr;
  }
  if (refusal.empty()) {
    message["refusal"] = nullptr;
  } else {
    message["refusal"] = refusal;
  }
  message["annotations"] = json::array();
  if (!tool_calls.empty()) message["tool_calls"] = tool_calls;
  if (!reasoning.empty()) message["reasoning_content"] = reasoning;

  json::object choice;
  choice["index"] = 0;
  choice["message"] = std::move(message);
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = detail::finishReason(response.stop_reason, !tool_calls.empty());

  json::object body;
  body["id"] = detail::responseId(response.id);
  body["object"] = "chat.completion";
  body["created"] = response.created > 0 ? response.created : detail::unixNow();
  body["model"] = request.model.empty() ? response.model : request.model;
  body["choices"] = json::array{std::move(choice)};
  body["usage"] = detail::usageJson(response.usage);
  if (!response.system_fingerprint.empty()) {
    body["system_fingerprint"] = response.system_fingerprint;
  }
  // Unmodelled fields an OpenAI-shaped upstream sent (service_tier, prompt_filter_results ...).
  if (response.extras.vendor == canonical::Vendor::kOpenAI && !response.extras.empty()) {
    if (auto extras = detail::parseJson(response.extras.json); extras && extras->is_object()) {
      for (const auto& [key, value] : extras->get_object()) {
        if (!body.contains(key)) body[key] = value;
      }
    }
  }
  return json::serialize(body);
}

}  // namespace basalt::api::openai_chat
