#pragma once
/// The OpenAI Chat Completions provider (`type = "openai"`, `api = "chat"`): api.openai.com and
/// every OpenAI-compatible server (vLLM, Ollama, llama.cpp server). The wire conversion is the
/// openai_chat codec's (api/openai_chat/chat_codec.h); this adapter adds the HTTP exchange, SSE
/// framing and the upstream error policy.

#include "basalt/config/settings.h"
#include "basalt/core/error.h"
#include "basalt/providers/http/http_client.h"
#include "basalt/providers/provider.h"

#include <memory>

namespace basalt::providers::openai {

/// POSTs `{base_url}/chat/completions` with `Authorization: Bearer <api_key>` (only when a key
/// is configured) and the request id as `x-basalt-request-id`. Fails when base_url is not a
/// valid http(s) URL or `options.extra_ca_pem` is not valid PEM; the message names the provider.
Result<std::unique_ptr<Provider>> makeChatProvider(const config::ProviderSettings& settings,
                                                   http::ClientOptions options);

}  // namespace basalt::providers::openai
