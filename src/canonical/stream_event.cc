#include "basalt/canonical/stream_event.h"

#include "basalt/core/assert.h"

namespace basalt::canonical {

StreamEvent StreamEvent::messageStart(std::string id, std::string model) {
  StreamEvent e;
  e.type = Type::kMessageStart;
  e.id = std::move(id);
  e.name = std::move(model);
  return e;
}

StreamEvent StreamEvent::blockStart(int index, BlockType type, std::string id, std::string name) {
  StreamEvent e;
  e.type = Type::kBlockStart;
  e.index = index;
  e.block_type = type;
  e.id = std::move(id);
  e.name = std::move(name);
  return e;
}

StreamEvent StreamEvent::delta(int index, DeltaType type, std::string text) {
  StreamEvent e;
  e.type = Type::kBlockDelta;
  e.index = index;
  e.delta_type = type;
  e.text = std::move(text);
  return e;
}

StreamEvent StreamEvent::blockStop(int index) {
  StreamEvent e;
  e.type = Type::kBlockStop;
  e.index = index;
  return e;
}

StreamEvent StreamEvent::usageEvent(const Usage& usage) {
  StreamEvent e;
  e.type = Type::kUsage;
  e.usage = usage;
  return e;
}

StreamEvent StreamEvent::messageStop(StopReason reason, std::string stop_sequence) {
  StreamEvent e;
  e.type = Type::kMessageStop;
  e.stop_reason = reason;
  e.stop_sequence = std::move(stop_sequence);
  return e;
}

StreamEvent StreamEvent::errorEvent(Error error) {
  StreamEvent e;
  e.type = Type::kError;
  e.error = std::move(error);
  return e;
}

void StreamAccumulator::add(const StreamEvent& event) {
  using T = StreamEvent::Type;
  switch (event.type) {
    case T::kMessageStart:
      response_.id = event.id;
      response_.model = event.name;
      break;
    case T::kBlockStart: {
      if (event.index < 0) {
        BASALT_BUG("negative block index");
        return;
      }
      if (static_cast<std::size_t>(event.index) >= block_slot_.size()) {
        block_slot_.resize(event.index + 1, -1);
      }
      block_slot_[event.index] = static_cast<int>(response_.content.size());
      switch (event.block_type) {
        case BlockType::kText: response_.content.emplace_back(TextBlock{}); break;
        case BlockType::kToolUse:
          response_.content.emplace_back(ToolUseBlock{event.id, event.name, {}, ToolKind::kFunction});
          break;
        case BlockType::kReasoning: response_.content.emplace_back(ReasoningBlock{}); break;
      }
      break;
    }
    case T::kBlockDelta: {
      if (event.index < 0 || static_cast<std::size_t>(event.index) >= block_slot_.size() ||
          block_slot_[event.index] < 0) {
        BASALT_BUG("delta for a block that was not started");
        return;
      }
      ContentBlock& block = response_.content[block_slot_[event.index]];
      if (auto* text = std::get_if<TextBlock>(&block)) {
        text->text += event.text;
      } else if (auto* tool = std::get_if<ToolUseBlock>(&block)) {
        tool->input_json += event.text;
      } else if (auto* reasoning = std::get_if<ReasoningBlock>(&block)) {
        if (event.delta_type == DeltaType::kSignature) {
          reasoning->signature += event.text;
        } else {
          reasoning->text += event.text;
        }
      }
      break;
    }
    case T::kBlockStop:
      if (event.index >= 0 && static_cast<std::size_t>(event.index) < block_slot_.size() &&
          block_slot_[event.index] >= 0) {
        if (auto* tool = std::get_if<ToolUseBlock>(&response_.content[block_slot_[event.index]])) {
          if (tool->input_json.empty()) tool->input_json = "{}";
        }
      }
      break;
    case T::kUsage: response_.usage = event.usage; break;
    case T::kMessageStop:
      response_.stop_reason = event.stop_reason;
      response_.stop_sequence = event.stop_sequence;
      finished_ = true;
      break;
    case T::kError:
      failed_ = true;
      error_ = event.error;
      break;
  }
}

}  // namespace basalt::canonical
