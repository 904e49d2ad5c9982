#include "basalt/providers/call_support.h"

#include "basalt/core/log.h"
#include "basalt/core/metrics.h"
#include "basalt/providers/http/upstream_error.h"

#include <variant>

namespace basalt::providers {

http::Deadline callDeadline(const CallOptions& options) {
  const auto timeout =
      options.timeout.count() > 0 ? options.timeout : std::chrono::milliseconds(600000);
  return http::Clock::now() + timeout;
}

Error reportUpstreamFailure(Error e, std::string_view provider, std::string_view host_port,
                            const CallOptions& options) {
  if (e.kind == ErrorKind::kCancelled) return e;
  metrics::recordUpstreamError(provider, http::metricKind(e));
  const bool rejected = e.kind == ErrorKind::kInvalidRequest || e.kind == ErrorKind::kNotFound ||
                        e.kind == ErrorKind::kPayloadTooLarge;
  if (rejected) {
    log::debug("request {}: provider {} rejected the request: {}", options.request_id, provider,
               e.message);
  } else {
    log::warn("request {}: provider {} ({}): {}{}", options.request_id, provider, host_port,
              e.message, e.code.empty() ? "" : " [" + e.code + "]");
  }
  return e;
}

Result<std::unique_ptr<http::HttpClient>> makeUpstreamClient(
    const config::ProviderSettings& settings, http::ClientOptions options) {
  const std::string who = "provider '" + settings.name + "'";
  Result<http::BaseUrl> base = http::parseBaseUrl(settings.base_url);
  if (!base) return Error::invalid(who + ": " + base.error().message);
  Result<std::unique_ptr<http::HttpClient>> client =
      http::HttpClient::create(std::move(*base), std::move(options));
  if (!client) return Error::invalid(who + ": " + client.error().message);
  return client;
}

http::Request jsonPost(std::string target, bool stream, std::string_view stream_type,
                       const CallOptions& options) {
  http::Request req;
  req.method = "POST";
  req.target = std::move(target);
  req.headers.reserve(6);
  req.headers.push_back({"content-type", "application/json"});
  req.headers.push_back({"accept", stream ? std::string(stream_type) : "application/json"});
  if (!options.request_id.empty()) {
    req.headers.push_back({"x-basalt-request-id", options.request_id});
  }
  return req;
}

Task<Result<void>> deliverEvents(const std::vector<canonical::StreamEvent>& events,
                                 StreamSink& sink) {
  for (const canonical::StreamEvent& event : events) {
    const bool more = co_await sink.onEvent(event);
    if (!more) co_return Error{ErrorKind::kCancelled, "the client went away"};
  }
  co_return Result<void>{};
}

std::vector<canonical::StreamEvent> responseEvents(const canonical::ChatResponse& r) {
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
      const std::string& signature =
          reasoning->signature.empty() ? reasoning->encrypted : reasoning->signature;
      if (reasoning->text.empty() && signature.empty() && reasoning->id.empty()) {
        continue;  // redacted
      }
      out.push_back(StreamEvent::blockStart(index, BlockType::kReasoning, reasoning->id));
      if (!reasoning->text.empty()) {
        out.push_back(StreamEvent::delta(index, DeltaType::kReasoningText, reasoning->text));
      }
      if (!signature.empty()) {
        out.push_back(StreamEvent::delta(index, DeltaType::kSignature, signature));
      }
    } else {
      continue;
    }
    out.push_back(StreamEvent::blockStop(index++));
  }
  out.push_back(StreamEvent::usageEvent(r.usage));
  out.push_back(StreamEvent::messageStop(r.stop_reason, r.stop_sequence));
  return out;
}

Task<Result<void>> relaySse(http::ResponseStream& upstream, SseDialect& dialect, StreamSink& sink) {
  const int status = upstream.status();
  auto failed = [&](Error e) {
    upstream.close();
    if (e.upstream_status == 0) e.upstream_status = status;
    return e;
  };
  http::SseParser sse;
  std::vector<http::SseEvent> sse_events;
  std::vector<canonical::StreamEvent> events;
  bool at_eof = false;
  while (!dialect.ended() && !at_eof) {
    Result<std::string_view> piece = co_await upstream.read();
    if (!piece) co_return failed(std::move(piece).error());
    sse_events.clear();
    if (piece->empty()) {
      at_eof = true;
      sse.finish(sse_events);
    } else if (Result<void> fed = sse.feed(*piece, sse_events); !fed) {
      co_return failed(std::move(fed).error());
    }
    for (const http::SseEvent& ev : sse_events) {
      events.clear();
      Result<void> decoded = dialect.feed(ev, events);
      Result<void> delivered = co_await deliverEvents(events, sink);
      if (!delivered) {
        upstream.close();
        co_return delivered;
      }
      if (!decoded) co_return failed(std::move(decoded).error());
      if (dialect.ended()) break;
    }
  }
  events.clear();
  if (Result<void> finished = dialect.finish(events); !finished) {
    co_return failed(std::move(finished).error());
  }
  Result<void> delivered = co_await deliverEvents(events, sink);
  if (!delivered) {
    upstream.close();
    co_return delivered;
  }
  // Usually only the terminating chunk is left; reading it lets the connection be reused.
  if (!at_eof) co_await upstream.drain();
  co_return Result<void>{};
}

}  // namespace basalt::providers
