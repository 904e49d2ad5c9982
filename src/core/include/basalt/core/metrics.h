#pragma once
/// Process-wide metrics, rendered as Prometheus text at GET /metrics. Recording is cheap and
/// safe from any server thread (per-thread shards; a shard's lock is only ever contended by a
/// scrape).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace basalt::metrics {

/// One finished data-plane or admin request.
void recordRequest(std::string_view door, std::string_view model, int status, double seconds);
/// An upstream call that failed (`kind`: "connect", "timeout", "status_5xx", "status_429", ...).
void recordUpstreamError(std::string_view provider, std::string_view kind);
/// Managed agents, per agent id: `event` is "model_call", "model_error", "tool_run",
/// "tool_error", "tool_denied" or "turn"; `tokens` adds to the agent's token counter. Agent ids
/// are client-created, so after kMaxAgentLabels distinct ids the rest count as agent="other".
inline constexpr std::size_t kMaxAgentLabels = 1000;
void recordAgentEvent(std::string_view agent_id, std::string_view event, std::int64_t tokens = 0);
/// Streams currently open to clients (gauge).
void streamOpened();
void streamClosed();
/// Open client connections (gauge).
void connectionOpened();
void connectionClosed();

/// The Prometheus text exposition of everything recorded so far.
std::string renderPrometheus();

}  // namespace basalt::metrics
