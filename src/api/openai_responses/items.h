#pragma once
/// Private to the Responses codec: Responses items <-> canonical messages (shared by the door's
/// request decoder, the upstream encoder and the stored-conversation helpers) and the output
/// item / Response object builders (shared by the response body and the stream encoder).

#include "json_util.h"

#include <string>
#include <string_view>
#include <vector>

namespace basalt::api::openai_responses::detail {

/// Decodes Responses input items (`path` is "input" for error params) and appends them to
/// `out`. Unknown item fields of message items go to Message::extras; `extras_bytes` counts
/// what extras hold against the 1 MiB cap.
Result<void> decodeItems(const json::array& items, const std::string& path,
                         std::vector<canonical::Message>& out, std::size_t& extras_bytes);

/// Encodes canonical messages as Responses input items. `faithful` (a request that came in
/// through this door) re-emits item extras and reasoning items without OpenAI ciphertext;
/// otherwise only what an OpenAI upstream can use is sent. `calls` supplies tool-call kinds
/// for tool results (all tool uses of the conversation).
/// `stored`: for Basalt's own store, reasoning of every vendor is kept (its signature in the
/// gw1 envelope) so a later turn can restore it.
json::array encodeItems(const std::vector<canonical::Message>& messages, bool faithful,
                        const std::vector<canonical::ToolUseBlock>& calls, bool stored = false);
/// All tool uses in `messages` (and `extra` content), for encodeItems' kind lookup.
std::vector<canonical::ToolUseBlock> collectCalls(
    const std::vector<canonical::Message>& messages,
    const std::vector<canonical::ContentBlock>* extra);

/// A tool in Responses' flat form. `faithful`: raw OpenAI tool JSON is re-emitted verbatim.
/// Returns a null value for a tool that cannot be sent (another vendor's hosted tool).
json::value toolJson(const canonical::ToolSpec& tool, bool faithful);
/// tool_choice, or null when unset.
json::value toolChoiceJson(const canonical::ChatRequest& request);
/// text.format for the request's response_format, or null when unset.
json::value textFormatJson(const canonical::ResponseFormat& format);
/// The instructions text (system blocks joined by a blank line), or "" when none.
std::string instructionsOf(const canonical::ChatRequest& request);

// ---- output side ----

/// What a canonical tool call is on the Responses wire.
enum class CallShape { kFunction, kCustom, kLocalShell };
CallShape callShape(const canonical::ToolUseBlock& call, const canonical::ChatRequest& request);

json::object reasoningItem(std::string_view id, std::string_view summary,
                           std::string_view encrypted, bool done);
json::object outputText(std::string_view text);
json::object messageItem(std::string_view id, json::array content, bool done);
/// function_call / custom_tool_call / local_shell_call item. `input` is the arguments JSON
/// text (function), the raw input (custom) or the action JSON (local shell).
json::object callItem(CallShape shape, std::string_view id, std::string_view call_id,
                      std::string_view name, std::string_view input, bool done);
/// The output item id for the n-th item of response `hex`: "<prefix>_<hex>_<n>".
std::string itemId(std::string_view prefix, std::string_view hex, std::size_t n);

/// The output items of a complete response.
json::array outputItems(const canonical::ChatResponse& response,
                        const canonical::ChatRequest& request, std::string_view hex);

/// The Response object (wire.md §2.4) with the request's parameters echoed. `usage` null
/// while in progress.
json::object responseObject(const canonical::ChatRequest& request, std::string_view id,
                            std::int64_t created_at, std::string_view status, json::array output,
                            json::value usage);

/// incomplete_details.reason for a stop reason, or "" when the response is complete.
std::string_view incompleteReason(canonical::StopReason reason);

}  // namespace basalt::api::openai_responses::detail
