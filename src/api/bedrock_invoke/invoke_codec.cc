// The InvokeModel door: native bodies through the Anthropic or Chat codec, answers in the same
// native format, streams as base64 `chunk` event-stream messages.

#include "basalt/api/bedrock_invoke/invoke_codec.h"

#include "basalt/api/anthropic/messages_codec.h"
#include "basalt/api/bedrock/converse_codec.h"
#include "basalt/api/bedrock/event_stream.h"
#include "basalt/api/openai_chat/chat_codec.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <vector>

namespace basalt::api::bedrock_invoke {

namespace json = boost::json;
using canonical::StreamEvent;

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Error validation(std::string message) {
  Error e = Error::invalid(std::move(message));
  e.code = "ValidationException";
  return e;
}

std::int64_t millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

/// canonical events -> native stream events -> `chunk` frames. One per response.
class InvokeStreamEncoder final : public canonical::StreamEncoder {
 public:
  explicit InvokeStreamEncoder(const canonical::ChatRequest& request)
      : format_(bodyFormat(request)),
        anthropic_(request.model, request.request_id),
        started_at_(std::chrono::steady_clock::now()) {
    if (format_ == BodyFormat::kOpenAIChat) {
      chat_ = openai_chat::makeDoorCodec()->newStreamEncoder(request);
    }
  }

  Headers headers() const override {
    return {{"content-type", "application/vnd.amazon.eventstream"},
            {"x-amzn-bedrock-content-type", "application/json"}};
  }

  void encode(const StreamEvent& event, std::string& out) override {
    if (done_) return;
    if (first_byte_ms_ < 0) first_byte_ms_ = millisSince(started_at_);
    if (event.type == StreamEvent::Type::kError) {
      // Once the 200 went out, Bedrock reports failures as exception frames.
      out += bedrock::encodeStreamError(event.error);
      done_ = true;
      return;
    }
    if (format_ == BodyFormat::kAnthropic) {
      encodeAnthropic(event, out);
    } else {
      encodeChat(event, out);
    }
  }

 private:
  void encodeAnthropic(const StreamEvent& event, std::string& out) {
    events_.clear();
    anthropic_.encode(event, events_);
    for (const anthropic::WireEvent& e : events_) {
      if (e.name == "ping") continue;  // a keep-alive of the SSE framing only
      if (e.name != "message_stop") {
        out += encodeChunk(e.json);
        continue;
      }
      // Bedrock's last Claude chunk carries the invocation metrics.
      const canonical::Usage& usage = anthropic_.usage();
      json::object stop{
          {"type", "message_stop"},
          {"amazon-bedrock-invocationMetrics",
           json::object{{"inputTokenCount",
                         usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens},
                        {"outputTokenCount", usage.output_tokens},
                        {"invocationLatency", millisSince(started_at_)},
                        {"firstByteLatency", first_byte_ms_}}}};
      out += encodeChunk(json::serialize(stop));
    }
    done_ = anthropic_.done();
  }

  void encodeChat(const StreamEvent& event, std::string& out) {
    sse_.clear();
    chat_->encode(event, sse_);
    // Each SSE frame is `data: <json>\n\n`; its JSON is one native chunk.
    std::size_t pos = 0;
    while (pos < sse_.size()) {
      std::size_t end = sse_.find("\n\n", pos);
      if (end == std::string::npos) end = sse_.size();
      std::string_view frame(sse_.data() + pos, end - pos);
      pos = end + 2;
      if (!frame.starts_with("data: ")) continue;
      frame.remove_prefix(6);
      if (frame == "[DONE]") {
        done_ = true;
        continue;
      }
      out += encodeChunk(frame);
    }
  }

  BodyFormat format_;
  anthropic::EventEncoder anthropic_;
  std::unique_ptr<canonical::StreamEncoder> chat_;
  std::vector<anthropic::WireEvent> events_;
  std::string sse_;
  std::chrono::steady_clock::time_point started_at_;
  std::int64_t first_byte_ms_ = -1;
  bool done_ = false;
};

class InvokeDoorCodec final : public canonical::DoorCodec {
 public:
  canonical::Door door() const override { return canonical::Door::kBedrockInvoke; }

  Result<canonical::ChatRequest> decode(const HttpRequest& request) const override {
    std::optional<bedrock::BedrockRoute> route = bedrock::parseBedrockPath(request.path());
    if (!route || (route->operation != bedrock::BedrockOperation::kInvoke &&
                   route->operation != bedrock::BedrockOperation::kInvokeWithResponseStream)) {
      Error e = Error::notFound("The requested operation is not recognized by the service.");
      e.code = "UnknownOperationException";
      return e;
    }
    return decodeRequest(request.body, std::move(route->model),
                         route->operation == bedrock::BedrockOperation::kInvokeWithResponseStream);
  }

