// Canonical stream events -> ConverseStream event-stream messages. Union discipline matters:
// botocore rejects a `start` or `delta` with zero or two members, so contentBlockStart is only
// sent for tool use (as real Bedrock does) and every delta carries exactly one member.

#include "stream_encoder.h"

#include "json_util.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::api::bedrock {

namespace json = boost::json;
using canonical::StreamEvent;

ConverseStreamEncoder::ConverseStreamEncoder() : started_at_(std::chrono::steady_clock::now()) {}

Headers ConverseStreamEncoder::headers() const {
  return {{"content-type", "application/vnd.amazon.eventstream"}};
}

void ConverseStreamEncoder::event(std::string_view type, std::string_view payload,
                                  std::string& out) {
  out += encodeBedrockEvent(type, payload);
}

void ConverseStreamEncoder::start(std::string& out) {
  if (started_) return;
  started_ = true;
  event("messageStart", R"({"role":"assistant"})", out);
}

void ConverseStreamEncoder::encode(const StreamEvent& e, std::string& out) {
  if (done_) return;
  switch (e.type) {
    case StreamEvent::Type::kMessageStart:
      start(out);
      break;
    case StreamEvent::Type::kBlockStart:
      start(out);
      if (e.block_type == canonical::BlockType::kToolUse) {
        saw_tool_ = true;
        json::object payload{
            {"contentBlockIndex", e.index},
            {"start",
             json::object{{"toolUse", json::object{{"toolUseId", e.id}, {"name", e.name}}}}}};
        event("contentBlockStart", json::serialize(payload), out);
      }
      break;
    case StreamEvent::Type::kBlockDelta: {
      start(out);
      if (e.text.empty()) break;  // an empty member is noise, and an empty text may be rejected
      json::object delta;
      switch (e.delta_type) {
        case canonical::DeltaType::kText:
          delta["text"] = e.text;
          break;
        case canonical::DeltaType::kToolInputJson:
          delta["toolUse"] = json::object{{"input", e.text}};
          break;
        case canonical::DeltaType::kReasoningText:
          delta["reasoningContent"] = json::object{{"text", e.text}};
          break;
        case canonical::DeltaType::kSignature:
          delta["reasoningContent"] = json::object{{"signature", e.text}};
          break;
      }
      json::object payload{{"contentBlockIndex", e.index}, {"delta", std::move(delta)}};
      event("contentBlockDelta", json::serialize(payload), out);
      break;
    }
    case StreamEvent::Type::kBlockStop:
      start(out);
      scratch_ = R"({"contentBlockIndex":)" + std::to_string(e.index) + "}";
      event("contentBlockStop", scratch_, out);
      break;
    case StreamEvent::Type::kUsage:
      usage_ = e.usage;
      break;
    case StreamEvent::Type::kMessageStop: {
      start(out);
      json::object stop{{"stopReason", stopReasonWord(e.stop_reason, saw_tool_)}};
      event("messageStop", json::serialize(stop), out);
      const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started_at_);
      json::object metadata{{"usage", detail::usageJson(usage_)},
                            {"metrics", json::object{{"latencyMs", elapsed.count()}}}};
      event("metadata", json::serialize(metadata), out);
      done_ = true;
      break;
    }
    case StreamEvent::Type::kError:
      out += encodeStreamError(e.error);
      done_ = true;
      break;
  }
}

}  // namespace basalt::api::bedrock
