#pragma once
/// OpenAI Chat Completions wire format <-> canonical, in both directions: the front door
/// (`POST /v1/chat/completions`) and the OpenAI-type provider (`api = "chat"`) share it, so the
/// format is known in exactly one place. See docs/adr/0003-one-codec-per-wire-format.md.

#include "basalt/canonical/chat.h"
#include "basalt/canonical/door_codec.h"
#include "basalt/canonical/stream_event.h"
#include "basalt/core/error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::api::openai_chat {

/// The front door codec: validates a client's request, encodes responses, SSE and errors.
std::unique_ptr<canonical::DoorCodec> makeDoorCodec();

/// `GET /v1/models` body that the OpenAI SDK, the Anthropic SDK/Claude Code and Codex accept.
/// `codex` adds the `models` array Codex reads (when the query has client_version).
std::string encodeModelList(const std::vector<std::string>& model_names, bool codex);

/// Parses and validates a Chat Completions request body (what the door's `decode` does).
/// Errors are kInvalidRequest with OpenAI's wording and `param` naming the field path
/// ("messages[2].content", "temperature"). Unknown top-level fields land in `extras`.
Result<canonical::ChatRequest> decodeRequest(std::string_view body);

/// The non-streamed `chat.completion` body for `response`, answering `request`.
std::string encodeResponseBody(const canonical::ChatResponse& response,
                               const canonical::ChatRequest& request);

/// OpenAI's error reply: status from httpStatus(kind), `{"error":{message,type,param,code}}`,
/// retry-after headers on 429/503.
canonical::EncodedReply encodeError(const Error& error);

/// The SSE frame (`data: {"error":...}\n\n`) a Chat stream carries when it fails mid-way.
std::string encodeStreamError(const Error& error);

// ---- provider side: canonical -> upstream Chat Completions and back ----

struct UpstreamRequestOptions {
  std::string_view model;  ///< the provider's model id
  std::optional<std::int64_t> max_tokens_default;
  bool stream = false;  ///< adds stream_options.include_usage
};

/// The JSON body to POST to `{base_url}/chat/completions`. Request extras of vendor OpenAI are
/// merged back in; other vendors' extras are dropped.
std::string encodeUpstreamRequest(const canonical::ChatRequest& request,
                                  const UpstreamRequestOptions& options);

/// Parses a non-streamed upstream `chat.completion` body.
Result<canonical::ChatResponse> decodeUpstreamResponse(std::string_view body);

/// Turns the `data:` payloads of an upstream Chat SSE stream into canonical events.
class ChunkDecoder {
 public:
  /// Feeds one `data:` payload (not `[DONE]`); appends the resulting events to `out`.
  /// A chunk with a top-level `error` returns that error.
  Result<void> feed(std::string_view data, std::vector<canonical::StreamEvent>& out);
  /// At `[DONE]` or end of body: closes open blocks and emits usage/MessageStop if still due.
  void finish(std::vector<canonical::StreamEvent>& out);
  bool started() const { return started_; }
  /// Whether a chunk carried a non-null finish_reason: a stream that ends without one (and
  /// without `[DONE]`) was cut off.
  bool sawFinishReason() const { return pending_stop_ != canonical::StopReason::kUnset; }

 private:
  /// Emits BlockStop for `open` (one of the *_index_/tool_open_ members) and resets it.
  void closeBlock(int& open, std::vector<canonical::StreamEvent>& out);

  bool started_ = false;
  bool stopped_ = false;
  int next_index_ = 0;
  int text_index_ = -1;            ///< canonical index of the open text block, or -1
  int reasoning_index_ = -1;       ///< canonical index of the open reasoning block, or -1
  int tool_open_ = -1;             ///< canonical index of the open tool-call block, or -1
  bool tool_open_custom_ = false;  ///< the open tool block is a custom (freeform) call
  bool saw_tool_ = false;
  std::string stop_sequence_;
  std::vector<int> tool_index_;  ///< Chat tool_calls[].index -> canonical block index
  canonical::StopReason pending_stop_ = canonical::StopReason::kUnset;
  bool have_usage_ = false;
  canonical::Usage usage_;
};

/// The human-readable message of an upstream error body (`error.message`), or the body itself
/// (truncated) when it is not OpenAI-shaped.
std::string upstreamErrorMessage(std::string_view body);

}  // namespace basalt::api::openai_chat
