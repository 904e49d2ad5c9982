#pragma once
/// Private helpers shared by the Chat Completions codec's translation units: JSON type names in
/// OpenAI's error wording, a fast JSON string escaper for hand-written SSE frames, and the
/// finish_reason / usage mappings used by both the response and the stream encoder.

#include "basalt/canonical/chat.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <boost/container/small_vector.hpp>

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

/// Writes one JSON object into a string member by member (no json::object tree: on the hot
/// path building and serializing a tree cost several times the text itself). It remembers the
/// keys written so that vendor extras can be merged in afterwards without duplicating a key.
/// Keys must outlive the writer (literals, or text that lives as long as it).
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(&out) { out.push_back('{'); }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  /// Starts member `key`; returns the string its JSON value must be appended to.
  std::string& key(std::string_view key);
  void string(std::string_view key, std::string_view value);
  void raw(std::string_view key, std::string_view json_text);  ///< value already JSON text
  void integer(std::string_view key, std::int64_t value);
  void number(std::string_view key, double value);  ///< shortest round-trip form
  void boolean(std::string_view key, bool value);
  void null(std::string_view key);
  bool has(std::string_view key) const;
  /// Appends the members of `object_json` (a JSON object's text) whose keys were not written;
  /// does nothing when it is not a JSON object.
  void mergeMissing(std::string_view object_json);
  /// Closes the object. The writer must not be used afterwards.
  void close() { out_->push_back('}'); }

 private:
  std::string* out_;
  boost::container::small_vector<std::string_view, 16> keys_;
};

/// Appends a JSON number in its shortest round-trip form (`null` when not finite).
void appendJsonNumber(std::string& out, double value);

/// Parses JSON text without throwing; nullopt when `text` is not valid JSON. The value's
/// memory comes from `storage` (default: the heap); the hot paths pass a stack-backed
/// monotonic arena, which turns hundreds of allocations and frees per body into none.
std::optional<boost::json::value> parseJson(std::string_view text,
                                            boost::json::storage_ptr storage = {});

/// The Chat `finish_reason` for a canonical stop reason. kUnset falls back to "tool_calls"
/// when the answer holds tool calls, else "stop".
const char* finishReason(canonical::StopReason reason, bool has_tool_calls);

/// The canonical stop reason for an upstream `finish_reason` string.
canonical::StopReason stopReasonFromFinish(std::string_view finish_reason);

/// Appends OpenAI's `usage` object, with prompt/completion token details, to `out`.
void appendUsageJson(std::string& out, const canonical::Usage& usage);

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
