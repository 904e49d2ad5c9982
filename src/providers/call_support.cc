#include "basalt/providers/call_support.h"

#include "basalt/core/log.h"
#include "basalt/core/metrics.h"
#include "basalt/providers/http/upstream_error.h"

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

}  // namespace basalt::providers
