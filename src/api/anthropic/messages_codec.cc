// The Messages DoorCodec, count_tokens and the Anthropic `/v1/models` bodies.

#include "basalt/api/anthropic/messages_codec.h"

#include "stream_encoder.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::api::anthropic {

namespace json = boost::json;

namespace {

class MessagesDoorCodec final : public canonical::DoorCodec {
 public:
  canonical::Door door() const override { return canonical::Door::kAnthropicMessages; }

  Result<canonical::ChatRequest> decode(const HttpRequest& request) const override {
    Result<canonical::ChatRequest> req = decodeRequest(request.body);
    if (!req) return req;
    if (const std::string* beta = request.header("anthropic-beta")) req->anthropic_beta = *beta;
    if (const std::string* version = request.header("anthropic-version")) {
      // Only a version-shaped token is forwarded ("2023-06-01"): never arbitrary header bytes.
      const bool plausible =
          !version->empty() && version->size() <= 32 &&
          version->find_first_not_of("0123456789-abcdefghijklmnopqrstuvwxyz.") == std::string::npos;
      if (plausible) req->anthropic_version = *version;
    }
    return req;
  }

  canonical::EncodedReply encodeResponse(const canonical::ChatResponse& response,
                                         const canonical::ChatRequest& request) const override {
    canonical::EncodedReply reply;
    reply.headers.push_back({"content-type", "application/json"});
    reply.body = encodeResponseBody(response, request);
    return reply;
  }

  std::unique_ptr<canonical::StreamEncoder> newStreamEncoder(
      const canonical::ChatRequest& request) const override {
    return std::make_unique<SseStreamEncoder>(request);
  }

  canonical::EncodedReply encodeError(const Error& error) const override {
    return anthropic::encodeError(error);
  }
};

// Model catalogue entries carry no real creation date; a fixed one keeps bodies stable.
constexpr std::string_view kModelCreatedAt = "2023-11-14T22:13:20Z";

json::object modelObject(std::string_view name) {
  return json::object{
      {"type", "model"}, {"id", name}, {"display_name", name}, {"created_at", kModelCreatedAt}};
}

std::size_t bytesOf(const canonical::ContentBlock& block, std::int64_t& images) {
  if (const auto* t = std::get_if<canonical::TextBlock>(&block)) return t->text.size();
  if (std::holds_alternative<canonical::ImageBlock>(block)) {
    ++images;
    return 0;
  }
  if (const auto* u = std::get_if<canonical::ToolUseBlock>(&block)) {
    return u->name.size() + u->input_json.size();
  }
  if (const auto* r = std::get_if<canonical::ToolResultBlock>(&block)) {
    std::size_t n = 0;
    for (const canonical::ToolResultPart& p : r->content) {
      if (const auto* t = std::get_if<canonical::TextBlock>(&p)) {
        n += t->text.size();
      } else {
        ++images;
      }
    }
    return n;
  }
  if (const auto* r = std::get_if<canonical::ReasoningBlock>(&block)) return r->text.size();
  if (const auto* o = std::get_if<canonical::OpaqueBlock>(&block)) return o->json.size();
  return 0;
}

}  // namespace

std::unique_ptr<canonical::DoorCodec> makeDoorCodec() {
  return std::make_unique<MessagesDoorCodec>();
}

std::int64_t estimateInputTokens(const canonical::ChatRequest& request) {
  constexpr std::int64_t kImageTokens = 1600;
  std::size_t bytes = 0;
  std::int64_t images = 0;
  for (const canonical::ContentBlock& b : request.system) bytes += bytesOf(b, images);
  for (const canonical::Message& m : request.messages) {
    for (const canonical::ContentBlock& b : m.content) bytes += bytesOf(b, images);
  }
  for (const canonical::ToolSpec& t : request.tools) {
    bytes += t.name.size() + t.description.size() + t.parameters_json.size() + t.extras.json.size();
  }
  const std::int64_t tokens = static_cast<std::int64_t>((bytes + 3) / 4) + images * kImageTokens;
  return tokens > 0 ? tokens : 1;
}

std::string encodeCountTokens(const canonical::ChatRequest& request) {
  return json::serialize(json::object{{"input_tokens", estimateInputTokens(request)}});
}

std::string encodeModelList(const std::vector<std::string>& model_names) {
  json::array data;
  data.reserve(model_names.size());
  for (const std::string& name : model_names) data.push_back(modelObject(name));
  json::object body;
  body["data"] = std::move(data);
  body["has_more"] = false;
  if (model_names.empty()) {
    body["first_id"] = nullptr;
    body["last_id"] = nullptr;
  } else {
    body["first_id"] = model_names.front();
    body["last_id"] = model_names.back();
  }
  return json::serialize(body);
}

std::string encodeModel(std::string_view model_name) {
  return json::serialize(modelObject(model_name));
}

}  // namespace basalt::api::anthropic
