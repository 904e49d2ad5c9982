#pragma once
/// The Azure OpenAI provider (`type = "azure-openai"`): the Chat Completions wire (the
/// openai_chat codec) with Azure's URLs, `api-key` header and api-version.
///
///  - `api_version` = a dated version (default from the loader, e.g. "2024-10-21"):
///    POST `{base_url}/openai/deployments/{deployment}/chat/completions?api-version=X`, where the
///    deployment is the route's model (percent-encoded as one path segment);
///  - `api_version` = "v1" (the GA v1 surface, no api-version parameter) or "preview"
///    (`?api-version=preview`): POST `{base_url}/openai/v1/chat/completions`, the route's model
///    in the body.
/// A base_url that already ends in `/openai` (or `/openai/v1` for the v1 surface) is not
/// extended again. Errors follow upstream_error.h; Azure's content filter stops a stream with
/// finish_reason "content_filter" (StopReason::kContentFilter) and rejects a filtered prompt
/// with a 400 (kInvalidRequest carrying Azure's message).

#include "basalt/config/settings.h"
#include "basalt/core/error.h"
#include "basalt/providers/http/http_client.h"
#include "basalt/providers/provider.h"

#include <memory>
#include <string>
#include <string_view>

namespace basalt::providers::azure {

/// Builds the provider; vendor() is kOpenAI (OpenAI request extras are forwarded). Sends
/// `api-key: <api_key>` when a key is configured and the request id as `x-basalt-request-id`.
/// Fails (naming the provider) when base_url is not a valid http(s) URL, api_version is empty
/// or `options.extra_ca_pem` is not valid PEM.
Result<std::unique_ptr<Provider>> makeAzureProvider(const config::ProviderSettings& settings,
                                                    http::ClientOptions options);

/// The request target (path and query) for `model` under the base path `base_path` (no
/// trailing '/'). Exposed for tests.
std::string azureChatTarget(std::string_view base_path, std::string_view api_version,
                            std::string_view model);

}  // namespace basalt::providers::azure
