// The Responses DoorCodec, response ids, the Response body and errors.

#include "basalt/api/openai_responses/responses_codec.h"

#include "basalt/api/openai_chat/chat_codec.h"
#include "basalt/core/ids.h"
#include "items.h"
#include "stream_encoder.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::openai_responses {

namespace json = boost::json;

namespace {

class ResponsesDoorCodec final : public canonical::DoorCodec {
 public:
  canonical::Door door() const override { return canonical::Door::kOpenAIResponses; }

  Result<canonical::ChatRequest> decode(const HttpRequest& request) const override {
    Result<canonical::ChatRequest> r = decodeRequest(request.body);
    // The gateway may overwrite it; until then the transport's id keeps the response id
    // stable for this exchange.
    if (r && r->request_id.empty()) r->request_id = request.request_id;
    return r;
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
    return std::make_unique<ResponsesStreamEncoder>(request);
  }

  canonical::EncodedReply encodeError(const Error& error) const override {
    return openai_responses::encodeError(error);
  }
};

}  // namespace

std::unique_ptr<canonical::DoorCodec> makeDoorCodec() {
  return std::make_unique<ResponsesDoorCodec>();
}

std::string responseId(std::string_view request_id) {
  if (request_id.empty()) return "resp_" + detail::hashHex(randomId("", 32));
  return "resp_" + detail::hashHex(request_id);
}

std::string encodeResponseBody(const canonical::ChatResponse& response,
                               const canonical::ChatRequest& request) {
  const std::string id = responseId(request.request_id);
  const std::string hex = id.substr(5);
  const std::string_view incomplete = detail::incompleteReason(response.stop_reason);
  json::object r = detail::responseObject(
      request, id, response.created > 0 ? response.created : detail::unixNow(),
      incomplete.empty() ? "completed" : "incomplete", detail::outputItems(response, request, hex),
      detail::usageJson(response.usage));
  if (!incomplete.empty()) r["incomplete_details"] = json::object{{"reason", incomplete}};
  return json::serialize(r);
}

canonical::EncodedReply encodeError(const Error& error) {
  // The Responses API uses the same error body as Chat Completions (wire.md §1.9, §3.6).
  return openai_chat::encodeError(error);
}

}  // namespace basalt::api::openai_responses
