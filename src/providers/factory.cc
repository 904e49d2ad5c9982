#include "basalt/providers/factory.h"

#include "basalt/providers/anthropic/anthropic_provider.h"
#include "basalt/providers/azure/azure_provider.h"
#include "basalt/providers/bedrock/bedrock_provider.h"
#include "basalt/providers/openai/chat_provider.h"
#include "basalt/providers/openai/responses_provider.h"

#include <algorithm>

namespace basalt::providers {

http::ClientOptions clientOptions(const config::ProviderSettings& settings) {
  http::ClientOptions options;
  if (settings.connect_timeout_ms > 0) {
    options.connect_timeout = std::chrono::milliseconds(settings.connect_timeout_ms);
  }
  options.max_idle_connections = std::max(0, settings.max_idle_connections);
  return options;
}

Result<std::unique_ptr<Provider>> makeProvider(const config::ProviderSettings& settings) {
  const std::string who = "provider '" + settings.name + "'";
  const http::ClientOptions options = clientOptions(settings);
  if (settings.type == "openai") {
    if (settings.api.empty() || settings.api == "chat") {
      return openai::makeChatProvider(settings, options);
    }
    if (settings.api == "responses") return openai::makeResponsesProvider(settings, options);
    return Error::invalid(who + ": unknown api \"" + settings.api +
                          "\" (expected chat or responses)");
  }
  if (settings.type == "azure-openai") return azure::makeAzureProvider(settings, options);
  if (settings.type == "anthropic") return anthropic::makeAnthropicProvider(settings, options);
  if (settings.type == "bedrock") return bedrock::makeBedrockProvider(settings, options);
  return Error::invalid(who + ": unknown provider type \"" + settings.type +
                        "\" (expected openai, azure-openai, anthropic or bedrock)");
}

}  // namespace basalt::providers
