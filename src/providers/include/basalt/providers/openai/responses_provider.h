#pragma once
/// The OpenAI Responses provider (`type = "openai"`, `api = "responses"`): api.openai.com and
/// Responses-compatible servers. The wire conversion is the openai_responses codec's
/// (api/openai_responses/responses_codec.h); this adapter adds the HTTP exchange, SSE framing
/// (event names) and the upstream error policy.
///
/// Hosted tools (web_search, local_shell, tool_search ...) reach this provider verbatim; the
/// providers of other vendors drop them (and log the drop).

#include "basalt/config/settings.h"
#include "basalt/core/error.h"
#include "basalt/providers/http/http_client.h"
#include "basalt/providers/provider.h"

#include <memory>

namespace basalt::providers::openai {

/// POSTs `{base_url}/responses` with `Authorization: Bearer <api_key>` (only when a key is
/// configured) and the request id as `x-basalt-request-id`. Fails when base_url is not a valid
/// http(s) URL or `options.extra_ca_pem` is not valid PEM; the message names the provider.
Result<std::unique_ptr<Provider>> makeResponsesProvider(const config::ProviderSettings& settings,
                                                        http::ClientOptions options);

}  // namespace basalt::providers::openai
