#pragma once
/// The managed-agents HTTP API under /v1/ (environments, agents, sessions, events and their
/// SSE stream, vaults and credentials, memory stores, memories and memory versions),
/// wire-compatible with the `@anthropic-ai/sdk` beta client (managed-agents-2026-04-01,
/// agent-memory-2026-07-22). Endpoints, IAM actions and ARNs: src/agents/README.md.
///
/// Every call is authenticated, then authorized as an IAM action `agents:<Operation>` on
/// `arn:basalt:agents:{region}:{owner principal id}:{kind}/{id}`. Another principal's
/// resource is a 404 (existence never leaks); the root admin sees everything. Errors use the
/// Anthropic shape `{"type":"error","error":{"type","message"}}`.

#include "basalt/audit/audit_event.h"
#include "basalt/core/async.h"
#include "basalt/core/error.h"
#include "basalt/core/exchange.h"
#include "basalt/perimeter/perimeter.h"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace basalt::pipeline {
class Router;
}
namespace basalt::audit {
class AuditSink;
}

namespace basalt::agents {

class AgentStore;
class EventHub;
class SessionDriver;

using AgentsAuthenticator = std::function<Result<perimeter::Caller>(const HttpRequest&)>;
using AgentsAuthorizer =
    std::function<perimeter::AuthzResult(const perimeter::Caller&, std::string_view action,
                                         std::string_view resource, const HttpRequest&)>;

/// What the API works with. Borrowed: everything must outlive the routes.
struct AgentsContext {
  AgentStore& store;
  EventHub& hub;
  SessionDriver* driver = nullptr;  ///< null: user events stay queued (no runtime yet)
  AgentsAuthenticator authenticate;
  AgentsAuthorizer authorize;
  std::string region = "us-east-1";
  /// SSE keep-alive: a `ping` event after this long without events.
  std::chrono::milliseconds keepalive{15000};
  /// Every authorized (or refused) call is recorded here (eventName = the action without
  /// "agents:", requestParameters.resource = the ARN), and the answer waits until the record
  /// is durable (503 when it cannot be written). Null: not audited (tests only).
  audit::AuditSink* audit_sink = nullptr;
};

/// Wires `ctx` to the perimeter (authenticate + authorize, region).
inline void bindPerimeter(AgentsContext& ctx, perimeter::Perimeter& perimeter) {
  ctx.authenticate = [&perimeter](const HttpRequest& request) {
    return perimeter.authenticate(request);
  };
  ctx.authorize = [&perimeter](const perimeter::Caller& caller, std::string_view action,
                               std::string_view resource, const HttpRequest& request) {
    return perimeter.authorize(caller, action, resource, request);
  };
  ctx.region = perimeter.region();
}

/// A finished non-streaming call.
struct AgentsReply {
  int status = 200;
  std::string body;
  std::string action;  ///< the IAM action (without "agents:"), empty for unknown paths
  /// Filled when the call reached an authorization decision (allowed or denied).
  audit::AuditEvent event;
  bool audited = false;
};

class AgentsApi {
 public:
  explicit AgentsApi(AgentsContext& ctx) : ctx_(ctx) {}

  /// Routes, authorizes and performs one call synchronously (SQLite on the calling thread).
  /// The event stream is not served here (it answers 400: use handle()).
  AgentsReply execute(const HttpRequest& request);

  /// execute(), or the SSE event stream for `GET /v1/sessions/{id}/events/stream`.
  Task<void> handle(HttpRequest& request, Responder& responder);

 private:
  Task<void> stream(HttpRequest& request, Responder& responder, std::string session_id);
  AgentsContext& ctx_;
};

/// The ARN of an agents resource: `arn:basalt:agents:{region}:{owner}:{kind}/{id}`.
std::string agentsArn(std::string_view region, std::string_view owner, std::string_view kind,
                      std::string_view id);

/// Registers /v1/agents, /v1/environments, /v1/sessions, /v1/vaults, /v1/memory_stores (and
/// everything below them) for GET, POST and DELETE. `ctx` must outlive the router.
void registerAgentRoutes(pipeline::Router& router, AgentsContext& ctx);

}  // namespace basalt::agents
