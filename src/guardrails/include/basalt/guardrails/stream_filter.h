#pragma once
/// Guardrails on streamed output. A StreamFilter takes the text deltas of one output stream and
/// returns what is safe to send now: it holds back only a suffix that could still become part of
/// a match and releases text as soon as it cannot (for token-like entities such as EMAIL or URL,
/// right after the next whitespace; for numbers with separators such as PHONE or
/// CREDIT_DEBIT_CARD_NUMBER, once the run of digits/separators ends). A match that spans deltas
/// is still anonymized. The concatenated output equals Guardrail::apply() on the concatenated
/// input, as long as no single match or partial token is longer than the hold-back cap
/// (kMaxHoldBack; beyond it the held text is released as if the stream ended there, masking any
/// match detected in it).

#include "basalt/guardrails/guardrail.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::guardrails {

/// What one push()/finish() produced.
struct StreamChunk {
  std::string text;      ///< safe to emit now (masked); may be empty
  bool blocked = false;  ///< a blocking match was found: stop and end with the content filter
};

class StreamFilter {
 public:
  /// The most bytes held back at any time (plus whatever the last delta added to a single
  /// in-progress token beyond it is released immediately).
  static constexpr std::size_t kMaxHoldBack = 1024;

  /// A filter that applies `guardrail` (which must outlive it) in `direction`. When the
  /// guardrail does not apply to that direction, everything passes through unchanged.
  StreamFilter(const Guardrail& guardrail, Direction direction);

  /// Feeds one delta. After a chunk with `blocked`, further pushes return nothing.
  StreamChunk push(std::string_view delta);
  /// Ends the stream: releases (masked) whatever is still held back.
  StreamChunk finish();

  bool blocked() const { return blocked_; }
  /// Bytes received but not yet released.
  std::size_t heldBack() const { return buffer_.size() - context_; }
  /// Interventions so far (same aggregation as Outcome::interventions).
  const std::vector<Intervention>& interventions() const { return interventions_; }

 private:
  StreamChunk release(bool final);

  const Guardrail* guardrail_;
  bool active_;
  bool blocked_ = false;
  bool finished_ = false;
  std::string buffer_;  ///< raw text: [0, context_) already released, the rest held back
  std::size_t context_ = 0;
  std::vector<Intervention> interventions_;
};

}  // namespace basalt::guardrails
