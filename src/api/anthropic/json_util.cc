#include "json_util.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstdio>
#include <limits>

namespace basalt::api::anthropic::detail {

namespace json = boost::json;
using canonical::ContentBlock;

std::optional<json::value> parseJson(std::string_view text) {
  // Boost.JSON's default depth limit (32) is below what real tool schemas reach.
  json::parse_options options;
  options.max_depth = 256;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) return std::nullopt;
  return v;
}

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run_start, i - run_start);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(u, 6);
      }
    }
    run_start = i + 1;
  }
  out.append(s.data() + run_start, s.size() - run_start);
  out.push_back('"');
}

std::optional<std::int64_t> asInt(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    const std::uint64_t u = v.get_uint64();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e18) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v != nullptr && v->is_string()) ? std::string(v->get_string()) : std::string();
}

std::int64_t integer(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  return asInt(*v).value_or(0);
}

const char* expected(json::kind kind) {
  switch (kind) {
    case json::kind::string:
      return "a valid string";
    case json::kind::int64:
    case json::kind::uint64:
      return "a valid integer";
    case json::kind::double_:
      return "a valid number";
    case json::kind::bool_:
      return "a valid boolean";
    case json::kind::object:
      return "a valid dictionary";
    case json::kind::array:
      return "a valid list";
    case json::kind::null:
      return "null";
  }
  return "a valid value";
}

Error invalidType(const std::string& path, json::kind want) {
  return Error::invalid(path + ": Input should be " + expected(want), path);
}

Error missing(const std::string& path) {
  return Error::invalid(path + ": Field required", path);
}

Error invalidValue(const std::string& path, std::string_view message) {
  return Error::invalid(path + ": " + std::string(message), path);
}

