#pragma once
/// What every provider adapter does the same way around an upstream call: its deadline and how
/// a failure is counted and logged. One place, so the adapters differ only in their wire format.

#include "basalt/canonical/chat.h"
#include "basalt/canonical/stream_event.h"
#include "basalt/config/settings.h"
#include "basalt/core/error.h"
#include "basalt/providers/http/http_client.h"
#include "basalt/providers/http/sse_parser.h"
#include "basalt/providers/provider.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::providers {

/// The call's wall-clock deadline: now + options.timeout (600 s when the route set none).
http::Deadline callDeadline(const CallOptions& options);

/// Counts `e` in the upstream-error metrics and logs it, then returns it. An upstream that
/// rejected the request itself (400/404/413/422) is the client's problem and logs at debug; any
/// other failure is a warning naming the provider and host. A cancellation (the client went
/// away) is neither counted nor logged. Never logs request content or credentials.
Error reportUpstreamFailure(Error e, std::string_view provider, std::string_view host_port,
                            const CallOptions& options);

/// The upstream HTTP client for `settings.base_url`. Errors name the provider (start-up
/// configuration errors: a bad URL, or extra CA certificates that are not PEM).
Result<std::unique_ptr<http::HttpClient>> makeUpstreamClient(
    const config::ProviderSettings& settings, http::ClientOptions options);

/// A JSON POST to `target` that accepts `stream_type` (SSE, event-stream) when `stream`, else
/// JSON, and carries the request id as `x-basalt-request-id`. The adapter adds its credentials
/// and the body.
http::Request jsonPost(std::string target, bool stream, std::string_view stream_type,
                       const CallOptions& options);

/// Hands `events` to `sink` in order; kCancelled once the client is gone.
Task<Result<void>> deliverEvents(const std::vector<canonical::StreamEvent>& events,
                                 StreamSink& sink);

/// A whole response as the canonical event sequence, for an upstream that answered a streamed
/// request with one JSON body. Refusals and other opaque parts have no stream form; a reasoning
/// block carries its id, text and signature (or encrypted content), and one with none of them
/// (redacted) is left out.
std::vector<canonical::StreamEvent> responseEvents(const canonical::ChatResponse& response);

/// An upstream's SSE dialect, for relaySse: how its events become canonical events and how the
/// end of its stream is recognised.
class SseDialect {
 public:
  virtual ~SseDialect() = default;
  /// Decodes one SSE event into `out`; `out` is delivered even when this fails.
  virtual Result<void> feed(const http::SseEvent& event,
                            std::vector<canonical::StreamEvent>& out) = 0;
  /// The upstream's end marker was seen: the rest of the body is not decoded.
  virtual bool ended() const = 0;
  /// The body is over (end marker or end of body): closing events into `out`, or an error when
  /// the stream ended early.
  virtual Result<void> finish(std::vector<canonical::StreamEvent>& out) = 0;
};

/// Reads the SSE body of an opened 2xx response through `dialect` and hands every event to
/// `sink`. An upstream failure comes back with `upstream_status` set to the response's status
/// and the connection closed; a client that went away is kCancelled. The caller reports either
/// (reportUpstreamFailure). After the end marker the rest of the body is drained, so the
/// connection can be reused.
Task<Result<void>> relaySse(http::ResponseStream& upstream, SseDialect& dialect, StreamSink& sink);

}  // namespace basalt::providers
