#include "basalt/canonical/validate.h"

#include <string>
#include <unordered_set>

namespace basalt::canonical {
namespace {

std::string where(std::size_t message, std::size_t block) {
  return "messages[" + std::to_string(message) + "].content[" + std::to_string(block) + "]";
}

/// Decoded size of base64 text (padding and line breaks make this a slight overestimate).
std::size_t decodedSize(const std::string& base64) {
  return base64.size() / 4 * 3;
}

Result<void> checkImage(const ImageBlock& image, std::size_t message, std::size_t block) {
  if (decodedSize(image.data) <= kMaxImageBytes) return {};
  return Error::invalid("The image at " + where(message, block) + " is larger than " +
                            std::to_string(kMaxImageBytes >> 20U) + " MB.",
                        where(message, block));
}

}  // namespace

Result<void> validateConversation(const ChatRequest& request) {
  std::unordered_set<std::string> calls;
  for (std::size_t m = 0; m < request.messages.size(); ++m) {
    const Message& message = request.messages[m];
    for (std::size_t b = 0; b < message.content.size(); ++b) {
      const ContentBlock& block = message.content[b];
      if (const auto* use = std::get_if<ToolUseBlock>(&block)) {
        if (!use->id.empty()) calls.insert(use->id);
      } else if (const auto* result = std::get_if<ToolResultBlock>(&block)) {
        if (!calls.contains(result->tool_use_id)) {
          return Error::invalid("The tool result at " + where(m, b) + " answers tool call '" +
                                    result->tool_use_id.substr(0, 128) +
                                    "', which no earlier assistant turn made.",
                                where(m, b));
        }
        for (const ToolResultPart& part : result->content) {
          if (const auto* image = std::get_if<ImageBlock>(&part)) {
            if (Result<void> r = checkImage(*image, m, b); !r) return r;
          }
        }
      } else if (const auto* image = std::get_if<ImageBlock>(&block)) {
        if (Result<void> r = checkImage(*image, m, b); !r) return r;
      }
    }
  }
  return {};
}

}  // namespace basalt::canonical
