#include "basalt/admin/admin_api.h"

#include "admin_json.h"
#include "admin_ops.h"

#include "basalt/audit/async_append.h"
#include "basalt/audit/audit_sink.h"
#include "basalt/core/percent.h"
#include "basalt/pipeline/router.h"

#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace basalt::admin {
namespace {

constexpr std::string_view kPrefix = "/admin/v1/";


/// The path below /admin/v1/ split on '/', each segment decoded; nullopt when malformed.
std::optional<std::vector<std::string>> segments(std::string_view path) {
  path.remove_prefix(kPrefix.size());
  std::vector<std::string> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    std::optional<std::string> seg = percentDecodePath(path.substr(0, slash));
    if (!seg || seg->empty()) return std::nullopt;
    out.push_back(std::move(*seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) return std::nullopt;  // trailing slash
  }
  return out;
}

audit::UserIdentity identityOf(const perimeter::Caller& caller) {
  return {caller.kind.empty() ? std::string("user") : caller.kind, caller.principal_id, caller.name,
          caller.key_id};
}

Headers replyHeaders(const std::string& content_type) {
  Headers headers;
  headers.push_back({"content-type", content_type});
  return headers;
}

}  // namespace

int adminStatus(const Error& error) {
  if (error.code == "already_exists") return 409;
  return httpStatus(error.kind);
}

std::string adminErrorBody(const Error& error) {
  return errorBody(error, adminStatus(error));
}

AdminReply AdminApi::execute(const HttpRequest& request) {
  AdminReply reply;
  auto fail = [&reply](const Error& error) {
    reply.status = adminStatus(error);
    reply.content_type = "application/json";
    reply.body = adminErrorBody(error);
    reply.event.error_code = error.code.empty() ? errorType(reply.status) : error.code;
    reply.event.error_message = error.message;
  };

  std::optional<std::vector<std::string>> segs = segments(request.path());
  std::optional<Route> route;
  if (segs) route = resolveRoute(request.method, *segs);
  if (!route) {
    fail(Error::notFound(
        "Unknown admin API path: " + request.method + " " + std::string(request.path()),
        "unknown_url"));
    return reply;
  }

  audit::AuditEvent& ev = reply.event;
  reply.audited = true;
  ev.event_time = std::chrono::system_clock::now();
  ev.event_name = std::string(route->action);
  ev.aws_region = ctx_.region;
  ev.source_ip_address = request.remote_ip;
  if (const std::string* ua = request.header("user-agent")) ev.user_agent = *ua;
  ev.request_id = request.request_id;
  ev.user_identity.type = "anonymous";

  const std::string action = "basalt:" + std::string(route->action);
  Result<perimeter::Caller> caller =
      ctx_.authenticate
          ? ctx_.authenticate(request)
          : Result<perimeter::Caller>(Error{ErrorKind::kInternal, "no authenticator"});
  if (!caller) {
    fail(caller.error());
    ev.response_elements.status = reply.status;
    return reply;
  }
  ev.user_identity = identityOf(*caller);
  const perimeter::AuthzResult authz =
      ctx_.authorize ? ctx_.authorize(*caller, action, request) : perimeter::AuthzResult{};
  ev.policy_decision.effect = authz.effect;
  ev.policy_decision.policy = authz.policy;
  ev.policy_decision.statement = authz.statement;
  if (!authz.allowed) {
    fail(Error{ErrorKind::kPermissionDenied,
               "User " + caller->name + " is not authorized to perform " + action,
               {},
               "access_denied"});
    ev.response_elements.status = reply.status;
    return reply;
  }

  Result<OpResult> done = runOp(ctx_, *route, *segs, request, ev.request_parameters);
  if (done && done->changed && ctx_.refresh) {
    if (Result<void> refreshed = ctx_.refresh(); !refreshed) done = refreshed.error();
  }
  if (!done) {
    fail(done.error());
  } else {
    reply.status = done->status;
    reply.content_type = std::move(done->content_type);
    reply.body = std::move(done->body);
  }
  ev.response_elements.status = reply.status;
  return reply;
}

Task<void> AdminApi::handle(HttpRequest& request, Responder& responder) {
  AdminReply reply = execute(request);
  if (reply.audited && ctx_.audit_sink != nullptr) {
    Result<std::uint64_t> seq = co_await audit::asyncAppend(
        *ctx_.audit_sink, std::move(reply.event), boost::asio::use_awaitable);
    if (!seq) {
      // Fail closed: an admin call whose record is not durable is not acknowledged as done.
      Error error = seq.error();
      error.kind = ErrorKind::kUpstreamUnavailable;
      reply.status = 503;
      reply.content_type = "application/json";
      reply.body = errorBody(error, 503);
    }
  }
  Headers headers = replyHeaders(reply.content_type);
  co_await responder.send(reply.status, std::move(headers), std::move(reply.body));
}

void registerAdminRoutes(pipeline::Router& router, AdminApi& api) {
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    router.addPrefix(method, std::string(kPrefix),
                     [&api](HttpRequest& request, Responder& responder) {
                       return api.handle(request, responder);
                     });
  }
}

void registerAdminRoutes(pipeline::Router& router, AdminContext& ctx) {
  auto api = std::make_shared<AdminApi>(ctx);
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    router.addPrefix(method, std::string(kPrefix),
                     [api](HttpRequest& request, Responder& responder) {
                       return api->handle(request, responder);
                     });
  }
}

}  // namespace basalt::admin
