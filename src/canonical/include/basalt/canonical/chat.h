#pragma once
/// The canonical model: the one shape every front door decodes into and every provider adapter
/// encodes from (N doors + M providers, never N x M translators). Plain data; no JSON library
/// types. Where a wire format has fields Basalt does not model, they travel as raw JSON text in
/// `VendorExtras` and are re-emitted only when the provider speaks the same vendor's format.
///
/// Conventions:
///  - Tool-call arguments are JSON *text* (`ToolUseBlock::input_json`), kept verbatim.
///  - `Usage::input_tokens` counts all prompt tokens including cached ones (OpenAI semantics);
///    Anthropic/Bedrock adapters add/subtract cache counts at their edge.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace basalt::canonical {

/// The wire-format family a request came from or a provider speaks.
enum class Vendor : std::uint8_t { kNone, kOpenAI, kAnthropic, kBedrock };

/// The front door a request arrived at.
enum class Door : std::uint8_t {
  kOpenAIChat,
  kOpenAIResponses,
  kAnthropicMessages,
  kBedrockConverse,
  kBedrockInvoke,
};
const char* doorName(Door door);  ///< "openai_chat", "openai_responses", "anthropic", ...
Vendor doorVendor(Door door);

/// Raw JSON that Basalt passes through without interpreting. `json` is a JSON object text
/// (`{...}`) or empty. Size-capped by the codec that fills it.
struct VendorExtras {
  Vendor vendor = Vendor::kNone;
  std::string json;
  bool empty() const { return json.empty(); }
};

// ---- content blocks ----

struct TextBlock {
  std::string text;
  bool cache_point = false;  ///< Anthropic cache_control / Bedrock cachePoint after this block
};

/// An image, either inline (base64 `data` + `media_type`) or by `url`.
struct ImageBlock {
  std::string media_type;  ///< "image/png" ...
  std::string data;        ///< base64, without the data: prefix
  std::string url;         ///< http(s) URL when not inline
  std::string detail;      ///< OpenAI "low" | "high" | "auto", or empty
};

enum class ToolKind : std::uint8_t { kFunction, kCustom };

/// A tool call made by the assistant.
struct ToolUseBlock {
  std::string id;          ///< kept verbatim across formats (call_..., toolu_..., tooluse_...)
  std::string name;
  std::string input_json;  ///< JSON text of the arguments; "{}" when empty
  ToolKind kind = ToolKind::kFunction;
};

using ToolResultPart = std::variant<TextBlock, ImageBlock>;

/// The result of a tool call, sent back by the client.
struct ToolResultBlock {
  std::string tool_use_id;
  std::vector<ToolResultPart> content;
  bool is_error = false;
  bool cache_point = false;  ///< Anthropic cache_control on it / Bedrock cachePoint after it
};

/// Model reasoning / extended thinking.
struct ReasoningBlock {
  std::string text;            ///< thinking text or reasoning summary
  std::string signature;       ///< Anthropic/Bedrock signature
  std::string redacted_data;   ///< Anthropic redacted_thinking data
  std::string encrypted;       ///< OpenAI encrypted_content
  std::string id;              ///< OpenAI reasoning item id
};

/// A content part Basalt does not model (audio, files, refusals, citations ...), kept as the
/// vendor's raw JSON so a same-vendor provider receives it unchanged.
struct OpaqueBlock {
  Vendor vendor = Vendor::kNone;
  std::string json;
};

using ContentBlock =
    std::variant<TextBlock, ImageBlock, ToolUseBlock, ToolResultBlock, ReasoningBlock, OpaqueBlock>;

enum class Role : std::uint8_t { kSystem, kDeveloper, kUser, kAssistant, kTool };
const char* roleName(Role role);

struct Message {
  Role role = Role::kUser;
  std::vector<ContentBlock> content;
  std::string name;  ///< OpenAI participant name, optional
  /// True when the wire carried content as a plain string rather than a parts array; lets a
  /// same-format encoder reproduce the original shape.
  bool content_was_string = false;
  VendorExtras extras;  ///< unknown per-message fields
};

