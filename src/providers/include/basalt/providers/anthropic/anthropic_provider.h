#pragma once
/// The Anthropic Messages provider (`type = "anthropic"`): api.anthropic.com and compatible
/// upstreams. The wire conversion is the anthropic codec's (api/anthropic/messages_codec.h);
/// this adapter adds the HTTP exchange, SSE framing and the upstream error policy.

#include "basalt/config/settings.h"
#include "basalt/core/error.h"
#include "basalt/providers/http/http_client.h"
#include "basalt/providers/provider.h"

#include <memory>

namespace basalt::providers::anthropic {

/// POSTs `{base_url}/v1/messages` (`{base_url}/messages` when base_url already ends in `/v1`)
/// with `x-api-key: <api_key>` (only when a key is configured), `anthropic-version:
/// <settings.api_version>` ("2023-06-01" when empty), the client's `anthropic-beta` (set only by
/// the Anthropic-format doors), and the request id as
/// `x-basalt-request-id`. Upstream errors: 529/overloaded_error -> kUpstreamUnavailable,
/// rate_limit_error -> kRateLimited (retry-after kept), authentication/permission ->
/// kUpstreamError, invalid_request_error -> kInvalidRequest. Fails when base_url is not a valid
/// http(s) URL or `options.extra_ca_pem` is not valid PEM; the message names the provider.
Result<std::unique_ptr<Provider>> makeAnthropicProvider(const config::ProviderSettings& settings,
                                                        http::ClientOptions options);

}  // namespace basalt::providers::anthropic
