#include "basalt/providers/anthropic/anthropic_provider.h"

#include "basalt/api/anthropic/messages_codec.h"
#include "basalt/providers/call_support.h"
#include "basalt/providers/http/sse_parser.h"
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

/// A whole response as the canonical event sequence: for an upstream that answers a streamed
/// request with one JSON body.
std::vector<StreamEvent> eventsOf(const canonical::ChatResponse& r) {
  using canonical::BlockType;
  using canonical::DeltaType;
  std::vector<StreamEvent> out;
  out.push_back(StreamEvent::messageStart(r.id, r.model));
  int index = 0;
  for (const canonical::ContentBlock& block : r.content) {
    if (const auto* text = std::get_if<canonical::TextBlock>(&block)) {
      out.push_back(StreamEvent::blockStart(index, BlockType::kText));
      out.push_back(StreamEvent::delta(index, DeltaType::kText, text->text));
    } else if (const auto* call = std::get_if<canonical::ToolUseBlock>(&block)) {
      out.push_back(StreamEvent::blockStart(index, BlockType::kToolUse, call->id, call->name));
      out.push_back(StreamEvent::delta(index, DeltaType::kToolInputJson, call->input_json));
    } else if (const auto* reasoning = std::get_if<canonical::ReasoningBlock>(&block)) {
      if (reasoning->text.empty() && reasoning->signature.empty()) continue;  // redacted
      out.push_back(StreamEvent::blockStart(index, BlockType::kReasoning));
      out.push_back(StreamEvent::delta(index, DeltaType::kReasoningText, reasoning->text));
      if (!reasoning->signature.empty()) {
        out.push_back(StreamEvent::delta(index, DeltaType::kSignature, reasoning->signature));
      }
    } else {
      continue;  // opaque blocks have no stream form
    }
    out.push_back(StreamEvent::blockStop(index++));
  }
  out.push_back(StreamEvent::usageEvent(r.usage));
  out.push_back(StreamEvent::messageStop(r.stop_reason, r.stop_sequence));
  return out;
}

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

    http::SseParser sse;
    codec::StreamDecoder decoder;
    std::vector<http::SseEvent> sse_events;
    std::vector<StreamEvent> events;
    bool at_eof = false;
    while (!decoder.sawMessageStop() && !at_eof) {
      Result<std::string_view> piece = co_await upstream.read();
      if (!piece) co_return upstreamFailure(upstream, std::move(piece).error(), status, options);
      sse_events.clear();
      if (piece->empty()) {
        at_eof = true;
        sse.finish(sse_events);
      } else if (Result<void> fed = sse.feed(*piece, sse_events); !fed) {
        co_return upstreamFailure(upstream, std::move(fed).error(), status, options);
      }
      for (const http::SseEvent& ev : sse_events) {
        events.clear();
        Result<void> decoded = decoder.feed(ev.event, ev.data, events);
        const bool delivered = co_await deliver(sink, events);
        if (!delivered) {
          upstream.close();
          co_return clientGone();
        }
        if (!decoded) {
          co_return upstreamFailure(upstream, std::move(decoded).error(), status, options);
        }
        if (decoder.sawMessageStop()) break;
      }
    }
    if (!decoder.sawMessageStop()) {
      co_return upstreamFailure(
          upstream, Error{ErrorKind::kUpstreamError, "upstream closed the stream early"}, status,
          options);
    }
    // Usually only the terminating chunk is left; reading it lets the connection be reused.
    if (!at_eof) co_await upstream.drain();
    co_return Result<void>{};
  }

 private:
  static Error clientGone() { return Error{ErrorKind::kCancelled, "the client went away"}; }

  static Task<bool> deliver(StreamSink& sink, const std::vector<StreamEvent>& events) {
    for (const StreamEvent& event : events) {
      const bool ok = co_await sink.onEvent(event);
      if (!ok) co_return false;
    }
    co_return true;
  }

  Error upstreamFailure(http::ResponseStream& upstream, Error e, int status,
                        const CallOptions& options) const {
    upstream.close();
    if (e.upstream_status == 0) e.upstream_status = status;
    return fail(std::move(e), options);
  }

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
    const std::vector<StreamEvent> events = eventsOf(*decoded);
    const bool delivered = co_await deliver(sink, events);
    if (!delivered) co_return clientGone();
    co_return Result<void>{};
  }

  static http::Deadline deadline(const CallOptions& options) { return callDeadline(options); }

  http::Request makeRequest(const canonical::ChatRequest& request, const CallOptions& options,
                            bool stream) const {
    codec::UpstreamRequestOptions encode;
    encode.model = options.upstream_model.empty() ? std::string_view(request.model)
                                                  : std::string_view(options.upstream_model);
    encode.max_tokens_default = options.max_tokens_default;
    encode.stream = stream;

    http::Request req;
    req.method = "POST";
    req.target = target_;
    req.headers.reserve(6);
    req.headers.push_back({"content-type", "application/json"});
    req.headers.push_back({"accept", stream ? "text/event-stream" : "application/json"});
    // A Messages-door client's own version wins: the answer must be in the shape it expects.
    req.headers.push_back(
        {"anthropic-version", request.anthropic_version.empty() ? version_ : request.anthropic_version});
    if (!api_key_.empty()) req.headers.push_back({"x-api-key", api_key_});
    // Only the Anthropic-format doors (Messages, InvokeModel with a Claude body) fill it.
    if (!request.anthropic_beta.empty()) {
      req.headers.push_back({"anthropic-beta", request.anthropic_beta});
    }
    if (!options.request_id.empty()) {
      req.headers.push_back({"x-basalt-request-id", options.request_id});
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
  const std::string who = "provider '" + settings.name + "'";
  Result<http::BaseUrl> base = http::parseBaseUrl(settings.base_url);
  if (!base) return Error::invalid(who + ": " + base.error().message);
  Result<std::unique_ptr<http::HttpClient>> client =
      http::HttpClient::create(std::move(*base), std::move(options));
  if (!client) return Error::invalid(who + ": " + client.error().message);
  return std::unique_ptr<Provider>(new AnthropicProvider(settings.name, settings.api_key,
                                                         settings.api_version, std::move(*client)));
}

}  // namespace basalt::providers::anthropic
