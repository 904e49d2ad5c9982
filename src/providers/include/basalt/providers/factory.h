#pragma once
/// Builds the Provider adapter a `[[providers]]` entry describes. Called once per provider at
/// startup by the composition root; the result is shared by every server thread.

#include "basalt/config/settings.h"
#include "basalt/core/error.h"
#include "basalt/providers/http/http_client.h"
#include "basalt/providers/provider.h"

#include <memory>

namespace basalt::providers {

/// "openai" (api "chat") is supported; other types fail with an Error naming the provider and
/// the type, as does an invalid base_url.
Result<std::unique_ptr<Provider>> makeProvider(const config::ProviderSettings& settings);

/// The upstream client settings a provider entry implies (timeouts, pool size).
http::ClientOptions clientOptions(const config::ProviderSettings& settings);

}  // namespace basalt::providers
