#include "basalt/providers/openai/responses_provider.h"

#include "basalt/api/openai_responses/responses_codec.h"
#include "basalt/core/log.h"
#include "basalt/providers/call_support.h"
#include "basalt/providers/http/upstream_error.h"

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace basalt::providers::openai {
namespace {

namespace codec = basalt::api::openai_responses;

/// Error bodies are read only to extract a message; a larger one is not an error body.
constexpr std::size_t kErrorBodyCap = 1U << 20U;
/// A whole Response object answering a streamed request.
constexpr std::size_t kJsonBodyCap = 64U << 20U;

/// The Responses SSE dialect: typed events (`event: response.output_text.delta` ...) until
/// `response.completed` (or failed / incomplete).
class Dialect final : public SseDialect {
 public:
  Result<void> feed(const http::SseEvent& event,
                    std::vector<canonical::StreamEvent>& out) override {
    if (event.data.empty() || event.data.starts_with("[DONE]")) return {};
    return decoder_.feed(event.event, event.data, out);
  }
  bool ended() const override { return decoder_.finished(); }
  Result<void> finish(std::vector<canonical::StreamEvent>&) override {
    if (decoder_.finished()) return {};
    return Error{ErrorKind::kUpstreamError, "upstream closed the stream before response.completed"};
  }

 private:
  codec::StreamDecoder decoder_;
};

/// Logs what a Responses upstream cannot take from a request of another vendor's door.
void logDrops(const canonical::ChatRequest& request, const std::string& provider,
              const std::string& request_id) {
  for (const canonical::ToolSpec& tool : request.tools) {
    if (!tool.extras.empty() && tool.extras.vendor != canonical::Vendor::kOpenAI) {
      log::info("request {}: provider {} does not support tool '{}' of another vendor: dropped",
                request_id, provider, tool.name);
    }
  }
  if (!request.stop.empty()) {
    log::info("request {}: provider {} (Responses API) has no stop sequences: dropped", request_id,
              provider);
  }
}

class ResponsesProvider final : public Provider {
 public:
  ResponsesProvider(std::string name, const std::string& api_key,
                    std::unique_ptr<http::HttpClient> client)
      : name_(std::move(name)),
        authorization_(api_key.empty() ? std::string() : "Bearer " + api_key),
        target_(client->base().path + "/responses"),
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
      if (e.kind == ErrorKind::kInternal) e.kind = ErrorKind::kUpstreamError;
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
    if (const std::string* type = upstream.header("content-type");
        type != nullptr && type->starts_with("application/json")) {
      Result<void> replayed = co_await streamFromJson(upstream, options, sink);
      co_return replayed;
    }

    Dialect dialect;
    Result<void> relayed = co_await relaySse(upstream, dialect, sink);
    if (!relayed) co_return fail(std::move(relayed).error(), options);
    co_return relayed;
  }

 private:
  /// A 2xx JSON body where SSE was asked for: an error, or a whole response replayed as events.
  Task<Result<void>> streamFromJson(http::ResponseStream& upstream, const CallOptions& options,
                                    StreamSink& sink) {
    Result<std::string> body = co_await upstream.readAll(kJsonBodyCap);
    if (!body) {
      Error e = std::move(body).error();
      if (e.upstream_status == 0) e.upstream_status = upstream.status();
      co_return fail(std::move(e), options);
    }
    Result<canonical::ChatResponse> decoded = codec::decodeUpstreamResponse(*body);
    if (!decoded) {
      Error e = std::move(decoded).error();
      if (e.kind == ErrorKind::kInternal) e.kind = ErrorKind::kUpstreamError;
      e.upstream_status = upstream.status();
      co_return fail(std::move(e), options);
    }
    const std::vector<canonical::StreamEvent> events = responseEvents(*decoded);
    Result<void> delivered = co_await deliverEvents(events, sink);
    co_return delivered;
  }

  static http::Deadline deadline(const CallOptions& options) { return callDeadline(options); }

  http::Request makeRequest(const canonical::ChatRequest& request, const CallOptions& options,
                            bool stream) const {
    codec::UpstreamRequestOptions encode;
    encode.model = options.upstream_model.empty() ? std::string_view(request.model)
                                                  : std::string_view(options.upstream_model);
    encode.max_tokens_default = options.max_tokens_default;
    encode.stream = stream;
    if (request.door != canonical::Door::kOpenAIResponses) {
      logDrops(request, name_, options.request_id);
    }

    http::Request req = jsonPost(target_, stream, "text/event-stream", options);
    if (!authorization_.empty()) req.headers.push_back({"authorization", authorization_});
    req.body = codec::encodeUpstreamRequest(request, encode);
    return req;
  }

  Error fail(Error e, const CallOptions& options) const {
    return reportUpstreamFailure(std::move(e), name_, client_->base().hostPort(), options);
  }

  std::string name_;
  std::string authorization_;  ///< "Bearer <key>", or empty; never logged
  std::string target_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace

Result<std::unique_ptr<Provider>> makeResponsesProvider(const config::ProviderSettings& settings,
                                                        http::ClientOptions options) {
  Result<std::unique_ptr<http::HttpClient>> client =
      makeUpstreamClient(settings, std::move(options));
  if (!client) return std::move(client).error();
  return std::unique_ptr<Provider>(
      new ResponsesProvider(settings.name, settings.api_key, std::move(*client)));
}

}  // namespace basalt::providers::openai
