// Vaults with write-only credentials; memory stores, memories and memory versions.

#include "api_json.h"

#include <boost/json/serialize.hpp>

namespace basalt::agents {
namespace {

Error unsupported(std::string_view what, std::string_view param) {
  return Error::invalid(std::string(what) + " is not supported by Basalt", std::string(param));
}

bool isSecretKey(std::string_view key) {
  return key == "token" || key == "access_token" || key == "refresh_token" ||
         key == "client_secret" || key == "secret_value";
}

/// Moves every write-only member (at any depth) of `auth` into `secret`, same structure.
void splitSecrets(json::object& auth, json::object& secret) {
  for (auto it = auth.begin(); it != auth.end();) {
    if (isSecretKey(it->key())) {
      secret[it->key()] = it->value();
      it = auth.erase(it);
      continue;
    }
    if (it->value().is_object()) {
      json::object inner;
      splitSecrets(it->value().as_object(), inner);
      if (!inner.empty()) secret[it->key()] = std::move(inner);
    }
    ++it;
  }
}

/// Deep merge of `patch` into `base` (objects merge; anything else replaces; null removes).
void deepMerge(json::object& base, const json::object& patch) {
  for (const auto& kv : patch) {
    if (kv.value().is_null()) {
      base.erase(kv.key());
    } else if (kv.value().is_object() && base.contains(kv.key()) && base[kv.key()].is_object()) {
      deepMerge(base[kv.key()].as_object(), kv.value().as_object());
    } else {
      base[kv.key()] = kv.value();
    }
  }
}

/// Validates a credential's full auth object (public and secret parts together).
Result<std::string> validateAuth(const json::object& auth) {
  Result<std::string> type = reqString(auth, "type");
  if (!type) return Error::invalid("auth.type: Field required", "auth.type");
  auto need = [&](std::string_view key) -> Result<std::string> {
    Result<std::string> v = reqString(auth, key);
    if (!v) {
      return Error::invalid("auth." + std::string(key) + ": Field required",
                            "auth." + std::string(key));
    }
    return v;
  };
  if (*type == "static_bearer") {
    if (Result<void> r = onlyKnown(auth, {"type", "token", "mcp_server_url"}, "auth"); !r) {
      return r.error();
    }
    if (Result<std::string> t = need("token"); !t) return t.error();
    return need("mcp_server_url");
  }
  if (*type == "mcp_oauth") {
    if (Result<void> r = onlyKnown(
            auth, {"type", "access_token", "mcp_server_url", "expires_at", "refresh"}, "auth");
        !r) {
      return r.error();
    }
    if (Result<std::string> t = need("access_token"); !t) return t.error();
    if (const json::value* rf = auth.if_contains("refresh"); rf != nullptr && !rf->is_null()) {
      if (!rf->is_object())
        return Error::invalid("auth.refresh: must be an object", "auth.refresh");
      for (const char* key : {"client_id", "refresh_token", "token_endpoint"}) {
        if (!reqString(rf->as_object(), key)) {
          return Error::invalid(std::string("auth.refresh.") + key + ": Field required",
                                std::string("auth.refresh.") + key);
        }
      }
      const json::value* tea = rf->as_object().if_contains("token_endpoint_auth");
      const json::value* teat =
          tea != nullptr && tea->is_object() ? tea->as_object().if_contains("type") : nullptr;
      if (teat == nullptr || !teat->is_string() ||
          (teat->as_string() != "none" && teat->as_string() != "client_secret_basic" &&
           teat->as_string() != "client_secret_post")) {
        return Error::invalid(
            "auth.refresh.token_endpoint_auth.type: must be none, client_secret_basic or "
            "client_secret_post",
            "auth.refresh.token_endpoint_auth.type");
      }
      if (teat->as_string() != "none" && !reqString(tea->as_object(), "client_secret")) {
        return Error::invalid("auth.refresh.token_endpoint_auth.client_secret: Field required",
                              "auth.refresh.token_endpoint_auth.client_secret");
      }
    }
    return need("mcp_server_url");
  }
  if (*type == "environment_variable") {
    if (Result<void> r = onlyKnown(
            auth, {"type", "secret_name", "secret_value", "networking", "injection_location"},
            "auth");
        !r) {
      return r.error();
    }
    if (Result<std::string> t = need("secret_name"); !t) return t.error();
    if (Result<std::string> t = need("secret_value"); !t) return t.error();
    const json::value* net = auth.if_contains("networking");
    const json::value* nt =
        net != nullptr && net->is_object() ? net->as_object().if_contains("type") : nullptr;
    if (nt == nullptr || !nt->is_string() ||
        (nt->as_string() != "unrestricted" && nt->as_string() != "limited")) {
      return Error::invalid("auth.networking.type: must be 'unrestricted' or 'limited'",
                            "auth.networking.type");
    }
    return std::string();
  }
  return Error::invalid("auth.type: unknown credential type '" + *type + "'", "auth.type");
}

json::object renderCredential(const Credential& c) {
  json::object o = parseStored(c.body);
  if (o.contains("auth") && o["auth"].is_object()) {
    json::object& auth = o["auth"].as_object();
    if (auth.contains("type") && auth["type"] == "environment_variable" &&
        !auth.contains("injection_location")) {
      auth["injection_location"] = json::object{{"body", false}, {"header", false}};
    }
  }
  o["id"] = c.id;
  o["type"] = "vault_credential";
  o["vault_id"] = c.vault_id;
  o["created_at"] = rfc3339(c.created_at_ms);
  o["updated_at"] = rfc3339(c.updated_at_ms);
  o["archived_at"] = timeOrNull(c.archived_at_ms);
  return o;
}

Result<json::object> applyNamed(json::object body, const json::object& in, bool create,
                                std::string_view name_key, bool description_string) {
  if (create || in.contains(name_key)) {
    Result<std::string> name = reqString(in, name_key);
    if (!name) return name.error();
    body[name_key] = *name;
  }
  if (create) {
    if (description_string) body["description"] = "";
    body["metadata"] = json::object{};
  }
  if (description_string && in.contains("description")) {
    Result<std::optional<std::string>> d = optString(in, "description");
    if (!d) return d.error();
    body["description"] = d->value_or("");
  }
  if (const json::value* m = in.if_contains("metadata")) {
    Result<json::object> meta = metadataOf(*m, "metadata", !create);
    if (!meta) return meta.error();
    body["metadata"] =
        create ? *meta
               : mergeMetadata(
                     body["metadata"].is_object() ? body["metadata"].as_object() : json::object{},
                     *meta);
  }
  return body;
}

/// CRUD + archive for a plain document kind (vaults, memory stores) at segs[0..1].
Result<Reply> documentCrud(Call& call, DocKind kind, std::string_view arn_kind,
                           std::string_view noun, std::string_view deleted_type,
                           std::initializer_list<std::string_view> fields,
                           std::string_view name_key, bool description_string,
                           const Document* doc) {
  AgentStore& store = call.ctx.store;
  const std::string& m = call.request.method;
  const std::string N(noun);
  if (doc == nullptr) {
    if (m == "POST") {
      if (Result<void> r = call.allowOwn("Create" + N, arn_kind); !r) return r.error();
      Result<json::object> in = parseBody(call.request.body);
      if (!in) return in.error();
      if (Result<void> r = onlyKnown(*in, fields); !r) return r.error();
      Result<json::object> body = applyNamed({}, *in, true, name_key, description_string);
      if (!body) return body.error();
      Result<Document> d =
          store.createDocument(kind, call.caller.principal_id, json::serialize(*body));
      if (!d) return d.error();
      return Reply{200, renderDocument(*d)};
    }
    if (m == "GET") {
      if (Result<void> r = call.allowOwn("List" + N + "s", arn_kind); !r) return r.error();
      Result<ListOptions> o = listOptions(call);
      if (!o) return o.error();
      Result<Page<Document>> page = store.listDocuments(kind, call.access, *o);
      if (!page) return page.error();
      json::array data;
      for (const Document& d : page->items) data.push_back(renderDocument(d));
      return Reply{200, pageJson(std::move(data), page->next_page)};
    }
    return methodNotAllowed(call);
  }
  auto allow = [&](const std::string& action) {
    return call.allow(action, doc->owner_id, arn_kind, doc->id);
  };
  if (call.segs.size() == 3 && call.segs[2] == "archive") {
    if (m != "POST") return methodNotAllowed(call);
    if (Result<void> r = allow("Archive" + N); !r) return r.error();
    Result<Document> d = store.archiveDocument(kind, call.access, doc->id);
    if (!d) return d.error();
    return Reply{200, renderDocument(*d)};
  }
  if (call.segs.size() != 2) return unknownPath(call);
  if (m == "GET") {
    if (Result<void> r = allow("Get" + N); !r) return r.error();
    return Reply{200, renderDocument(*doc)};
  }
  if (m == "POST") {
    if (Result<void> r = allow("Update" + N); !r) return r.error();
    Result<json::object> in = parseBody(call.request.body);
    if (!in) return in.error();
    if (Result<void> r = onlyKnown(*in, fields); !r) return r.error();
    Result<json::object> body =
        applyNamed(parseStored(doc->body), *in, false, name_key, description_string);
    if (!body) return body.error();
    Result<Document> d = store.updateDocument(kind, call.access, doc->id, json::serialize(*body));
    if (!d) return d.error();
    return Reply{200, renderDocument(*d)};
  }
  if (m == "DELETE") {
    if (Result<void> r = allow("Delete" + N); !r) return r.error();
    if (Result<void> r = store.deleteDocument(kind, call.access, doc->id); !r) return r.error();
    return Reply{200, json::object{{"id", doc->id}, {"type", deleted_type}}};
  }
  return methodNotAllowed(call);
}

Result<Reply> credentialsApi(Call& call, const Document& vault) {
  AgentStore& store = call.ctx.store;
  const auto& s = call.segs;
  const std::string& m = call.request.method;
  auto allow = [&](std::string_view action) {
    return call.allow(action, vault.owner_id, "vault", vault.id);
  };
  if (s.size() == 3) {
    if (m == "POST") {
      if (Result<void> r = allow("CreateCredential"); !r) return r.error();
      Result<json::object> in = parseBody(call.request.body);
      if (!in) return in.error();
      if (Result<void> r = onlyKnown(*in, {"auth", "display_name", "metadata"}); !r) {
        return r.error();
      }
      const json::value* av = in->if_contains("auth");
      if (av == nullptr || !av->is_object()) return Error::invalid("auth: Field required", "auth");
      json::object auth = av->as_object();
      Result<std::string> url = validateAuth(auth);
      if (!url) return url.error();
      json::object secret;
      splitSecrets(auth, secret);
      json::object body{{"auth", std::move(auth)}};
      Result<std::optional<std::string>> display = optString(*in, "display_name");
      if (!display) return display.error();
      body["display_name"] = *display ? json::value(**display) : json::value(nullptr);
      json::object meta;
      if (const json::value* md = in->if_contains("metadata")) {
        Result<json::object> parsed = metadataOf(*md, "metadata", false);
        if (!parsed) return parsed.error();
        meta = std::move(*parsed);
      }
      body["metadata"] = std::move(meta);
      Result<Credential> c = store.createCredential(call.access, vault.id, *url,
                                                    json::serialize(body), json::serialize(secret));
      if (!c) return c.error();
      return Reply{200, renderCredential(*c)};
    }
    if (m == "GET") {
      if (Result<void> r = allow("ListCredentials"); !r) return r.error();
      Result<ListOptions> o = listOptions(call);
      if (!o) return o.error();
      Result<Page<Credential>> page = store.listCredentials(call.access, vault.id, *o);
      if (!page) return page.error();
      json::array data;
      for (const Credential& c : page->items) data.push_back(renderCredential(c));
      return Reply{200, pageJson(std::move(data), page->next_page)};
    }
    return methodNotAllowed(call);
  }
  Result<Credential> cred = store.getCredential(call.access, vault.id, s[3]);
  if (!cred) return cred.error();
  if (s.size() == 5 && s[4] == "archive" && m == "POST") {
    if (Result<void> r = allow("ArchiveCredential"); !r) return r.error();
    Result<Credential> c = store.archiveCredential(call.access, vault.id, cred->id);
    if (!c) return c.error();
    return Reply{200, renderCredential(*c)};
  }
  if (s.size() == 5 && s[4] == "mcp_oauth_validate") {
    return unsupported("mcp_oauth_validate", "credential_id");
  }
  if (s.size() != 4) return unknownPath(call);
  if (m == "GET") {
    if (Result<void> r = allow("GetCredential"); !r) return r.error();
    return Reply{200, renderCredential(*cred)};
  }
  if (m == "DELETE") {
    if (Result<void> r = allow("DeleteCredential"); !r) return r.error();
    if (Result<void> r = store.deleteCredential(call.access, vault.id, cred->id); !r) {
      return r.error();
    }
    return Reply{200, json::object{{"id", cred->id}, {"type", "vault_credential_deleted"}}};
  }
  if (m != "POST") return methodNotAllowed(call);
  if (Result<void> r = allow("UpdateCredential"); !r) return r.error();
  Result<json::object> in = parseBody(call.request.body);
  if (!in) return in.error();
  if (Result<void> r = onlyKnown(*in, {"auth", "display_name", "metadata"}); !r) return r.error();
  json::object body = parseStored(cred->body);
  std::optional<std::string> new_secret;
  if (const json::value* av = in->if_contains("auth"); av != nullptr && !av->is_null()) {
    if (!av->is_object()) return Error::invalid("auth: must be an object", "auth");
    const json::object& patch = av->as_object();
    json::object auth = body["auth"].is_object() ? body["auth"].as_object() : json::object{};
    if (patch.contains("type") && patch.at("type") != auth["type"]) {
      return Error::invalid("auth.type: a credential's type cannot change", "auth.type");
    }
    if (patch.contains("mcp_server_url") && patch.at("mcp_server_url") != auth["mcp_server_url"]) {
      return Error::invalid("auth.mcp_server_url: cannot change; create a new credential",
                            "auth.mcp_server_url");
    }
    Result<std::string> old = store.credentialSecret(call.access, vault.id, cred->id);
    if (!old) return old.error();
    json::object full = auth;
    deepMerge(full, parseStored(*old));
    deepMerge(full, patch);
    if (Result<std::string> url = validateAuth(full); !url) return url.error();
    json::object secret;
    splitSecrets(full, secret);
    body["auth"] = std::move(full);
    new_secret = json::serialize(secret);
  }
  if (in->contains("display_name")) {
    Result<std::optional<std::string>> display = optString(*in, "display_name");
    if (!display) return display.error();
    body["display_name"] = *display ? json::value(**display) : json::value(nullptr);
  }
  if (const json::value* md = in->if_contains("metadata")) {
    Result<json::object> patch = metadataOf(*md, "metadata", true);
    if (!patch) return patch.error();
    body["metadata"] = mergeMetadata(
        body["metadata"].is_object() ? body["metadata"].as_object() : json::object{}, *patch);
  }
  std::optional<std::string_view> secret_view;
  if (new_secret) secret_view = *new_secret;
  Result<Credential> c =
      store.updateCredential(call.access, vault.id, cred->id, json::serialize(body), secret_view);
  if (!c) return c.error();
  return Reply{200, renderCredential(*c)};
}

// ---- memories -----------------------------------------------------------------------------

std::string actorOf(const Call& call) {
  json::object actor{
      {"type", "api_actor"},
      {"api_key_id", call.caller.key_id.empty() ? call.caller.principal_id : call.caller.key_id}};
  return json::serialize(actor);
}

Result<bool> fullView(const Call& call, bool default_full) {
  const std::string* v = call.queryValue("view");
  if (v == nullptr) return default_full;
  if (*v == "full") return true;
  if (*v == "basic") return false;
  return Error::invalid("view: must be 'basic' or 'full'", "view");
}

json::object renderMemory(const Memory& m, bool full) {
  json::object o{{"id", m.id},
                 {"type", "memory"},
                 {"memory_store_id", m.store_id},
                 {"path", m.path},
                 {"content_sha256", m.content_sha256},
                 {"content_size_bytes", m.content_size},
                 {"memory_version_id", m.version_id},
                 {"created_at", rfc3339(m.created_at_ms)},
                 {"updated_at", rfc3339(m.updated_at_ms)}};
  if (full) o["content"] = m.content;
  return o;
}

json::object renderVersion(const MemoryVersion& v, bool full) {
  json::object o{
      {"id", v.id},
      {"type", "memory_version"},
      {"memory_id", v.memory_id},
      {"memory_store_id", v.store_id},
      {"operation", v.operation},
      {"path", v.path},
      {"content_sha256",
       v.content_sha256.empty() ? json::value(nullptr) : json::value(v.content_sha256)},
      {"content_size_bytes", v.content_size ? json::value(*v.content_size) : json::value(nullptr)},
      {"created_by", parseStored(v.actor)},
      {"created_at", rfc3339(v.created_at_ms)},
      {"redacted_at", timeOrNull(v.redacted_at_ms)}};
  if (full) o["content"] = v.content ? json::value(*v.content) : json::value(nullptr);
  return o;
}

Result<Reply> memoriesApi(Call& call, const Document& ms) {
  AgentStore& store = call.ctx.store;
  const auto& s = call.segs;
  const std::string& m = call.request.method;
  auto allow = [&](std::string_view action) {
    return call.allow(action, ms.owner_id, "memory_store", ms.id);
  };
  if (s.size() == 3) {
    if (m == "POST") {
      if (Result<void> r = allow("CreateMemory"); !r) return r.error();
      Result<bool> full = fullView(call, false);
      if (!full) return full.error();
      Result<json::object> in = parseBody(call.request.body);
      if (!in) return in.error();
      if (Result<void> r = onlyKnown(*in, {"content", "path"}); !r) return r.error();
      Result<std::string> path = reqString(*in, "path");
      if (!path) return path.error();
      Result<std::optional<std::string>> content = optString(*in, "content");
      if (!content) return content.error();
      Result<Memory> mem =
          store.createMemory(call.access, ms.id, *path, content->value_or(""), actorOf(call));
      if (!mem) return mem.error();
      return Reply{200, renderMemory(*mem, *full)};
    }
    if (m != "GET") return methodNotAllowed(call);
    if (Result<void> r = allow("ListMemories"); !r) return r.error();
    Result<bool> full = fullView(call, false);
    if (!full) return full.error();
    if (const std::string* path = call.queryValue("path")) {
      // Read by path: a page holding that one memory.
      Result<Memory> mem = store.getMemoryByPath(call.access, ms.id, *path);
      if (!mem) return mem.error();
      json::array data;
      data.push_back(renderMemory(*mem, *full));
      return Reply{200, pageJson(std::move(data), "")};
    }
    MemoryListOptions o;
    Result<ListOptions> base = listOptions(call);
    if (!base) return base.error();
    o.limit = std::min(base->limit, *full ? 20 : 100);
    o.page = base->page;
    if (const std::string* prefix = call.queryValue("path_prefix")) o.path_prefix = *prefix;
    if (const std::string* depth = call.queryValue("depth")) o.depth = std::atoi(depth->c_str());
    Result<Page<MemoryListItem>> page = store.listMemories(call.access, ms.id, o);
    if (!page) return page.error();
    json::array data;
    for (const MemoryListItem& item : page->items) {
      if (item.is_prefix) {
        data.push_back(json::object{{"type", "memory_prefix"}, {"path", item.prefix}});
      } else {
        data.push_back(renderMemory(item.memory, *full));
      }
    }
    return Reply{200, pageJson(std::move(data), page->next_page)};
  }
  if (s.size() != 4) return unknownPath(call);
  if (m == "GET") {
    if (Result<void> r = allow("GetMemory"); !r) return r.error();
    Result<bool> full = fullView(call, true);
    if (!full) return full.error();
    Result<Memory> mem = store.getMemory(call.access, ms.id, s[3]);
    if (!mem) return mem.error();
    return Reply{200, renderMemory(*mem, *full)};
  }
  if (m == "POST") {
    if (Result<void> r = allow("UpdateMemory"); !r) return r.error();
    Result<bool> full = fullView(call, false);
    if (!full) return full.error();
    Result<json::object> in = parseBody(call.request.body);
    if (!in) return in.error();
    if (Result<void> r = onlyKnown(*in, {"content", "path", "precondition"}); !r) return r.error();
    Result<std::optional<std::string>> content = optString(*in, "content");
    if (!content) return content.error();
    Result<std::optional<std::string>> path = optString(*in, "path");
    if (!path) return path.error();
    std::optional<std::string> expected;
    if (const json::value* pc = in->if_contains("precondition"); pc != nullptr && !pc->is_null()) {
      const json::value* t = pc->is_object() ? pc->as_object().if_contains("type") : nullptr;
      if (t == nullptr || *t != "content_sha256") {
        return Error::invalid("precondition.type: must be 'content_sha256'", "precondition.type");
      }
      Result<std::optional<std::string>> sha = optString(pc->as_object(), "content_sha256");
      if (!sha) return sha.error();
      expected = *sha;
    }
    std::optional<std::string_view> cv, pv, ev;
    if (*content) cv = **content;
    if (*path) pv = **path;
    if (expected) ev = *expected;
    Result<Memory> mem = store.updateMemory(call.access, ms.id, s[3], cv, pv, ev, actorOf(call));
    if (!mem) return mem.error();
    return Reply{200, renderMemory(*mem, *full)};
  }
  if (m == "DELETE") {
    if (Result<void> r = allow("DeleteMemory"); !r) return r.error();
    std::optional<std::string_view> expected;
    if (const std::string* e = call.queryValue("expected_content_sha256")) expected = *e;
    if (Result<void> r = store.deleteMemory(call.access, ms.id, s[3], expected, actorOf(call));
        !r) {
      return r.error();
    }
    return Reply{200, json::object{{"id", s[3]}, {"type", "memory_deleted"}}};
  }
  return methodNotAllowed(call);
}

Result<Reply> versionsApi(Call& call, const Document& ms) {
  AgentStore& store = call.ctx.store;
  const auto& s = call.segs;
  const std::string& m = call.request.method;
  auto allow = [&](std::string_view action) {
    return call.allow(action, ms.owner_id, "memory_store", ms.id);
  };
  if (s.size() == 3) {
    if (m != "GET") return methodNotAllowed(call);
    if (Result<void> r = allow("ListMemoryVersions"); !r) return r.error();
    Result<bool> full = fullView(call, false);
    if (!full) return full.error();
    Result<ListOptions> o = listOptions(call);
    if (!o) return o.error();
    if (*full) o->limit = std::min(o->limit, 20);
    AgentStore::VersionFilter filter;
    if (const std::string* id = call.queryValue("memory_id")) filter.memory_id = *id;
    if (const std::string* op = call.queryValue("operation")) filter.operation = *op;
    Result<Page<MemoryVersion>> page = store.listMemoryVersions(call.access, ms.id, *o, filter);
    if (!page) return page.error();
    json::array data;
    for (const MemoryVersion& v : page->items) data.push_back(renderVersion(v, *full));
    return Reply{200, pageJson(std::move(data), page->next_page)};
  }
  if (s.size() == 4 && m == "GET") {
    if (Result<void> r = allow("GetMemoryVersion"); !r) return r.error();
    Result<bool> full = fullView(call, true);
    if (!full) return full.error();
    Result<MemoryVersion> v = store.getMemoryVersion(call.access, ms.id, s[3]);
    if (!v) return v.error();
    return Reply{200, renderVersion(*v, *full)};
  }
  if (s.size() == 5 && s[4] == "redact" && m == "POST") {
    if (Result<void> r = allow("RedactMemoryVersion"); !r) return r.error();
    Result<MemoryVersion> v = store.redactMemoryVersion(call.access, ms.id, s[3]);
    if (!v) return v.error();
    return Reply{200, renderVersion(*v, true)};
  }
  if (s.size() == 5 && s[4] == "restore" && m == "POST") {
    // Basalt extension: write the version's content back (a new version of the memory).
    if (Result<void> r = allow("RestoreMemoryVersion"); !r) return r.error();
    Result<Memory> mem = store.restoreMemoryVersion(call.access, ms.id, s[3], actorOf(call));
    if (!mem) return mem.error();
    return Reply{200, renderMemory(*mem, true)};
  }
  return s.size() <= 5 ? methodNotAllowed(call) : unknownPath(call);
}

}  // namespace

Result<Reply> vaultsApi(Call& call) {
  if (call.segs.size() == 1) {
    return documentCrud(call, DocKind::kVault, "vault", "Vault", "vault_deleted",
                        {"display_name", "metadata"}, "display_name", false, nullptr);
  }
  Result<Document> vault = call.ctx.store.getDocument(DocKind::kVault, call.access, call.segs[1]);
  if (!vault) return vault.error();
  if (call.segs.size() >= 3 && call.segs[2] == "credentials") return credentialsApi(call, *vault);
  return documentCrud(call, DocKind::kVault, "vault", "Vault", "vault_deleted",
                      {"display_name", "metadata"}, "display_name", false, &*vault);
}

Result<Reply> memoryStoresApi(Call& call) {
  if (call.segs.size() == 1) {
    return documentCrud(call, DocKind::kMemoryStore, "memory_store", "MemoryStore",
                        "memory_store_deleted", {"name", "description", "metadata"}, "name", true,
                        nullptr);
  }
  Result<Document> ms =
      call.ctx.store.getDocument(DocKind::kMemoryStore, call.access, call.segs[1]);
  if (!ms) return ms.error();
  if (call.segs.size() >= 3 && call.segs[2] == "memories") return memoriesApi(call, *ms);
  if (call.segs.size() >= 3 && call.segs[2] == "memory_versions") return versionsApi(call, *ms);
  return documentCrud(call, DocKind::kMemoryStore, "memory_store", "MemoryStore",
                      "memory_store_deleted", {"name", "description", "metadata"}, "name", true,
                      &*ms);
}

}  // namespace basalt::agents
