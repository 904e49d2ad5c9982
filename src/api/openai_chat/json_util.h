#pragma once
/// Private helpers shared by the Chat Completions codec's translation units: JSON type names in
/// OpenAI's error wording, a fast JSON string escaper for hand-written SSE frames, and the
/// finish_reason / usage mappings used by both the response and the stream encoder.

#include "basalt/canonical/chat.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::api::openai_chat::detail {

/// "a string", "an integer", "a decimal", "a boolean", "an object", "an array", "null":
/// the wording OpenAI uses in "Invalid type for 'x': expected ..., but got ... instead."
const char* typeName(const boost::json::value& v);

/// Appends `s` as a JSON string literal (with quotes) to `out`.
void appendJsonString(std::string& out, std::string_view s);

/// Parses JSON text without throwing; nullopt when `text` is not valid JSON.
std::optional<boost::json::value> parseJson(std::string_view text);

/// The Chat `finish_reason` for a canonical stop reason. kUnset falls back to "tool_calls"
/// when the answer holds tool calls, else "stop".
const char* finishReason(canonical::StopReason reason, bool has_tool_calls);

/// The canonical stop reason for an upstream `finish_reason` string.
canonical::StopReason stopReasonFromFinish(std::string_view finish_reason);

/// OpenAI's `usage` object, with prompt/completion token details.
boost::json::object usageJson(const canonical::Usage& usage);

/// Reads an upstream `usage` object (OpenAI, vLLM, Ollama, llama.cpp, LiteLLM extensions).
canonical::Usage usageFromJson(const boost::json::object& usage);

/// Integer view of a JSON number (integral doubles included); nullopt otherwise.
std::optional<std::int64_t> asInt(const boost::json::value& v);

/// The door's response id: the provider's id when it already is a `chatcmpl-` id, else a
/// fresh random one.
std::string responseId(std::string_view provider_id);

/// Seconds since the Unix epoch.
std::int64_t unixNow();

}  // namespace basalt::api::openai_chat::detail
