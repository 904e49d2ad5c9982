#include "basalt/providers/bedrock/bedrock_provider.h"

#include "basalt/api/bedrock/converse_codec.h"
#include "basalt/core/log.h"
#include "basalt/identity/sigv4_canonical.h"
#include "basalt/identity/sigv4_signer.h"
#include "basalt/providers/call_support.h"
#include "basalt/providers/http/upstream_error.h"

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace basalt::providers::bedrock {
namespace {

namespace codec = basalt::api::bedrock;

/// Error bodies are read only to extract a message; a larger one is not an error body.
constexpr std::size_t kErrorBodyCap = 1U << 20U;
constexpr std::string_view kEventStreamType = "application/vnd.amazon.eventstream";

/// How requests prove who Basalt is to Bedrock.
struct Auth {
  std::string bearer;                           ///< "Bearer <key>", or empty; never logged
  std::optional<identity::Sigv4Signer> signer;  ///< SigV4 with access keys
};

class BedrockProvider final : public Provider {
 public:
  BedrockProvider(std::string name, Auth auth, std::unique_ptr<http::HttpClient> client)
      : name_(std::move(name)),
        auth_(std::move(auth)),
        host_(client->base().hostHeader()),
        client_(std::move(client)) {}

  const std::string& name() const override { return name_; }
  canonical::Vendor vendor() const override { return canonical::Vendor::kBedrock; }

  Task<Result<canonical::ChatResponse>> complete(const canonical::ChatRequest& request,
                                                 const CallOptions& options) override {
    Result<http::Request> req = makeRequest(request, options, /*stream=*/false);
    if (!req) co_return std::move(req).error();  // the request cannot be expressed: no call
    Result<http::Response> res = co_await client_->send(std::move(*req), deadline(options));
    if (!res) co_return fail(std::move(res).error(), options);
    if (res->status < 200 || res->status > 299) {
      co_return fail(upstreamError(res->status, res->headers, res->body), options);
    }
    Result<canonical::ChatResponse> decoded =
        codec::decodeUpstreamResponse(res->body, modelOf(request, options));
    if (!decoded) {
      Error e = std::move(decoded).error();
      // A body Basalt cannot read is the upstream's fault, never the client's.
      e.kind = ErrorKind::kUpstreamError;
      if (e.upstream_status == 0) e.upstream_status = res->status;
      co_return fail(std::move(e), options);
    }
    // Converse bodies carry no id; the request id AWS assigned stands in for it.
    if (decoded->id.empty()) {
      if (const std::string* id = res->header("x-amzn-requestid")) decoded->id = *id;
    }
    co_return decoded;
  }

  Task<Result<void>> stream(const canonical::ChatRequest& request, const CallOptions& options,
                            StreamSink& sink) override {
    Result<http::Request> req = makeRequest(request, options, /*stream=*/true);
    if (!req) co_return std::move(req).error();
    Result<http::ResponseStream> opened =
        co_await client_->open(std::move(*req), deadline(options));
    if (!opened) co_return fail(std::move(opened).error(), options);
    http::ResponseStream& upstream = *opened;
    const int status = upstream.status();
    if (status < 200 || status > 299) {
      Result<std::string> body = co_await upstream.readAll(kErrorBodyCap);
      co_return fail(upstreamError(status, upstream.headers(), body ? *body : std::string()),
                     options);
    }
    if (const std::string* type = upstream.header("content-type");
        type != nullptr && !type->starts_with(kEventStreamType)) {
      co_return upstreamFailure(
          upstream,
          Error{ErrorKind::kUpstreamError,
                "upstream answered ConverseStream with content-type " + type->substr(0, 100)},
          options);
    }

    const std::string* request_id = upstream.header("x-amzn-requestid");
    codec::StreamDecoder decoder(std::string(modelOf(request, options)),
                                 request_id != nullptr ? *request_id : std::string());
    std::vector<canonical::StreamEvent> events;
    // Bedrock sends usage (`metadata`) after `messageStop`, so the body is read to its end.
    while (true) {
      Result<std::string_view> piece = co_await upstream.read();
      if (!piece) co_return upstreamFailure(upstream, std::move(piece).error(), options);
      if (piece->empty()) break;
      events.clear();
      Result<void> decoded = decoder.feedBytes(*piece, events);
      // Events decoded before a bad frame still go out: the client sees what the model said.
      Result<void> delivered = co_await deliverEvents(events, sink);
      if (!delivered) {
        upstream.close();
        co_return delivered;
      }
      if (!decoded) co_return upstreamFailure(upstream, std::move(decoded).error(), options);
    }
    if (!decoder.sawMessageStop() || decoder.pendingBytes() > 0) {
      co_return upstreamFailure(
          upstream,
          Error{ErrorKind::kUpstreamError, decoder.pendingBytes() > 0
                                               ? "upstream cut the stream inside a frame"
                                               : "upstream closed the stream before messageStop"},
          options);
    }
    events.clear();
    decoder.finish(events);
    Result<void> delivered = co_await deliverEvents(events, sink);
    co_return delivered;
  }

 private:
  static std::string_view modelOf(const canonical::ChatRequest& request,
                                  const CallOptions& options) {
    return options.upstream_model.empty() ? std::string_view(request.model)
                                          : std::string_view(options.upstream_model);
  }

  /// A non-2xx answer as an Error: Bedrock's exception name decides the kind.
  static Error upstreamError(int status, const Headers& headers, std::string_view body) {
    const std::string* type = http::findHeader(headers, "x-amzn-errortype");
    Error e = codec::decodeUpstreamError(status, type != nullptr ? *type : std::string(), body);
    if (const int after = http::retryAfterSeconds(headers, std::chrono::system_clock::now());
        after > 0 && e.kind == ErrorKind::kRateLimited) {
      e.retry_after_s = after;
    }
    if (status == 401 || status == 403) {
      // AWS's text names Basalt's own principal and policies; the client gets none of it (the
      // warning log keeps the code).
      e.message = "provider rejected Basalt's credentials (" + std::to_string(status) +
                  (type != nullptr ? " " + type->substr(0, type->find(':')) : std::string()) + ")";
    }
    return e;
  }

  Error upstreamFailure(http::ResponseStream& upstream, Error e, const CallOptions& options) const {
    upstream.close();
    if (e.upstream_status == 0) e.upstream_status = upstream.status();
    return fail(std::move(e), options);
  }

  static http::Deadline deadline(const CallOptions& options) { return callDeadline(options); }

  Result<http::Request> makeRequest(const canonical::ChatRequest& request,
                                    const CallOptions& options, bool stream) const {
    codec::UpstreamRequestOptions encode;
    encode.model = modelOf(request, options);
    encode.max_tokens_default = options.max_tokens_default;
    Result<std::string> body = codec::encodeUpstreamRequest(request, encode);
    if (!body) return std::move(body).error();

    http::Request req = jsonPost(bedrockTarget(client_->base().path, encode.model, stream), stream,
                                 kEventStreamType, options);
    req.body = std::move(*body);
    if (!auth_.bearer.empty()) {
      req.headers.push_back({"authorization", auth_.bearer});
    } else if (auth_.signer) {
      auth_.signer->sign({req.method, host_, req.target, {}, req.body}, req.headers,
                         std::chrono::system_clock::now());
    }
    return req;
  }

  Error fail(Error e, const CallOptions& options) const {
    return reportUpstreamFailure(std::move(e), name_, client_->base().hostPort(), options);
  }

  std::string name_;
  Auth auth_;
  std::string host_;  ///< the Host header the client sends, as signed
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace

std::string bedrockTarget(std::string_view base_path, std::string_view model_id, bool stream) {
  std::string target(base_path);
  target += "/model/";
  target += identity::sigv4UriEncode(model_id, /*keep_slash=*/false);
  target += stream ? "/converse-stream" : "/converse";
  return target;
}

Result<std::unique_ptr<Provider>> makeBedrockProvider(const config::ProviderSettings& settings,
                                                      http::ClientOptions options) {
  const std::string who = "provider '" + settings.name + "'";
  Auth auth;
  if (!settings.bearer_token.empty()) {
    auth.bearer = "Bearer " + settings.bearer_token;
  } else if (!settings.access_key.empty() || !settings.secret_key.empty()) {
    if (settings.access_key.empty() || settings.secret_key.empty()) {
      return Error::invalid(who + ": SigV4 needs both an access key and a secret key");
    }
    if (settings.region.empty()) return Error::invalid(who + ": SigV4 needs a region");
    auth.signer.emplace(identity::Sigv4Credentials{settings.access_key, settings.secret_key,
                                                   settings.session_token},
                        settings.region, "bedrock");
  } else {
    log::warn("{}: no bedrock credentials configured; requests go out unsigned", who);
  }
  Result<std::unique_ptr<http::HttpClient>> client =
      makeUpstreamClient(settings, std::move(options));
  if (!client) return std::move(client).error();
  return std::unique_ptr<Provider>(
      new BedrockProvider(settings.name, std::move(auth), std::move(*client)));
}

}  // namespace basalt::providers::bedrock