  canonical::EncodedReply encodeResponse(const canonical::ChatResponse& response,
                                         const canonical::ChatRequest& request) const override {
    canonical::EncodedReply reply;
    reply.headers.push_back({"content-type", "application/json"});
    // Not in the service model, but real Bedrock sends them and tooling reads them.
    const canonical::Usage& u = response.usage;
    reply.headers.push_back(
        {"x-amzn-bedrock-input-token-count",
         std::to_string(u.input_tokens - u.cache_read_tokens - u.cache_write_tokens)});
    reply.headers.push_back({"x-amzn-bedrock-output-token-count", std::to_string(u.output_tokens)});
    reply.body = encodeResponseBody(response, request);
    return reply;
  }

  std::unique_ptr<canonical::StreamEncoder> newStreamEncoder(
      const canonical::ChatRequest& request) const override {
    return std::make_unique<InvokeStreamEncoder>(request);
  }

  canonical::EncodedReply encodeError(const Error& error) const override {
    return bedrock::encodeError(error);
  }
};

}  // namespace

std::unique_ptr<canonical::DoorCodec> makeDoorCodec() {
  return std::make_unique<InvokeDoorCodec>();
}

Result<canonical::ChatRequest> decodeRequest(std::string_view body, std::string model,
                                             bool stream) {
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return validation("Malformed input request, please reformat.");
  json::object& o = parsed.get_object();

  if (o.contains("anthropic_version")) {
    anthropic::DecodeOptions options;
    options.bedrock = true;
    options.model = std::move(model);
    options.stream = stream;
    Result<canonical::ChatRequest> req = anthropic::decodeRequest(body, options);
    if (!req) return req;
    req->extras.vendor = canonical::Vendor::kAnthropic;  // the body format (bodyFormat)
    return req;
  }
  if (!o.contains("messages")) {
    return validation(
        "Malformed input request: the body is neither an Anthropic Messages body "
        "(anthropic_version) nor an OpenAI Chat Completions body (messages).");
  }
  // The model is the path's; `stream` is the operation's.
  o["model"] = model;
  o.erase("stream");
  o.erase("stream_options");
  Result<canonical::ChatRequest> req = openai_chat::decodeRequest(json::serialize(o));
  if (!req) return req;
  req->door = canonical::Door::kBedrockInvoke;
  req->model = std::move(model);
  req->stream = stream;
  req->include_usage = stream;
  req->extras.vendor = canonical::Vendor::kOpenAI;  // the body format (bodyFormat)
  return req;
}

BodyFormat bodyFormat(const canonical::ChatRequest& request) {
  return request.extras.vendor == canonical::Vendor::kOpenAI ? BodyFormat::kOpenAIChat
                                                             : BodyFormat::kAnthropic;
}

std::string encodeResponseBody(const canonical::ChatResponse& response,
                               const canonical::ChatRequest& request) {
  if (bodyFormat(request) == BodyFormat::kOpenAIChat) {
    return openai_chat::encodeResponseBody(response, request);
  }
  return anthropic::encodeResponseBody(response, request);
}

std::string encodeChunk(std::string_view native_json) {
  std::string payload = R"({"bytes":")";
  payload += base64Encode(native_json);
  payload += "\"}";
  return bedrock::encodeBedrockEvent("chunk", payload);
}

std::string base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto a = static_cast<unsigned char>(bytes[i]);
    const auto b = static_cast<unsigned char>(bytes[i + 1]);
    const auto c = static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[a >> 2];
    out += kAlphabet[((a & 0x03) << 4) | (b >> 4)];
    out += kAlphabet[((b & 0x0F) << 2) | (c >> 6)];
    out += kAlphabet[c & 0x3F];
  }
  if (i < bytes.size()) {
    const auto a = static_cast<unsigned char>(bytes[i]);
    const bool two = i + 1 < bytes.size();
    const auto b = two ? static_cast<unsigned char>(bytes[i + 1]) : 0;
    out += kAlphabet[a >> 2];
    out += kAlphabet[((a & 0x03) << 4) | (b >> 4)];
    out += two ? kAlphabet[(b & 0x0F) << 2] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (pad == 1 && text[i + 2] == '=') return std::nullopt;
    int v[4];
    for (int k = 0; k < 4 - pad; ++k) {
      v[k] = value(text[i + k]);
      if (v[k] < 0) return std::nullopt;
    }
    for (int k = 4 - pad; k < 4; ++k) v[k] = 0;
    const std::uint32_t n =
        (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
        (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out += static_cast<char>((n >> 16) & 0xFF);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(n & 0xFF);
  }
  return out;
}

}  // namespace basalt::api::bedrock_invoke
