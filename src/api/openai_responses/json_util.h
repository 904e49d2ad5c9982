#pragma once
/// Private helpers of the Responses codec: non-throwing JSON parsing, OpenAI's validation
/// wording with typed field readers, usage mapping, ids and the reasoning envelope.

#include "basalt/api/openai_chat/validation.h"
#include "basalt/canonical/chat.h"
#include "basalt/core/error.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::api::openai_responses::detail {

namespace json = boost::json;

/// Parses JSON text without throwing (depth 256); nullopt when `text` is not valid JSON.
std::optional<json::value> parseJson(std::string_view text);
/// "a string", "an integer", ... as OpenAI words it.
const char* typeName(const json::value& v);
std::optional<std::int64_t> asInt(const json::value& v);
std::int64_t unixNow();

/// The string at `key`, or "" when absent or not a string.
std::string str(const json::object& o, std::string_view key);

// ---- validation: OpenAI's wording, shared with the Chat codec ----

using openai_chat::detail::field;
using openai_chat::detail::indexed;
using openai_chat::detail::invalidType;
using openai_chat::detail::invalidValue;
using openai_chat::detail::missing;
using openai_chat::detail::oneOf;
using openai_chat::detail::optBool;
using openai_chat::detail::optInt;
using openai_chat::detail::optNumber;
using openai_chat::detail::optString;

// ---- usage ----

/// The strict Responses usage object Codex parses (wire.md §0 rule 3): every field present.
json::object usageJson(const canonical::Usage& usage);
canonical::Usage usageFromJson(const json::object& usage);

// ---- ids ----

/// 32 hex digits that are a pure function of `seed` (two FNV-1a 64 passes).
std::string hashHex(std::string_view seed);

// ---- reasoning signatures ----
// OpenAI's `encrypted_content` travels verbatim. Reasoning from other vendors (an Anthropic
// thinking signature, redacted thinking data) is handed to Responses clients as
// "gw1:" + base64({"signature":...,"data":...}) so that it comes back in the next request and
// can be restored for the provider that issued it (wire.md §6.7).

/// The encrypted_content for `block`, or "" when it has nothing to carry.
std::string encryptedContentOf(const canonical::ReasoningBlock& block);
/// Fills `block` from a client's encrypted_content (gw1 envelope or OpenAI's own).
void restoreEncryptedContent(std::string_view encrypted, canonical::ReasoningBlock& block);
/// The envelope for a non-OpenAI signature/data pair.
std::string envelope(std::string_view signature, std::string_view data);

/// Unwraps canonical custom-tool input {"content": "<raw>"} to the raw text (or the JSON text
/// itself when it is not that shape).
std::string customInput(std::string_view input_json);
/// {"content": raw} as JSON text.
std::string customInputJson(std::string_view raw);

/// A data: URL for an inline image, or its URL.
std::string imageUrl(const canonical::ImageBlock& image);
/// Splits "data:<mime>;base64,<b64>" into the block; other URLs are kept as `url`.
canonical::ImageBlock imageFromUrl(std::string url, std::string detail);

/// Merges the members of a kOpenAI extras object into `into`, never overwriting a key.
void mergeMissing(json::object& into, const canonical::VendorExtras& extras);

}  // namespace basalt::api::openai_responses::detail
