#pragma once
/// The Provider port: one upstream model API behind the canonical model. Adapters live in
/// providers/<vendor>/ and share the upstream HTTP client (providers/http/).

#include "basalt/canonical/chat.h"
#include "basalt/canonical/stream_event.h"
#include "basalt/core/async.h"
#include "basalt/core/error.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::providers {

/// Per-call settings that come from the chosen route.
struct CallOptions {
  std::string upstream_model;  ///< the provider's own model id (replaces request.model)
  std::chrono::milliseconds timeout{600000};  ///< whole-call deadline
  std::optional<std::int64_t> max_tokens_default;  ///< when the request has no max_tokens
  std::string request_id;  ///< for upstream logs/headers (never the client's credentials)
};

/// Receives a provider's canonical stream events as they arrive.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  /// Returns false when the client is gone: the provider stops reading and cancels upstream.
  virtual Task<bool> onEvent(const canonical::StreamEvent& event) = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual const std::string& name() const = 0;
  /// The wire family the provider speaks; request extras of the same vendor are forwarded.
  virtual canonical::Vendor vendor() const = 0;

  /// A non-streamed call.
  virtual Task<Result<canonical::ChatResponse>> complete(const canonical::ChatRequest& request,
                                                         const CallOptions& options) = 0;

  /// A streamed call. Events go to `sink` in the order of stream_event.h. On failure returns
  /// the error instead of emitting a kError event: the caller decides whether to fall back
  /// (nothing was emitted yet) or to end the client's stream with the door's error frame.
  /// Upstream errors map to: 429 -> kRateLimited (retry_after_s kept), 5xx -> kUpstreamError
  /// or kUpstreamUnavailable (503), connect errors -> kUpstreamError, timeouts ->
  /// kUpstreamTimeout.
  virtual Task<Result<void>> stream(const canonical::ChatRequest& request,
                                    const CallOptions& options, StreamSink& sink) = 0;
};

}  // namespace basalt::providers
