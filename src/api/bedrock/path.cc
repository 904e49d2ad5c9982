// Routing helpers: `/model/{modelId}/{operation}` and the model name inside a modelId.

#include "basalt/api/bedrock/converse_codec.h"
#include "basalt/core/percent.h"

namespace basalt::api::bedrock {

namespace {

constexpr std::string_view kPrefix = "/model/";
constexpr std::size_t kMaxModelId = 2048;  // ConversationalModelId / InvokeModelIdentifier

std::optional<BedrockOperation> operationOf(std::string_view name) {
  if (name == "converse") return BedrockOperation::kConverse;
  if (name == "converse-stream") return BedrockOperation::kConverseStream;
  if (name == "invoke") return BedrockOperation::kInvoke;
  if (name == "invoke-with-response-stream") return BedrockOperation::kInvokeWithResponseStream;
  return std::nullopt;
}

}  // namespace

std::optional<BedrockRoute> parseBedrockPath(std::string_view path) {
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  std::optional<BedrockOperation> op = operationOf(path.substr(slash + 1));
  if (!op) return std::nullopt;
  std::optional<std::string> id = percentDecodePath(path.substr(0, slash));
  if (!id || id->empty() || id->size() > kMaxModelId) return std::nullopt;
  for (char c : *id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
  }
  BedrockRoute route;
  route.operation = *op;
  route.model = modelName(*id);
  route.model_id = std::move(*id);
  if (route.model.empty()) return std::nullopt;
  return route;
}

std::string modelName(std::string_view model_id) {
  if (!model_id.starts_with("arn:")) return std::string(model_id);
  // arn:partition:service:region:account:resource; the resource may itself hold ':' (model
  // versions such as `...-v1:0`), so it is everything after the fifth colon.
  std::size_t pos = 0;
  for (int colons = 0; colons < 5; ++colons) {
    pos = model_id.find(':', pos);
    if (pos == std::string_view::npos) return std::string(model_id);
    ++pos;
  }
  std::string_view resource = model_id.substr(pos);
  const std::size_t slash = resource.rfind('/');
  return std::string(slash == std::string_view::npos ? resource : resource.substr(slash + 1));
}

const char* iamAction(BedrockOperation operation) {
  switch (operation) {
    case BedrockOperation::kConverse:
    case BedrockOperation::kInvoke:
      return "bedrock:InvokeModel";
    case BedrockOperation::kConverseStream:
    case BedrockOperation::kInvokeWithResponseStream:
      return "bedrock:InvokeModelWithResponseStream";
  }
  return "bedrock:InvokeModel";
}

}  // namespace basalt::api::bedrock
