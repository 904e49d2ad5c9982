#include "admin_ops.h"

#include "admin_json.h"

#include "basalt/audit/chain.h"
#include "basalt/audit/rfc3339.h"
#include "basalt/audit/signing_key.h"
#include "basalt/identity/access_key.h"
#include "basalt/identity/api_key.h"
#include "basalt/policy/compiled_policy.h"
#include "basalt/quota/quota_ledger.h"
#include "basalt/storage/audit_log.h"
#include "basalt/storage/records.h"
#include "basalt/storage/store.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

namespace basalt::admin {
namespace {

namespace json = boost::json;
using storage::Store;

OpResult jsonResult(const json::value& v, int status = 200, bool changed = false) {
  OpResult r;
  r.status = status;
  r.body = json::serialize(v);
  r.changed = changed;
  return r;
}

json::value timeOrNull(const std::optional<storage::Timestamp>& t) {
  if (!t) return nullptr;
  return json::value(formatTime(*t));
}

json::object principalJson(const storage::Principal& p) {
  json::object o;
  o["id"] = p.id;
  o["name"] = p.name;
  o["kind"] = storage::principalKindName(p.kind);
  json::array groups;
  for (const std::string& g : p.groups) groups.emplace_back(g);
  o["groups"] = std::move(groups);
  json::object tags;
  for (const auto& [k, v] : p.tags) tags[k] = v;
  o["tags"] = std::move(tags);
  o["created_at"] = formatTime(p.created_at);
  return o;
}

/// principal id -> name, for answers that name subjects and key owners.
Result<std::map<std::string, std::string>> principalNames(Store& store) {
  Result<std::vector<storage::Principal>> all = store.listPrincipals();
  if (!all) return all.error();
  std::map<std::string, std::string> names;
  for (const storage::Principal& p : *all) names.emplace(p.id, p.name);
  return names;
}

json::object subjectJson(const storage::Subject& s,
                         const std::map<std::string, std::string>& names) {
  json::object o;
  if (s.kind == storage::SubjectKind::kGroup) {
    o["type"] = "group";
    o["name"] = s.id;
  } else {
    o["type"] = "principal";
    auto it = names.find(s.id);
    o["name"] = it != names.end() ? it->second : s.id;
    o["id"] = s.id;
  }
  return o;
}

/// `key=value&...` with form decoding ('+' is a space, %XX escapes).
std::optional<std::string> queryParam(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      std::string_view raw =
          eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
      std::string out;
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '+') {
          out += ' ';
        } else if (raw[i] == '%' && i + 2 < raw.size()) {
          unsigned v = 0;
          auto [p, ec] = std::from_chars(raw.data() + i + 1, raw.data() + i + 3, v, 16);
          if (ec != std::errc{} || p != raw.data() + i + 3) return std::nullopt;
          out += static_cast<char>(v);
          i += 2;
        } else {
          out += raw[i];
        }
      }
      return out;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

void addParam(audit::RequestParameters& params, std::string key, std::string value) {
  params.extra.emplace_back(std::move(key), std::move(value));
}

// --- principals and groups ------------------------------------------------------------------

Result<OpResult> createPrincipal(AdminContext& ctx, const HttpRequest& req,
                                 audit::RequestParameters& params) {
  Result<json::object> body = parseObject(req.body);
  if (!body) return body.error();
  Result<std::string> name = requiredString(*body, "name");
  if (!name) return name.error();
  addParam(params, "principal", *name);
  Result<std::optional<std::string>> kind_text = optionalString(*body, "kind");
  if (!kind_text) return kind_text.error();
  storage::PrincipalKind kind = storage::PrincipalKind::kUser;
  if (*kind_text) {
    std::optional<storage::PrincipalKind> k = storage::parsePrincipalKind(**kind_text);
    if (!k) return Error::invalid("'kind' must be user, service or agent", "kind");
    kind = *k;
  }
  addParam(params, "kind", std::string(storage::principalKindName(kind)));

  std::vector<std::string> groups;
  if (const json::value* g = body->if_contains("groups"); g != nullptr && !g->is_null()) {
    if (!g->is_array()) return Error::invalid("'groups' must be an array of names", "groups");
    for (const json::value& item : g->as_array()) {
      if (!item.is_string()) return Error::invalid("'groups' must be an array of names", "groups");
      groups.emplace_back(item.as_string());
    }
  }
  storage::Tags tags;
  if (const json::value* t = body->if_contains("tags"); t != nullptr && !t->is_null()) {
    if (!t->is_object()) return Error::invalid("'tags' must be an object of strings", "tags");
    for (const auto& kv : t->as_object()) {
      if (!kv.value().is_string()) {
        return Error::invalid("'tags' must be an object of strings", "tags");
      }
      tags.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
    }
    std::sort(tags.begin(), tags.end());
  }
  if (!groups.empty()) {
    std::string joined;
    for (const std::string& g : groups) joined += (joined.empty() ? "" : ",") + g;
    addParam(params, "groups", joined);
  }

  Result<storage::Principal> created = ctx.store.createPrincipal(*name, kind, std::move(tags));
  if (!created) return created.error();
  for (const std::string& g : groups) {
    if (Result<void> added = ctx.store.addToGroup(g, *name); !added) {
      // All or nothing: a principal half in its groups would surprise whoever retries.
      (void)ctx.store.deletePrincipal(*name);
      return added.error();
    }
  }
  Result<storage::Principal> p = ctx.store.principal(*name);
  if (!p) return p.error();
  addParam(params, "principalId", p->id);
  return jsonResult(principalJson(*p), 201, true);
}

Result<OpResult> listPrincipals(AdminContext& ctx) {
  Result<std::vector<storage::Principal>> all = ctx.store.listPrincipals();
  if (!all) return all.error();
  json::array arr;
  for (const storage::Principal& p : *all) arr.emplace_back(principalJson(p));
  json::object o;
  o["principals"] = std::move(arr);
  return jsonResult(o);
}

Result<OpResult> getPrincipal(AdminContext& ctx, const std::string& name,
                              audit::RequestParameters& params) {
  addParam(params, "principal", name);
  Result<storage::Principal> p = ctx.store.principal(name);
  if (!p) return p.error();
  return jsonResult(principalJson(*p));
}

Result<OpResult> deletePrincipal(AdminContext& ctx, const std::string& name,
                                 audit::RequestParameters& params) {
  addParam(params, "principal", name);
  if (Result<void> r = ctx.store.deletePrincipal(name); !r) return r.error();
  json::object o;
  o["deleted"] = name;
  return jsonResult(o, 200, true);
}

Result<json::object> groupJson(const storage::Group& g,
                               const std::map<std::string, std::string>& names) {
  json::object o;
  o["name"] = g.name;
  json::array members;
  for (const std::string& id : g.member_ids) {
    auto it = names.find(id);
    members.emplace_back(it != names.end() ? it->second : id);
  }
  o["members"] = std::move(members);
  o["created_at"] = formatTime(g.created_at);
  return o;
}

Result<OpResult> createGroup(AdminContext& ctx, const HttpRequest& req,
                             audit::RequestParameters& params) {
  Result<json::object> body = parseObject(req.body);
  if (!body) return body.error();
  Result<std::string> name = requiredString(*body, "name");
  if (!name) return name.error();
  addParam(params, "group", *name);
  Result<storage::Group> g = ctx.store.createGroup(*name);
  if (!g) return g.error();
  Result<json::object> o = groupJson(*g, {});
  if (!o) return o.error();
  return jsonResult(*o, 201, true);
}

Result<OpResult> listGroups(AdminContext& ctx, const std::string* only,
                            audit::RequestParameters& params) {
  if (only != nullptr) addParam(params, "group", *only);
  Result<std::vector<storage::Group>> all = ctx.store.listGroups();
  if (!all) return all.error();
  Result<std::map<std::string, std::string>> names = principalNames(ctx.store);
  if (!names) return names.error();
  json::array arr;
  for (const storage::Group& g : *all) {
    Result<json::object> o = groupJson(g, *names);
    if (!o) return o.error();
    if (only != nullptr) {
      if (g.name == *only) return jsonResult(*o);
      continue;
    }
    arr.emplace_back(std::move(*o));
  }
  if (only != nullptr) return Error::notFound("No group named '" + *only + "'");
  json::object o;
  o["groups"] = std::move(arr);
  return jsonResult(o);
}

Result<OpResult> deleteGroup(AdminContext& ctx, const std::string& name,
                             audit::RequestParameters& params) {
  addParam(params, "group", name);
  if (Result<void> r = ctx.store.deleteGroup(name); !r) return r.error();
  json::object o;
  o["deleted"] = name;
  return jsonResult(o, 200, true);
}

Result<OpResult> membership(AdminContext& ctx, bool add, const std::string& group,
                            const std::string& principal, audit::RequestParameters& params) {
  addParam(params, "group", group);
  addParam(params, "principal", principal);
  Result<void> r =
      add ? ctx.store.addToGroup(group, principal) : ctx.store.removeFromGroup(group, principal);
  if (!r) return r.error();
  json::object o;
  o["group"] = group;
  o["principal"] = principal;
  o["member"] = add;
  return jsonResult(o, 200, true);
}

// --- keys -----------------------------------------------------------------------------------

Result<OpResult> createKey(AdminContext& ctx, const HttpRequest& req,
                           audit::RequestParameters& params) {
  Result<json::object> body = parseObject(req.body);
  if (!body) return body.error();
  Result<std::string> name = requiredString(*body, "principal");
  if (!name) return name.error();
  addParam(params, "principal", *name);
  Result<std::optional<bool>> sigv4 = optionalBool(*body, "sigv4");
  if (!sigv4) return sigv4.error();
  Result<std::optional<std::string>> expires_text = optionalString(*body, "expires_at");
  if (!expires_text) return expires_text.error();
  std::optional<storage::Timestamp> expires_at;
  if (*expires_text) {
    Result<std::chrono::system_clock::time_point> t = audit::parseRfc3339(**expires_text);
    if (!t) {
      return Error::invalid("'expires_at' must be an RFC 3339 time: " + t.error().message,
                            "expires_at");
    }
    if (*t <= std::chrono::system_clock::now()) {
      return Error::invalid("'expires_at' is in the past", "expires_at");
    }
    expires_at = *t;
    addParam(params, "expiresAt", formatTime(*t));
  }
  Result<storage::Principal> owner = ctx.store.principal(*name);
  if (!owner) return owner.error();

  json::object o;
  if (sigv4->value_or(false)) {
    identity::GeneratedAccessKey key = identity::generateAccessKey();
    storage::AccessKey record;
    record.access_key_id = key.access_key_id;
    record.secret = key.secret_access_key;
    record.principal_id = owner->id;
    record.expires_at = expires_at;
    if (Result<void> r = ctx.store.addAccessKey(std::move(record)); !r) return r.error();
    addParam(params, "keyId", key.access_key_id);
    addParam(params, "keyType", "sigv4");
    o["key_id"] = key.access_key_id;
    o["access_key_id"] = key.access_key_id;
    o["secret_access_key"] = key.secret_access_key;
  } else {
    identity::GeneratedApiKey key = identity::generateApiKey();
    storage::ApiKey record;
    record.key_id = key.key_id;
    record.digest = identity::hashApiKey(ctx.pepper, key.api_key);
    record.principal_id = owner->id;
    record.expires_at = expires_at;
    if (Result<void> r = ctx.store.addApiKey(std::move(record)); !r) return r.error();
    addParam(params, "keyId", key.key_id);
    addParam(params, "keyType", "api_key");
    o["key_id"] = key.key_id;
    o["api_key"] = key.api_key;
  }
  return jsonResult(o, 201, true);
}

Result<OpResult> listKeys(AdminContext& ctx) {
  Result<std::vector<storage::ApiKey>> api = ctx.store.listApiKeys();
  if (!api) return api.error();
  Result<std::vector<storage::AccessKey>> access = ctx.store.listAccessKeys();
  if (!access) return access.error();
  Result<std::map<std::string, std::string>> names = principalNames(ctx.store);
  if (!names) return names.error();
  auto owner = [&](const std::string& id) {
    auto it = names->find(id);
    return it != names->end() ? it->second : id;
  };
  json::array arr;
  for (const storage::ApiKey& k : *api) {
    json::object o;
    o["key_id"] = k.key_id;
    o["type"] = "api_key";
    o["principal"] = owner(k.principal_id);
    o["created_at"] = formatTime(k.created_at);
    o["expires_at"] = timeOrNull(k.expires_at);
    o["revoked_at"] = timeOrNull(k.revoked_at);
    arr.emplace_back(std::move(o));
  }
  for (const storage::AccessKey& k : *access) {
    json::object o;
    o["key_id"] = k.access_key_id;
    o["type"] = "sigv4";
    o["principal"] = owner(k.principal_id);
    o["created_at"] = formatTime(k.created_at);
    o["expires_at"] = timeOrNull(k.expires_at);
    o["revoked_at"] = timeOrNull(k.revoked_at);
    arr.emplace_back(std::move(o));
  }
  json::object o;
  o["keys"] = std::move(arr);
  return jsonResult(o);
}

Result<OpResult> revokeKey(AdminContext& ctx, const std::string& key_id,
                           audit::RequestParameters& params) {
  addParam(params, "keyId", key_id);
  if (Result<void> r = ctx.store.revokeKey(key_id); !r) return r.error();
  json::object o;
  o["key_id"] = key_id;
  o["revoked"] = true;
  return jsonResult(o, 200, true);
}

// --- policies -------------------------------------------------------------------------------

Result<OpResult> putPolicy(AdminContext& ctx, const std::string& name, const HttpRequest& req,
                           audit::RequestParameters& params) {
  addParam(params, "policy", name);
  addParam(params, "documentBytes", std::to_string(req.body.size()));
  Result<policy::CompiledPolicy> compiled = policy::CompiledPolicy::compile(name, req.body);
  if (!compiled) {
    Error e = compiled.error();
    e.kind = ErrorKind::kInvalidRequest;  // whatever compile said, it is the document's fault
    return e;
  }
  if (Result<void> r = ctx.store.putPolicy(name, req.body); !r) return r.error();
  json::object o;
  o["name"] = name;
  o["statements"] = compiled->statementCount();
  return jsonResult(o, 200, true);
}

Result<OpResult> listPolicies(AdminContext& ctx) {
  Result<std::vector<storage::Policy>> all = ctx.store.listPolicies();
  if (!all) return all.error();
  json::array arr;
  for (const storage::Policy& p : *all) {
    json::object o;
    o["name"] = p.name;
    o["updated_at"] = formatTime(p.updated_at);
    arr.emplace_back(std::move(o));
  }
  json::object o;
  o["policies"] = std::move(arr);
  return jsonResult(o);
}

Result<OpResult> getPolicy(AdminContext& ctx, const std::string& name,
                           audit::RequestParameters& params) {
  addParam(params, "policy", name);
  Result<storage::Policy> p = ctx.store.policy(name);
  if (!p) return p.error();
  Result<std::vector<storage::Attachment>> attachments = ctx.store.listAttachments();
  if (!attachments) return attachments.error();
  Result<std::map<std::string, std::string>> names = principalNames(ctx.store);
  if (!names) return names.error();
  json::object o;
  o["name"] = p->name;
  boost::system::error_code ec;
  json::value doc = json::parse(p->document, ec);
  // Stored documents were validated on the way in; fall back to the text if one is not JSON.
  o["document"] = ec ? json::value(p->document) : std::move(doc);
  o["updated_at"] = formatTime(p->updated_at);
  json::array att;
  for (const storage::Attachment& a : *attachments) {
    if (a.policy == name) att.emplace_back(subjectJson(a.subject, *names));
  }
  o["attached_to"] = std::move(att);
  return jsonResult(o);
}

Result<OpResult> deletePolicy(AdminContext& ctx, const std::string& name,
                              audit::RequestParameters& params) {
  addParam(params, "policy", name);
  if (Result<void> r = ctx.store.deletePolicy(name); !r) return r.error();
  json::object o;
  o["deleted"] = name;
  return jsonResult(o, 200, true);
}

Result<OpResult> attachment(AdminContext& ctx, bool attach, const std::string& policy_name,
                            const std::string& subject_name, audit::RequestParameters& params) {
  addParam(params, "policy", policy_name);
  addParam(params, "subject", subject_name);
  if (Result<storage::Policy> p = ctx.store.policy(policy_name); !p) return p.error();
  Result<storage::Subject> subject = ctx.store.resolveSubject(subject_name);
  if (!subject) return subject.error();
  Result<void> r = attach ? ctx.store.attachPolicy(policy_name, *subject)
                          : ctx.store.detachPolicy(policy_name, *subject);
  if (!r) return r.error();
  json::object o;
  o["policy"] = policy_name;
  std::map<std::string, std::string> names;
  if (subject->kind == storage::SubjectKind::kPrincipal) names.emplace(subject->id, subject_name);
  o["subject"] = subjectJson(*subject, names);
  o["attached"] = attach;
  return jsonResult(o, 200, true);
}

Result<OpResult> attachPolicy(AdminContext& ctx, const std::string& policy_name,
                              const HttpRequest& req, audit::RequestParameters& params) {
  Result<json::object> body = parseObject(req.body);
  if (!body) return body.error();
  Result<std::string> subject = requiredString(*body, "name");
  if (!subject) return subject.error();
  return attachment(ctx, true, policy_name, *subject, params);
}

// --- quotas ---------------------------------------------------------------------------------

Result<std::optional<std::int64_t>> limitField(const json::object& o, std::string_view key) {
  Result<std::optional<std::int64_t>> v = optionalInt(o, key);
  if (!v) return v.error();
  if (*v && (**v <= 0 || **v > quota::kMaxLimit)) {
    return Error::invalid("'" + std::string(key) + "' must be a positive integer at most " +
                              std::to_string(quota::kMaxLimit),
                          std::string(key));
  }
  return v;
}

json::object quotaJson(const storage::Quota& q, const std::map<std::string, std::string>& names) {
  json::object o;
  o["subject"] = subjectJson(q.subject, names);
  o["model"] = q.model.empty() ? json::value(nullptr) : json::value(q.model);
  auto lim = [](const std::optional<std::int64_t>& v) {
    return v ? json::value(*v) : json::value(nullptr);
  };
  o["rpm"] = lim(q.rpm);
  o["tpm"] = lim(q.tpm);
  o["concurrency"] = lim(q.concurrency);
  return o;
}

Result<OpResult> setQuota(AdminContext& ctx, const HttpRequest& req,
                          audit::RequestParameters& params) {
  Result<json::object> body = parseObject(req.body);
  if (!body) return body.error();
  Result<std::string> name = requiredString(*body, "name");
  if (!name) return name.error();
  addParam(params, "subject", *name);
  Result<std::optional<std::string>> model = optionalString(*body, "model");
  if (!model) return model.error();
  storage::Quota q;
  q.model = model->value_or("");
  if (!q.model.empty()) addParam(params, "model", q.model);
  Result<std::optional<std::int64_t>> rpm = limitField(*body, "rpm");
  if (!rpm) return rpm.error();
  Result<std::optional<std::int64_t>> tpm = limitField(*body, "tpm");
  if (!tpm) return tpm.error();
  Result<std::optional<std::int64_t>> conc = limitField(*body, "concurrency");
  if (!conc) return conc.error();
  if (!*rpm && !*tpm && !*conc) {
    return Error::invalid("Give at least one of 'rpm', 'tpm', 'concurrency'");
  }
  q.rpm = *rpm;
  q.tpm = *tpm;
  q.concurrency = *conc;
  if (q.rpm) addParam(params, "rpm", std::to_string(*q.rpm));
  if (q.tpm) addParam(params, "tpm", std::to_string(*q.tpm));
  if (q.concurrency) addParam(params, "concurrency", std::to_string(*q.concurrency));
  Result<storage::Subject> subject = ctx.store.resolveSubject(*name);
  if (!subject) return subject.error();
  q.subject = *subject;
  if (Result<void> r = ctx.store.setQuota(q); !r) return r.error();
  std::map<std::string, std::string> names;
  if (subject->kind == storage::SubjectKind::kPrincipal) names.emplace(subject->id, *name);
  return jsonResult(quotaJson(q, names), 200, true);
}

Result<OpResult> listQuotas(AdminContext& ctx) {
  Result<std::vector<storage::Quota>> all = ctx.store.listQuotas();
  if (!all) return all.error();
  Result<std::map<std::string, std::string>> names = principalNames(ctx.store);
  if (!names) return names.error();
  json::array arr;
  for (const storage::Quota& q : *all) arr.emplace_back(quotaJson(q, *names));
  json::object o;
  o["quotas"] = std::move(arr);
  return jsonResult(o);
}

Result<OpResult> deleteQuota(AdminContext& ctx, const std::string& name, const HttpRequest& req,
                             audit::RequestParameters& params) {
  addParam(params, "subject", name);
  const std::string model = queryParam(req.query(), "model").value_or("");
  if (!model.empty()) addParam(params, "model", model);
  Result<storage::Subject> subject = ctx.store.resolveSubject(name);
  if (!subject) return subject.error();
  if (Result<void> r = ctx.store.deleteQuota(*subject, model); !r) return r.error();
  json::object o;
  o["deleted"] = name;
  o["model"] = model.empty() ? json::value(nullptr) : json::value(model);
  return jsonResult(o, 200, true);
}

// --- audit ----------------------------------------------------------------------------------

Result<std::unique_ptr<storage::AuditLog>> openAuditLog(AdminContext& ctx) {
  Result<std::unique_ptr<storage::AuditLog>> log = storage::AuditLog::open(ctx.audit_db_path);
  if (!log && log.error().kind == ErrorKind::kNotFound) {
    // A missing audit database on a running gateway is a storage problem, not a bad request.
    Error e = log.error();
    e.kind = ErrorKind::kUpstreamUnavailable;
    e.code = "audit_unavailable";
    return e;
  }
  return log;
}

OpResult ndjson(std::string body) {
  OpResult r;
  r.content_type = "application/x-ndjson";
  r.body = std::move(body);
  return r;
}

Result<OpResult> queryAudit(AdminContext& ctx, const HttpRequest& req,
                            audit::RequestParameters& params) {
  storage::AuditQuery q;
  if (std::optional<std::string> p = queryParam(req.query(), "principal"); p && !p->empty()) {
    q.principal = *p;
    addParam(params, "principal", *p);
  }
  if (std::optional<std::string> s = queryParam(req.query(), "since"); s && !s->empty()) {
    Result<std::chrono::system_clock::time_point> t = audit::parseRfc3339(*s);
    if (!t) return Error::invalid("'since' must be an RFC 3339 time", "since");
    q.since = *t;
    addParam(params, "since", formatTime(*t));
  }
  if (std::optional<std::string> l = queryParam(req.query(), "limit"); l && !l->empty()) {
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
    if (ec != std::errc{} || p != l->data() + l->size()) {
      return Error::invalid("'limit' must be a non-negative integer", "limit");
    }
    q.limit = n;
    addParam(params, "limit", *l);
  }
  Result<std::unique_ptr<storage::AuditLog>> log = openAuditLog(ctx);
  if (!log) return log.error();
  Result<std::vector<std::string>> records = (*log)->query(q);
  if (!records) return records.error();
  std::string body;
  for (const std::string& r : *records) {
    body += r;
    body += '\n';
  }
  return ndjson(std::move(body));
}

Result<OpResult> verifyAudit(AdminContext& ctx) {
  Result<audit::PublicKey> key = audit::PublicKey::fromFile(ctx.audit_public_key_path);
  if (!key) {
    Error e = key.error();
    e.kind = ErrorKind::kUpstreamUnavailable;
    return e;
  }
  Result<std::unique_ptr<storage::AuditLog>> log = openAuditLog(ctx);
  if (!log) return log.error();
  Result<audit::VerifyResult> result = (*log)->verify(*key);
  if (!result) return result.error();
  // 200 either way: the check ran; `ok` says what it found.
  OpResult r;
  r.body = audit::verifyResultJson(*result);
  return r;
}

Result<OpResult> exportAudit(AdminContext& ctx) {
  Result<std::unique_ptr<storage::AuditLog>> log = openAuditLog(ctx);
  if (!log) return log.error();
  std::string body;
  Result<std::uint64_t> n = (*log)->exportAll([&body](std::string_view line) {
    body.append(line);
    body += '\n';
    return true;
  });
  if (!n) return n.error();
  return ndjson(std::move(body));
}

}  // namespace

