#pragma once
// Private to the mock module: the vendor-neutral reply plan and the per-vendor "dialect" that
// parses a request into MockInput and renders a Plan in that vendor's exact wire format.

#include "basalt/core/error.h"
#include "basalt/core/exchange.h"

#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::mock {

/// Every `created` timestamp: fixed so that outputs are reproducible.
inline constexpr std::int64_t kCreated = 1700000000;

/// What the mock needs from a request, whatever its wire format.
struct MockInput {
  std::string model;
  bool stream = false;
  bool include_usage = false;  ///< OpenAI chat stream_options.include_usage
  std::string last_user_text;  ///< text of the last user message that has text
  bool ends_with_tool_result = false;
  std::string tool_result_text;  ///< text of the trailing tool results, "\n"-joined
  std::size_t input_chars = 0;   ///< code points of all input text (for usage)
};

/// Where the model id and stream flag came from when the path carries them.
struct PathInfo {
  std::string model;    ///< Bedrock modelId or Azure deployment; empty when not in the path
  bool stream = false;  ///< Bedrock /converse-stream
};

struct MockToolCall {
  std::string name;
  std::string args;  ///< JSON object text
};

/// The fully resolved reply for one request (defaults + directive applied).
struct Plan {
  std::string model;
  std::uint64_t seq = 0;  ///< per-request counter; every id is derived from it
  bool stream = false;
  bool include_usage = false;
  std::string reasoning;
  std::vector<std::string> reasoning_chunks;
  std::string text;
  std::vector<std::string> text_chunks;
  std::vector<MockToolCall> tool_calls;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  int latency_ms = 0;
  double tokens_per_s = 0;
  int status = 0;              ///< > 0: fail before the first byte with this HTTP status
  int error_after = -1;        ///< >= 0: vendor error event after N content chunks
  int drop_after = -1;         ///< >= 0: abort the stream after N content chunks
  int mid_error_status = 500;  ///< the status whose vendor error the mid-stream event carries

  bool toolUse() const { return !tool_calls.empty(); }
  std::string seqId() const { return std::to_string(seq); }
  std::string toolId(std::string_view prefix, std::size_t i) const {
    return std::string(prefix) + seqId() + "_" + std::to_string(i);
  }
};

/// A complete (non-streamed) answer.
struct Reply {
  int status = 200;
  Headers headers;
  std::string body;
};

/// One stream frame (an SSE event or an event-stream message).
struct Frame {
  std::string bytes;
  bool content = false;  ///< a reply-text chunk: counted by error_after / drop_after
  bool paced = false;    ///< spaced by tokens_per_s (text and reasoning chunks)
  bool tail = false;     ///< part of the finish (stop reason, usage, done); cut by errors
};

struct StreamReply {
  Headers headers;
  std::vector<Frame> frames;
};

/// One vendor wire format.
class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual Result<MockInput> parse(const boost::json::value& body, const PathInfo& path) const = 0;
  virtual Reply reply(const Plan& plan) const = 0;
  virtual StreamReply stream(const Plan& plan) const = 0;
  /// The vendor's HTTP error answer (429 carries retry-after: 1).
  virtual Reply error(int status, std::string_view message, std::uint64_t seq) const = 0;
  /// The vendor's mid-stream error frame for `status`, sent after `frames_sent` frames.
  virtual std::string streamError(int status, const Plan& plan, std::size_t frames_sent) const = 0;
};

const Dialect& openAIChatDialect();
const Dialect& openAIResponsesDialect();
const Dialect& anthropicDialect();
const Dialect& bedrockDialect();

// ---- helpers shared by the dialects (dialect.cc) ----

/// Unicode code points in UTF-8 `s` (continuation bytes are not counted).
std::size_t countChars(std::string_view s);
/// Whitespace-separated words in `s`.
std::int64_t countWords(std::string_view s);
/// Splits `s` into chunks that concatenate back to `s`: one word (with its leading blanks)
/// per chunk when `chars_per_chunk` is 0, else that many code points per chunk.
std::vector<std::string> chunkText(std::string_view s, int chars_per_chunk);

/// A short human message for an injected error status.
std::string statusMessage(int status);

/// The string at `key` of object `v`, or empty.
std::string_view stringField(const boost::json::value& v, std::string_view key);
/// Appends the text of a content value: a string, or an array of parts (the `text` of each
/// part that has one, "\n" between parts).
void appendContentText(const boost::json::value& content, std::string& out);

/// JSON-escaped string literal (with quotes).
std::string jsonString(std::string_view s);
/// `"data: " + json + "\n\n"`.
std::string sseData(std::string_view json);
/// `"event: " + name + "\ndata: " + json + "\n\n"`.
std::string sseEvent(std::string_view name, std::string_view json);

/// The OpenAI error body `{"error":{message,type,param,code}}` for `status`.
std::string openAIErrorJson(int status, std::string_view message);
/// A JSON reply (adds retry-after: 1 to a 429).
Reply jsonReply(int status, std::string body);
/// content-type: text/event-stream, cache-control: no-cache.
Headers sseHeaders();

/// Shared error texts for request shapes the mock cannot read.
Error badRequest(std::string message);

}  // namespace basalt::mock
