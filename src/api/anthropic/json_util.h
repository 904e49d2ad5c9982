#pragma once
/// Private helpers shared by the Messages codec's translation units: non-throwing parsing,
/// content blocks in both directions, usage and tool-id sanitizing.

#include "basalt/canonical/chat.h"
#include "basalt/core/error.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::api::anthropic::detail {

/// Parses JSON text without throwing (depth up to 256); nullopt when not valid JSON.
std::optional<boost::json::value> parseJson(std::string_view text);

/// Appends `s` as a JSON string literal (with quotes) to `out`.
void appendJsonString(std::string& out, std::string_view s);

/// Integer view of a JSON number (integral doubles included); nullopt otherwise.
std::optional<std::int64_t> asInt(const boost::json::value& v);

/// A string member of `o`, or empty.
std::string str(const boost::json::object& o, std::string_view key);
/// An integer member of `o`, or 0.
std::int64_t integer(const boost::json::object& o, std::string_view key);

/// "a valid string", "a valid list", "a valid dictionary" ... (Anthropic/pydantic wording).
const char* expected(boost::json::kind kind);
/// "<path>: Input should be <expected>" (kInvalidRequest, param = path).
Error invalidType(const std::string& path, boost::json::kind want);
/// "<path>: Field required".
Error missing(const std::string& path);
/// "<path>: <message>".
Error invalidValue(const std::string& path, std::string_view message);

/// Reads a Messages content value (string or block array) into canonical blocks. `strict`
/// (client requests) validates required fields and rejects empty text; upstream bodies are read
/// leniently. Blocks Basalt does not model become OpaqueBlock{kAnthropic}.
Result<void> decodeContent(const boost::json::value& content, const std::string& path, bool strict,
                           std::vector<canonical::ContentBlock>& out);

/// Appends the Messages block for `block` to `out`. `for_client`: an answer to a Messages
/// client (unsigned reasoning kept as thinking, other vendors' refusals as text); otherwise an
/// upstream request (unsigned reasoning, blank text and other vendors' blocks dropped, tool ids
/// sanitized).
void encodeBlock(const canonical::ContentBlock& block, boost::json::array& out, bool for_client);

/// A tool call's input object from its JSON text ("" -> {}; non-object JSON -> {"_raw": text}).
boost::json::object toolInput(std::string_view input_json);

/// True when `text` is empty or whitespace only.
bool blankText(std::string_view text);

/// `^[a-zA-Z0-9_-]{1,64}$`: valid ids pass unchanged; others are rewritten deterministically
/// (invalid characters -> '_', over-long ids cut and suffixed with a hash of the original), so a
/// tool_use and its tool_result still match.
std::string sanitizeId(std::string_view id);

/// The Messages `usage` object: input_tokens excludes cache reads/writes.
boost::json::object usageJson(const canonical::Usage& usage);
/// Canonical usage (input includes cache reads/writes) from a Messages `usage` object.
canonical::Usage usageFromJson(const boost::json::object& usage);

}  // namespace basalt::api::anthropic::detail