std::optional<Route> resolveRoute(std::string_view method, const std::vector<std::string>& s) {
  const std::size_t n = s.size();
  if (n == 0) return std::nullopt;
  const std::string& r = s[0];
  const bool get = method == "GET", post = method == "POST", put = method == "PUT",
             del = method == "DELETE";
  if (r == "principals") {
    if (n == 1 && post) return Route{Op::kCreatePrincipal, "CreatePrincipal"};
    if (n == 1 && get) return Route{Op::kListPrincipals, "ListPrincipals"};
    if (n == 2 && get) return Route{Op::kGetPrincipal, "GetPrincipal"};
    if (n == 2 && del) return Route{Op::kDeletePrincipal, "DeletePrincipal"};
  } else if (r == "groups") {
    if (n == 1 && post) return Route{Op::kCreateGroup, "CreateGroup"};
    if (n == 1 && get) return Route{Op::kListGroups, "ListGroups"};
    if (n == 2 && get) return Route{Op::kGetGroup, "GetGroup"};
    if (n == 2 && del) return Route{Op::kDeleteGroup, "DeleteGroup"};
    if (n == 4 && s[2] == "members" && put) return Route{Op::kAddToGroup, "AddPrincipalToGroup"};
    if (n == 4 && s[2] == "members" && del) {
      return Route{Op::kRemoveFromGroup, "RemovePrincipalFromGroup"};
    }
  } else if (r == "keys") {
    if (n == 1 && post) return Route{Op::kCreateKey, "CreateKey"};
    if (n == 1 && get) return Route{Op::kListKeys, "ListKeys"};
    if (n == 2 && del) return Route{Op::kRevokeKey, "RevokeKey"};
  } else if (r == "policies") {
    if (n == 1 && get) return Route{Op::kListPolicies, "ListPolicies"};
    if (n == 2 && put) return Route{Op::kPutPolicy, "PutPolicy"};
    if (n == 2 && get) return Route{Op::kGetPolicy, "GetPolicy"};
    if (n == 2 && del) return Route{Op::kDeletePolicy, "DeletePolicy"};
    if (n == 3 && s[2] == "attachments" && post) return Route{Op::kAttachPolicy, "AttachPolicy"};
    if (n == 4 && s[2] == "attachments" && del) return Route{Op::kDetachPolicy, "DetachPolicy"};
  } else if (r == "quotas") {
    if (n == 1 && put) return Route{Op::kSetQuota, "SetQuota"};
    if (n == 1 && get) return Route{Op::kListQuotas, "ListQuotas"};
    if (n == 2 && del) return Route{Op::kDeleteQuota, "DeleteQuota"};
  } else if (r == "audit" && get) {
    if (n == 1) return Route{Op::kQueryAudit, "QueryAudit"};
    if (n == 2 && s[1] == "verify") return Route{Op::kVerifyAudit, "VerifyAudit"};
    if (n == 2 && s[1] == "export") return Route{Op::kExportAudit, "ExportAudit"};
  }
  return std::nullopt;
}

