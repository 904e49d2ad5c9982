// The Chat Completions DoorCodec and the shared `/v1/models` body.

#include "basalt/api/openai_chat/chat_codec.h"

#include "stream_encoder.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::api::openai_chat {

namespace json = boost::json;

namespace {

class ChatDoorCodec final : public canonical::DoorCodec {
 public:
  canonical::Door door() const override { return canonical::Door::kOpenAIChat; }

  Result<canonical::ChatRequest> decode(const HttpRequest& request) const override {
    return decodeRequest(request.body);
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
    return std::make_unique<ChatStreamEncoder>(request);
  }

  canonical::EncodedReply encodeError(const Error& error) const override {
    return openai_chat::encodeError(error);
  }
};

// Model catalogue entries carry no real creation date; a fixed one keeps bodies stable.
constexpr std::int64_t kModelCreated = 1700000000;
constexpr std::string_view kModelCreatedAt = "2023-11-14T22:13:20Z";

}  // namespace

std::unique_ptr<canonical::DoorCodec> makeDoorCodec() {
  return std::make_unique<ChatDoorCodec>();
}

std::string encodeModelList(const std::vector<std::string>& model_names, bool codex) {
  json::array data;
  data.reserve(model_names.size());
  for (const std::string& name : model_names) {
    data.push_back(json::object{{"id", name},
                                {"object", "model"},
                                {"type", "model"},
                                {"created", kModelCreated},
                                {"created_at", kModelCreatedAt},
                                {"owned_by", "basalt"},
                                {"display_name", name}});
  }
  json::object body;
  body["object"] = "list";
  body["data"] = std::move(data);
  body["has_more"] = false;
  if (model_names.empty()) {
    body["first_id"] = nullptr;
    body["last_id"] = nullptr;
  } else {
    body["first_id"] = model_names.front();
    body["last_id"] = model_names.back();
  }
  if (codex) body["models"] = json::array();
  return json::serialize(body);
}

}  // namespace basalt::api::openai_chat
