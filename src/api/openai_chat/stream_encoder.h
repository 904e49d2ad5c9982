#pragma once
/// The Chat Completions door's StreamEncoder (private to the codec; obtained through
/// DoorCodec::newStreamEncoder).

#include "basalt/api/openai_chat/chat_codec.h"

#include <string>
#include <string_view>
#include <vector>

namespace basalt::api::openai_chat {

class ChatStreamEncoder final : public canonical::StreamEncoder {
 public:
  explicit ChatStreamEncoder(const canonical::ChatRequest& request);
  void encode(const canonical::StreamEvent& event, std::string& out) override;
  Headers headers() const override;

 private:
  void start(std::string_view upstream_id, std::string& out);
  /// One `chat.completion.chunk` frame with `delta` (JSON object text) and `finish_reason`
  /// (JSON text: null or a quoted string).
  void chunk(std::string_view delta, std::string_view finish_reason, std::string& out);

  std::string model_;
  bool include_usage_ = false;
  std::int64_t created_ = 0;
  std::string envelope_;  ///< `data: {"id":...,"choices":` shared by every frame
  std::string scratch_;   ///< reused buffer for the current delta
  bool started_ = false;
  bool done_ = false;
  std::vector<int> tool_of_block_;  ///< canonical block index -> Chat tool_calls index
  int next_tool_ = 0;
  canonical::Usage usage_;
};

}  // namespace basalt::api::openai_chat
