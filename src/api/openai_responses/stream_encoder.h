#pragma once
/// The Responses door's StreamEncoder (private; obtained through DoorCodec::newStreamEncoder):
/// canonical events -> the SSE event sequence of wire.md §2.5, `event:` and `data:` lines,
/// sequence_number from 0, no [DONE].

#include "basalt/api/openai_responses/responses_codec.h"

#include "items.h"

#include <string>
#include <vector>

namespace basalt::api::openai_responses {

class ResponsesStreamEncoder final : public canonical::StreamEncoder {
 public:
  explicit ResponsesStreamEncoder(const canonical::ChatRequest& request);
  void encode(const canonical::StreamEvent& event, std::string& out) override;
  Headers headers() const override;

 private:
  /// What an open canonical block is on the wire.
  struct Block {
    enum class Kind { kNone, kText, kReasoning, kCall } kind = Kind::kNone;
    std::size_t output_index = 0;
    int content_index = 0;
    std::string item_id;
    std::string call_id;
    std::string name;
    detail::CallShape shape = detail::CallShape::kFunction;
    std::string text;       ///< accumulated text / arguments / reasoning summary
    std::string signature;  ///< reasoning signature or encrypted content
    bool summary_open = false;
    bool open = false;
  };

  void start(std::string& out);
  void emit(std::string_view type, detail::json::object event, std::string& out);
  void startBlock(const canonical::StreamEvent& event, std::string& out);
  void delta(const canonical::StreamEvent& event, std::string& out);
  void stopBlock(int index, std::string& out);
  /// Ends the open message item (output_item.done), if any.
  void closeMessage(std::string& out);
  void finish(canonical::StopReason reason, std::string& out);
  void fail(const Error& error, std::string& out);
  Block* block(int index);

  canonical::ChatRequest request_;  ///< without messages
  std::string id_;
  std::string hex_;
  std::int64_t created_at_ = 0;
  std::int64_t sequence_ = 0;
  bool started_ = false;
  bool done_ = false;
  std::vector<Block> blocks_;   ///< by canonical index
  detail::json::array output_;  ///< finished output items, in output_index order
  std::size_t next_output_ = 0;
  // The open message item: consecutive text blocks are its content parts.
  bool message_open_ = false;
  std::size_t message_index_ = 0;
  std::string message_id_;
  detail::json::array message_parts_;
  canonical::Usage usage_;
};

}  // namespace basalt::api::openai_responses
