#pragma once
/// The runtime port: what the HTTP API tells the agent loop. Implemented by the runtime (the
/// lead or another helper); the API works without one (events then stay queued).

#include <string>

namespace basalt::agents {

class SessionDriver {
 public:
  virtual ~SessionDriver() = default;
  /// User events were persisted (queued, processed_at NULL) for `session_id`: a
  /// `user.message` to run, a `user.interrupt`, a tool result or confirmation. Called after
  /// the commit and before the API acknowledges, on the request's thread; must not block
  /// (post the work to the runtime's own executor). Idempotent: the runtime reads
  /// AgentStore::queuedEvents itself, so a lost or duplicate call costs nothing.
  virtual void eventsAppended(const std::string& session_id) = 0;
};

}  // namespace basalt::agents
