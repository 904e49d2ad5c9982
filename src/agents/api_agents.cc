// Environments and agents (with immutable versions).

#include "api_json.h"

#include "basalt/egress/allow_list.h"

#include <boost/json/serialize.hpp>

#include <set>

namespace basalt::agents {
namespace {

Error unsupported(std::string_view what, std::string_view param) {
  return Error::invalid(std::string(what) + " is not supported by Basalt", std::string(param));
}

// ---- environments -------------------------------------------------------------------------

Result<json::array> stringList(const json::value* v, const std::string& param) {
  json::array out;
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return Error::invalid(param + ": must be an array of strings", param);
  for (const json::value& s : v->as_array()) {
    if (!s.is_string()) return Error::invalid(param + ": must be an array of strings", param);
    out.push_back(s);
  }
  return out;
}

/// The response shape of an environment config, with every default filled in.
Result<json::object> environmentConfig(const json::value* v) {
  json::object packages{{"type", "packages"}};
  for (const char* manager : {"apt", "cargo", "gem", "go", "npm", "pip"}) {
    packages[manager] = json::array{};
  }
  json::object config{{"type", "cloud"},
                      {"networking", json::object{{"type", "unrestricted"}}},
                      {"packages", packages}};
  if (v == nullptr || v->is_null()) return config;
  if (!v->is_object()) return Error::invalid("config: must be an object", "config");
  const json::object& in = v->as_object();
  Result<std::optional<std::string>> type = optString(in, "type");
  if (!type) return Error::invalid("config.type: must be a string", "config.type");
  if (*type && **type == "self_hosted") {
    return unsupported("config.type 'self_hosted' (self-hosted sandboxes)", "config.type");
  }
  if (!*type || **type != "cloud") {
    return Error::invalid("config.type: must be 'cloud'", "config.type");
  }
  if (Result<void> r = onlyKnown(in, {"type", "networking", "packages"}, "config"); !r) {
    return r.error();
  }
  if (const json::value* net = in.if_contains("networking"); net != nullptr && !net->is_null()) {
    if (!net->is_object()) return Error::invalid("config.networking: must be an object");
    const json::object& n = net->as_object();
    const json::value* nt = n.if_contains("type");
    if (nt != nullptr && nt->is_string() && nt->as_string() == "unrestricted") {
      if (Result<void> r = onlyKnown(n, {"type"}, "config.networking"); !r) return r.error();
    } else if (nt != nullptr && nt->is_string() && nt->as_string() == "limited") {
      if (Result<void> r =
              onlyKnown(n, {"type", "allowed_hosts", "allow_mcp_servers", "allow_package_managers"},
                        "config.networking");
          !r) {
        return r.error();
      }
      json::object limited{{"type", "limited"}};
      Result<json::array> hosts =
          stringList(n.if_contains("allowed_hosts"), "config.networking.allowed_hosts");
      if (!hosts) return hosts.error();
      // What the egress proxy can enforce: hostname, IPv4 or *.domain (egress/allow_list.h).
      if (hosts->size() > egress::kMaxAllowedHosts) {
        return Error::invalid("config.networking.allowed_hosts: at most " +
                                  std::to_string(egress::kMaxAllowedHosts) + " entries",
                              "config.networking.allowed_hosts");
      }
      for (std::size_t i = 0; i < hosts->size(); ++i) {
        const std::string host((*hosts)[i].as_string());
        if (std::string why = egress::checkAllowEntry(host); !why.empty()) {
          const std::string param = "config.networking.allowed_hosts[" + std::to_string(i) + "]";
          return Error::invalid(param + ": '" + host + "': " + why, param);
        }
      }
      limited["allowed_hosts"] = std::move(*hosts);
      for (const char* flag : {"allow_mcp_servers", "allow_package_managers"}) {
        const json::value* f = n.if_contains(flag);
        if (f != nullptr && !f->is_null() && !f->is_bool()) {
          return Error::invalid(std::string("config.networking.") + flag + ": must be a boolean");
        }
        limited[flag] = f != nullptr && f->is_bool() && f->as_bool();
      }
      config["networking"] = std::move(limited);
    } else {
      return Error::invalid("config.networking.type: must be 'unrestricted' or 'limited'",
                            "config.networking.type");
    }
  }
  if (const json::value* pk = in.if_contains("packages"); pk != nullptr && !pk->is_null()) {
    if (!pk->is_object()) return Error::invalid("config.packages: must be an object");
    const json::object& p = pk->as_object();
    if (Result<void> r =
            onlyKnown(p, {"type", "apt", "cargo", "gem", "go", "npm", "pip"}, "config.packages");
        !r) {
      return r.error();
    }
    json::object out{{"type", "packages"}};
    for (const char* manager : {"apt", "cargo", "gem", "go", "npm", "pip"}) {
      Result<json::array> list =
          stringList(p.if_contains(manager), std::string("config.packages.") + manager);
      if (!list) return list.error();
      out[manager] = std::move(*list);
    }
    config["packages"] = std::move(out);
  }
  return config;
}

Result<json::object> applyEnvironment(json::object body, const json::object& in, bool create) {
  if (Result<void> r = onlyKnown(in, {"name", "config", "description", "metadata", "scope"}); !r) {
    return r.error();
  }
  if (create || in.contains("name")) {
    Result<std::string> name = reqString(in, "name");
    if (!name) return name.error();
    body["name"] = *name;
  }
  if (create) {
    body["description"] = nullptr;
    body["metadata"] = json::object{};
  }
  if (create || in.contains("config")) {
    Result<json::object> config = environmentConfig(in.if_contains("config"));
    if (!config) return config.error();
    body["config"] = std::move(*config);
  }
  if (in.contains("description")) {
    Result<std::optional<std::string>> d = optString(in, "description");
    if (!d) return d.error();
    body["description"] = *d ? json::value(**d) : json::value(nullptr);
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
  if (const json::value* sc = in.if_contains("scope"); sc != nullptr && !sc->is_null()) {
    if (!sc->is_string() || (sc->as_string() != "organization" && sc->as_string() != "account")) {
      return Error::invalid("scope: must be 'organization' or 'account'", "scope");
    }
    body["scope"] = *sc;
  }
  return body;
}

Result<Reply> documentReply(const Result<Document>& d, int status = 200) {
  if (!d) return d.error();
  return Reply{status, renderDocument(*d)};
}

// ---- agents -------------------------------------------------------------------------------

constexpr std::string_view kBuiltinTools[] = {"bash", "edit", "read",     "write",
                                              "glob", "grep", "web_fetch"};

Result<json::object> permissionPolicy(const json::value* v, json::object fallback,
                                      const std::string& param) {
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_object()) return Error::invalid(param + ": must be an object", param);
  const json::value* t = v->as_object().if_contains("type");
  if (t == nullptr || !t->is_string() ||
      (t->as_string() != "always_allow" && t->as_string() != "always_ask")) {
    if (t != nullptr && t->is_string() && t->as_string() == "auto") {
      return unsupported("permission_policy 'auto'", param + ".type");
    }
    return Error::invalid(param + ".type: must be 'always_allow' or 'always_ask'", param + ".type");
  }
  return json::object{{"type", t->as_string()}};
}

Result<json::object> defaultConfig(const json::object& tool, const std::string& param,
                                   std::string_view default_policy) {
  json::object out{{"enabled", true},
                   {"permission_policy", json::object{{"type", default_policy}}}};
  const json::value* dc = tool.if_contains("default_config");
  if (dc == nullptr || dc->is_null()) return out;
  if (!dc->is_object()) return Error::invalid(param + ".default_config: must be an object");
  const json::object& d = dc->as_object();
  if (Result<void> r = onlyKnown(d, {"enabled", "permission_policy"}, param + ".default_config");
      !r) {
    return r.error();
  }
  if (const json::value* e = d.if_contains("enabled"); e != nullptr && !e->is_null()) {
    if (!e->is_bool()) return Error::invalid(param + ".default_config.enabled: must be a boolean");
    out["enabled"] = e->as_bool();
  }
  Result<json::object> policy =
      permissionPolicy(d.if_contains("permission_policy"), out["permission_policy"].as_object(),
                       param + ".default_config.permission_policy");
  if (!policy) return policy.error();
  out["permission_policy"] = std::move(*policy);
  return out;
}

Result<json::array> toolConfigs(const json::object& tool, const json::object& defaults,
                                const std::string& param, bool builtin) {
  json::array out;
  const json::value* cv = tool.if_contains("configs");
  if (cv == nullptr || cv->is_null()) return out;
  if (!cv->is_array()) return Error::invalid(param + ".configs: must be an array");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < cv->as_array().size(); ++i) {
    const std::string p = param + ".configs[" + std::to_string(i) + "]";
    const json::value& c = cv->as_array()[i];
    if (!c.is_object()) return Error::invalid(p + ": must be an object", p);
    const json::object& co = c.as_object();
    Result<std::string> name = reqString(co, "name");
    if (!name) return Error::invalid(p + ".name: Field required", p + ".name");
    json::object cfg{{"name", *name}};
    if (builtin) {
      bool known = false;
      for (std::string_view t : kBuiltinTools) known = known || t == *name;
      if (*name == "web_search") return unsupported("the web_search tool", p + ".name");
      if (!known) return Error::invalid(p + ".name: unknown tool '" + *name + "'", p + ".name");
      cfg["type"] = *name;
      if (Result<void> r =
              onlyKnown(co,
                        {"name", "type", "enabled", "permission_policy", "allowed_domains",
                         "blocked_domains", "max_content_tokens", "url_sources"},
                        p);
          !r) {
        return r.error();
      }
    } else if (Result<void> r = onlyKnown(co, {"name", "enabled", "permission_policy"}, p); !r) {
      return r.error();
    }
    if (!seen.insert(*name).second) {
      return Error::invalid(p + ".name: '" + *name + "' is configured twice", p + ".name");
    }
    const json::value* e = co.if_contains("enabled");
    if (e != nullptr && !e->is_null() && !e->is_bool()) {
      return Error::invalid(p + ".enabled: must be a boolean", p + ".enabled");
    }
    cfg["enabled"] = e != nullptr && e->is_bool() ? e->as_bool() : defaults.at("enabled").as_bool();
    Result<json::object> policy =
        permissionPolicy(co.if_contains("permission_policy"),
                         defaults.at("permission_policy").as_object(), p + ".permission_policy");
    if (!policy) return policy.error();
    cfg["permission_policy"] = std::move(*policy);
    if (builtin && *name == "web_fetch") {
      cfg["url_sources"] = co.contains("url_sources") ? co.at("url_sources") : json::value(nullptr);
      for (const char* extra : {"allowed_domains", "blocked_domains", "max_content_tokens"}) {
        if (const json::value* x = co.if_contains(extra)) cfg[extra] = *x;
      }
    }
    out.push_back(std::move(cfg));
  }
  return out;
}

Result<json::array> mcpServers(const json::value* v) {
  json::array out;
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return Error::invalid("mcp_servers: must be an array", "mcp_servers");
  std::set<std::string> names;
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    const std::string p = "mcp_servers[" + std::to_string(i) + "]";
    const json::value& s = v->as_array()[i];
    if (!s.is_object()) return Error::invalid(p + ": must be an object", p);
    const json::object& so = s.as_object();
    if (Result<void> r = onlyKnown(so, {"name", "type", "url"}, p); !r) return r.error();
    Result<std::string> name = reqString(so, "name");
    Result<std::string> url = reqString(so, "url");
    if (!name) return Error::invalid(p + ".name: Field required", p + ".name");
    if (!url) return Error::invalid(p + ".url: Field required", p + ".url");
    const json::value* t = so.if_contains("type");
    if (t == nullptr || !t->is_string() || t->as_string() != "url") {
      return Error::invalid(p + ".type: must be 'url'", p + ".type");
    }
    if (url->rfind("https://", 0) != 0 && url->rfind("http://", 0) != 0) {
      return Error::invalid(p + ".url: must be an http(s) URL", p + ".url");
    }
    if (!names.insert(*name).second) {
      return Error::invalid(p + ".name: duplicate MCP server name '" + *name + "'", p + ".name");
    }
    out.push_back(json::object{{"name", *name}, {"type", "url"}, {"url", *url}});
  }
  return out;
}

