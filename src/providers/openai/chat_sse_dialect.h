#pragma once
// Private to basalt_providers: the Chat Completions SSE dialect (`data: {chunk}` ... then
// `data: [DONE]`), shared by the OpenAI chat and Azure OpenAI adapters.

#include "basalt/api/openai_chat/chat_codec.h"
#include "basalt/providers/call_support.h"

namespace basalt::providers::openai {

class ChatSseDialect final : public SseDialect {
 public:
  Result<void> feed(const http::SseEvent& event,
                    std::vector<canonical::StreamEvent>& out) override {
    if (event.data.starts_with("[DONE]")) {
      done_ = true;
      return {};
    }
    Result<void> decoded = decoder_.feed(event.data, out);
    if (decoder_.sawFinishReason()) finished_ = true;
    for (const canonical::StreamEvent& e : out) {
      if (e.type == canonical::StreamEvent::Type::kMessageStop) finished_ = true;
    }
    return decoded;
  }

  bool ended() const override { return done_; }

  // A stream is complete with `[DONE]`, or (servers that omit it) once a finish_reason came.
  Result<void> finish(std::vector<canonical::StreamEvent>& out) override {
    if (!done_ && !finished_) {
      return Error{ErrorKind::kUpstreamError, "upstream closed the stream early"};
    }
    decoder_.finish(out);
    return {};
  }

 private:
  api::openai_chat::ChunkDecoder decoder_;
  bool done_ = false;      ///< `data: [DONE]`
  bool finished_ = false;  ///< a chunk with a finish_reason, or the decoder's MessageStop
};

}  // namespace basalt::providers::openai
