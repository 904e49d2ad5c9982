#include "json_util.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>

namespace basalt::api::bedrock::detail {

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

Error invalid(std::string message, std::string param) {
  return Error::invalid(std::move(message), std::move(param));
}

Result<std::string_view> unionKey(const json::value& v, const std::string& path) {
  if (!v.is_object()) return invalid(path + " must be an object.", path);
  const json::object& o = v.get_object();
  if (o.size() != 1) {
    return invalid(
        path + " must have exactly one member set, but has " + std::to_string(o.size()) + ".",
        path);
  }
  return std::string_view(o.begin()->key());
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v != nullptr && v->is_string()) ? std::string(v->get_string()) : std::string();
}

std::optional<std::int64_t> asInt(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e18) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

namespace {

constexpr std::string_view kImageFormats[] = {"png", "jpeg", "gif", "webp"};

Result<std::string> requiredString(const json::object& o, std::string_view key,
                                   const std::string& path) {
  const json::value* v = o.if_contains(key);
  const std::string p = path + "." + std::string(key);
  if (v == nullptr || v->is_null()) return invalid(p + " is required.", p);
  if (!v->is_string()) return invalid(p + " must be a string.", p);
  return std::string(v->get_string());
}

ContentBlock opaque(const json::value& block) {
  return canonical::OpaqueBlock{canonical::Vendor::kBedrock, json::serialize(block)};
}

/// `image` member -> ImageBlock, or nullopt when the source is not inline bytes (kept opaque).
Result<std::optional<canonical::ImageBlock>> decodeImage(const json::value& v,
                                                         const std::string& path) {
  if (!v.is_object()) return invalid(path + " must be an object.", path);
  const json::object& o = v.get_object();
  Result<std::string> format = requiredString(o, "format", path);
  if (!format) return format.error();
  bool known = false;
  for (std::string_view f : kImageFormats) known = known || *format == f;
  if (!known) {
    return invalid(path + ".format must be one of png, jpeg, gif, webp.", path + ".format");
  }
  const json::value* source = o.if_contains("source");
  if (source == nullptr) return invalid(path + ".source is required.", path + ".source");
  Result<std::string_view> key = unionKey(*source, path + ".source");
  if (!key) return key.error();
  if (*key != "bytes") return std::optional<canonical::ImageBlock>();
  const json::value& bytes = source->get_object().at("bytes");
  if (!bytes.is_string()) {
    return invalid(path + ".source.bytes must be a base64 string.", path + ".source.bytes");
  }
  canonical::ImageBlock image;
  image.media_type = "image/" + *format;
  image.data = std::string(bytes.get_string());
  return std::optional<canonical::ImageBlock>(std::move(image));
}

Result<ContentBlock> decodeToolResult(const json::value& v, const std::string& path) {
  if (!v.is_object()) return invalid(path + " must be an object.", path);
  const json::object& o = v.get_object();
  Result<std::string> id = requiredString(o, "toolUseId", path);
  if (!id) return id.error();
  canonical::ToolResultBlock result;
  result.tool_use_id = std::move(*id);
  if (const json::value* status = o.if_contains("status"); status != nullptr) {
    if (!status->is_string() ||
        (status->get_string() != "success" && status->get_string() != "error")) {
      return invalid(path + ".status must be one of success, error.", path + ".status");
    }
    result.is_error = status->get_string() == "error";
  }
  const json::value* content = o.if_contains("content");
  if (content == nullptr || !content->is_array()) {
    return invalid(path + ".content must be an array.", path + ".content");
  }
  for (std::size_t i = 0; i < content->get_array().size(); ++i) {
    const json::value& part = content->get_array()[i];
    const std::string ppath = path + ".content." + std::to_string(i + 1);
    Result<std::string_view> key = unionKey(part, ppath);
    if (!key) return key.error();
    const json::value& value = part.get_object().begin()->value();
    if (*key == "text") {
      if (!value.is_string()) return invalid(ppath + ".text must be a string.", ppath + ".text");
      result.content.emplace_back(canonical::TextBlock{std::string(value.get_string())});
    } else if (*key == "json") {
      // Canonical tool results carry text; JSON results travel as their serialization.
      result.content.emplace_back(canonical::TextBlock{json::serialize(value)});
    } else if (*key == "image") {
      auto image = decodeImage(value, ppath + ".image");
      if (!image) return image.error();
      if (!image->has_value()) {
        return invalid(ppath + ".image: only inline image bytes are supported.", ppath);
      }
      result.content.emplace_back(std::move(**image));
    } else {
      return invalid(
          ppath + ": tool result content member '" + std::string(*key) + "' is not supported.",
          ppath);
    }
  }
  return ContentBlock(std::move(result));
}

Result<ContentBlock> decodeReasoning(const json::value& v, const std::string& path) {
  Result<std::string_view> key = unionKey(v, path);
  if (!key) return key.error();
  const json::value& value = v.get_object().begin()->value();
  canonical::ReasoningBlock r;
  if (*key == "reasoningText") {
    if (!value.is_object()) {
      return invalid(path + ".reasoningText must be an object.", path + ".reasoningText");
    }
    Result<std::string> text = requiredString(value.get_object(), "text", path + ".reasoningText");
    if (!text) return text.error();
    r.text = std::move(*text);
    r.signature = str(value.get_object(), "signature");
  } else if (*key == "redactedContent") {
    if (!value.is_string()) {
      return invalid(path + ".redactedContent must be a base64 string.", path + ".redactedContent");
    }
    r.redacted_data = std::string(value.get_string());
  } else {
    return opaque(json::object{{"reasoningContent", v}});
  }
  return ContentBlock(std::move(r));
}

Result<ContentBlock> decodeToolUse(const json::value& v, const std::string& path) {
  if (!v.is_object()) return invalid(path + " must be an object.", path);
  const json::object& o = v.get_object();
  Result<std::string> id = requiredString(o, "toolUseId", path);
  if (!id) return id.error();
  Result<std::string> name = requiredString(o, "name", path);
  if (!name) return name.error();
  canonical::ToolUseBlock use;
  use.id = std::move(*id);
  use.name = std::move(*name);
  const json::value* input = o.if_contains("input");
  use.input_json = (input == nullptr || input->is_null()) ? "{}" : json::serialize(*input);
  return ContentBlock(std::move(use));
}

}  // namespace