Result<json::array> agentTools(const json::value* v, const json::array& servers) {
  json::array out;
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return Error::invalid("tools: must be an array", "tools");
  std::set<std::string> custom_names;
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    const std::string p = "tools[" + std::to_string(i) + "]";
    const json::value& t = v->as_array()[i];
    if (!t.is_object()) return Error::invalid(p + ": must be an object", p);
    const json::object& to = t.as_object();
    Result<std::string> type = reqString(to, "type");
    if (!type) return Error::invalid(p + ".type: Field required", p + ".type");
    if (*type == "agent_toolset_20260401") {
      if (Result<void> r = onlyKnown(to, {"type", "configs", "default_config"}, p); !r) {
        return r.error();
      }
      Result<json::object> defaults = defaultConfig(to, p, "always_allow");
      if (!defaults) return defaults.error();
      Result<json::array> configs = toolConfigs(to, *defaults, p, true);
      if (!configs) return configs.error();
      out.push_back(json::object{{"type", *type},
                                 {"configs", std::move(*configs)},
                                 {"default_config", std::move(*defaults)}});
    } else if (*type == "mcp_toolset") {
      if (Result<void> r =
              onlyKnown(to, {"type", "mcp_server_name", "configs", "default_config"}, p);
          !r) {
        return r.error();
      }
      Result<std::string> server = reqString(to, "mcp_server_name");
      if (!server) return Error::invalid(p + ".mcp_server_name: Field required");
      bool declared = false;
      for (const json::value& s : servers) {
        declared = declared || s.as_object().at("name").as_string() == *server;
      }
      if (!declared) {
        return Error::invalid(
            p + ".mcp_server_name: no MCP server named '" + *server + "' in mcp_servers",
            p + ".mcp_server_name");
      }
      Result<json::object> defaults = defaultConfig(to, p, "always_ask");
      if (!defaults) return defaults.error();
      Result<json::array> configs = toolConfigs(to, *defaults, p, false);
      if (!configs) return configs.error();
      out.push_back(json::object{{"type", *type},
                                 {"mcp_server_name", *server},
                                 {"configs", std::move(*configs)},
                                 {"default_config", std::move(*defaults)}});
    } else if (*type == "custom") {
      if (Result<void> r = onlyKnown(to, {"type", "name", "description", "input_schema"}, p); !r) {
        return r.error();
      }
      Result<std::string> name = reqString(to, "name");
      if (!name) return Error::invalid(p + ".name: Field required", p + ".name");
      Result<std::optional<std::string>> desc = optString(to, "description");
      if (!desc) return desc.error();
      const json::value* schema = to.if_contains("input_schema");
      if (schema == nullptr || !schema->is_object() || !schema->as_object().contains("type") ||
          schema->as_object().at("type") != "object") {
        return Error::invalid(p + ".input_schema: must be a JSON schema with type 'object'",
                              p + ".input_schema");
      }
      if (!custom_names.insert(*name).second) {
        return Error::invalid(p + ".name: duplicate custom tool '" + *name + "'", p + ".name");
      }
      out.push_back(json::object{{"type", "custom"},
                                 {"name", *name},
                                 {"description", desc->value_or("")},
                                 {"input_schema", *schema}});
    } else {
      return Error::invalid(p + ".type: unknown tool type '" + *type + "'", p + ".type");
    }
  }
  return out;
}

