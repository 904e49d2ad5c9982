#include "api_json.h"

#include "basalt/audit/rfc3339.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>

namespace basalt::agents {

constexpr std::size_t kMaxMetadataKeys = 16;
constexpr std::size_t kMaxMetadataKey = 64;
constexpr std::size_t kMaxMetadataValue = 512;

Result<void> Call::allow(std::string_view op, std::string_view owner, std::string_view kind,
                         std::string_view id) {
  action = std::string(op);
  resource = agentsArn(ctx.region, owner, kind, id);
  if (!ctx.authorize) {
    authz.allowed = true;
    return {};
  }
  const std::string full = "agents:" + std::string(op);
  authz = ctx.authorize(caller, full, resource, request);
  if (authz.allowed) return {};
  return Error{ErrorKind::kPermissionDenied,
               "User " + caller.name + " is not authorized to perform " + full + " on " + resource,
               {},
               "access_denied"};
}

const std::string* Call::queryValue(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::vector<std::string> Call::queryValues(std::string_view key) const {
  std::vector<std::string> out;
  const std::string bracket = std::string(key) + "[]";
  for (const auto& [k, v] : query) {
    if (k == key || k == bracket) out.push_back(v);
  }
  return out;
}

Result<json::object> parseBody(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return Error::invalid("The request body is not valid JSON: " + ec.message());
  if (!v.is_object()) return Error::invalid("The request body must be a JSON object");
  return std::move(v.as_object());
}

Result<void> onlyKnown(const json::object& o, std::initializer_list<std::string_view> allowed,
                       std::string_view where) {
  for (const auto& kv : o) {
    bool known = false;
    for (std::string_view a : allowed) known = known || kv.key() == a;
    if (!known) {
      const std::string name =
          where.empty() ? std::string(kv.key()) : std::string(where) + "." + std::string(kv.key());
      return Error::invalid(name + ": Extra inputs are not permitted", name);
    }
  }
  return {};
}

Result<std::optional<std::string>> optString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) {
    return Error::invalid(std::string(key) + ": must be a string", std::string(key));
  }
  return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::string> reqString(const json::object& o, std::string_view key) {
  Result<std::optional<std::string>> s = optString(o, key);
  if (!s) return s.error();
  if (!*s || (*s)->empty()) {
    return Error::invalid(std::string(key) + ": Field required", std::string(key));
  }
  return std::move(**s);
}

Result<int> positiveInt(const json::value& v, std::string_view param) {
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.as_int64();
  } else if (v.is_uint64() && v.as_uint64() <= 0x7fffffffU) {
    n = static_cast<std::int64_t>(v.as_uint64());
  } else {
    n = -1;
  }
  if (n < 1 || n > 0x7fffffff) {
    return Error::invalid(std::string(param) + ": must be a positive integer", std::string(param));
  }
  return static_cast<int>(n);
}

Result<json::object> metadataOf(const json::value& v, std::string_view param, bool allow_null) {
  if (v.is_null() && allow_null) return json::object{};
  if (!v.is_object()) {
    return Error::invalid(std::string(param) + ": must be an object of strings",
                          std::string(param));
  }
  const json::object& o = v.as_object();
  if (o.size() > kMaxMetadataKeys) {
    return Error::invalid(std::string(param) + ": at most 16 keys", std::string(param));
  }
  for (const auto& kv : o) {
    const std::string name = std::string(param) + "." + std::string(kv.key());
    if (kv.key().empty() || kv.key().size() > kMaxMetadataKey) {
      return Error::invalid(name + ": keys must be 1 to 64 characters", name);
    }
    if (kv.value().is_null() && allow_null) continue;
    if (!kv.value().is_string()) return Error::invalid(name + ": must be a string", name);
    if (kv.value().as_string().size() > kMaxMetadataValue) {
      return Error::invalid(name + ": at most 512 characters", name);
    }
  }
  return o;
}

