#pragma once
/// The admin API (`/admin/v1/...`): principals, groups, keys, policies, attachments, quotas and
/// the audit trail, as JSON over HTTP. Every call is authorized as a `basalt:*` IAM action by
/// the perimeter and recorded in the audit chain (eventName = the action without "basalt:").
/// Endpoints and shapes: src/admin/README.md.
///
/// The work of a call is synchronous (`AdminApi::execute`: authorize, Store CRUD, refresh,
/// build the reply and its audit event), so it is testable without sockets; `handle` wraps it
/// in a coroutine that waits for the audit record to be durable before answering.

#include "basalt/audit/audit_event.h"
#include "basalt/core/async.h"
#include "basalt/core/error.h"
#include "basalt/core/exchange.h"
#include "basalt/perimeter/perimeter.h"

#include <functional>
#include <string>
#include <string_view>

namespace basalt::storage {
class Store;
}
namespace basalt::audit {
class AuditSink;
}
namespace basalt::pipeline {
class Router;
}

namespace basalt::admin {

/// Identifies the caller; a 401 Error when it cannot. Normally Perimeter::authenticate.
using AdminAuthenticator = std::function<Result<perimeter::Caller>(const HttpRequest& request)>;
/// IAM decision on `action` ("basalt:CreateKey") for an authenticated caller. Separate from
/// authentication so a denied call is audited with who was denied and which statement decided.
/// Normally Perimeter::authorize on kAdminResource.
using AdminAuthorizer = std::function<perimeter::AuthzResult(
    const perimeter::Caller& caller, std::string_view action, const HttpRequest& request)>;
/// Makes the latest store contents effective on the request path (Perimeter::refresh).
using AdminRefresher = std::function<Result<void>()>;

/// What the admin API works with. Borrowed: everything must outlive the routes.
struct AdminContext {
  storage::Store& store;
  AdminAuthenticator authenticate;
  AdminAuthorizer authorize;
  AdminRefresher refresh;
  /// Keys the API-key digests: the same pepper the Perimeter verifies with.
  std::string pepper;
  std::string data_dir;
  std::string audit_db_path;               ///< the SQLite database holding the audit chain
  std::string audit_public_key_path;       ///< PEM (public or private key) verifying the seals
  audit::AuditSink* audit_sink = nullptr;  ///< null: admin calls are not audited (tests only)
  std::string region;                      ///< awsRegion of the audit records
};

/// The resource of every admin action (as Perimeter::authorizeAdmin uses it).
inline constexpr std::string_view kAdminResource = "arn:basalt:::admin";

/// Wires `ctx` to a perimeter: authenticate + authorize (what authorizeAdmin does, in two steps)
/// for every call, refresh after every change.
inline void bindPerimeter(AdminContext& ctx, perimeter::Perimeter& perimeter) {
  ctx.authenticate = [&perimeter](const HttpRequest& request) {
    return perimeter.authenticate(request);
  };
  ctx.authorize = [&perimeter](const perimeter::Caller& caller, std::string_view action,
                               const HttpRequest& request) {
    return perimeter.authorize(caller, action, kAdminResource, request);
  };
  ctx.refresh = [&perimeter] { return perimeter.refresh(); };
  ctx.region = perimeter.region();
}

/// One finished admin call: the HTTP answer and the audit record describing it.
struct AdminReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// Filled for every call that matched an admin route (also when refused); `audited` false
  /// for unknown admin paths, which name no action.
  audit::AuditEvent event;
  bool audited = false;
};

class AdminApi {
 public:
  explicit AdminApi(AdminContext& ctx) : ctx_(ctx) {}

  /// Routes, authorizes and performs one admin call (synchronously: SQLite on the calling
  /// thread; admin traffic is rare and never on the model-call path).
  AdminReply execute(const HttpRequest& request);

  /// execute(), then appends the audit record and waits until it is durable, then answers.
  /// When the audit record cannot be written the answer is 503 (the change itself stands).
  Task<void> handle(HttpRequest& request, Responder& responder);

 private:
  AdminContext& ctx_;
};

/// Registers `/admin/v1/` (GET, POST, PUT, DELETE) on `router`. `api` must outlive it.
void registerAdminRoutes(pipeline::Router& router, AdminApi& api);

/// Convenience for the composition root: a router-owned AdminApi over `ctx` (which must
/// outlive the router).
void registerAdminRoutes(pipeline::Router& router, AdminContext& ctx);

/// `{"error":{"message","type","code"}}` for `error` with the status the admin API uses
/// (409 for "already_exists", otherwise httpStatus(kind)).
int adminStatus(const Error& error);
std::string adminErrorBody(const Error& error);

}  // namespace basalt::admin
