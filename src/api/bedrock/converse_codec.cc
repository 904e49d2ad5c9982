// The Converse / ConverseStream DoorCodec.

#include "basalt/api/bedrock/converse_codec.h"

#include "stream_encoder.h"

namespace basalt::api::bedrock {

namespace {

class ConverseDoorCodec final : public canonical::DoorCodec {
 public:
  canonical::Door door() const override { return canonical::Door::kBedrockConverse; }

  Result<canonical::ChatRequest> decode(const HttpRequest& request) const override {
    std::optional<BedrockRoute> route = parseBedrockPath(request.path());
    if (!route || (route->operation != BedrockOperation::kConverse &&
                   route->operation != BedrockOperation::kConverseStream)) {
      Error e = Error::notFound("The requested operation is not recognized by the service.");
      e.code = "UnknownOperationException";
      return e;
    }
    return decodeRequest(request.body, std::move(route->model),
                         route->operation == BedrockOperation::kConverseStream);
  }

  canonical::EncodedReply encodeResponse(const canonical::ChatResponse& response,
                                         const canonical::ChatRequest& /*request*/) const override {
    canonical::EncodedReply reply;
    reply.headers.push_back({"content-type", "application/json"});
    reply.body = encodeResponseBody(response);
    return reply;
  }

  std::unique_ptr<canonical::StreamEncoder> newStreamEncoder(
      const canonical::ChatRequest& /*request*/) const override {
    return std::make_unique<ConverseStreamEncoder>();
  }

  canonical::EncodedReply encodeError(const Error& error) const override {
    return bedrock::encodeError(error);
  }
};

}  // namespace

std::unique_ptr<canonical::DoorCodec> makeDoorCodec() {
  return std::make_unique<ConverseDoorCodec>();
}

}  // namespace basalt::api::bedrock
