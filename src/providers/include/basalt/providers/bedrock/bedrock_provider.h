#pragma once
/// The Amazon Bedrock provider (`type = "bedrock"`): Converse and ConverseStream. The wire
/// format is the api/bedrock codec's (converse_codec.h, event_stream.h); this adapter adds the
/// HTTP exchange, authentication and the upstream error policy.
///
///  - POST `{base_url}/model/{model id}/converse` or `/converse-stream`; the model id (a name,
///    an inference profile or an ARN) is percent-encoded as one path segment (`:` -> `%3A`,
///    `/` -> `%2F`), as the AWS SDKs do;
///  - auth: `Authorization: Bearer <bearer_token>` when a Bedrock API key is configured, else
///    SigV4 (signing name `bedrock`, the provider's region) with the access key, secret and
///    optional session token (identity/sigv4_signer.h); neither configured: unsigned (for
///    mock upstreams and signing proxies);
///  - errors: api::bedrock::decodeUpstreamError on `x-amzn-ErrorType` and the body, with
///    `retry-after` honoured; 401/403 never reach the client as its own auth failure;
///  - streams: event-stream frames through api::bedrock::StreamDecoder. A corrupt frame or an
///    exception frame ends the call with that error (kUpstreamError for corruption), and a body
///    that ends before `messageStop` is kUpstreamError; the caller ends the client's stream.

#include "basalt/config/settings.h"
#include "basalt/core/error.h"
#include "basalt/providers/http/http_client.h"
#include "basalt/providers/provider.h"

#include <memory>
#include <string>
#include <string_view>

namespace basalt::providers::bedrock {

/// Builds the provider; vendor() is kBedrock. Fails (naming the provider) when base_url is not
/// a valid http(s) URL, SigV4 keys are configured without a region, only one of access key and
/// secret is set, or `options.extra_ca_pem` is not valid PEM.
Result<std::unique_ptr<Provider>> makeBedrockProvider(const config::ProviderSettings& settings,
                                                      http::ClientOptions options);

/// `{base_path}/model/{encoded model_id}/converse[-stream]`. Exposed for tests.
std::string bedrockTarget(std::string_view base_path, std::string_view model_id, bool stream);

}  // namespace basalt::providers::bedrock
