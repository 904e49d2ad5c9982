#include "basalt/providers/openai/responses_provider.h"

#include "basalt/api/openai_responses/responses_codec.h"
#include "basalt/core/log.h"
#include "basalt/providers/call_support.h"
#include "basalt/providers/http/sse_parser.h"
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

/// A whole response as the canonical event sequence (an upstream that ignored `stream`).
std::vector<canonical::StreamEvent> eventsOf(const canonical::ChatResponse& r) {
  using canonical::BlockType;
  using canonical::DeltaType;
  using canonical::StreamEvent;
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
      out.push_back(StreamEvent::blockStart(index, BlockType::kReasoning, reasoning->id));
      if (!reasoning->text.empty()) {
        out.push_back(StreamEvent::delta(index, DeltaType::kReasoningText, reasoning->text));
      }
      if (!reasoning->encrypted.empty()) {
        out.push_back(StreamEvent::delta(index, DeltaType::kSignature, reasoning->encrypted));
      }
    } else {
      continue;  // refusals and hosted-tool items have no stream form
    }
    out.push_back(StreamEvent::blockStop(index++));
  }
  out.push_back(StreamEvent::usageEvent(r.usage));
  out.push_back(StreamEvent::messageStop(r.stop_reason, r.stop_sequence));
  return out;
}

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

    http::SseParser sse;
    codec::StreamDecoder decoder;
    std::vector<http::SseEvent> sse_events;
    std::vector<canonical::StreamEvent> events;
    bool at_eof = false;
    const Error client_gone{ErrorKind::kCancelled, "the client went away"};

    while (!decoder.finished() && !at_eof) {
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
        if (ev.data.empty() || ev.data.starts_with("[DONE]")) continue;
        events.clear();
        Result<void> decoded = decoder.feed(ev.event, ev.data, events);
        bool delivered = true;
        for (const canonical::StreamEvent& event : events) {
          if (!co_await sink.onEvent(event)) {
            delivered = false;
            break;
          }
        }
        if (!delivered) {
          upstream.close();
          co_return client_gone;
        }
        if (!decoded)
          co_return upstreamFailure(upstream, std::move(decoded).error(), status, options);
        if (decoder.finished()) break;
      }
    }
    if (!decoder.finished()) {
      co_return upstreamFailure(
          upstream,
          Error{ErrorKind::kUpstreamError, "upstream closed the stream before response.completed"},
          status, options);
    }
    // Usually nothing is left; reading it lets the connection be reused.
    if (!at_eof) co_await upstream.drain();
    co_return Result<void>{};
  }

 private:
  Error upstreamFailure(http::ResponseStream& upstream, Error e, int status,
                        const CallOptions& options) const {
    upstream.close();
    if (e.upstream_status == 0) e.upstream_status = status;
    return fail(std::move(e), options);
  }

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
    for (const canonical::StreamEvent& event : eventsOf(*decoded)) {
      if (!co_await sink.onEvent(event)) {
        co_return Error{ErrorKind::kCancelled, "the client went away"};
      }
    }
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
    if (request.door != canonical::Door::kOpenAIResponses) {
      logDrops(request, name_, options.request_id);
    }

    http::Request req;
    req.method = "POST";
    req.target = target_;
    req.headers.reserve(4);
    req.headers.push_back({"content-type", "application/json"});
    req.headers.push_back({"accept", stream ? "text/event-stream" : "application/json"});
    if (!authorization_.empty()) req.headers.push_back({"authorization", authorization_});
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
  std::string authorization_;  ///< "Bearer <key>", or empty; never logged
  std::string target_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace

Result<std::unique_ptr<Provider>> makeResponsesProvider(const config::ProviderSettings& settings,
                                                        http::ClientOptions options) {
  const std::string who = "provider '" + settings.name + "'";
  Result<http::BaseUrl> base = http::parseBaseUrl(settings.base_url);
  if (!base) return Error::invalid(who + ": " + base.error().message);
  Result<std::unique_ptr<http::HttpClient>> client =
      http::HttpClient::create(std::move(*base), std::move(options));
  if (!client) return Error::invalid(who + ": " + client.error().message);
  return std::unique_ptr<Provider>(
      new ResponsesProvider(settings.name, settings.api_key, std::move(*client)));
}

}  // namespace basalt::providers::openai