Result<void> decodeContent(const json::value& content, const std::string& path,
                           std::vector<ContentBlock>& out) {
  if (!content.is_array()) return invalid(path + " must be an array.", path);
  const json::array& blocks = content.get_array();
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const std::string bpath = path + "." + std::to_string(i + 1);
    Result<std::string_view> key = unionKey(blocks[i], bpath);
    if (!key) return key.error();
    const json::value& value = blocks[i].get_object().begin()->value();
    const std::string vpath = bpath + "." + std::string(*key);
    if (*key == "text") {
      if (!value.is_string()) return invalid(vpath + " must be a string.", vpath);
      out.emplace_back(canonical::TextBlock{std::string(value.get_string())});
    } else if (*key == "image") {
      auto image = decodeImage(value, vpath);
      if (!image) return image.error();
      if (image->has_value()) {
        out.emplace_back(std::move(**image));
      } else {
        out.push_back(opaque(blocks[i]));
      }
    } else if (*key == "toolUse") {
      auto use = decodeToolUse(value, vpath);
      if (!use) return use.error();
      out.push_back(std::move(*use));
    } else if (*key == "toolResult") {
      auto result = decodeToolResult(value, vpath);
      if (!result) return result.error();
      out.push_back(std::move(*result));
    } else if (*key == "reasoningContent") {
      auto r = decodeReasoning(value, vpath);
      if (!r) return r.error();
      out.push_back(std::move(*r));
    } else if (*key == "cachePoint") {
      if (!value.is_object()) return invalid(vpath + " must be an object.", vpath);
      // A default-TTL cache point after text is the canonical cache flag; anything else
      // (a TTL, a point after an image or tool block) stays a Bedrock block.
      auto* text = out.empty() ? nullptr : std::get_if<canonical::TextBlock>(&out.back());
      const bool plain = value.get_object().if_contains("ttl") == nullptr;
      if (text != nullptr && !text->cache_point && plain) {
        text->cache_point = true;
      } else {
        out.push_back(opaque(blocks[i]));
      }
    } else {
      out.push_back(opaque(blocks[i]));
    }
  }
  return {};
}

std::optional<std::string> imageFormat(std::string_view media_type) {
  std::string_view t = media_type;
  if (t.starts_with("image/")) t.remove_prefix(6);
  if (t == "jpg") t = "jpeg";
  for (std::string_view f : kImageFormats) {
    if (t == f) return std::string(f);
  }
  return std::nullopt;
}

bool blankText(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') return false;
  }
  return true;
}

Result<json::object> encodeImage(const canonical::ImageBlock& image) {
  std::string media_type = image.media_type;
  std::string data = image.data;
  if (data.empty() && image.url.starts_with("data:")) {
    // data:<mime>;base64,<b64>
    const std::size_t comma = image.url.find(',');
    const std::size_t semi = image.url.find(';');
    if (comma == std::string::npos || semi == std::string::npos || semi > comma ||
        image.url.substr(semi, comma - semi) != ";base64") {
      return Error::invalid(
          "Bedrock Converse needs base64 image data; the data URL is not base64.");
    }
    media_type = image.url.substr(5, semi - 5);
    data = image.url.substr(comma + 1);
  }
  if (data.empty()) {
    return Error::invalid(
        "Bedrock Converse does not accept image URLs; send the image inline as base64 data.", {},
        "unsupported_feature");
  }
  std::optional<std::string> format = imageFormat(media_type);
  if (!format) {
    return Error::invalid("Bedrock Converse does not support image type '" + media_type +
                              "' (png, jpeg, gif and webp are supported).",
                          {}, "unsupported_feature");
  }
  return json::object{{"format", *format}, {"source", json::object{{"bytes", data}}}};
}

