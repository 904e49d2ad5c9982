#pragma once
/// Bedrock Runtime InvokeModel / InvokeModelWithResponseStream (`POST /model/{id}/invoke`,
/// `/invoke-with-response-stream`, door = kBedrockInvoke; bedrock.md §1.6). The body is the
/// target vendor's native body, so this door only picks the vendor codec and re-frames:
///  - a body with `anthropic_version` is an Anthropic Messages body (Claude on Bedrock), decoded
///    by api::anthropic with `DecodeOptions::bedrock` (model from the path, no model/stream in
///    the body); the answer is the native `message` body, the stream Anthropic's events;
///  - a body without it and with `messages` is an OpenAI Chat Completions body (gpt-oss on
///    Bedrock), decoded by api::openai_chat; the answer is a `chat.completion`, the stream its
///    chunks.
/// Streams are event-stream `chunk` events with payload `{"bytes":"<base64 of one native
/// event JSON>"}`; errors are Bedrock's (api::bedrock::encodeError / encodeStreamError).
///
/// The body format travels in the canonical request as `extras.vendor` (kAnthropic or
/// kOpenAI, even when `extras.json` is empty): see bodyFormat().

#include "basalt/canonical/chat.h"
#include "basalt/canonical/door_codec.h"
#include "basalt/core/error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::api::bedrock_invoke {

enum class BodyFormat : std::uint8_t { kAnthropic, kOpenAIChat };

/// The codec for both operations; `decode` reads the operation and model from the path.
std::unique_ptr<canonical::DoorCodec> makeDoorCodec();

/// Decodes a native body for `model`. Errors are kInvalidRequest (ValidationException): a body
/// that is not a JSON object, has neither `anthropic_version` nor `messages`, or fails the
/// vendor codec's validation (its message and param are kept).
Result<canonical::ChatRequest> decodeRequest(std::string_view body, std::string model, bool stream);

/// The format a decoded request's body had.
BodyFormat bodyFormat(const canonical::ChatRequest& request);

/// The native non-streamed body answering `request`.
std::string encodeResponseBody(const canonical::ChatResponse& response,
                               const canonical::ChatRequest& request);

/// One `chunk` event-stream message carrying `native_json` base64-encoded.
std::string encodeChunk(std::string_view native_json);

/// Standard base64 (with padding), both ways; decode fails (nullopt) on invalid input.
std::string base64Encode(std::string_view bytes);
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace basalt::api::bedrock_invoke