bool blankText(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

namespace {

/// A required string member; `path` names the object.
Result<std::string> requiredString(const json::object& o, std::string_view key,
                                   const std::string& path, bool strict) {
  const json::value* v = o.if_contains(key);
  const std::string where = path + "." + std::string(key);
  if (v == nullptr || v->is_null()) {
    if (strict) return missing(where);
    return std::string();
  }
  if (!v->is_string()) {
    if (strict) return invalidType(where, json::kind::string);
    return std::string();
  }
  return std::string(v->get_string());
}

Result<canonical::ImageBlock> decodeImage(const json::object& block, const std::string& path,
                                          bool strict, bool& opaque) {
  canonical::ImageBlock image;
  const json::value* source = block.if_contains("source");
  if (source == nullptr || !source->is_object()) {
    if (strict) {
      return source == nullptr ? missing(path + ".source")
                               : invalidType(path + ".source", json::kind::object);
    }
    opaque = true;
    return image;
  }
  const json::object& s = source->get_object();
  const std::string type = str(s, "type");
  if (type == "base64") {
    Result<std::string> media = requiredString(s, "media_type", path + ".source", strict);
    if (!media) return media.error();
    Result<std::string> data = requiredString(s, "data", path + ".source", strict);
    if (!data) return data.error();
    image.media_type = std::move(*media);
    image.data = std::move(*data);
  } else if (type == "url") {
    Result<std::string> url = requiredString(s, "url", path + ".source", strict);
    if (!url) return url.error();
    image.url = std::move(*url);
  } else {
    opaque = true;  // file ids and newer source kinds: forwarded to Anthropic only
  }
  return image;
}

Result<canonical::ToolResultBlock> decodeToolResult(const json::object& block,
                                                    const std::string& path, bool strict) {
  canonical::ToolResultBlock result;
  Result<std::string> id = requiredString(block, "tool_use_id", path, strict);
  if (!id) return id.error();
  result.tool_use_id = std::move(*id);
  if (const json::value* e = block.if_contains("is_error"); e != nullptr && !e->is_null()) {
    if (!e->is_bool()) {
      if (strict) return invalidType(path + ".is_error", json::kind::bool_);
    } else {
      result.is_error = e->get_bool();
    }
  }
  result.cache_point = block.contains("cache_control");
  const json::value* content = block.if_contains("content");
  if (content == nullptr || content->is_null()) return result;
  if (content->is_string()) {
    result.content.emplace_back(canonical::TextBlock{std::string(content->get_string())});
    return result;
  }
  if (!content->is_array()) {
    if (strict) return invalidType(path + ".content", json::kind::array);
    return result;
  }
  std::size_t i = 0;
  for (const json::value& part : content->get_array()) {
    const std::string where = path + ".content." + std::to_string(i++);
    if (!part.is_object()) {
      if (strict) return invalidType(where, json::kind::object);
      continue;
    }
    const json::object& p = part.get_object();
    const std::string type = str(p, "type");
    if (type == "text") {
      Result<std::string> text = requiredString(p, "text", where, strict);
      if (!text) return text.error();
      result.content.emplace_back(canonical::TextBlock{std::move(*text)});
    } else if (type == "image") {
      bool opaque = false;
      Result<canonical::ImageBlock> image = decodeImage(p, where, strict, opaque);
      if (!image) return image.error();
      if (!opaque) result.content.emplace_back(std::move(*image));
    } else {
      // search_result / document parts: the canonical result holds text and images only, so
      // their JSON travels as text (documented in the README).
      result.content.emplace_back(canonical::TextBlock{json::serialize(p)});
    }
  }
  return result;
}

}  // namespace

Result<void> decodeContent(const json::value& content, const std::string& path, bool strict,
                           std::vector<ContentBlock>& out) {
  if (content.is_string()) {
    out.emplace_back(canonical::TextBlock{std::string(content.get_string())});
    return {};
  }
  if (!content.is_array()) {
    if (strict) return invalidType(path, json::kind::array);
    return {};
  }
  std::size_t i = 0;
  for (const json::value& item : content.get_array()) {
    const std::string where = path + "." + std::to_string(i++);
    if (!item.is_object()) {
      if (strict) return invalidType(where, json::kind::object);
      continue;
    }
    const json::object& b = item.get_object();
    const json::value* type_v = b.if_contains("type");
    if (type_v == nullptr || !type_v->is_string()) {
      if (strict) {
        return type_v == nullptr ? missing(where + ".type")
                                 : invalidType(where + ".type", json::kind::string);
      }
      continue;
    }
    const std::string_view type = type_v->get_string();
    if (type == "text") {
      Result<std::string> text = requiredString(b, "text", where, strict);
      if (!text) return text.error();
      if (strict && text->empty()) {
        return invalidValue(where + ".text", "text content blocks must be non-empty");
      }
      canonical::TextBlock t{std::move(*text)};
      t.cache_point = b.contains("cache_control");
      out.emplace_back(std::move(t));
    } else if (type == "image") {
      bool opaque = false;
      Result<canonical::ImageBlock> image = decodeImage(b, where, strict, opaque);
      if (!image) return image.error();
      if (opaque) {
        out.emplace_back(canonical::OpaqueBlock{canonical::Vendor::kAnthropic, json::serialize(b)});
      } else {
        out.emplace_back(std::move(*image));
      }
    } else if (type == "tool_use") {
      canonical::ToolUseBlock use;
      Result<std::string> id = requiredString(b, "id", where, strict);
      if (!id) return id.error();
      Result<std::string> name = requiredString(b, "name", where, strict);
      if (!name) return name.error();
      use.id = std::move(*id);
      use.name = std::move(*name);
      const json::value* input = b.if_contains("input");
      if (input == nullptr || input->is_null()) {
        use.input_json = "{}";
      } else if (!input->is_object() && strict) {
        return invalidType(where + ".input", json::kind::object);
      } else {
        use.input_json = json::serialize(*input);
      }
      out.emplace_back(std::move(use));
    } else if (type == "tool_result") {
      Result<canonical::ToolResultBlock> r = decodeToolResult(b, where, strict);
      if (!r) return r.error();
      out.emplace_back(std::move(*r));
    } else if (type == "thinking") {
      canonical::ReasoningBlock r;
      r.text = str(b, "thinking");
      r.signature = str(b, "signature");
      out.emplace_back(std::move(r));
    } else if (type == "redacted_thinking") {
      canonical::ReasoningBlock r;
      r.redacted_data = str(b, "data");
      out.emplace_back(std::move(r));
    } else {
      // document, server_tool_use, web_search_tool_result, search_result, container_upload ...
      out.emplace_back(canonical::OpaqueBlock{canonical::Vendor::kAnthropic, json::serialize(b)});
    }
  }
  return {};
}

json::object toolInput(std::string_view input_json) {
  if (blankText(input_json)) return json::object();
  if (auto v = parseJson(input_json); v && v->is_object()) return std::move(v->get_object());
  // Arguments that are not a JSON object cannot be a Messages `input`: keep them visible.
  return json::object{{"_raw", input_json}};
}

namespace {

json::object cacheControl() {
  return json::object{{"type", "ephemeral"}};
}

json::object imageJson(const canonical::ImageBlock& image) {
  json::object source;
  std::string_view url = image.url;
  if (image.data.empty() && url.starts_with("data:")) {
    // data:<mime>;base64,<b64> carried as a URL by another door.
    const std::size_t comma = url.find(',');
    const std::size_t semi = url.find(';');
    if (comma != std::string_view::npos && semi != std::string_view::npos && semi < comma) {
      source = json::object{{"type", "base64"},
                            {"media_type", url.substr(5, semi - 5)},
                            {"data", url.substr(comma + 1)}};
      return json::object{{"type", "image"}, {"source", std::move(source)}};
    }
  }
  if (!image.data.empty()) {
    source = json::object{
        {"type", "base64"},
        {"media_type", image.media_type.empty() ? std::string("image/png") : image.media_type},
        {"data", image.data}};
  } else {
    source = json::object{{"type", "url"}, {"url", image.url}};
  }
  return json::object{{"type", "image"}, {"source", std::move(source)}};
}

}  // namespace

void encodeBlock(const ContentBlock& block, json::array& out, bool for_client) {
  if (const auto* t = std::get_if<canonical::TextBlock>(&block)) {
    if (for_client ? t->text.empty() : blankText(t->text)) return;
    json::object o{{"type", "text"}, {"text", t->text}};
    if (t->cache_point && !for_client) o["cache_control"] = cacheControl();
    out.push_back(std::move(o));
  } else if (const auto* image = std::get_if<canonical::ImageBlock>(&block)) {
    if (image->data.empty() && image->url.empty()) return;
    out.push_back(imageJson(*image));
  } else if (const auto* use = std::get_if<canonical::ToolUseBlock>(&block)) {
    out.push_back(json::object{{"type", "tool_use"},
                               {"id", for_client ? use->id : sanitizeId(use->id)},
                               {"name", use->name},
                               {"input", toolInput(use->input_json)}});
  } else if (const auto* result = std::get_if<canonical::ToolResultBlock>(&block)) {
    json::object o{
        {"type", "tool_result"},
        {"tool_use_id", for_client ? result->tool_use_id : sanitizeId(result->tool_use_id)}};
    json::array content;
    for (const canonical::ToolResultPart& part : result->content) {
      if (const auto* text = std::get_if<canonical::TextBlock>(&part)) {
        if (blankText(text->text)) continue;
        content.push_back(json::object{{"type", "text"}, {"text", text->text}});
      } else if (const auto* img = std::get_if<canonical::ImageBlock>(&part)) {
        if (img->data.empty() && img->url.empty()) continue;
        content.push_back(imageJson(*img));
      }
    }
    if (!content.empty()) o["content"] = std::move(content);
    if (result->is_error) o["is_error"] = true;
    if (result->cache_point && !for_client) o["cache_control"] = cacheControl();
    out.push_back(std::move(o));
  } else if (const auto* r = std::get_if<canonical::ReasoningBlock>(&block)) {
    if (!r->redacted_data.empty()) {
      out.push_back(json::object{{"type", "redacted_thinking"}, {"data", r->redacted_data}});
    } else if (!r->signature.empty() || (for_client && !r->text.empty())) {
      // Anthropic rejects thinking without its signature: unsigned reasoning (OpenAI summaries)
      // never goes upstream.
      out.push_back(
          json::object{{"type", "thinking"}, {"thinking", r->text}, {"signature", r->signature}});
    }
  } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&block)) {
    auto v = parseJson(o->json);
    if (!v || !v->is_object()) return;
    if (o->vendor == canonical::Vendor::kAnthropic) {
      out.push_back(std::move(*v));
    } else if (o->vendor == canonical::Vendor::kOpenAI) {
      // An OpenAI refusal part in the history reads as the assistant's text.
      const std::string refusal = str(v->get_object(), "refusal");
      if (!blankText(refusal)) out.push_back(json::object{{"type", "text"}, {"text", refusal}});
    }
  }
}

std::string sanitizeId(std::string_view id) {
  std::string out;
  out.reserve(id.size());
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    out += ok ? c : '_';
  }
  if (out.empty()) return "toolu_basalt_empty";
  if (out.size() > 64) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the original id
    for (char c : id) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    out.resize(47);
    out += '_';
    out += hex;
  }
  return out;
}

json::object usageJson(const canonical::Usage& usage) {
  const std::int64_t uncached =
      usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens;
  return json::object{{"input_tokens", uncached > 0 ? uncached : 0},
                      {"cache_creation_input_tokens", usage.cache_write_tokens},
                      {"cache_read_input_tokens", usage.cache_read_tokens},
                      {"output_tokens", usage.output_tokens}};
}

canonical::Usage usageFromJson(const json::object& usage) {
  canonical::Usage u;
  u.cache_read_tokens = integer(usage, "cache_read_input_tokens");
  u.cache_write_tokens = integer(usage, "cache_creation_input_tokens");
  u.input_tokens = integer(usage, "input_tokens") + u.cache_read_tokens + u.cache_write_tokens;
  u.output_tokens = integer(usage, "output_tokens");
  return u;
}

}  // namespace basalt::api::anthropic::detail
