#pragma once
/// The ConverseStream door's StreamEncoder (private to the codec; obtained through
/// DoorCodec::newStreamEncoder): canonical events -> event-stream messages (bedrock.md §1.5).

#include "basalt/api/bedrock/converse_codec.h"

#include <chrono>
#include <string>

namespace basalt::api::bedrock {

class ConverseStreamEncoder final : public canonical::StreamEncoder {
 public:
  ConverseStreamEncoder();
  void encode(const canonical::StreamEvent& event, std::string& out) override;
  Headers headers() const override;

 private:
  void event(std::string_view type, std::string_view payload, std::string& out);
  void start(std::string& out);

  std::chrono::steady_clock::time_point started_at_;
  std::string scratch_;
  bool started_ = false;
  bool done_ = false;
  bool saw_tool_ = false;
  canonical::Usage usage_;
};

}  // namespace basalt::api::bedrock
