#pragma once
/// Anthropic Messages wire format <-> canonical, in both directions: the front door
/// (`POST /v1/messages`, `/v1/messages/count_tokens`) and the anthropic provider share it, so
/// the format is known in exactly one place (docs/adr/0003-one-codec-per-wire-format.md).
/// The Bedrock InvokeModel door (api/bedrock_invoke) reuses the body codec with
/// `anthropic_version` in the body and the stream events wrapped in event-stream frames.

#include "basalt/canonical/chat.h"
#include "basalt/canonical/door_codec.h"
#include "basalt/canonical/stream_event.h"
#include "basalt/core/error.h"
#include "basalt/core/exchange.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::api::anthropic {

// ---- front door ----

/// The Messages door codec (door = kAnthropicMessages). `decode` also copies the client's
/// `anthropic-beta` header into ChatRequest::anthropic_beta.
std::unique_ptr<canonical::DoorCodec> makeDoorCodec();

struct DecodeOptions {
  /// Bedrock InvokeModel body: `anthropic_version` is required, `model` and `stream` are not
  /// read from the body (they come from the path and the operation), `anthropic_beta` (array)
  /// fills ChatRequest::anthropic_beta.
  bool bedrock = false;
  std::string model;    ///< the model when `bedrock`
  bool stream = false;  ///< the stream flag when `bedrock`
  /// A count_tokens body: `max_tokens` is not required.
  bool count_tokens = false;
};

/// Parses and validates a Messages request body. Errors are kInvalidRequest with Anthropic's
/// wording ("max_tokens: Field required") and `param` naming the field path
/// ("messages.1.content.0.text"). Top-level fields Basalt does not model (service_tier,
/// container, mcp_servers, context_management, thinking of an unmodelled type ...) travel in
/// `extras` (vendor kAnthropic, capped at 1 MiB).
Result<canonical::ChatRequest> decodeRequest(std::string_view body,
                                             const DecodeOptions& options = {});

/// The non-streamed `message` object answering `request` (model = the name the client sent).
std::string encodeResponseBody(const canonical::ChatResponse& response,
                               const canonical::ChatRequest& request);

/// The Anthropic error type for an error ("invalid_request_error", "overloaded_error" ...).
const char* errorType(const Error& error);
/// `{"type":"error","error":{"type":...,"message":...}}`.
std::string errorBody(const Error& error);
/// Anthropic's error reply: status httpStatus(kind) (529 when the upstream itself said 529),
/// retry-after on 429/503/529.
canonical::EncodedReply encodeError(const Error& error);
/// The `event: error` SSE frame a Messages stream carries when it fails once started.
std::string encodeStreamError(const Error& error);

/// `{"input_tokens": N}` for `POST /v1/messages/count_tokens`; N = estimateInputTokens.
std::string encodeCountTokens(const canonical::ChatRequest& request);
/// A deterministic estimate (no tokenizer): ceil(bytes / 4) over the system prompt, every text,
/// tool-call name and arguments, tool-result text, reasoning text, opaque block JSON and tool
/// definition (name, description, schema), plus 1,600 per image (Anthropic's cap for one
/// image); at least 1.
std::int64_t estimateInputTokens(const canonical::ChatRequest& request);

/// The Anthropic `GET /v1/models` list body (wire.md §0 rule 9):
/// `{"data":[{"type":"model","id","display_name","created_at"}],"has_more","first_id","last_id"}`.
std::string encodeModelList(const std::vector<std::string>& model_names);
/// One model object (`GET /v1/models/{id}`).
std::string encodeModel(std::string_view model_name);

/// Stop reason words, both directions (wire.md §6.8). kUnset falls back to "tool_use" when the
/// answer holds tool calls, else "end_turn"; content filter / guardrail -> "refusal".
const char* stopReasonWord(canonical::StopReason reason, bool has_tool_use);
canonical::StopReason stopReasonFromWord(std::string_view word);

/// One stream event of the Messages format: its SSE name and its JSON object text.
struct WireEvent {
  std::string name;  ///< "message_start", "content_block_delta", "ping", "error" ...
  std::string json;
};

/// canonical::StreamEvent -> Messages stream events, without framing (the Messages door frames
/// them as SSE, the InvokeModel door as base64 event-stream chunks). One per response.
///
/// message_start is written at the first event after kMessageStart (so a usage event that
/// comes right after the start can fill its input tokens), followed by a ping. Blocks are
/// renumbered 0, 1, ... in order; a block still open at kMessageStop is closed first. The final
/// usage goes in message_delta (input_tokens excluding cache reads/writes, output_tokens,
/// cache_creation_input_tokens, cache_read_input_tokens).
class EventEncoder {
 public:
  explicit EventEncoder(std::string model, std::string request_id = {});
  void encode(const canonical::StreamEvent& event, std::vector<WireEvent>& out);
  bool done() const { return done_; }
  /// The last usage seen (for InvokeModel's invocation metrics).
  const canonical::Usage& usage() const { return usage_; }
  /// Input tokens `message_start` reports when the provider has not said yet (OpenAI-format
  /// upstreams report usage only at the end); the real count follows in `message_delta`.
  void setInputEstimate(std::int64_t tokens) { input_estimate_ = tokens; }

