#pragma once
/// Process-wide metrics, rendered as Prometheus text at GET /metrics. Recording is cheap and
/// safe from any server thread (per-thread shards; a shard's lock is only ever contended by a
/// scrape).

#include <string>
#include <string_view>

namespace basalt::metrics {

/// One finished data-plane or admin request.
void recordRequest(std::string_view door, std::string_view model, int status, double seconds);
/// An upstream call that failed (`kind`: "connect", "timeout", "status_5xx", "status_429", ...).
void recordUpstreamError(std::string_view provider, std::string_view kind);
/// Streams currently open to clients (gauge).
void streamOpened();
void streamClosed();
/// Open client connections (gauge).
void connectionOpened();
void connectionClosed();

/// The Prometheus text exposition of everything recorded so far.
std::string renderPrometheus();

}  // namespace basalt::metrics
