#pragma once
/// The Messages door's StreamEncoder: EventEncoder's events framed as SSE (`event:` + `data:`,
/// wire.md §0 rule 6). Private to the codec; obtained through DoorCodec::newStreamEncoder.

#include "basalt/api/anthropic/messages_codec.h"

#include <string>
#include <vector>

namespace basalt::api::anthropic {

class SseStreamEncoder final : public canonical::StreamEncoder {
 public:
  explicit SseStreamEncoder(const canonical::ChatRequest& request);
  void encode(const canonical::StreamEvent& event, std::string& out) override;
  Headers headers() const override;

 private:
  EventEncoder encoder_;
  std::vector<WireEvent> scratch_;
};

}  // namespace basalt::api::anthropic
