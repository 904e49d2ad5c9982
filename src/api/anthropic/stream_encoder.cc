// canonical::StreamEvent -> Messages stream events (wire.md §4.4, §6.10) and their SSE framing.
// Delta frames, by far the most frequent, are written by hand; the rare envelopes use
// Boost.JSON.

#include "stream_encoder.h"

#include "json_util.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::anthropic {

namespace json = boost::json;
using canonical::StreamEvent;

EventEncoder::EventEncoder(std::string model, std::string request_id)
    : model_(std::move(model)), request_id_(std::move(request_id)) {}

void EventEncoder::start(std::vector<WireEvent>& out) {
  started_ = true;
  canonical::Usage shown = usage_;
  if (shown.input_tokens == 0) shown.input_tokens = input_estimate_;
  json::object usage = detail::usageJson(shown);
  json::object message{{"id", messageId(upstream_id_, request_id_)},
                       {"type", "message"},
                       {"role", "assistant"},
                       {"model", model_},
                       {"content", json::array()},
                       {"stop_reason", nullptr},
                       {"stop_sequence", nullptr},
                       {"usage", std::move(usage)}};
  out.push_back({"message_start", json::serialize(json::object{{"type", "message_start"},
                                                               {"message", std::move(message)}})});
  out.push_back({"ping", R"({"type":"ping"})"});
}

void EventEncoder::closeOpen(std::vector<WireEvent>& out) {
  for (std::size_t i = 0; i < open_.size(); ++i) {
    if (!open_[i]) continue;
    open_[i] = false;
    out.push_back({"content_block_stop",
                   R"({"type":"content_block_stop","index":)" + std::to_string(i) + "}"});
  }
}

void EventEncoder::encode(const StreamEvent& event, std::vector<WireEvent>& out) {
  if (done_) return;
  switch (event.type) {
    case StreamEvent::Type::kMessageStart:
      upstream_id_ = event.id;
      if (model_.empty()) model_ = event.name;
      return;
    case StreamEvent::Type::kUsage:
      usage_ = event.usage;
      return;
    case StreamEvent::Type::kError:
      done_ = true;
      out.push_back({"error", errorBody(event.error)});
      return;
    default:
      break;
  }
  if (!started_) start(out);
  const auto wireIndex = [&](int canonical_index) {
    if (canonical_index < 0 || static_cast<std::size_t>(canonical_index) >= wire_index_.size()) {
      return -1;
    }
    return wire_index_[canonical_index];
  };
  switch (event.type) {
    case StreamEvent::Type::kBlockStart: {
      if (event.index < 0) return;
      if (static_cast<std::size_t>(event.index) >= wire_index_.size()) {
        wire_index_.resize(event.index + 1, -1);
      }
      const int index = next_index_++;
      wire_index_[event.index] = index;
      open_.push_back(true);
      json::object block;
      switch (event.block_type) {
        case canonical::BlockType::kText:
          block = json::object{{"type", "text"}, {"text", ""}};
          break;
        case canonical::BlockType::kToolUse:
          saw_tool_ = true;
          block = json::object{{"type", "tool_use"},
                               {"id", event.id},
                               {"name", event.name},
                               {"input", json::object()}};
          break;
        case canonical::BlockType::kReasoning:
          block = json::object{{"type", "thinking"}, {"thinking", ""}, {"signature", ""}};
          break;
      }
      out.push_back({"content_block_start",
                     json::serialize(json::object{{"type", "content_block_start"},
                                                  {"index", index},
                                                  {"content_block", std::move(block)}})});
      return;
    }
    case StreamEvent::Type::kBlockDelta: {
      const int index = wireIndex(event.index);
      if (index < 0 || !open_[index]) return;  // a delta for a block that never started
      std::string data = R"({"type":"content_block_delta","index":)" + std::to_string(index) +
                         R"(,"delta":{"type":)";
      switch (event.delta_type) {
        case canonical::DeltaType::kText:
          if (event.text.empty()) return;
          data += R"("text_delta","text":)";
          break;
        case canonical::DeltaType::kToolInputJson:
          data += R"("input_json_delta","partial_json":)";
          break;
        case canonical::DeltaType::kReasoningText:
          if (event.text.empty()) return;
          data += R"("thinking_delta","thinking":)";
          break;
        case canonical::DeltaType::kSignature:
          if (event.text.empty()) return;
          data += R"("signature_delta","signature":)";
          break;
      }
      detail::appendJsonString(data, event.text);
      data += "}}";
      out.push_back({"content_block_delta", std::move(data)});
      return;
    }
    case StreamEvent::Type::kBlockStop: {
      const int index = wireIndex(event.index);
      if (index < 0 || !open_[index]) return;
      open_[index] = false;
      out.push_back({"content_block_stop",
                     R"({"type":"content_block_stop","index":)" + std::to_string(index) + "}"});
      return;
    }
    case StreamEvent::Type::kMessageStop: {
      closeOpen(out);
      json::object delta{{"stop_reason", stopReasonWord(event.stop_reason, saw_tool_)}};
      if (event.stop_sequence.empty()) {
        delta["stop_sequence"] = nullptr;
      } else {
        delta["stop_sequence"] = event.stop_sequence;
      }
      out.push_back(
          {"message_delta", json::serialize(json::object{{"type", "message_delta"},
                                                         {"delta", std::move(delta)},
                                                         {"usage", detail::usageJson(usage_)}})});
      out.push_back({"message_stop", R"({"type":"message_stop"})"});
      done_ = true;
      return;
    }
    default:
      return;
  }
}

SseStreamEncoder::SseStreamEncoder(const canonical::ChatRequest& request)
    : encoder_(request.model, request.request_id) {
  encoder_.setInputEstimate(estimateInputTokens(request));
}

Headers SseStreamEncoder::headers() const {
  Headers h{{"content-type", "text/event-stream; charset=utf-8"}, {"cache-control", "no-cache"}};
  return h;
}

void SseStreamEncoder::encode(const StreamEvent& event, std::string& out) {
  scratch_.clear();
  encoder_.encode(event, scratch_);
  for (const WireEvent& e : scratch_) {
    out += "event: ";
    out += e.name;
    out += "\ndata: ";
    out += e.json;
    out += "\n\n";
  }
}

}  // namespace basalt::api::anthropic
