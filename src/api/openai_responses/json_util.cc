#include "json_util.h"

#include "basalt/core/ids.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cmath>
#include <limits>

namespace basalt::api::openai_responses::detail {

std::optional<json::value> parseJson(std::string_view text) {
  // Boost.JSON's default depth (32) is below what real tool schemas reach.
  json::parse_options options;
  options.max_depth = 256;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) return std::nullopt;
  return v;
}

const char* typeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return "a string";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a decimal";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::object:
      return "an object";
    case json::kind::array:
      return "an array";
    case json::kind::null:
      return "null";
  }
  return "an unknown type";
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

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v != nullptr && v->is_string()) ? std::string(v->get_string()) : std::string();
}

// ---- usage ----

json::object usageJson(const canonical::Usage& usage) {
  json::object u;
  u["input_tokens"] = usage.input_tokens;
  u["input_tokens_details"] = json::object{{"cached_tokens", usage.cache_read_tokens}};
  u["output_tokens"] = usage.output_tokens;
  u["output_tokens_details"] = json::object{{"reasoning_tokens", usage.reasoning_tokens}};
  u["total_tokens"] = usage.total();
  return u;
}

namespace {
std::int64_t intField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr ? 0 : asInt(*v).value_or(0);
}
}  // namespace

canonical::Usage usageFromJson(const json::object& usage) {
  canonical::Usage u;
  u.input_tokens = intField(usage, "input_tokens");
  u.output_tokens = intField(usage, "output_tokens");
  if (const json::value* d = usage.if_contains("input_tokens_details"); d && d->is_object()) {
    u.cache_read_tokens = intField(d->get_object(), "cached_tokens");
  }
  if (const json::value* d = usage.if_contains("output_tokens_details"); d && d->is_object()) {
    u.reasoning_tokens = intField(d->get_object(), "reasoning_tokens");
  }
  return u;
}

// ---- ids ----

std::string hashHex(std::string_view seed) {
  std::uint64_t a = 14695981039346656037ULL;
  std::uint64_t b = 0x84222325cbf29ce4ULL;
  for (const char c : seed) {
    a = (a ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    b = (b ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    b ^= b >> 29;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kHex[(a >> (4 * i)) & 0xF];
    out[31 - i] = kHex[(b >> (4 * i)) & 0xF];
  }
  return out;
}

// ---- base64 and the reasoning envelope ----

namespace {

constexpr std::string_view kEnvelopePrefix = "gw1:";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                            (static_cast<unsigned char>(in[i + 1]) << 8) |
                            static_cast<unsigned char>(in[i + 2]);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i + 1 == in.size()) {
    const std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const std::uint32_t n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64Decode(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    if (c == '=') break;
    const char* p = std::char_traits<char>::find(kB64, 64, c);
    if (p == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace

std::string envelope(std::string_view signature, std::string_view data) {
  json::object o;
  if (!signature.empty()) o["signature"] = signature;
  if (!data.empty()) o["data"] = data;
  return std::string(kEnvelopePrefix) + base64Encode(json::serialize(o));
}

std::string encryptedContentOf(const canonical::ReasoningBlock& block) {
  if (!block.encrypted.empty()) return block.encrypted;
  if (block.signature.empty() && block.redacted_data.empty()) return {};
  // A signature under an OpenAI reasoning id is OpenAI's encrypted content that came through a
  // stream (the canonical stream has one signature delta type for both).
  if (block.id.starts_with("rs_") && block.redacted_data.empty()) return block.signature;
  return envelope(block.signature, block.redacted_data);
}

void restoreEncryptedContent(std::string_view encrypted, canonical::ReasoningBlock& block) {
  if (!encrypted.starts_with(kEnvelopePrefix)) {
    block.encrypted = std::string(encrypted);
    return;
  }
  std::optional<std::string> raw = base64Decode(encrypted.substr(kEnvelopePrefix.size()));
  std::optional<json::value> v = raw ? parseJson(*raw) : std::nullopt;
  if (!v || !v->is_object()) return;  // not ours after all: nothing any provider could use
  block.signature = str(v->get_object(), "signature");
  block.redacted_data = str(v->get_object(), "data");
}

std::string customInput(std::string_view input_json) {
  if (auto v = parseJson(input_json); v && v->is_object()) {
    if (const json::value* c = v->get_object().if_contains("content"); c && c->is_string()) {
      return std::string(c->get_string());
    }
  }
  return std::string(input_json);
}

std::string customInputJson(std::string_view raw) {
  return json::serialize(json::object{{"content", raw}});
}

std::string imageUrl(const canonical::ImageBlock& image) {
  if (image.data.empty()) return image.url;
  return "data:" + (image.media_type.empty() ? std::string("image/png") : image.media_type) +
         ";base64," + image.data;
}

canonical::ImageBlock imageFromUrl(std::string url, std::string detail) {
  canonical::ImageBlock block;
  block.detail = std::move(detail);
  constexpr std::string_view kBase64 = ";base64,";
  const std::size_t marker = url.find(kBase64);
  if (url.starts_with("data:") && marker != std::string::npos) {
    block.media_type = url.substr(5, marker - 5);
    block.data = url.substr(marker + kBase64.size());
  } else {
    block.url = std::move(url);
  }
  return block;
}

void mergeMissing(json::object& into, const canonical::VendorExtras& extras) {
  if (extras.vendor != canonical::Vendor::kOpenAI || extras.empty()) return;
  auto v = parseJson(extras.json);
  if (!v || !v->is_object()) return;
  for (const auto& [key, value] : v->get_object()) {
    if (!into.contains(key)) into[key] = value;
  }
}

}  // namespace basalt::api::openai_responses::detail
