#include "basalt/providers/factory.h"

#include "basalt/providers/openai/chat_provider.h"

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
  if (settings.type == "openai") {
    if (settings.api.empty() || settings.api == "chat") {
      return openai::makeChatProvider(settings, clientOptions(settings));
    }
    return Error::invalid(who + ": api \"" + settings.api + "\" is not supported yet");
  }
  if (settings.type == "azure-openai" || settings.type == "anthropic" ||
      settings.type == "bedrock") {
    return Error::invalid(who + ": provider type " + settings.type + " is not supported yet");
  }
  return Error::invalid(who + ": unknown provider type \"" + settings.type +
                        "\" (expected openai, azure-openai, anthropic or bedrock)");
}

}  // namespace basalt::providers
