#pragma once
/// The canonical stream vocabulary. A provider turns its upstream stream into this sequence:
///
///   MessageStart (BlockStart Delta* BlockStop)* Usage? MessageStop
///
/// or, at any point after MessageStart, a single Error that ends the stream. Block indexes are
/// canonical (0, 1, 2 ... in order of BlockStart) whatever the upstream numbering. Usage may come
/// more than once; the last one wins and holds cumulative totals.

#include "basalt/canonical/chat.h"
#include "basalt/core/error.h"

#include <cstdint>
#include <string>

namespace basalt::canonical {

enum class BlockType : std::uint8_t { kText, kToolUse, kReasoning };

enum class DeltaType : std::uint8_t {
  kText,           ///< text block
  kToolInputJson,  ///< a fragment of a tool call's JSON arguments
  kReasoningText,  ///< thinking / reasoning summary text
  kSignature,      ///< reasoning signature (Anthropic) or encrypted content (OpenAI)
};

struct StreamEvent {
  enum class Type : std::uint8_t {
    kMessageStart,  ///< id, model
    kBlockStart,    ///< index, block_type; for tool use: id, name
    kBlockDelta,    ///< index, delta_type, text
    kBlockStop,     ///< index
    kUsage,         ///< usage
    kMessageStop,   ///< stop_reason, stop_sequence
    kError,         ///< error
  };

  Type type = Type::kMessageStart;
  int index = 0;
  BlockType block_type = BlockType::kText;
  DeltaType delta_type = DeltaType::kText;
  std::string id;     ///< message id (kMessageStart) or tool-call id (kBlockStart)
  std::string name;   ///< tool name (kBlockStart) or model (kMessageStart)
  std::string text;   ///< delta payload
  Usage usage;
  StopReason stop_reason = StopReason::kUnset;
  std::string stop_sequence;
  Error error;

  static StreamEvent messageStart(std::string id, std::string model);
  static StreamEvent blockStart(int index, BlockType type, std::string id = {},
                                std::string name = {});
  static StreamEvent delta(int index, DeltaType type, std::string text);
  static StreamEvent blockStop(int index);
  static StreamEvent usageEvent(const Usage& usage);
  static StreamEvent messageStop(StopReason reason, std::string stop_sequence = {});
  static StreamEvent errorEvent(Error error);
};

/// Folds a stream back into a ChatResponse (used to serve non-streaming requests from a
/// streaming upstream, for auditing token counts, and in tests).
class StreamAccumulator {
 public:
  void add(const StreamEvent& event);
  /// The response so far; complete after kMessageStop.
  const ChatResponse& response() const { return response_; }
  ChatResponse take() { return std::move(response_); }
  bool finished() const { return finished_; }
  bool failed() const { return failed_; }
  const Error& error() const { return error_; }

 private:
  ChatResponse response_;
  std::vector<int> block_slot_;  ///< canonical index -> position in response_.content
  bool finished_ = false;
  bool failed_ = false;
  Error error_;
};

}  // namespace basalt::canonical