void encodeBlock(const ContentBlock& block, json::array& out, bool for_client) {
  if (const auto* text = std::get_if<canonical::TextBlock>(&block)) {
    if (blankText(text->text)) return;
    out.push_back(json::object{{"text", text->text}});
    if (text->cache_point) {
      out.push_back(json::object{{"cachePoint", json::object{{"type", "default"}}}});
    }
  } else if (const auto* image = std::get_if<canonical::ImageBlock>(&block)) {
    if (Result<json::object> img = encodeImage(*image)) {
      out.push_back(json::object{{"image", std::move(*img)}});
    }
  } else if (const auto* use = std::get_if<canonical::ToolUseBlock>(&block)) {
    json::value input = json::object();
    if (std::optional<json::value> parsed = parseJson(use->input_json);
        parsed && parsed->is_object()) {
      input = std::move(*parsed);
    } else if (!use->input_json.empty() && !blankText(use->input_json)) {
      // Converse input must be an object; keep what the model wrote rather than lose it.
      input = json::object{{"_raw", use->input_json}};
    }
    out.push_back(json::object{
        {"toolUse",
         json::object{{"toolUseId", use->id}, {"name", use->name}, {"input", std::move(input)}}}});
  } else if (const auto* result = std::get_if<canonical::ToolResultBlock>(&block)) {
    json::array parts;
    for (const canonical::ToolResultPart& part : result->content) {
      if (const auto* t = std::get_if<canonical::TextBlock>(&part)) {
        if (!blankText(t->text)) parts.push_back(json::object{{"text", t->text}});
      } else if (const auto* img = std::get_if<canonical::ImageBlock>(&part)) {
        if (Result<json::object> i = encodeImage(*img)) {
          parts.push_back(json::object{{"image", std::move(*i)}});
        }
      }
    }
    // Converse rejects empty text, and an empty content array carries no signal.
    if (parts.empty()) parts.push_back(json::object{{"text", "(no output)"}});
    json::object r{{"toolUseId", result->tool_use_id}, {"content", std::move(parts)}};
    r["status"] = result->is_error ? "error" : "success";
    out.push_back(json::object{{"toolResult", std::move(r)}});
  } else if (const auto* reasoning = std::get_if<canonical::ReasoningBlock>(&block)) {
    if (!reasoning->redacted_data.empty()) {
      out.push_back(json::object{
          {"reasoningContent", json::object{{"redactedContent", reasoning->redacted_data}}}});
    } else if (!reasoning->signature.empty() || (for_client && !reasoning->text.empty())) {
      json::object text{{"text", reasoning->text}};
      if (!reasoning->signature.empty()) text["signature"] = reasoning->signature;
      out.push_back(json::object{{"reasoningContent", json::object{{"reasoningText", text}}}});
    }
  } else if (const auto* op = std::get_if<canonical::OpaqueBlock>(&block)) {
    std::optional<json::value> v = parseJson(op->json);
    if (!v || !v->is_object()) return;
    if (op->vendor == canonical::Vendor::kBedrock) {
      out.push_back(std::move(*v));
    } else if (for_client && op->vendor == canonical::Vendor::kOpenAI &&
               str(v->get_object(), "type") == "refusal") {
      // A refusal is the model's answer; a Bedrock client reads it as text.
      const std::string refusal = str(v->get_object(), "refusal");
      if (!blankText(refusal)) out.push_back(json::object{{"text", refusal}});
    }
  }
}

json::object usageJson(const canonical::Usage& usage) {
  const std::int64_t cached = usage.cache_read_tokens + usage.cache_write_tokens;
  const std::int64_t input = usage.input_tokens > cached ? usage.input_tokens - cached : 0;
  json::object u;
  u["inputTokens"] = input;
  u["outputTokens"] = usage.output_tokens;
  u["totalTokens"] = input + cached + usage.output_tokens;
  if (usage.cache_read_tokens > 0) u["cacheReadInputTokens"] = usage.cache_read_tokens;
  if (usage.cache_write_tokens > 0) u["cacheWriteInputTokens"] = usage.cache_write_tokens;
  return u;
}

canonical::Usage usageFromJson(const json::object& usage) {
  auto get = [&](std::string_view key) -> std::int64_t {
    const json::value* v = usage.if_contains(key);
    if (v == nullptr) return 0;
    std::optional<std::int64_t> n = asInt(*v);
    return n && *n > 0 ? *n : 0;
  };
  canonical::Usage u;
  u.cache_read_tokens = get("cacheReadInputTokens");
  u.cache_write_tokens = get("cacheWriteInputTokens");
  u.input_tokens = get("inputTokens") + u.cache_read_tokens + u.cache_write_tokens;
  u.output_tokens = get("outputTokens");
  return u;
}

}  // namespace basalt::api::bedrock::detail
