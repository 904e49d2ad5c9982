#include "basalt/providers/anthropic/anthropic_provider.h"

#include "basalt/api/anthropic/messages_codec.h"
#include "basalt/providers/call_support.h"
#include "basalt/providers/http/upstream_error.h"

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace basalt::providers::anthropic {
namespace {

namespace codec = basalt::api::anthropic;
using canonical::StreamEvent;

/// Error bodies are read only to extract a message; a larger one is not an error body.
constexpr std::size_t kErrorBodyCap = 1U << 20U;
/// A whole message answering a streamed request.
constexpr std::size_t kJsonBodyCap = 64U << 20U;
constexpr std::string_view kDefaultVersion = "2023-06-01";

/// The Messages SSE dialect: typed events until `message_stop`.
class Dialect final : public SseDialect {
 public:
  Result<void> feed(const http::SseEvent& event, std::vector<StreamEvent>& out) override {
    return decoder_.feed(event.event, event.data, out);
  }
  bool ended() const override { return decoder_.sawMessageStop(); }
  Result<void> finish(std::vector<StreamEvent>&) override {
    if (decoder_.sawMessageStop()) return {};
    return Error{ErrorKind::kUpstreamError, "upstream closed the stream early"};
  }

 private:
  codec::StreamDecoder decoder_;
};

/// The Messages path under the configured base URL.
std::string messagesTarget(const std::string& base_path) {
  if (base_path.ends_with("/v1")) return base_path + "/messages";
  return base_path + "/v1/messages";
}

class AnthropicProvider final : public Provider {
 public:
  AnthropicProvider(std::string name, std::string api_key, std::string version,
                    std::unique_ptr<http::HttpClient> client)
      : name_(std::move(name)),
        api_key_(std::move(api_key)),
        version_(version.empty() ? std::string(kDefaultVersion) : std::move(version)),
        target_(messagesTarget(client->base().path)),
        client_(std::move(client)) {}

  const std::string& name() const override { return name_; }
  canonical::Vendor vendor() const override { return canonical::Vendor::kAnthropic; }

  Task<Result<canonical::ChatResponse>> complete(const canonical::ChatRequest& request,
                                                 const CallOptions& options) override {
    http::Request req = makeRequest(request, options, /*stream=*/false);
    Result<http::Response> res = co_await client_->send(std::move(req), deadline(options));
    if (!res) co_return fail(std::move(res).error(), options);
    if (res->status < 200 || res->status > 299) {
      co_return fail(upstreamError(res->status, res->headers, res->body), options);
    }
    Result<canonical::ChatResponse> decoded = codec::decodeUpstreamResponse(res->body);
    if (!decoded) {
      Error e = std::move(decoded).error();
      if (e.kind == ErrorKind::kInvalidRequest || e.kind == ErrorKind::kInternal) {
        e.kind = ErrorKind::kUpstreamError;  // a body Basalt cannot read is the upstream's fault
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
      const std::string text = body ? std::move(*body) : std::string();
      co_return fail(upstreamError(status, upstream.headers(), text), options);
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
  static Error upstreamError(int status, const Headers& headers, std::string_view body) {
    Error e = codec::decodeUpstreamError(status, headers, body);
    // The shared parser also reads retry-after-ms and HTTP dates.
    if (const int s = http::retryAfterSeconds(headers, std::chrono::system_clock::now()); s > 0) {
      e.retry_after_s = s;
    }
    return e;
  }

  /// A 2xx JSON body where SSE was asked for: a whole message replayed as events.
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
      if (e.kind == ErrorKind::kInvalidRequest || e.kind == ErrorKind::kInternal) {
        e.kind = ErrorKind::kUpstreamError;
      }
      e.upstream_status = upstream.status();
      co_return fail(std::move(e), options);
    }
    const std::vector<StreamEvent> events = responseEvents(*decoded);
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

    http::Request req = jsonPost(target_, stream, "text/event-stream", options);
    // A Messages-door client's own version wins: the answer must be in the shape it expects.
    req.headers.push_back({"anthropic-version", request.anthropic_version.empty()
                                                    ? version_
                                                    : request.anthropic_version});
    if (!api_key_.empty()) req.headers.push_back({"x-api-key", api_key_});
    // Only the Anthropic-format doors (Messages, InvokeModel with a Claude body) fill it.
    if (!request.anthropic_beta.empty()) {
      req.headers.push_back({"anthropic-beta", request.anthropic_beta});
    }
    req.body = codec::encodeUpstreamRequest(request, encode);
    return req;
  }

  Error fail(Error e, const CallOptions& options) const {
    return reportUpstreamFailure(std::move(e), name_, client_->base().hostPort(), options);
  }

  std::string name_;
  std::string api_key_;  ///< never logged
  std::string version_;
  std::string target_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace

Result<std::unique_ptr<Provider>> makeAnthropicProvider(const config::ProviderSettings& settings,
                                                        http::ClientOptions options) {
  Result<std::unique_ptr<http::HttpClient>> client =
      makeUpstreamClient(settings, std::move(options));
  if (!client) return std::move(client).error();
  return std::unique_ptr<Provider>(new AnthropicProvider(settings.name, settings.api_key,
                                                         settings.api_version, std::move(*client)));
}

}  // namespace basalt::providers::anthropic