// ---- tools ----

struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters_json;  ///< JSON Schema text; empty when the tool declared none
  std::optional<bool> strict;
  ToolKind kind = ToolKind::kFunction;
  std::string custom_format_json;  ///< Responses custom-tool grammar/format, raw
  VendorExtras extras;             ///< hosted/unknown tool kinds of one vendor, raw
  bool cache_point = false;  ///< Anthropic cache_control on it / Bedrock cachePoint after it
};

struct ToolChoice {
  enum class Kind : std::uint8_t { kUnset, kAuto, kNone, kRequired, kNamed };
  Kind kind = Kind::kUnset;
  std::string name;  ///< for kNamed
};

struct ResponseFormat {
  enum class Kind : std::uint8_t { kUnset, kText, kJsonObject, kJsonSchema };
  Kind kind = Kind::kUnset;
  std::string name;
  std::string schema_json;
  std::string description;
  std::optional<bool> strict;
};

struct Reasoning {
  std::string effort;                   ///< "minimal" | "low" | "medium" | "high" | ...
  std::optional<std::int64_t> budget_tokens;
  std::string summary;                  ///< Responses reasoning.summary
};

// ---- request ----

struct ChatRequest {
  std::string model;                  ///< the name the client sent
  Door door = Door::kOpenAIChat;

  std::vector<ContentBlock> system;   ///< top-level system prompt (Anthropic, Bedrock, instructions)
  std::vector<Message> messages;      ///< may also hold kSystem/kDeveloper messages in place

  std::vector<ToolSpec> tools;
  ToolChoice tool_choice;
  std::optional<bool> parallel_tool_calls;

  std::optional<std::int64_t> max_tokens;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> top_k;
  std::optional<std::int64_t> seed;
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  std::vector<std::string> stop;
  ResponseFormat response_format;
  Reasoning reasoning;

  bool stream = false;
  bool include_usage = false;  ///< Chat stream_options.include_usage

  std::vector<std::pair<std::string, std::string>> metadata;
  std::string user;

  /// Top-level fields of the door's wire format that Basalt does not model.
  VendorExtras extras;

  /// The gateway's id for this call (filled by the pipeline before encoding); doors that
  /// derive their response id from it (Responses) answer with the id Basalt audits and stores.
  std::string request_id;
  /// The client's `anthropic-beta` header (Messages door), forwarded to Anthropic providers.
  std::string anthropic_beta;
  /// The client's `anthropic-version` header (Messages door, validated as a date-like token);
  /// an Anthropic provider sends it instead of its configured version.
  std::string anthropic_version;
};

// ---- response ----

enum class StopReason : std::uint8_t {
  kUnset,
  kEndTurn,
  kStopSequence,
  kMaxTokens,
  kToolUse,
  kContentFilter,  ///< guardrail / provider content filter
  kRefusal,
  kPauseTurn,
  kContextWindowExceeded,
  kError,
};
const char* stopReasonName(StopReason reason);

struct Usage {
  std::int64_t input_tokens = 0;        ///< all prompt tokens, cached included
  std::int64_t output_tokens = 0;       ///< all completion tokens, reasoning included
  std::int64_t cache_read_tokens = 0;
  std::int64_t cache_write_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  std::int64_t total() const { return input_tokens + output_tokens; }
};

struct ChatResponse {
  std::string id;      ///< provider's id (or generated); doors may re-prefix
  std::string model;   ///< model name as the provider reported it
  std::int64_t created = 0;  ///< unix seconds
  std::vector<ContentBlock> content;  ///< assistant output, in order
  StopReason stop_reason = StopReason::kUnset;
  std::string stop_sequence;
  Usage usage;
  std::string system_fingerprint;
  VendorExtras extras;  ///< unmodelled top-level response fields of the provider's vendor
};

}  // namespace basalt::canonical
