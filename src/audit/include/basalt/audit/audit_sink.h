#pragma once
/// Port: where audit records go. Declared here, implemented by storage adapters (SQLite:
/// `storage::SqliteAuditSink`). No Asio: the caller gets a callback (or a future) and, in a
/// coroutine, wraps it (see README.md for the three-line Asio adapter).

#include "basalt/audit/audit_event.h"
#include "basalt/core/error.h"

#include <cstdint>
#include <functional>
#include <future>

namespace basalt::audit {

/// Called exactly once per append, on the sink's writer thread: with the record's seq once
/// the record is durable (committed and synced), or with an Error (kUpstreamUnavailable,
/// code "audit_unavailable") when it could not be written — the caller must then fail the
/// request closed (503) rather than answer unaudited. Must be quick and must not throw;
/// typically it posts to the caller's executor.
using AppendCallback = std::function<void(Result<std::uint64_t>)>;

class AuditSink {
 public:
  virtual ~AuditSink() = default;

  /// Queues `event`; never blocks on I/O. The sink assigns the seq inside the transaction
  /// that makes the record durable, so an event that was never acknowledged leaves no gap.
  virtual void append(AuditEvent event, AppendCallback done) = 0;

  /// False while the last write attempt failed (for /readyz).
  virtual bool healthy() const = 0;
};

/// append() with a future instead of a callback (tests, CLI, admin paths).
std::future<Result<std::uint64_t>> appendAndWait(AuditSink& sink, AuditEvent event);

}  // namespace basalt::audit
