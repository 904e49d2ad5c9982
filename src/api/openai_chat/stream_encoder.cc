// canonical::StreamEvent -> OpenAI Chat SSE (wire.md §3.3), byte-compatible with what
// api.openai.com sends. Frames are written by hand: the envelope of every chunk is fixed, so it
// is built once per stream and each event only appends its delta.

#include "stream_encoder.h"

#include "json_util.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::openai_chat {

using canonical::StreamEvent;

namespace {
constexpr std::string_view kDone = "data: [DONE]\n\n";
}

ChatStreamEncoder::ChatStreamEncoder(const canonical::ChatRequest& request)
    : model_(request.model), include_usage_(request.include_usage), created_(detail::unixNow()) {}

Headers ChatStreamEncoder::headers() const {
  return {{"content-type", "text/event-stream; charset=utf-8"}, {"cache-control", "no-cache"}};
}

void ChatStreamEncoder::start(std::string_view upstream_id, std::string& out) {
  started_ = true;
  envelope_ = "data: {\"id\":";
  detail::appendJsonString(envelope_, detail::responseId(upstream_id));
  envelope_ += ",\"object\":\"chat.completion.chunk\",\"created\":";
  envelope_ += std::to_string(created_);
  envelope_ += ",\"model\":";
  detail::appendJsonString(envelope_, model_);
  envelope_ += ",\"system_fingerprint\":null,\"choices\":";
  chunk(R"({"role":"assistant","content":"","refusal":null})", "null", out);
}

void ChatStreamEncoder::chunk(std::string_view delta, std::string_view finish_reason,
                              std::string& out) {
  out += envelope_;
  out += "[{\"index\":0,\"delta\":";
  out += delta;
  out += ",\"logprobs\":null,\"finish_reason\":";
  out += finish_reason;
  out += "}]";
  if (include_usage_) out += ",\"usage\":null";
  out += "}\n\n";
}

void ChatStreamEncoder::encode(const StreamEvent& event, std::string& out) {
  if (done_) return;
  if (event.type == StreamEvent::Type::kError) {
    out += encodeStreamError(event.error);
    out += kDone;
    done_ = true;
    return;
  }
  if (!started_) {
    start(event.type == StreamEvent::Type::kMessageStart ? std::string_view(event.id)
                                                         : std::string_view(),
          out);
  }
  switch (event.type) {
    case StreamEvent::Type::kMessageStart:
    case StreamEvent::Type::kBlockStop:
    case StreamEvent::Type::kError:
      break;
    case StreamEvent::Type::kBlockStart: {
      if (event.block_type != canonical::BlockType::kToolUse || event.index < 0) break;
      if (static_cast<std::size_t>(event.index) >= tool_of_block_.size()) {
        tool_of_block_.resize(event.index + 1, -1);
      }
      const int tool = next_tool_++;
      tool_of_block_[event.index] = tool;
      scratch_ = "{\"tool_calls\":[{\"index\":" + std::to_string(tool) + ",\"id\":";
      detail::appendJsonString(scratch_, event.id);
      scratch_ += ",\"type\":\"function\",\"function\":{\"name\":";
      detail::appendJsonString(scratch_, event.name);
      scratch_ += ",\"arguments\":\"\"}}]}";
      chunk(scratch_, "null", out);
      break;
    }
    case StreamEvent::Type::kBlockDelta: {
      if (event.text.empty()) break;
      switch (event.delta_type) {
        case canonical::DeltaType::kText:
          scratch_ = "{\"content\":";
          detail::appendJsonString(scratch_, event.text);
          scratch_ += "}";
          break;
        case canonical::DeltaType::kReasoningText:
          scratch_ = "{\"reasoning_content\":";
          detail::appendJsonString(scratch_, event.text);
          scratch_ += "}";
          break;
        case canonical::DeltaType::kToolInputJson: {
          if (event.index < 0 || static_cast<std::size_t>(event.index) >= tool_of_block_.size() ||
              tool_of_block_[event.index] < 0) {
            return;  // arguments for a call that never started: nothing to attach them to
          }
          scratch_ = "{\"tool_calls\":[{\"index\":" + std::to_string(tool_of_block_[event.index]) +
                     ",\"function\":{\"arguments\":";
          detail::appendJsonString(scratch_, event.text);
          scratch_ += "}}]}";
          break;
        }
        case canonical::DeltaType::kSignature:
          return;  // Chat has no place for signatures
      }
      chunk(scratch_, "null", out);
      break;
    }
    case StreamEvent::Type::kUsage:
      usage_ = event.usage;
      break;
    case StreamEvent::Type::kMessageStop: {
      // Canonical order puts Usage before MessageStop, so the finish chunk (and the usage chunk
      // that follows it) can be written now with the final totals.
      std::string finish = "\"";
      finish += detail::finishReason(event.stop_reason, next_tool_ > 0);
      finish += "\"";
      chunk("{}", finish, out);
      if (include_usage_) {
        out += envelope_;
        out += "[],\"usage\":";
        detail::appendUsageJson(out, usage_);
        out += "}\n\n";
      }
      out += kDone;
      done_ = true;
      break;
    }
  }
}

}  // namespace basalt::api::openai_chat
