#pragma once
// The admin API's routes and the operations behind them (private to the module).

#include "basalt/admin/admin_api.h"
#include "basalt/audit/audit_event.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::admin {

enum class Op {
  kCreatePrincipal,
  kListPrincipals,
  kGetPrincipal,
  kDeletePrincipal,
  kCreateGroup,
  kListGroups,
  kGetGroup,
  kDeleteGroup,
  kAddToGroup,
  kRemoveFromGroup,
  kCreateKey,
  kListKeys,
  kRevokeKey,
  kPutPolicy,
  kListPolicies,
  kGetPolicy,
  kDeletePolicy,
  kAttachPolicy,
  kDetachPolicy,
  kSetQuota,
  kListQuotas,
  kDeleteQuota,
  kQueryAudit,
  kVerifyAudit,
  kExportAudit,
};

struct Route {
  Op op;
  std::string_view action;  ///< the IAM action without "basalt:" (also the audit eventName)
};

/// The route for `method` and the decoded path segments below /admin/v1/.
std::optional<Route> resolveRoute(std::string_view method, const std::vector<std::string>& segs);

struct OpResult {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  bool changed = false;  ///< the store changed: the perimeter must refresh
};

/// Performs one authorized call. Fills `params` with what the audit record may say about the
/// request (names and ids, never secrets or documents).
Result<OpResult> runOp(AdminContext& ctx, const Route& route, const std::vector<std::string>& segs,
                       const HttpRequest& request, audit::RequestParameters& params);

}  // namespace basalt::admin