Result<OpResult> runOp(AdminContext& ctx, const Route& route, const std::vector<std::string>& s,
                       const HttpRequest& req, audit::RequestParameters& params) {
  switch (route.op) {
    case Op::kCreatePrincipal:
      return createPrincipal(ctx, req, params);
    case Op::kListPrincipals:
      return listPrincipals(ctx);
    case Op::kGetPrincipal:
      return getPrincipal(ctx, s[1], params);
    case Op::kDeletePrincipal:
      return deletePrincipal(ctx, s[1], params);
    case Op::kCreateGroup:
      return createGroup(ctx, req, params);
    case Op::kListGroups:
      return listGroups(ctx, nullptr, params);
    case Op::kGetGroup:
      return listGroups(ctx, &s[1], params);
    case Op::kDeleteGroup:
      return deleteGroup(ctx, s[1], params);
    case Op::kAddToGroup:
      return membership(ctx, true, s[1], s[3], params);
    case Op::kRemoveFromGroup:
      return membership(ctx, false, s[1], s[3], params);
    case Op::kCreateKey:
      return createKey(ctx, req, params);
    case Op::kListKeys:
      return listKeys(ctx);
    case Op::kRevokeKey:
      return revokeKey(ctx, s[1], params);
    case Op::kPutPolicy:
      return putPolicy(ctx, s[1], req, params);
    case Op::kListPolicies:
      return listPolicies(ctx);
    case Op::kGetPolicy:
      return getPolicy(ctx, s[1], params);
    case Op::kDeletePolicy:
      return deletePolicy(ctx, s[1], params);
    case Op::kAttachPolicy:
      return attachPolicy(ctx, s[1], req, params);
    case Op::kDetachPolicy:
      return attachment(ctx, false, s[1], s[3], params);
    case Op::kSetQuota:
      return setQuota(ctx, req, params);
    case Op::kListQuotas:
      return listQuotas(ctx);
    case Op::kDeleteQuota:
      return deleteQuota(ctx, s[1], req, params);
    case Op::kQueryAudit:
      return queryAudit(ctx, req, params);
    case Op::kVerifyAudit:
      return verifyAudit(ctx);
    case Op::kExportAudit:
      return exportAudit(ctx);
  }
  return Error::internal("unhandled admin route");
}

}  // namespace basalt::admin