json::object mergeMetadata(json::object current, const json::object& patch) {
  for (const auto& kv : patch) {
    if (kv.value().is_null()) {
      current.erase(kv.key());
    } else {
      current[kv.key()] = kv.value();
    }
  }
  return current;
}

Result<std::optional<std::int64_t>> queryTime(const Call& call, std::string_view key) {
  const std::string* v = call.queryValue(key);
  if (v == nullptr) return std::optional<std::int64_t>{};
  Result<std::chrono::system_clock::time_point> t = audit::parseRfc3339(*v);
  if (!t) {
    return Error::invalid(std::string(key) + ": not an RFC 3339 timestamp", std::string(key));
  }
  return std::optional<std::int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count());
}

Result<bool> queryBool(const Call& call, std::string_view key) {
  const std::string* v = call.queryValue(key);
  if (v == nullptr) return false;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  return Error::invalid(std::string(key) + ": must be true or false", std::string(key));
}

Result<ListOptions> listOptions(const Call& call) {
  ListOptions o;
  if (const std::string* limit = call.queryValue("limit")) {
    int n = 0;
    bool ok = !limit->empty() && limit->size() <= 4;
    for (char c : *limit) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) n = n * 10 + (c - '0');
    }
    if (!ok || n < 1 || n > 1000) {
      return Error::invalid("limit: must be an integer from 1 to 100", "limit");
    }
    o.limit = n;
  }
  if (const std::string* page = call.queryValue("page")) o.page = *page;
  Result<bool> archived = queryBool(call, "include_archived");
  if (!archived) return archived.error();
  o.include_archived = *archived;
  if (const std::string* order = call.queryValue("order")) {
    if (*order != "asc" && *order != "desc") {
      return Error::invalid("order: must be 'asc' or 'desc'", "order");
    }
    o.ascending = *order == "asc";
  }
  Result<std::optional<std::int64_t>> gte = queryTime(call, "created_at[gte]");
  if (!gte) return gte.error();
  o.created_gte_ms = *gte;
  Result<std::optional<std::int64_t>> lte = queryTime(call, "created_at[lte]");
  if (!lte) return lte.error();
  o.created_lte_ms = *lte;
  return o;
}

