#pragma once
/// OpenAI Responses wire format (`POST /v1/responses`) <-> canonical, in both directions: the
/// front door Codex CLI and the OpenAI SDK talk to, and the OpenAI provider with
/// `api = "responses"`. See README.md in this folder for the item <-> canonical mapping.

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

namespace basalt::api::openai_responses {

/// The front door codec (door kOpenAIResponses): request validation, the Response object, the
/// SSE event sequence Codex requires (wire.md §0, §2.5) and OpenAI's error shape.
std::unique_ptr<canonical::DoorCodec> makeDoorCodec();

/// Parses and validates a Responses request body. Errors are kInvalidRequest in OpenAI's
/// wording with `param` naming the field ("input[3].call_id"). Fields Basalt does not model
/// (include, store, prompt_cache_key, client_metadata, text.verbosity ...) land in `extras`
/// (vendor kOpenAI); `instructions` becomes `system`.
Result<canonical::ChatRequest> decodeRequest(std::string_view body);

/// The `previous_response_id` the client sent, if any (kept in the request extras).
std::optional<std::string> previousResponseId(const canonical::ChatRequest& request);

/// The door's response id for a gateway request id: `resp_` + 32 hex digits, a pure function
/// of `request_id` (so the lead can store a response under the id the client saw); a random id
/// when `request_id` is empty.
std::string responseId(std::string_view request_id);

/// The non-streamed Response object (wire.md §2.4) answering `request`; also the body of
/// `GET /v1/responses/{id}`. Its id is responseId(request.request_id).
std::string encodeResponseBody(const canonical::ChatResponse& response,
                               const canonical::ChatRequest& request);

/// OpenAI's error reply (same shape as Chat Completions).
canonical::EncodedReply encodeError(const Error& error);

// ---- stored responses (previous_response_id) ----

/// The whole conversation of one call - the request's input items (instructions excluded, as
/// OpenAI does not carry them over) followed by the response's output items - as a JSON array
/// of Responses input items.
std::string encodeStoredConversation(const canonical::ChatRequest& request,
                                     const canonical::ChatResponse& response);

/// Whether the client asked for the response to be stored (`store`, true when absent, as on
/// OpenAI's API; Codex sends false).
bool storeRequested(const canonical::ChatRequest& request);

/// Decodes a conversation stored by encodeStoredConversation and puts it before the request's
/// own messages. Fails (kInternal) only when `stored` is not such an array.
Result<void> prependConversation(std::string_view stored, canonical::ChatRequest& request);

// ---- provider side: canonical -> upstream Responses API and back ----

struct UpstreamRequestOptions {
  std::string_view model;  ///< the provider's model id
  std::optional<std::int64_t> max_tokens_default;
  bool stream = false;
};

/// The JSON body to POST to `{base_url}/responses`, from a request of any door. A request from
/// the Responses door is re-encoded faithfully (its extras, hosted tools and item fields come
/// back verbatim, except previous_response_id which only Basalt understands); from other doors
/// the conversation is reshaped into items and `store` is false.
std::string encodeUpstreamRequest(const canonical::ChatRequest& request,
                                  const UpstreamRequestOptions& options);

/// Parses a non-streamed upstream Response object. A failed response or an `error` body is an
/// Error (rate limits kRateLimited with retry_after_s from "try again in Ns").
Result<canonical::ChatResponse> decodeUpstreamResponse(std::string_view body);

/// The message of an upstream error body (`error.message`), or the body itself, truncated.
std::string upstreamErrorMessage(std::string_view body);

/// Turns an upstream Responses SSE stream (event name + data) into canonical events.
class StreamDecoder {
 public:
  StreamDecoder();
  ~StreamDecoder();
  StreamDecoder(StreamDecoder&&) noexcept;
  StreamDecoder& operator=(StreamDecoder&&) noexcept;

  /// Feeds one SSE event. `event_name` may be empty (the JSON `type` is used then).
  /// `response.failed` and `error` events return the Error.
  Result<void> feed(std::string_view event_name, std::string_view data,
                    std::vector<canonical::StreamEvent>& out);
  /// True once `response.completed` or `response.incomplete` was seen (MessageStop emitted).
  bool finished() const;
  bool started() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace basalt::api::openai_responses
