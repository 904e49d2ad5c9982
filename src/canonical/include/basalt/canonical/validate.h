#pragma once
/// Checks every door's decoded request needs the same way, whatever its wire format: a request
/// that would change meaning when translated for another vendor is refused up front with a
/// clear 400 instead of being silently repaired by a provider codec.

#include "basalt/canonical/chat.h"
#include "basalt/core/error.h"

#include <cstddef>

namespace basalt::canonical {

/// Largest inline image Basalt forwards, decoded (every vendor's own limit is at most this).
inline constexpr std::size_t kMaxImageBytes = 20U << 20U;

/// kInvalidRequest (param names the message and block) when
///  - a tool result answers no tool call of an earlier assistant turn (tool_use_id unknown), or
///  - an inline image is larger than kMaxImageBytes.
Result<void> validateConversation(const ChatRequest& request);

}  // namespace basalt::canonical