std::string rfc3339(std::int64_t ms) {
  return audit::formatRfc3339Ms(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

json::value timeOrNull(const std::optional<std::int64_t>& ms) {
  if (!ms) return nullptr;
  return json::value(rfc3339(*ms));
}

json::object parseStored(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

json::object pageJson(json::array data, const std::string& next_page) {
  json::object page;
  page["data"] = std::move(data);
  page["next_page"] = next_page.empty() ? json::value(nullptr) : json::value(next_page);
  return page;
}

namespace {

const char* docType(DocKind kind) {
  switch (kind) {
    case DocKind::kEnvironment:
      return "environment";
    case DocKind::kVault:
      return "vault";
    case DocKind::kMemoryStore:
      return "memory_store";
  }
  return "environment";
}

}  // namespace

json::object renderDocument(const Document& d) {
  json::object o = parseStored(d.body);
  o["id"] = d.id;
  o["type"] = docType(d.kind);
  o["created_at"] = rfc3339(d.created_at_ms);
  o["updated_at"] = rfc3339(d.updated_at_ms);
  o["archived_at"] = timeOrNull(d.archived_at_ms);
  return o;
}

json::object renderAgent(const AgentVersion& a) {
  json::object o = parseStored(a.body);
  o["id"] = a.id;
  o["type"] = "agent";
  o["version"] = a.version;
  o["created_at"] = rfc3339(a.created_at_ms);
  o["updated_at"] = rfc3339(a.updated_at_ms);
  o["archived_at"] = timeOrNull(a.archived_at_ms);
  return o;
}

json::object renderSession(const Session& s, const AgentVersion& pinned) {
  json::object body = parseStored(s.body);
  json::object agent = parseStored(pinned.body);
  agent.erase("metadata");  // the session's snapshot carries the configuration only
  agent["id"] = pinned.id;
  agent["type"] = "agent";
  agent["version"] = pinned.version;

  json::object o;
  o["id"] = s.id;
  o["type"] = "session";
  o["agent"] = std::move(agent);
  o["environment_id"] = s.environment_id;
  o["status"] = statusName(s.status);
  o["title"] = body.contains("title") ? body["title"] : json::value(nullptr);
  o["metadata"] = body.contains("metadata") ? body["metadata"] : json::value(json::object{});
  o["resources"] = body.contains("resources") ? body["resources"] : json::value(json::array{});
  o["vault_ids"] = body.contains("vault_ids") ? body["vault_ids"] : json::value(json::array{});
  o["budget"] = body.contains("budget") ? body["budget"] : json::value(nullptr);
  o["outcome_evaluations"] = json::array{};
  o["usage"] = parseStored(s.usage);
  json::object stats = parseStored(s.stats);
  if (!stats.contains("duration_seconds")) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    stats["duration_seconds"] = static_cast<double>(now_ms - s.created_at_ms) / 1000.0;
  }
  o["stats"] = std::move(stats);
  o["created_at"] = rfc3339(s.created_at_ms);
  o["updated_at"] = rfc3339(s.updated_at_ms);
  o["archived_at"] = timeOrNull(s.archived_at_ms);
  return o;
}

json::object renderEvent(const SessionEvent& e) {
  json::object o = parseStored(e.payload);
  o["id"] = e.id;
  o["type"] = e.type;
  o["processed_at"] = timeOrNull(e.processed_at_ms);
  return o;
}

int statusOf(const Error& error) {
  if (error.code == kConflictCode) return 409;
  return httpStatus(error.kind);
}

std::string_view errorTypeFor(int status) {
  std::string_view type = "api_error";
  switch (status) {
    case 400:
    case 405:
      type = "invalid_request_error";
      break;
    case 401:
      type = "authentication_error";
      break;
    case 403:
      type = "permission_error";
      break;
    case 404:
      type = "not_found_error";
      break;
    case 409:
      type = "conflict_error";
      break;
    case 413:
      type = "request_too_large";
      break;
    case 429:
      type = "rate_limit_error";
      break;
    case 503:
      type = "overloaded_error";
      break;
    default:
      break;
  }
  return type;
}

std::string errorBody(const Error& error, int status) {
  const std::string_view type = errorTypeFor(status);
  json::object inner{{"type", type}, {"message", error.message}};
  json::object outer{{"type", "error"}, {"error", std::move(inner)}};
  return json::serialize(outer);
}

audit::AuditEvent auditEventFor(const Call& call, int status, const Error* error) {
  audit::AuditEvent ev;
  ev.event_time = std::chrono::system_clock::now();
  ev.event_name = call.action;
  ev.aws_region = call.ctx.region;
  ev.source_ip_address = call.request.remote_ip;
  if (const std::string* ua = call.request.header("user-agent")) ev.user_agent = *ua;
  ev.request_id = call.request.request_id;
  ev.user_identity = {call.caller.kind.empty() ? std::string("user") : call.caller.kind,
                      call.caller.principal_id, call.caller.name, call.caller.key_id};
  ev.request_parameters.extra.emplace_back("resource", call.resource);
  ev.policy_decision.effect = call.authz.effect;
  ev.policy_decision.policy = call.authz.policy;
  ev.policy_decision.statement = call.authz.statement;
  ev.response_elements.status = status;
  if (error != nullptr) {
    ev.error_code = error->code.empty() ? std::string(errorTypeFor(status)) : error->code;
    ev.error_message = error->message;
  }
  return ev;
}

Error methodNotAllowed(const Call& call) {
  return Error{
      ErrorKind::kMethodNotAllowed,
      "Method " + call.request.method + " is not allowed on " + std::string(call.request.path())};
}

Error unknownPath(const Call& call) {
  return Error::notFound(
      "Not found: " + call.request.method + " " + std::string(call.request.path()), "unknown_url");
}

}  // namespace basalt::agents
