#pragma once
/// Bedrock Runtime Converse wire format <-> canonical, in both directions: the front door
/// (`POST /model/{modelId}/converse` and `/converse-stream`) and the bedrock provider share it,
/// so the format is known in exactly one place (docs/adr/0003-one-codec-per-wire-format.md).
/// Streams use AWS event-stream framing (event_stream.h).

#include "basalt/api/bedrock/event_stream.h"
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

namespace basalt::api::bedrock {

// ---- routing ----

enum class BedrockOperation : std::uint8_t {
  kConverse,
  kConverseStream,
  kInvoke,
  kInvokeWithResponseStream,
};

/// What `/model/{modelId}/{operation}` names.
struct BedrockRoute {
  BedrockOperation operation = BedrockOperation::kConverse;
  std::string model_id;  ///< the path segment, percent-decoded (a name or an ARN)
  std::string model;     ///< the model name Basalt routes on (modelName(model_id))
};

/// Parses a raw (still percent-encoded) request path of the form `/model/{modelId}/{op}`.
/// The modelId may be percent-encoded (`%3A`, `%2F`) or carry literal slashes (an unencoded
/// ARN): the operation is the last segment. nullopt for any other path, an unknown operation,
/// an empty or over-long model id, or bad percent-encoding.
std::optional<BedrockRoute> parseBedrockPath(std::string_view path);

/// The model name inside a decoded modelId: the id itself, or for an ARN
/// (`arn:aws:bedrock:REGION:ACCOUNT:foundation-model/NAME`, `...:inference-profile/ID`, ...)
/// the last `/` segment of its resource part.
std::string modelName(std::string_view model_id);

/// The IAM action a Bedrock operation is authorized as.
const char* iamAction(BedrockOperation operation);

// ---- front door ----

/// The Converse / ConverseStream door codec. `decode` takes the model from the request path
/// and `stream` from the operation (`converse-stream`), and sets door = kBedrockConverse.
std::unique_ptr<canonical::DoorCodec> makeDoorCodec();

/// Parses and validates a Converse request body (bedrock.md §1.3). Errors are kInvalidRequest
/// (ValidationException on the wire) naming the field in `param`. Fields Basalt does not model
/// (guardrailConfig, additionalModelRequestFields beyond top_k/thinking, ...) travel in
/// `extras` (vendor kBedrock, capped at 1 MiB).
Result<canonical::ChatRequest> decodeRequest(std::string_view body, std::string model, bool stream);

/// The Converse response body (bedrock.md §1.4). `latency_ms` fills metrics.latencyMs.
std::string encodeResponseBody(const canonical::ChatResponse& response,
                               std::int64_t latency_ms = 0);

/// The exception name for an error (`ValidationException`, `ThrottlingException` ...). An
/// `Error::code` that already is an exception name (ends in "Exception") wins.
std::string exceptionName(const Error& error);

/// Bedrock's error reply: status httpStatus(kind), `x-amzn-ErrorType: <Name>`,
/// body `{"message": "..."}`, retry-after on 429/503.
canonical::EncodedReply encodeError(const Error& error);

/// The exception frame (`:message-type exception`) a ConverseStream carries once the 200 went
/// out: `throttlingException`, `validationException`, `serviceUnavailableException`,
/// `modelStreamErrorException` or `internalServerException`.
std::string encodeStreamError(const Error& error);

/// Stop reason words, both directions (wire.md §6.8).
const char* stopReasonWord(canonical::StopReason reason, bool has_tool_use);
canonical::StopReason stopReasonFromWord(std::string_view word);

// ---- provider side: canonical -> upstream Converse and back ----

struct UpstreamRequestOptions {
  std::string_view model;  ///< the provider's model id (goes in the path; informational here)
  std::optional<std::int64_t> max_tokens_default;  ///< used when the request has none (else 4096)
};

/// The JSON body to POST to `/model/{id}/converse[-stream]`, with the Converse pitfalls of
/// wire.md §6.11 applied: system/developer content hoisted into `system`, user-first
/// alternation with same-role merging, tool results first in their message, missing tool
/// results synthesized and orphans turned into text, `toolConfig` whenever the history holds
/// tool blocks, no empty text, descriptions and object schemas for every tool, top_k and
/// thinking in additionalModelRequestFields. Fails (kInvalidRequest naming the feature) only
/// for what Converse cannot express without changing meaning (image URLs, unsupported image
/// types).
Result<std::string> encodeUpstreamRequest(const canonical::ChatRequest& request,
                                          const UpstreamRequestOptions& options);

/// Parses a non-streamed Converse body. A 200 without `output` is a kUpstreamError.
/// The body has no model or id: `model` fills ChatResponse::model.
Result<canonical::ChatResponse> decodeUpstreamResponse(std::string_view body,
                                                       std::string_view model = {});

/// The error an upstream non-2xx Converse answer stands for: kind from the
/// `x-amzn-ErrorType` header value (or body `__type`/`code`) and the status, message from the
/// body. `error_type_header` may be empty.
Error decodeUpstreamError(int status, std::string_view error_type_header, std::string_view body);

/// Turns an upstream ConverseStream (event-stream messages) into canonical events.
/// Bedrock sends usage in `metadata` after `messageStop`, so MessageStop is held until the
/// metadata (or finish()).
class StreamDecoder {
 public:
  explicit StreamDecoder(std::string model = {}, std::string id = {});

  /// Feeds raw body bytes in any split; decodes complete frames. A corrupt frame, an exception
  /// frame or an unparseable payload returns the error (the caller emits it as kError).
  Result<void> feedBytes(std::string_view bytes, std::vector<canonical::StreamEvent>& out);
  /// Feeds one decoded message.
  Result<void> feed(const EventStreamMessage& message, std::vector<canonical::StreamEvent>& out);
  /// At end of body: closes open blocks and emits the held MessageStop.
  void finish(std::vector<canonical::StreamEvent>& out);

  bool started() const { return started_; }
  /// Whether messageStop arrived: a body that ends without it was cut off.
  bool sawMessageStop() const { return pending_stop_ != canonical::StopReason::kUnset; }
  /// Bytes of an incomplete frame at the end of what was fed.
  std::size_t pendingBytes() const { return reader_.pending(); }

 private:
  void ensureStarted(std::vector<canonical::StreamEvent>& out);
  /// Canonical index for upstream block `index`, opening it as `type` if not open yet.
  int openBlock(int index, canonical::BlockType type, std::vector<canonical::StreamEvent>& out,
                std::string id = {}, std::string name = {});
  void closeBlock(int index, std::vector<canonical::StreamEvent>& out);
  void emitStop(std::vector<canonical::StreamEvent>& out);

  struct Slot {
    int upstream = 0;
    int canonical = 0;
    bool open = false;
  };

  std::string model_;
  std::string id_;
  EventStreamReader reader_;
  std::vector<EventStreamMessage> scratch_;
  std::vector<Slot> slots_;
  int next_index_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  bool saw_tool_ = false;
  canonical::StopReason pending_stop_ = canonical::StopReason::kUnset;
};

}  // namespace basalt::api::bedrock
