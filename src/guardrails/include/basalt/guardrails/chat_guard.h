#pragma once
/// Guardrails applied to canonical requests, responses and streams: the calls the pipeline makes
/// (input before routing, output before encoding). Only text is evaluated, as Bedrock's
/// sensitive-information filter does: TextBlocks in the system prompt, in every message and in
/// the response. Tool-call arguments, tool results, reasoning text and opaque parts pass
/// unchanged (reasoning carries provider signatures that break if edited).

#include "basalt/canonical/chat.h"
#include "basalt/canonical/stream_event.h"
#include "basalt/guardrails/guardrail.h"
#include "basalt/guardrails/stream_filter.h"

#include <vector>

namespace basalt::guardrails {

/// What a guardrail did to a whole request or response.
struct Verdict {
  Action action = Action::kNone;
  std::vector<Intervention> interventions;  ///< merged over all texts

  bool blocked() const { return action == Action::kBlocked; }
};

/// Input side. Anonymizes the request's texts in place. On kBlocked the request is left as it
/// was and must not reach a provider: the caller answers with guardrail.blockedMessage() and
/// StopReason::kContentFilter. A no-op when the guardrail does not apply to input.
Verdict guardRequest(const Guardrail& guardrail, canonical::ChatRequest& request);

/// Output side of a non-streaming call. Anonymizes in place; on kBlocked replaces the content by
/// one TextBlock holding the blocked message and sets stop_reason = kContentFilter (each door
/// renders that as its own signal). Usage is kept (the tokens were spent).
Verdict guardResponse(const Guardrail& guardrail, canonical::ChatResponse& response);

/// Output side of a streaming call: rewrites the canonical event sequence. Each text block gets
/// its own StreamFilter; deltas are released as soon as they are safe, and whatever is held
/// back is flushed (masked) before the block's BlockStop. On a block the output ends with the
/// blocked message as a final text delta, BlockStop for every open block and
/// MessageStop(kContentFilter); the caller then stops reading upstream (blocked() is true).
class GuardedStream {
 public:
  /// `guardrail` must outlive this object. A guardrail that does not apply to output passes
  /// every event through.
  explicit GuardedStream(const Guardrail& guardrail);

  /// Appends the events to send for one upstream event (zero, one or several).
  void process(canonical::StreamEvent event, std::vector<canonical::StreamEvent>& out);

  bool blocked() const { return blocked_; }
  /// Interventions so far, merged over all text blocks.
  std::vector<Intervention> interventions() const;

 private:
  struct Block {
    int index = 0;
    bool open = true;
    StreamFilter filter;
  };
  Block* find(int index);
  void closeForBlock(int index, std::vector<canonical::StreamEvent>& out);

  const Guardrail* guardrail_;
  bool active_;
  bool blocked_ = false;
  std::vector<Block> blocks_;       ///< text blocks seen so far
  std::vector<int> open_other_;     ///< open non-text blocks (closed on a block)
  std::vector<Intervention> done_;  ///< interventions of finished text blocks
};

}  // namespace basalt::guardrails
