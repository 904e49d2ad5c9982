// Canonical -> the Converse response body (bedrock.md §1.4) and the stop-reason words.

#include "basalt/api/bedrock/converse_codec.h"

#include "json_util.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::bedrock {

namespace json = boost::json;
using canonical::StopReason;

const char* stopReasonWord(StopReason reason, bool has_tool_use) {
  switch (reason) {
    case StopReason::kEndTurn:
    case StopReason::kPauseTurn:
      return "end_turn";
    case StopReason::kStopSequence:
      return "stop_sequence";
    case StopReason::kMaxTokens:
      return "max_tokens";
    case StopReason::kToolUse:
      return "tool_use";
    case StopReason::kContentFilter:
      return "guardrail_intervened";  // Basalt's guardrails and provider filters alike
    case StopReason::kRefusal:
      return "content_filtered";
    case StopReason::kContextWindowExceeded:
      return "model_context_window_exceeded";
    case StopReason::kError:
      return "malformed_model_output";
    case StopReason::kUnset:
      break;
  }
  return has_tool_use ? "tool_use" : "end_turn";
}

StopReason stopReasonFromWord(std::string_view word) {
  if (word == "end_turn") return StopReason::kEndTurn;
  if (word == "tool_use") return StopReason::kToolUse;
  if (word == "max_tokens") return StopReason::kMaxTokens;
  if (word == "stop_sequence") return StopReason::kStopSequence;
  if (word == "guardrail_intervened" || word == "content_filtered") {
    return StopReason::kContentFilter;
  }
  if (word == "model_context_window_exceeded") return StopReason::kContextWindowExceeded;
  if (word == "malformed_model_output" || word == "malformed_tool_use") return StopReason::kError;
  return StopReason::kEndTurn;
}

std::string encodeResponseBody(const canonical::ChatResponse& response, std::int64_t latency_ms) {
  json::array content;
  bool has_tool_use = false;
  for (const canonical::ContentBlock& block : response.content) {
    has_tool_use = has_tool_use || std::holds_alternative<canonical::ToolUseBlock>(block);
    detail::encodeBlock(block, content, /*for_client=*/true);
  }
  json::object body;
  body["output"] = json::object{
      {"message", json::object{{"role", "assistant"}, {"content", std::move(content)}}}};
  body["stopReason"] = stopReasonWord(response.stop_reason, has_tool_use);
  body["usage"] = detail::usageJson(response.usage);
  body["metrics"] = json::object{{"latencyMs", latency_ms > 0 ? latency_ms : 0}};
  // A Bedrock provider's unmodelled fields (additionalModelResponseFields, trace ...) return
  // to a Bedrock client unchanged.
  if (response.extras.vendor == canonical::Vendor::kBedrock && !response.extras.empty()) {
    if (auto v = detail::parseJson(response.extras.json); v && v->is_object()) {
      for (const auto& [k, val] : v->get_object()) {
        if (!body.contains(k)) body[k] = val;
      }
    }
  }
  return json::serialize(body);
}

}  // namespace basalt::api::bedrock
