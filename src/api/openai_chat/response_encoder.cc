// canonical::ChatResponse -> OpenAI `chat.completion` body (wire.md §3.2).

#include "basalt/api/openai_chat/chat_codec.h"

#include "basalt/core/ids.h"
#include "json_util.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <initializer_list>

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

void appendToolCall(std::string& out, const canonical::ToolUseBlock& call) {
  out += "{\"id\":";
  detail::appendJsonString(out, call.id);
  if (call.kind == canonical::ToolKind::kCustom) {
    out += ",\"type\":\"custom\",\"custom\":{\"name\":";
    detail::appendJsonString(out, call.name);
    out += ",\"input\":";
    detail::appendJsonString(out, customInput(call.input_json));
  } else {
    out += ",\"type\":\"function\",\"function\":{\"name\":";
    detail::appendJsonString(out, call.name);
    out += ",\"arguments\":";
    detail::appendJsonString(out, call.input_json.empty() ? "{}" : call.input_json);
  }
  out += "}}";
}

/// Appends the members of the upstream's unmodelled fields (an object's text) that the body
/// does not already have. `written` lists the body's own keys.
void appendExtras(std::string& out, const canonical::VendorExtras& extras,
                  std::initializer_list<std::string_view> written) {
  auto parsed = detail::parseJson(extras.json);
  if (!parsed || !parsed->is_object()) return;
  for (const auto& [key, value] : parsed->get_object()) {
    if (std::find(written.begin(), written.end(), key) != written.end()) continue;
    out.push_back(',');
    detail::appendJsonString(out, key);
    out.push_back(':');
    out += json::serialize(value);
  }
}

}  // namespace

namespace detail {
std::string responseId(std::string_view provider_id) {
  if (provider_id.starts_with("chatcmpl-")) return std::string(provider_id);
  return randomId("chatcmpl-", 29);
}
}  // namespace detail

// Written by hand rather than built as a json::object and serialized: this runs on every
// non-streamed answer, and the object tree cost more than the rest of the codec together.
std::string encodeResponseBody(const canonical::ChatResponse& response,
                               const canonical::ChatRequest& request) {
  std::string text;
  std::string reasoning;
  std::string refusal;
  bool has_text = false;
  std::string tool_calls;
  for (const canonical::ContentBlock& block : response.content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&block)) {
      text += t->text;
      has_text = true;
    } else if (const auto* r = std::get_if<canonical::ReasoningBlock>(&block)) {
      reasoning += r->text;
    } else if (const auto* call = std::get_if<canonical::ToolUseBlock>(&block)) {
      tool_calls.push_back(tool_calls.empty() ? '[' : ',');
      appendToolCall(tool_calls, *call);
    } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&block)) {
      if (o->vendor != canonical::Vendor::kOpenAI) continue;
      if (auto v = detail::parseJson(o->json); v && v->is_object()) {
        const json::value* r = v->get_object().if_contains("refusal");
        if (r != nullptr && r->is_string()) refusal += r->get_string();
      }
    }
  }
  const bool has_tool_calls = !tool_calls.empty();
  if (has_tool_calls) tool_calls.push_back(']');

  std::string out;
  out.reserve(320 + text.size() + reasoning.size() + refusal.size() + tool_calls.size() +
              response.extras.json.size());
  out += "{\"id\":";
  detail::appendJsonString(out, detail::responseId(response.id));
  out += ",\"object\":\"chat.completion\",\"created\":";
  out += std::to_string(response.created > 0 ? response.created : detail::unixNow());
  out += ",\"model\":";
  detail::appendJsonString(out, request.model.empty() ? response.model : request.model);
  out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
  if (has_text) {
    detail::appendJsonString(out, text);
  } else {
    out += "null";
  }
  out += ",\"refusal\":";
  if (refusal.empty()) {
    out += "null";
  } else {
    detail::appendJsonString(out, refusal);
  }
  out += ",\"annotations\":[]";
  if (has_tool_calls) out.append(",\"tool_calls\":").append(tool_calls);
  if (!reasoning.empty()) {
    out += ",\"reasoning_content\":";
    detail::appendJsonString(out, reasoning);
  }
  out += "},\"logprobs\":null,\"finish_reason\":\"";
  out += detail::finishReason(response.stop_reason, has_tool_calls);
  out += "\"}],\"usage\":";
  detail::appendUsageJson(out, response.usage);
  if (!response.system_fingerprint.empty()) {
    out += ",\"system_fingerprint\":";
    detail::appendJsonString(out, response.system_fingerprint);
  }
  // Unmodelled fields an OpenAI-shaped upstream sent (service_tier, prompt_filter_results ...).
  if (response.extras.vendor == canonical::Vendor::kOpenAI && !response.extras.empty()) {
    appendExtras(out, response.extras,
                 {"id", "object", "created", "model", "choices", "usage",
                  response.system_fingerprint.empty() ? "" : "system_fingerprint"});
  }
  out.push_back('}');
  return out;
}

}  // namespace basalt::api::openai_chat
