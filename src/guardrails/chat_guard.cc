#include "basalt/guardrails/chat_guard.h"

#include <algorithm>
#include <utility>
#include <variant>

namespace basalt::guardrails {
namespace {

using canonical::StreamEvent;

void merge(std::vector<Intervention>& into, const std::vector<Intervention>& from) {
  for (const Intervention& i : from) {
    auto it = std::find_if(into.begin(), into.end(), [&](const Intervention& x) {
      return x.type == i.type && x.action == i.action && x.name == i.name;
    });
    if (it == into.end()) {
      into.push_back(i);
    } else {
      it->count += i.count;
    }
  }
}

Action stronger(Action a, Action b) {
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

// Applies the guardrail to every TextBlock; masked texts are collected first and written back
// only when nothing blocks, so a blocked request stays as the client sent it.
Verdict guardBlocks(const Guardrail& g, Direction dir,
                    const std::vector<std::vector<canonical::ContentBlock>*>& lists) {
  Verdict v;
  std::vector<std::pair<canonical::TextBlock*, std::string>> rewrites;
  for (auto* list : lists) {
    for (auto& block : *list) {
      auto* text = std::get_if<canonical::TextBlock>(&block);
      if (text == nullptr || text->text.empty()) continue;
      Outcome o = g.apply(text->text, dir);
      if (o.action == Action::kNone) continue;
      v.action = stronger(v.action, o.action);
      merge(v.interventions, o.interventions);
      if (o.action == Action::kAnonymized) rewrites.emplace_back(text, std::move(o.text));
    }
  }
  if (!v.blocked()) {
    for (auto& [block, text] : rewrites) block->text = std::move(text);
  }
  return v;
}

}  // namespace

Verdict guardRequest(const Guardrail& guardrail, canonical::ChatRequest& request) {
  if (!guardrail.appliesTo(Direction::kInput)) return {};
  std::vector<std::vector<canonical::ContentBlock>*> lists{&request.system};
  for (auto& m : request.messages) lists.push_back(&m.content);
  return guardBlocks(guardrail, Direction::kInput, lists);
}

Verdict guardResponse(const Guardrail& guardrail, canonical::ChatResponse& response) {
  if (!guardrail.appliesTo(Direction::kOutput)) return {};
  Verdict v = guardBlocks(guardrail, Direction::kOutput, {&response.content});
  if (v.blocked()) {
    response.content.clear();
    response.content.emplace_back(canonical::TextBlock{guardrail.blockedMessage()});
    response.stop_reason = canonical::StopReason::kContentFilter;
    response.stop_sequence.clear();
  }
  return v;
}

GuardedStream::GuardedStream(const Guardrail& guardrail)
    : guardrail_(&guardrail), active_(guardrail.appliesTo(Direction::kOutput)) {}

GuardedStream::Block* GuardedStream::find(int index) {
  for (Block& b : blocks_) {
    if (b.index == index) return &b;
  }
  return nullptr;
}

std::vector<Intervention> GuardedStream::interventions() const {
  std::vector<Intervention> all = done_;
  for (const Block& b : blocks_) {
    if (b.open) merge(all, b.filter.interventions());
  }
  return all;
}

void GuardedStream::closeForBlock(int index, std::vector<StreamEvent>& out) {
  blocked_ = true;
  out.push_back(
      StreamEvent::delta(index, canonical::DeltaType::kText, guardrail_->blockedMessage()));
  for (Block& b : blocks_) {
    if (!b.open) continue;
    b.open = false;
    merge(done_, b.filter.interventions());
    out.push_back(StreamEvent::blockStop(b.index));
  }
  for (int i : open_other_) out.push_back(StreamEvent::blockStop(i));
  open_other_.clear();
  out.push_back(StreamEvent::messageStop(canonical::StopReason::kContentFilter));
}

void GuardedStream::process(StreamEvent event, std::vector<StreamEvent>& out) {
  if (blocked_) return;
  if (!active_) {
    out.push_back(std::move(event));
    return;
  }
  switch (event.type) {
    case StreamEvent::Type::kBlockStart:
      if (event.block_type == canonical::BlockType::kText) {
        blocks_.push_back(Block{event.index, true, guardrail_->stream(Direction::kOutput)});
      } else {
        open_other_.push_back(event.index);
      }
      out.push_back(std::move(event));
      return;
    case StreamEvent::Type::kBlockDelta: {
      Block* b = event.delta_type == canonical::DeltaType::kText ? find(event.index) : nullptr;
      if (b == nullptr || !b->open) {
        out.push_back(std::move(event));
        return;
      }
      StreamChunk c = b->filter.push(event.text);
      if (c.blocked) return closeForBlock(b->index, out);
      if (!c.text.empty()) {
        event.text = std::move(c.text);
        out.push_back(std::move(event));
      }
      return;
    }
    case StreamEvent::Type::kBlockStop: {
      Block* b = find(event.index);
      if (b == nullptr || !b->open) {
        std::erase(open_other_, event.index);
        out.push_back(std::move(event));
        return;
      }
      StreamChunk c = b->filter.finish();
      if (c.blocked) return closeForBlock(b->index, out);
      if (!c.text.empty()) {
        out.push_back(StreamEvent::delta(b->index, canonical::DeltaType::kText, std::move(c.text)));
      }
      b->open = false;
      merge(done_, b->filter.interventions());
      out.push_back(std::move(event));
      return;
    }
    case StreamEvent::Type::kMessageStop:
    case StreamEvent::Type::kError:
      // A well-formed stream has closed its blocks already; flush any that were left open so
      // held-back text is not lost (and still masked).
      for (Block& b : blocks_) {
        if (!b.open) continue;
        StreamChunk c = b.filter.finish();
        if (c.blocked) return closeForBlock(b.index, out);
        if (!c.text.empty()) {
          out.push_back(
              StreamEvent::delta(b.index, canonical::DeltaType::kText, std::move(c.text)));
        }
        b.open = false;
        merge(done_, b.filter.interventions());
      }
      out.push_back(std::move(event));
      return;
    case StreamEvent::Type::kMessageStart:
    case StreamEvent::Type::kUsage:
      out.push_back(std::move(event));
      return;
  }
}

}  // namespace basalt::guardrails