Result<json::object> modelConfig(const json::value& v) {
  if (v.is_string()) {
    if (v.as_string().empty()) return Error::invalid("model: must not be empty", "model");
    return json::object{{"id", v.as_string()}};
  }
  if (!v.is_object()) return Error::invalid("model: must be a string or an object", "model");
  const json::object& m = v.as_object();
  if (Result<void> r = onlyKnown(m, {"id", "effort", "inference_geo", "speed"}, "model"); !r) {
    return r.error();
  }
  Result<std::string> id = reqString(m, "id");
  if (!id) return Error::invalid("model.id: Field required", "model.id");
  json::object out{{"id", *id}};
  if (const json::value* e = m.if_contains("effort"); e != nullptr && !e->is_null()) {
    const json::value* level = e->is_object() ? e->as_object().if_contains("type") : e;
    if (level == nullptr || !level->is_string()) {
      return Error::invalid("model.effort: must be a level", "model.effort");
    }
    out["effort"] = json::object{{"type", level->as_string()}};
  }
  for (const char* key : {"inference_geo", "speed"}) {
    if (const json::value* x = m.if_contains(key); x != nullptr && !x->is_null()) {
      if (!x->is_string())
        return Error::invalid(std::string("model.") + key + ": must be a string");
      out[key] = *x;
    }
  }
  return out;
}

