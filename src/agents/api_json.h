#pragma once
// Private to basalt_agents: JSON helpers and the call context shared by the API's .cc files.

#include "basalt/agents/agent_store.h"
#include "basalt/agents/agents_api.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace basalt::agents {

namespace json = boost::json;

/// One API call after authentication.
struct Call {
  AgentsContext& ctx;
  const HttpRequest& request;
  perimeter::Caller caller;
  Access access;
  std::vector<std::string> segs;                           ///< decoded path segments below /v1/
  std::vector<std::pair<std::string, std::string>> query;  ///< decoded, in order
  std::string action;                                      ///< set by allow()
  std::string resource;                                    ///< the ARN allow() authorized
  perimeter::AuthzResult authz;                            ///< allow()'s decision

  /// Authorizes `agents:<action>` on the resource owned by `owner`; 403 when denied.
  Result<void> allow(std::string_view action, std::string_view owner, std::string_view kind,
                     std::string_view id);
  /// For creates and lists: the caller's own namespace (`{kind}/*`).
  Result<void> allowOwn(std::string_view action, std::string_view kind) {
    return allow(action, caller.principal_id, kind, "*");
  }

  const std::string* queryValue(std::string_view key) const;
  std::vector<std::string> queryValues(std::string_view key) const;  ///< key and key[]
};

struct Reply {
  int status = 200;
  json::value body;
};

// --- parsing -------------------------------------------------------------------------------
Result<json::object> parseBody(std::string_view body);
/// Rejects members not in `allowed`, naming the first one.
Result<void> onlyKnown(const json::object& o, std::initializer_list<std::string_view> allowed,
                       std::string_view where = {});
Result<std::optional<std::string>> optString(const json::object& o, std::string_view key);
Result<std::string> reqString(const json::object& o, std::string_view key);
/// An integer from 1 to 2^31-1 (agent versions).
Result<int> positiveInt(const json::value& v, std::string_view param);
/// A metadata map (string values; at most 16 keys, key <= 64, value <= 512 chars). For
/// updates `allow_null` lets a null value delete the key.
Result<json::object> metadataOf(const json::value& v, std::string_view param, bool allow_null);
/// Applies a metadata patch (null deletes) to `current`.
json::object mergeMetadata(json::object current, const json::object& patch);
Result<ListOptions> listOptions(const Call& call);
Result<std::optional<std::int64_t>> queryTime(const Call& call, std::string_view key);
Result<bool> queryBool(const Call& call, std::string_view key);

// --- rendering -----------------------------------------------------------------------------
std::string rfc3339(std::int64_t ms);
json::value timeOrNull(const std::optional<std::int64_t>& ms);
json::object parseStored(std::string_view text);  ///< stored JSON object (never fails)
json::object pageJson(json::array data, const std::string& next_page);

json::object renderDocument(const Document& d);
json::object renderAgent(const AgentVersion& a);
json::object renderSession(const Session& s, const AgentVersion& pinned);
json::object renderEvent(const SessionEvent& e);

/// The Anthropic error `type` for a status (invalid_request_error, not_found_error, ...).
std::string_view errorTypeFor(int status);
std::string errorBody(const Error& error, int status);

/// The audit record of a call that reached an authorization decision: eventName = the action,
/// requestParameters.resource = the ARN, the decision, the status and (on failure) the error.
audit::AuditEvent auditEventFor(const Call& call, int status, const Error* error);
int statusOf(const Error& error);

// --- handlers (one file per area) ----------------------------------------------------------
Result<Reply> environmentsApi(Call& call);
Result<Reply> agentsApi(Call& call);
Result<Reply> sessionsApi(Call& call);
Result<Reply> vaultsApi(Call& call);
Result<Reply> memoryStoresApi(Call& call);

Error methodNotAllowed(const Call& call);
Error unknownPath(const Call& call);

}  // namespace basalt::agents
