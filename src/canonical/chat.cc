#include "basalt/canonical/chat.h"

namespace basalt::canonical {

const char* doorName(Door door) {
  switch (door) {
    case Door::kOpenAIChat: return "openai_chat";
    case Door::kOpenAIResponses: return "openai_responses";
    case Door::kAnthropicMessages: return "anthropic_messages";
    case Door::kBedrockConverse: return "bedrock_converse";
    case Door::kBedrockInvoke: return "bedrock_invoke";
  }
  return "unknown";
}

Vendor doorVendor(Door door) {
  switch (door) {
    case Door::kOpenAIChat:
    case Door::kOpenAIResponses: return Vendor::kOpenAI;
    case Door::kAnthropicMessages: return Vendor::kAnthropic;
    case Door::kBedrockConverse:
    case Door::kBedrockInvoke: return Vendor::kBedrock;
  }
  return Vendor::kNone;
}

const char* roleName(Role role) {
  switch (role) {
    case Role::kSystem: return "system";
    case Role::kDeveloper: return "developer";
    case Role::kUser: return "user";
    case Role::kAssistant: return "assistant";
    case Role::kTool: return "tool";
  }
  return "user";
}

const char* stopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kUnset: return "unset";
    case StopReason::kEndTurn: return "end_turn";
    case StopReason::kStopSequence: return "stop_sequence";
    case StopReason::kMaxTokens: return "max_tokens";
    case StopReason::kToolUse: return "tool_use";
    case StopReason::kContentFilter: return "content_filter";
    case StopReason::kRefusal: return "refusal";
    case StopReason::kPauseTurn: return "pause_turn";
    case StopReason::kContextWindowExceeded: return "model_context_window_exceeded";
    case StopReason::kError: return "error";
  }
  return "unset";
}

}  // namespace basalt::canonical