/// Applies create or update params to an agent body. Keys keep a fixed order, so an update
/// that changes nothing serializes identically (and makes no new version).
Result<json::object> applyAgent(json::object body, const json::object& in, bool create) {
  if (Result<void> r =
          onlyKnown(in, {"name", "model", "description", "system", "tools", "mcp_servers",
                         "metadata", "skills", "multiagent", "execution_identity", "version"});
      !r) {
    return r.error();
  }
  if (const json::value* m = in.if_contains("multiagent"); m != nullptr && !m->is_null()) {
    return unsupported("multiagent (beta feature: multi-agent orchestration)", "multiagent");
  }
  if (const json::value* s = in.if_contains("skills");
      s != nullptr && !(s->is_null() || (s->is_array() && s->as_array().empty()))) {
    return unsupported("skills (beta feature: agent skills)", "skills");
  }
  if (create) {
    body = json::object{{"name", ""},
                        {"description", nullptr},
                        {"model", json::object{}},
                        {"system", nullptr},
                        {"tools", json::array{}},
                        {"mcp_servers", json::array{}},
                        {"skills", json::array{}},
                        {"multiagent", nullptr},
                        {"execution_identity", json::object{{"type", "service_account"}}},
                        {"metadata", json::object{}}};
  }
  if (create || in.contains("name")) {
    Result<std::string> name = reqString(in, "name");
    if (!name) return name.error();
    body["name"] = *name;
  }
  if (create || in.contains("model")) {
    const json::value* m = in.if_contains("model");
    if (m == nullptr || m->is_null()) return Error::invalid("model: Field required", "model");
    Result<json::object> model = modelConfig(*m);
    if (!model) return model.error();
    body["model"] = std::move(*model);
  }
  for (const char* key : {"description", "system"}) {
    if (!in.contains(key)) continue;
    Result<std::optional<std::string>> s = optString(in, key);
    if (!s) return s.error();
    body[key] = *s ? json::value(**s) : json::value(nullptr);
  }
  if (in.contains("mcp_servers")) {
    Result<json::array> servers = mcpServers(in.if_contains("mcp_servers"));
    if (!servers) return servers.error();
    body["mcp_servers"] = std::move(*servers);
  }
  if (in.contains("tools") || in.contains("mcp_servers")) {
    const json::value* tools = in.if_contains("tools");
    json::value current = body["tools"];
    // Re-validated against the (possibly new) MCP servers; the stored form re-normalizes.
    Result<json::array> out =
        agentTools(tools != nullptr ? tools : &current,
                   body["mcp_servers"].is_array() ? body["mcp_servers"].as_array() : json::array{});
    if (!out) return out.error();
    body["tools"] = std::move(*out);
  }
  if (const json::value* e = in.if_contains("execution_identity")) {
    if (e->is_null()) {
      body["execution_identity"] = json::object{{"type", "service_account"}};
    } else if (!e->is_object()) {
      return Error::invalid("execution_identity: must be an object", "execution_identity");
    } else {
      const json::object& eo = e->as_object();
      Result<std::string> type = reqString(eo, "type");
      if (type && *type == "service_account") {
        body["execution_identity"] = json::object{{"type", "service_account"}};
      } else if (type && *type == "aws_role") {
        Result<std::string> role = reqString(eo, "role_arn");
        if (!role) return Error::invalid("execution_identity.role_arn: Field required");
        body["execution_identity"] = json::object{{"type", "aws_role"}, {"role_arn", *role}};
      } else {
        return Error::invalid("execution_identity.type: must be 'service_account' or 'aws_role'",
                              "execution_identity.type");
      }
    }
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

Result<Reply> agentReply(const Result<AgentVersion>& a, int status = 200) {
  if (!a) return a.error();
  return Reply{status, renderAgent(*a)};
}

}  // namespace

Result<Reply> environmentsApi(Call& call) {
  AgentStore& store = call.ctx.store;
  const auto& s = call.segs;
  const std::string& m = call.request.method;
  if (s.size() == 1) {
    if (m == "POST") {
      if (Result<void> r = call.allowOwn("CreateEnvironment", "environment"); !r) return r.error();
      Result<json::object> in = parseBody(call.request.body);
      if (!in) return in.error();
      Result<json::object> body = applyEnvironment({}, *in, true);
      if (!body) return body.error();
      return documentReply(store.createDocument(DocKind::kEnvironment, call.caller.principal_id,
                                                json::serialize(*body)));
    }
    if (m == "GET") {
      if (Result<void> r = call.allowOwn("ListEnvironments", "environment"); !r) return r.error();
      Result<ListOptions> o = listOptions(call);
      if (!o) return o.error();
      Result<Page<Document>> page = store.listDocuments(DocKind::kEnvironment, call.access, *o);
      if (!page) return page.error();
      json::array data;
      for (const Document& d : page->items) data.push_back(renderDocument(d));
      return Reply{200, pageJson(std::move(data), page->next_page)};
    }
    return methodNotAllowed(call);
  }
  Result<Document> env = store.getDocument(DocKind::kEnvironment, call.access, s[1]);
  if (!env) return env.error();
  auto allow = [&](std::string_view action) {
    return call.allow(action, env->owner_id, "environment", env->id);
  };
  if (s.size() == 2) {
    if (m == "GET") {
      if (Result<void> r = allow("GetEnvironment"); !r) return r.error();
      return Reply{200, renderDocument(*env)};
    }
    if (m == "POST") {
      if (Result<void> r = allow("UpdateEnvironment"); !r) return r.error();
      Result<json::object> in = parseBody(call.request.body);
      if (!in) return in.error();
      json::object current = parseStored(env->body);
      Result<json::object> body = applyEnvironment(current, *in, false);
      if (!body) return body.error();
      return documentReply(store.updateDocument(DocKind::kEnvironment, call.access, env->id,
                                                json::serialize(*body)));
    }
    if (m == "DELETE") {
      if (Result<void> r = allow("DeleteEnvironment"); !r) return r.error();
      if (Result<void> r = store.deleteDocument(DocKind::kEnvironment, call.access, env->id); !r) {
        return r.error();
      }
      return Reply{200, json::object{{"id", env->id}, {"type", "environment_deleted"}}};
    }
    return methodNotAllowed(call);
  }
  if (s.size() == 3 && s[2] == "archive") {
    if (m != "POST") return methodNotAllowed(call);
    if (Result<void> r = allow("ArchiveEnvironment"); !r) return r.error();
    return documentReply(store.archiveDocument(DocKind::kEnvironment, call.access, env->id));
  }
  return unknownPath(call);
}

Result<Reply> agentsApi(Call& call) {
  AgentStore& store = call.ctx.store;
  const auto& s = call.segs;
  const std::string& m = call.request.method;
  if (s.size() == 1) {
    if (m == "POST") {
      if (Result<void> r = call.allowOwn("CreateAgent", "agent"); !r) return r.error();
      Result<json::object> in = parseBody(call.request.body);
      if (!in) return in.error();
      if (in->contains("version"))
        return Error::invalid("version: Extra inputs are not permitted", "version");
      Result<json::object> body = applyAgent({}, *in, true);
      if (!body) return body.error();
      return agentReply(store.createAgent(call.caller.principal_id, json::serialize(*body)));
    }
    if (m == "GET") {
      if (Result<void> r = call.allowOwn("ListAgents", "agent"); !r) return r.error();
      Result<ListOptions> o = listOptions(call);
      if (!o) return o.error();
      Result<Page<AgentVersion>> page = store.listAgents(call.access, *o);
      if (!page) return page.error();
      json::array data;
      for (const AgentVersion& a : page->items) data.push_back(renderAgent(a));
      return Reply{200, pageJson(std::move(data), page->next_page)};
    }
    return methodNotAllowed(call);
  }
  Result<AgentVersion> agent = store.getAgent(call.access, s[1]);
  if (!agent) return agent.error();
  auto allow = [&](std::string_view action) {
    return call.allow(action, agent->owner_id, "agent", agent->id);
  };
  if (s.size() == 2) {
    if (m == "GET") {
      if (Result<void> r = allow("GetAgent"); !r) return r.error();
      if (const std::string* v = call.queryValue("version")) {
        int version = 0;
        for (char c : *v) {
          if (c < '0' || c > '9' || version > 100000000) {
            return Error::invalid("version: must be a positive integer", "version");
          }
          version = version * 10 + (c - '0');
        }
        if (version < 1) return Error::invalid("version: must be a positive integer", "version");
        return agentReply(store.getAgent(call.access, agent->id, version));
      }
      return Reply{200, renderAgent(*agent)};
    }
    if (m == "POST") {
      if (Result<void> r = allow("UpdateAgent"); !r) return r.error();
      Result<json::object> in = parseBody(call.request.body);
      if (!in) return in.error();
      std::optional<int> expected;
      if (const json::value* v = in->if_contains("version"); v != nullptr && !v->is_null()) {
        Result<int> n = positiveInt(*v, "version");
        if (!n) return n.error();
        expected = *n;
      }
      Result<json::object> body = applyAgent(parseStored(agent->body), *in, false);
      if (!body) return body.error();
      return agentReply(
          store.updateAgent(call.access, agent->id, expected, json::serialize(*body)));
    }
    return methodNotAllowed(call);
  }
  if (s.size() == 3 && s[2] == "archive") {
    if (m != "POST") return methodNotAllowed(call);
    if (Result<void> r = allow("ArchiveAgent"); !r) return r.error();
    return agentReply(store.archiveAgent(call.access, agent->id));
  }
  if (s.size() == 3 && s[2] == "versions") {
    if (m != "GET") return methodNotAllowed(call);
    if (Result<void> r = allow("ListAgentVersions"); !r) return r.error();
    Result<ListOptions> o = listOptions(call);
    if (!o) return o.error();
    Result<Page<AgentVersion>> page = store.listAgentVersions(call.access, agent->id, *o);
    if (!page) return page.error();
    json::array data;
    for (const AgentVersion& a : page->items) data.push_back(renderAgent(a));
    return Reply{200, pageJson(std::move(data), page->next_page)};
  }
  return unknownPath(call);
}

}  // namespace basalt::agents
