#include "basalt/providers/azure/azure_provider.h"

#include "../openai/chat_sse_dialect.h"
#include "basalt/api/openai_chat/chat_codec.h"
#include "basalt/identity/sigv4_canonical.h"
#include "basalt/providers/call_support.h"
#include "basalt/providers/http/upstream_error.h"

#include <string>
#include <utility>
#include <vector>

namespace basalt::providers::azure {
namespace {

namespace codec = basalt::api::openai_chat;

/// Error bodies are read only to extract a message; a larger one is not an error body.
constexpr std::size_t kErrorBodyCap = 1U << 20U;

bool isV1Surface(std::string_view api_version) {
  return api_version == "v1" || api_version == "preview";
}

/// RFC 3986 unreserved kept, everything else %XX: a deployment name or version is one segment.
std::string encodeComponent(std::string_view text) {
  return identity::sigv4UriEncode(text, /*keep_slash=*/false);
}

class AzureProvider final : public Provider {
 public:
  AzureProvider(std::string name, const std::string& api_key, std::string api_version,
                std::unique_ptr<http::HttpClient> client)
      : name_(std::move(name)),
        api_key_(api_key),
        api_version_(std::move(api_version)),
        client_(std::move(client)) {}

  const std::string& name() const override { return name_; }
  canonical::Vendor vendor() const override { return canonical::Vendor::kOpenAI; }

  Task<Result<canonical::ChatResponse>> complete(const canonical::ChatRequest& request,
                                                 const CallOptions& options) override {
    http::Request req = makeRequest(request, options, /*stream=*/false);
    Result<http::Response> res = co_await client_->send(std::move(req), deadline(options));
    if (!res) co_return fail(std::move(res).error(), options);
    if (res->status < 200 || res->status > 299) {
      co_return fail(
          http::errorFromStatus(res->status, res->headers, codec::upstreamErrorMessage(res->body)),
          options);
    }
    Result<canonical::ChatResponse> decoded = codec::decodeUpstreamResponse(res->body);
    if (!decoded) {
      Error e = std::move(decoded).error();
      // A body Basalt cannot read is the upstream's fault, never the client's.
      if (e.kind == ErrorKind::kInvalidRequest || e.kind == ErrorKind::kInternal) {
        e.kind = ErrorKind::kUpstreamError;
      }
      if (e.upstream_status == 0) e.upstream_status = res->status;
      co_return fail(std::move(e), options);
    }
    co_return decoded;
  }

  Task<Result<void>> stream(const canonical::ChatRequest& request, const CallOptions& options,
                            StreamSink& sink) override {
    http::Request req = makeRequest(request, options, /*stream=*/true);
    Result<http::ResponseStream> opened = co_await client_->open(std::move(req), deadline(options));
    if (!opened) co_return fail(std::move(opened).error(), options);
    http::ResponseStream& upstream = *opened;
    const int status = upstream.status();
    if (status < 200 || status > 299) {
      Result<std::string> body = co_await upstream.readAll(kErrorBodyCap);
      const std::string message = body ? codec::upstreamErrorMessage(*body) : std::string();
      co_return fail(http::errorFromStatus(status, upstream.headers(), message), options);
    }

    openai::ChatSseDialect dialect;
    Result<void> relayed = co_await relaySse(upstream, dialect, sink);
    if (!relayed) co_return fail(std::move(relayed).error(), options);
    co_return relayed;
  }

 private:
  static http::Deadline deadline(const CallOptions& options) { return callDeadline(options); }

  http::Request makeRequest(const canonical::ChatRequest& request, const CallOptions& options,
                            bool stream) const {
    const std::string_view model = options.upstream_model.empty()
                                       ? std::string_view(request.model)
                                       : std::string_view(options.upstream_model);
    codec::UpstreamRequestOptions encode;
    encode.model = model;
    encode.max_tokens_default = options.max_tokens_default;
    encode.stream = stream;

    http::Request req = jsonPost(azureChatTarget(client_->base().path, api_version_, model), stream,
                                 "text/event-stream", options);
    if (!api_key_.empty()) req.headers.push_back({"api-key", api_key_});
    req.body = codec::encodeUpstreamRequest(request, encode);
    return req;
  }

  Error fail(Error e, const CallOptions& options) const {
    return reportUpstreamFailure(std::move(e), name_, client_->base().hostPort(), options);
  }

  std::string name_;
  std::string api_key_;  ///< never logged
  std::string api_version_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace

std::string azureChatTarget(std::string_view base_path, std::string_view api_version,
                            std::string_view model) {
  std::string target(base_path);
  if (isV1Surface(api_version)) {
    if (!target.ends_with("/openai/v1"))
      target += target.ends_with("/openai") ? "/v1" : "/openai/v1";
    target += "/chat/completions";
    if (api_version == "preview") target += "?api-version=preview";
    return target;
  }
  if (!target.ends_with("/openai")) target += "/openai";
  target += "/deployments/";
  target += encodeComponent(model);
  target += "/chat/completions?api-version=";
  target += encodeComponent(api_version);
  return target;
}

Result<std::unique_ptr<Provider>> makeAzureProvider(const config::ProviderSettings& settings,
                                                    http::ClientOptions options) {
  const std::string who = "provider '" + settings.name + "'";
  if (settings.api_version.empty()) {
    return Error::invalid(who + ": azure-openai needs an api_version (a date or \"v1\")");
  }
  Result<std::unique_ptr<http::HttpClient>> client =
      makeUpstreamClient(settings, std::move(options));
  if (!client) return std::move(client).error();
  return std::unique_ptr<Provider>(
      new AzureProvider(settings.name, settings.api_key, settings.api_version, std::move(*client)));
}

}  // namespace basalt::providers::azure
