#pragma once
/// Private helpers shared by the Converse codec's translation units: content-block unions in
/// both directions, usage, image formats and non-throwing JSON parsing.

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

namespace basalt::api::bedrock::detail {

/// Parses JSON text without throwing; nullopt when `text` is not valid JSON.
std::optional<boost::json::value> parseJson(std::string_view text);

/// A ValidationException-shaped error for `param`.
Error invalid(std::string message, std::string param);

/// The one key of a Converse union object, or an error naming `path` when it has none or more
/// than one (Bedrock's "exactly one member" rule).
Result<std::string_view> unionKey(const boost::json::value& v, const std::string& path);

/// Reads a Converse content array (messages[i].content, output.message.content) into canonical
/// blocks. `cachePoint` after a text block sets its cache flag; other members Basalt does not
/// model (document, video, guardContent, citationsContent ...) become OpaqueBlock{kBedrock}.
Result<void> decodeContent(const boost::json::value& content, const std::string& path,
                           std::vector<canonical::ContentBlock>& out);

/// "png" | "jpeg" | "gif" | "webp" for a MIME type, or nullopt.
std::optional<std::string> imageFormat(std::string_view media_type);

/// Appends the Converse union for `block` (and a cachePoint after a cached text block) to
/// `out`. Empty/whitespace text and opaque blocks of other vendors append nothing (an OpenAI
/// refusal becomes text in a `for_client` answer). Reasoning without a signature or redacted
/// data is kept only `for_client`: Bedrock rejects unsigned reasoning in a request. Tool ids are
/// written as given.
void encodeBlock(const canonical::ContentBlock& block, boost::json::array& out,
                 bool for_client = false);

/// A Converse `image` member for an inline image, or an error naming the problem.
Result<boost::json::object> encodeImage(const canonical::ImageBlock& image);

/// True when `text` is empty or whitespace only (Converse rejects such text blocks).
bool blankText(std::string_view text);

/// Converse `usage` (inputTokens excludes cached tokens) from canonical usage.
boost::json::object usageJson(const canonical::Usage& usage);
/// Canonical usage (input includes cached tokens) from a Converse `usage` object.
canonical::Usage usageFromJson(const boost::json::object& usage);

/// Integer view of a JSON number (integral doubles included); nullopt otherwise.
std::optional<std::int64_t> asInt(const boost::json::value& v);

/// A string member of `o`, or empty.
std::string str(const boost::json::object& o, std::string_view key);

}  // namespace basalt::api::bedrock::detail
