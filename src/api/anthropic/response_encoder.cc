// canonical::ChatResponse -> the Messages `message` object (wire.md §4.3).

#include "basalt/api/anthropic/messages_codec.h"

#include "json_util.h"

#include <boost/json/serialize.hpp>

#include <random>

namespace basalt::api::anthropic {

namespace json = boost::json;
using canonical::StopReason;

const char* stopReasonWord(StopReason reason, bool has_tool_use) {
  switch (reason) {
    case StopReason::kEndTurn:
    case StopReason::kError:
      return "end_turn";
    case StopReason::kStopSequence:
      return "stop_sequence";
    case StopReason::kMaxTokens:
      return "max_tokens";
    case StopReason::kToolUse:
      return "tool_use";
    case StopReason::kContentFilter:
    case StopReason::kRefusal:
      return "refusal";
    case StopReason::kPauseTurn:
      return "pause_turn";
    case StopReason::kContextWindowExceeded:
      return "model_context_window_exceeded";
    case StopReason::kUnset:
      break;
  }
  return has_tool_use ? "tool_use" : "end_turn";
}

StopReason stopReasonFromWord(std::string_view word) {
  if (word == "end_turn") return StopReason::kEndTurn;
  if (word == "stop_sequence") return StopReason::kStopSequence;
  if (word == "max_tokens") return StopReason::kMaxTokens;
  if (word == "tool_use") return StopReason::kToolUse;
  if (word == "refusal") return StopReason::kRefusal;
  if (word == "pause_turn") return StopReason::kPauseTurn;
  if (word == "model_context_window_exceeded") return StopReason::kContextWindowExceeded;
  return StopReason::kEndTurn;
}

std::string messageId(std::string_view provider_id, std::string_view request_id) {
  if (provider_id.starts_with("msg_")) return std::string(provider_id);
  std::string id = "msg_";
  for (char c : request_id) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) id += c;
  }
  if (id.size() > 4) return id;
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % 62];
  return id;
}

std::string encodeResponseBody(const canonical::ChatResponse& response,
                               const canonical::ChatRequest& request) {
  json::array content;
  bool has_tool_use = false;
  for (const canonical::ContentBlock& b : response.content) {
    if (std::holds_alternative<canonical::ToolUseBlock>(b)) has_tool_use = true;
    detail::encodeBlock(b, content, /*for_client=*/true);
  }
  json::object body;
  body["id"] = messageId(response.id, request.request_id);
  body["type"] = "message";
  body["role"] = "assistant";
  body["model"] = request.model.empty() ? response.model : request.model;
  body["content"] = std::move(content);
  body["stop_reason"] = stopReasonWord(response.stop_reason, has_tool_use);
  if (response.stop_sequence.empty()) {
    body["stop_sequence"] = nullptr;
  } else {
    body["stop_sequence"] = response.stop_sequence;
  }
  body["usage"] = detail::usageJson(response.usage);
  return json::serialize(body);
}

}  // namespace basalt::api::anthropic
