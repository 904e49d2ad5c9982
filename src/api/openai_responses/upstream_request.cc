// canonical::ChatRequest (from any door) -> the Responses body Basalt POSTs to an OpenAI
// `api = "responses"` upstream. A request from this door goes back as the client sent it; one
// from another door is reshaped: system -> instructions, tool results -> output items,
// reasoning only when OpenAI issued it, `store: false`.

#include "basalt/api/openai_responses/responses_codec.h"

#include "items.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::openai_responses {

namespace json = boost::json;

std::string encodeUpstreamRequest(const canonical::ChatRequest& request,
                                  const UpstreamRequestOptions& options) {
  const bool faithful = request.door == canonical::Door::kOpenAIResponses;
  json::object extras;
  if (faithful && request.extras.vendor == canonical::Vendor::kOpenAI && !request.extras.empty()) {
    if (auto v = detail::parseJson(request.extras.json); v && v->is_object()) {
      extras = std::move(v->get_object());
    }
  }
  // Only Basalt knows Basalt's response ids: the pipeline has already put that history into
  // the input (prependConversation).
  extras.erase("previous_response_id");

  json::object body;
  body["model"] = options.model;
  const std::string instructions = detail::instructionsOf(request);
  if (!instructions.empty()) body["instructions"] = instructions;

  const std::vector<canonical::ToolUseBlock> calls =
      detail::collectCalls(request.messages, nullptr);
  json::array input = detail::encodeItems(request.messages, faithful, calls);
  // A lone user string stays a string, as the client sent it.
  if (faithful && request.messages.size() == 1 && request.messages[0].content_was_string &&
      request.messages[0].role == canonical::Role::kUser && request.messages[0].extras.empty() &&
      input.size() == 1 && input[0].get_object().at("content").is_string()) {
    body["input"] = input[0].get_object().at("content");
  } else {
    body["input"] = std::move(input);
  }

  if (!request.tools.empty()) {
    json::array tools;
    for (const canonical::ToolSpec& t : request.tools) {
      json::value v = detail::toolJson(t, faithful);
      if (!v.is_null()) tools.push_back(std::move(v));
    }
    if (!tools.empty()) body["tools"] = std::move(tools);
  }
  if (json::value choice = detail::toolChoiceJson(request); !choice.is_null()) {
    body["tool_choice"] = std::move(choice);
  }
  if (request.parallel_tool_calls) body["parallel_tool_calls"] = *request.parallel_tool_calls;

  if (!request.reasoning.effort.empty() || !request.reasoning.summary.empty()) {
    json::object reasoning;
    if (!request.reasoning.effort.empty()) reasoning["effort"] = request.reasoning.effort;
    if (!request.reasoning.summary.empty()) reasoning["summary"] = request.reasoning.summary;
    if (const json::value* more = extras.if_contains("reasoning"); more && more->is_object()) {
      for (const auto& [k, v] : more->get_object()) {
        if (!reasoning.contains(k)) reasoning[k] = v;
      }
    }
    extras.erase("reasoning");
    body["reasoning"] = std::move(reasoning);
  } else if (request.reasoning.budget_tokens && *request.reasoning.budget_tokens > 0) {
    // A thinking budget from Anthropic/Bedrock doors: the closest effort (LiteLLM's table).
    const std::int64_t budget = *request.reasoning.budget_tokens;
    body["reasoning"] = json::object{{"effort", budget <= 1024   ? "low"
                                                : budget <= 4096 ? "medium"
                                                                 : "high"}};
  }

  json::value format = detail::textFormatJson(request.response_format);
  if (!format.is_null() || extras.contains("text")) {
    json::object text;
    if (const json::value* more = extras.if_contains("text"); more && more->is_object()) {
      text = more->get_object();
    }
    if (!format.is_null()) text["format"] = std::move(format);
    extras.erase("text");
    body["text"] = std::move(text);
  }

  if (request.max_tokens) {
    body["max_output_tokens"] = *request.max_tokens;
  } else if (options.max_tokens_default) {
    body["max_output_tokens"] = *options.max_tokens_default;
  }
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (!request.user.empty()) body["user"] = request.user;
  if (!request.metadata.empty()) {
    json::object metadata;
    for (const auto& [k, v] : request.metadata) metadata[k] = v;
    body["metadata"] = std::move(metadata);
  }
  // The Responses API has no stop sequences, seed, top_k or penalties: they are not sent.
  // Basalt keeps what its clients asked to store (GET /v1/responses, previous_response_id), so
  // the upstream never needs a second copy of the conversation.
  body["store"] = false;
  if (options.stream) body["stream"] = true;
  for (auto& [k, v] : extras) {
    if (!body.contains(k)) body[k] = std::move(v);
  }
  if (!options.stream) body.erase("stream_options");
  return json::serialize(body);
}

}  // namespace basalt::api::openai_responses