 private:
  void start(std::vector<WireEvent>& out);
  void closeOpen(std::vector<WireEvent>& out);

  std::string model_;
  std::string request_id_;
  std::string upstream_id_;
  bool started_ = false;
  bool done_ = false;
  std::vector<int> wire_index_;  ///< canonical block index -> wire index, or -1
  std::vector<bool> open_;       ///< wire index -> still open
  int next_index_ = 0;
  bool saw_tool_ = false;
  canonical::Usage usage_;
  std::int64_t input_estimate_ = 0;
};

/// The door's message id: the provider's id when it already is a `msg_` id, else `msg_` +
/// the gateway request id (alphanumerics only), else a random `msg_` id.
std::string messageId(std::string_view provider_id, std::string_view request_id);

// ---- provider side: canonical -> upstream Messages and back ----

struct UpstreamRequestOptions {
  std::string_view model;  ///< the provider's model id
  /// Used when the request has none (Anthropic requires max_tokens); else 4096.
  std::optional<std::int64_t> max_tokens_default;
  bool stream = false;
  /// Bedrock InvokeModel body: `"anthropic_version":"bedrock-2023-05-31"`, no model/stream,
  /// the request's anthropic_beta as an `anthropic_beta` array.
  bool bedrock = false;
};

/// The JSON body to POST to `{base_url}/v1/messages`, from a request of any door (wire.md
/// §6.11): system/developer content hoisted into `system`, user-first alternation with
/// same-role merging, tool results first in their user turn (missing ones synthesized as
/// errors, orphans turned into text), tool ids made `^[a-zA-Z0-9_-]{1,64}$` deterministically
/// (a valid id is unchanged, so ids round-trip), no empty text, thinking blocks only with a
/// signature, a placeholder tool when the history holds tool blocks but no tools are declared,
/// thinking from `reasoning` (forced tool_choice downgraded to auto, sampling settings dropped),
/// a JSON response_format as a system instruction (Messages has no such field).
/// Request extras of vendor kAnthropic are merged back in.
std::string encodeUpstreamRequest(const canonical::ChatRequest& request,
                                  const UpstreamRequestOptions& options);

/// Parses a non-streamed upstream `message` body; usage input includes cache reads/writes.
Result<canonical::ChatResponse> decodeUpstreamResponse(std::string_view body);

/// The error an upstream non-2xx answer (or an `event: error` payload, status 0) stands for:
/// by the body's `error.type` when present (overloaded_error -> kUpstreamUnavailable,
/// rate_limit_error -> kRateLimited, authentication/permission -> kUpstreamError ...), else by
/// status. retry_after_s from the headers; upstream_status set.
Error decodeUpstreamError(int status, const Headers& headers, std::string_view body);

/// Turns an upstream Messages SSE stream into canonical events. Usage: a first Usage event
/// right after MessageStart when message_start reports input tokens, and the cumulative totals
/// before MessageStop (input from message_start, output from the last message_delta, cache
/// reads/writes added into input_tokens).
class StreamDecoder {
 public:
  /// Feeds one SSE event (`event:` name and `data:` payload). An `error` event or an
  /// unparseable payload returns the error.
  Result<void> feed(std::string_view event, std::string_view data,
                    std::vector<canonical::StreamEvent>& out);
  /// At end of body: closes open blocks and emits usage + MessageStop if still due.
  void finish(std::vector<canonical::StreamEvent>& out);
  bool started() const { return started_; }
  /// Whether message_stop arrived: a body that ends without it was cut off.
  bool sawMessageStop() const { return stopped_; }

 private:
  void emitStop(std::vector<canonical::StreamEvent>& out);
  canonical::Usage currentUsage() const;

  struct Slot {
    int canonical = -1;  ///< -1: a block type Basalt does not stream (skipped)
    bool open = false;
  };

  bool started_ = false;
  bool stopped_ = false;
  std::vector<Slot> slots_;  ///< upstream index -> canonical block
  int next_index_ = 0;
  canonical::StopReason stop_reason_ = canonical::StopReason::kUnset;
  std::string stop_sequence_;
  std::int64_t input_ = 0;
  std::int64_t output_ = 0;
  std::int64_t cache_read_ = 0;
  std::int64_t cache_write_ = 0;
};

}  // namespace basalt::api::anthropic
