// Sessions and their event log (list, send). The SSE stream is in agents_api.cc.

#include "api_json.h"

#include "basalt/agents/session_driver.h"

#include <boost/json/serialize.hpp>

namespace basalt::agents {
namespace {

Error unsupported(std::string_view what, std::string_view param) {
  return Error::invalid(std::string(what) + " is not supported by Basalt", std::string(param));
}

Result<void> contentBlocks(const json::object& ev, const std::string& p, bool required,
                           bool text_only) {
  const json::value* c = ev.if_contains("content");
  if (c == nullptr || c->is_null()) {
    if (required) return Error::invalid(p + ".content: Field required", p + ".content");
    return {};
  }
  if (!c->is_array() || (required && c->as_array().empty())) {
    return Error::invalid(p + ".content: must be a non-empty array of content blocks",
                          p + ".content");
  }
  for (std::size_t i = 0; i < c->as_array().size(); ++i) {
    const std::string bp = p + ".content[" + std::to_string(i) + "]";
    const json::value& b = c->as_array()[i];
    const json::value* t = b.is_object() ? b.as_object().if_contains("type") : nullptr;
    if (t == nullptr || !t->is_string()) {
      return Error::invalid(bp + ".type: Field required", bp + ".type");
    }
    const std::string_view type = t->as_string();
    if (type == "text") {
      const json::value* text = b.as_object().if_contains("text");
      if (text == nullptr || !text->is_string()) {
        return Error::invalid(bp + ".text: must be a string", bp + ".text");
      }
    } else if (text_only || (type != "image" && type != "document" && type != "search_result")) {
      return Error::invalid(
          bp + ".type: unsupported content block type '" + std::string(type) + "'", bp + ".type");
    }
  }
  return {};
}

/// Validates one event of a send (or of initial_events) and turns it into a NewEvent.
Result<NewEvent> userEvent(const json::value& v, const std::string& p, bool initial) {
  if (!v.is_object()) return Error::invalid(p + ": must be an object", p);
  const json::object& ev = v.as_object();
  const json::value* tv = ev.if_contains("type");
  if (tv == nullptr || !tv->is_string())
    return Error::invalid(p + ".type: Field required", p + ".type");
  const std::string type(tv->as_string());
  NewEvent out;
  out.type = type;
  if (type == "user.message") {
    if (Result<void> r = onlyKnown(ev, {"type", "content"}, p); !r) return r.error();
    if (Result<void> r = contentBlocks(ev, p, true, false); !r) return r.error();
  } else if (initial) {
    if (type == "user.define_outcome") {
      return unsupported("user.define_outcome (beta feature: outcomes)", p + ".type");
    }
    return Error::invalid(p + ".type: initial_events may only hold user.message events",
                          p + ".type");
  } else if (type == "user.interrupt") {
    if (Result<void> r = onlyKnown(ev, {"type", "session_thread_id"}, p); !r) return r.error();
    if (const json::value* t = ev.if_contains("session_thread_id"); t != nullptr && !t->is_null()) {
      return unsupported("session_thread_id (beta feature: multiagent threads)",
                         p + ".session_thread_id");
    }
  } else if (type == "user.tool_confirmation") {
    if (Result<void> r = onlyKnown(ev, {"type", "tool_use_id", "result", "deny_message"}, p); !r) {
      return r.error();
    }
    Result<std::string> id = reqString(ev, "tool_use_id");
    if (!id) return Error::invalid(p + ".tool_use_id: Field required", p + ".tool_use_id");
    const json::value* result = ev.if_contains("result");
    if (result == nullptr || !result->is_string() ||
        (result->as_string() != "allow" && result->as_string() != "deny")) {
      return Error::invalid(p + ".result: must be 'allow' or 'deny'", p + ".result");
    }
    Result<std::optional<std::string>> deny = optString(ev, "deny_message");
    if (!deny) return Error::invalid(p + ".deny_message: must be a string", p + ".deny_message");
    out.ref_id = *id;
  } else if (type == "user.custom_tool_result") {
    if (Result<void> r = onlyKnown(ev, {"type", "custom_tool_use_id", "content", "is_error"}, p);
        !r) {
      return r.error();
    }
    Result<std::string> id = reqString(ev, "custom_tool_use_id");
    if (!id) {
      return Error::invalid(p + ".custom_tool_use_id: Field required", p + ".custom_tool_use_id");
    }
    if (Result<void> r = contentBlocks(ev, p, false, false); !r) return r.error();
    if (const json::value* e = ev.if_contains("is_error");
        e != nullptr && !e->is_null() && !e->is_bool()) {
      return Error::invalid(p + ".is_error: must be a boolean", p + ".is_error");
    }
    out.ref_id = *id;
  } else if (type == "system.message") {
    if (Result<void> r = onlyKnown(ev, {"type", "content"}, p); !r) return r.error();
    if (Result<void> r = contentBlocks(ev, p, true, true); !r) return r.error();
  } else if (type == "user.define_outcome") {
    return unsupported("user.define_outcome (beta feature: outcomes)", p + ".type");
  } else if (type == "user.tool_result") {
    return unsupported(
        "user.tool_result (Basalt runs the built-in tools itself; answer "
        "agent.custom_tool_use with user.custom_tool_result)",
        p + ".type");
  } else {
    return Error::invalid(p + ".type: unknown event type '" + type + "'", p + ".type");
  }
  json::object payload = ev;
  payload.erase("type");
  out.payload = json::serialize(payload);
  return out;
}

Result<std::vector<NewEvent>> userEvents(const json::value* v, std::string_view param,
                                         bool initial) {
  std::vector<NewEvent> out;
  if (v == nullptr || v->is_null()) {
    if (initial) return out;
    return Error::invalid(std::string(param) + ": Field required", std::string(param));
  }
  if (!v->is_array()) {
    return Error::invalid(std::string(param) + ": must be an array", std::string(param));
  }
  if (!initial && v->as_array().empty()) {
    return Error::invalid(std::string(param) + ": must hold at least one event",
                          std::string(param));
  }
  if (v->as_array().size() > 100) {
    return Error::invalid(std::string(param) + ": at most 100 events", std::string(param));
  }
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    Result<NewEvent> ev =
        userEvent(v->as_array()[i], std::string(param) + "[" + std::to_string(i) + "]", initial);
    if (!ev) return ev.error();
    out.push_back(std::move(*ev));
  }
  return out;
}

Result<json::array> vaultIds(Call& call, const json::value* v) {
  json::array out;
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return Error::invalid("vault_ids: must be an array of ids", "vault_ids");
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    const json::value& id = v->as_array()[i];
    const std::string p = "vault_ids[" + std::to_string(i) + "]";
    if (!id.is_string()) return Error::invalid(p + ": must be a string", p);
    Result<Document> vault =
        call.ctx.store.getDocument(DocKind::kVault, call.access, std::string(id.as_string()));
    if (!vault) return Error::invalid(p + ": no vault '" + std::string(id.as_string()) + "'", p);
    out.push_back(id);
  }
  return out;
}

Result<json::array> sessionResources(Call& call, const json::value* v) {
  json::array out;
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return Error::invalid("resources: must be an array", "resources");
  for (std::size_t i = 0; i < v->as_array().size(); ++i) {
    const std::string p = "resources[" + std::to_string(i) + "]";
    const json::value& r = v->as_array()[i];
    if (!r.is_object()) return Error::invalid(p + ": must be an object", p);
    const json::object& ro = r.as_object();
    Result<std::string> type = reqString(ro, "type");
    if (!type) return Error::invalid(p + ".type: Field required", p + ".type");
    if (*type == "github_repository" || *type == "file") {
      return unsupported("resources of type '" + *type + "'", p + ".type");
    }
    if (*type != "memory_store") {
      return Error::invalid(p + ".type: unknown resource type '" + *type + "'", p + ".type");
    }
    if (Result<void> k = onlyKnown(ro, {"type", "memory_store_id", "access", "instructions"}, p);
        !k) {
      return k.error();
    }
    Result<std::string> id = reqString(ro, "memory_store_id");
    if (!id) return Error::invalid(p + ".memory_store_id: Field required", p + ".memory_store_id");
    Result<Document> store = call.ctx.store.getDocument(DocKind::kMemoryStore, call.access, *id);
    if (!store) return Error::invalid(p + ".memory_store_id: no memory store '" + *id + "'");
    std::string access = "read_write";
    if (const json::value* a = ro.if_contains("access"); a != nullptr && !a->is_null()) {
      if (!a->is_string() || (a->as_string() != "read_write" && a->as_string() != "read_only")) {
        return Error::invalid(p + ".access: must be 'read_write' or 'read_only'", p + ".access");
      }
      access = std::string(a->as_string());
    }
    Result<std::optional<std::string>> instr = optString(ro, "instructions");
    if (!instr) return instr.error();
    json::object body = parseStored(store->body);
    const json::value name = body.contains("name") ? body["name"] : json::value(nullptr);
    out.push_back(json::object{
        {"type", "memory_store"},
        {"memory_store_id", *id},
        {"access", access},
        {"instructions", *instr ? json::value(**instr) : json::value(nullptr)},
        {"name", name},
        {"description", body.contains("description") ? body["description"] : json::value("")},
        {"mount_path", name.is_string()
                           ? json::value("/mnt/memory/" + std::string(name.as_string()))
                           : json::value(nullptr)}});
  }
  return out;
}

Result<void> budgetOf(const json::value* v) {
  if (v == nullptr || v->is_null()) return {};
  const json::value* t = v->is_object() ? v->as_object().if_contains("type") : nullptr;
  if (t == nullptr || !t->is_string() || t->as_string() != "limit" ||
      !v->as_object().contains("max_list_cost")) {
    return Error::invalid("budget: must be {\"type\":\"limit\",\"max_list_cost\":{...}}", "budget");
  }
  return {};
}

Result<Reply> sessionReply(Call& call, const Result<Session>& s) {
  if (!s) return s.error();
  Result<AgentVersion> pinned =
      call.ctx.store.getAgent(Access::rootAccess(), s->agent_id, s->agent_version);
  if (!pinned) return pinned.error();
  return Reply{200, renderSession(*s, *pinned)};
}

Result<Reply> createSession(Call& call) {
  AgentStore& store = call.ctx.store;
  if (Result<void> r = call.allowOwn("CreateSession", "session"); !r) return r.error();
  Result<json::object> in = parseBody(call.request.body);
  if (!in) return in.error();
  if (Result<void> r = onlyKnown(*in, {"agent", "environment_id", "budget", "initial_events",
                                       "metadata", "resources", "title", "vault_ids"});
      !r) {
    return r.error();
  }
  // The agent: an id (latest version) or {type: agent, id, version?}.
  const json::value* av = in->if_contains("agent");
  std::string agent_id;
  std::optional<int> version;
  if (av != nullptr && av->is_string()) {
    agent_id = std::string(av->as_string());
  } else if (av != nullptr && av->is_object()) {
    const json::object& ao = av->as_object();
    Result<std::string> type = reqString(ao, "type");
    if (type && *type == "agent_with_overrides") {
      return unsupported("agent of type 'agent_with_overrides'", "agent.type");
    }
    if (!type || *type != "agent")
      return Error::invalid("agent.type: must be 'agent'", "agent.type");
    if (Result<void> r = onlyKnown(ao, {"type", "id", "version"}, "agent"); !r) return r.error();
    Result<std::string> id = reqString(ao, "id");
    if (!id) return Error::invalid("agent.id: Field required", "agent.id");
    agent_id = *id;
    if (const json::value* v = ao.if_contains("version"); v != nullptr && !v->is_null()) {
      Result<int> n = positiveInt(*v, "agent.version");
      if (!n) return n.error();
      version = *n;
    }
  } else {
    return Error::invalid("agent: Field required", "agent");
  }
  Result<AgentVersion> agent = store.getAgent(call.access, agent_id, version);
  if (!agent) return Error::invalid("agent: " + agent.error().message, "agent");
  if (agent->archived_at_ms)
    return Error::invalid("agent: '" + agent_id + "' is archived", "agent");
  Result<std::string> env_id = reqString(*in, "environment_id");
  if (!env_id) return env_id.error();
  Result<Document> env = store.getDocument(DocKind::kEnvironment, call.access, *env_id);
  if (!env)
    return Error::invalid("environment_id: no environment '" + *env_id + "'", "environment_id");
  if (env->archived_at_ms) {
    return Error::invalid("environment_id: '" + *env_id + "' is archived", "environment_id");
  }
  json::object body;
  Result<std::optional<std::string>> title = optString(*in, "title");
  if (!title) return title.error();
  body["title"] = *title ? json::value(**title) : json::value(nullptr);
  json::object meta;
  if (const json::value* m = in->if_contains("metadata")) {
    Result<json::object> md = metadataOf(*m, "metadata", false);
    if (!md) return md.error();
    meta = std::move(*md);
  }
  body["metadata"] = std::move(meta);
  Result<json::array> resources = sessionResources(call, in->if_contains("resources"));
  if (!resources) return resources.error();
  body["resources"] = std::move(*resources);
  Result<json::array> vaults = vaultIds(call, in->if_contains("vault_ids"));
  if (!vaults) return vaults.error();
  body["vault_ids"] = std::move(*vaults);
  if (Result<void> r = budgetOf(in->if_contains("budget")); !r) return r.error();
  body["budget"] = in->contains("budget") ? in->at("budget") : json::value(nullptr);
  Result<std::vector<NewEvent>> initial =
      userEvents(in->if_contains("initial_events"), "initial_events", true);
  if (!initial) return initial.error();

  AgentStore::NewSession ns;
  ns.owner_id = call.caller.principal_id;
  ns.run_as = call.caller.principal_id;
  ns.agent_id = agent->id;
  ns.agent_version = agent->version;
  ns.environment_id = env->id;
  ns.body = json::serialize(body);
  Result<Session> s = store.createSession(ns, *initial);
  if (s && !initial->empty() && call.ctx.driver != nullptr) {
    call.ctx.driver->eventsAppended(s->id);
  }
  return sessionReply(call, s);
}

Result<EventListOptions> eventListOptions(const Call& call) {
  EventListOptions o;
  Result<ListOptions> base = listOptions(call);
  if (!base) return base.error();
  if (call.queryValue("limit") != nullptr) o.limit = base->limit;
  o.page = base->page;
  if (const std::string* order = call.queryValue("order")) o.ascending = *order == "asc";
  o.types = call.queryValues("types");
  const std::pair<const char*, std::optional<std::int64_t>*> ranges[] = {
      {"created_at[gt]", &o.created_gt_ms},
      {"created_at[gte]", &o.created_gte_ms},
      {"created_at[lt]", &o.created_lt_ms},
      {"created_at[lte]", &o.created_lte_ms}};
  for (const auto& [key, out] : ranges) {
    Result<std::optional<std::int64_t>> t = queryTime(call, key);
    if (!t) return t.error();
    *out = *t;
  }
  return o;
}

}  // namespace

Result<Reply> sessionsApi(Call& call) {
  AgentStore& store = call.ctx.store;
  const auto& s = call.segs;
  const std::string& m = call.request.method;
  if (s.size() == 1) {
    if (m == "POST") return createSession(call);
    if (m != "GET") return methodNotAllowed(call);
    if (Result<void> r = call.allowOwn("ListSessions", "session"); !r) return r.error();
    Result<ListOptions> o = listOptions(call);
    if (!o) return o.error();
    AgentStore::SessionFilter filter;
    if (const std::string* a = call.queryValue("agent_id")) filter.agent_id = *a;
    if (const std::string* v = call.queryValue("agent_version")) {
      filter.agent_version = std::atoi(v->c_str());
    }
    for (const std::string& st : call.queryValues("statuses")) {
      std::optional<SessionStatus> parsed = parseStatus(st);
      if (!parsed) return Error::invalid("statuses: unknown status '" + st + "'", "statuses");
      filter.statuses.push_back(*parsed);
    }
    Result<Page<Session>> page = store.listSessions(call.access, *o, filter);
    if (!page) return page.error();
    json::array data;
    for (const Session& sess : page->items) {
      Result<Reply> one = sessionReply(call, sess);
      if (!one) return one.error();
      data.push_back(std::move(one->body));
    }
    json::object out = pageJson(std::move(data), page->next_page);
    out["prev_page"] = nullptr;
    return Reply{200, std::move(out)};
  }
  Result<Session> session = store.getSession(call.access, s[1]);
  if (!session) return session.error();
  auto allow = [&](std::string_view action) {
    return call.allow(action, session->owner_id, "session", session->id);
  };
  if (s.size() == 2) {
    if (m == "GET") {
      if (Result<void> r = allow("GetSession"); !r) return r.error();
      return sessionReply(call, session);
    }
    if (m == "POST") {
      if (Result<void> r = allow("UpdateSession"); !r) return r.error();
      Result<json::object> in = parseBody(call.request.body);
      if (!in) return in.error();
      if (Result<void> r = onlyKnown(*in, {"agent", "budget", "metadata", "title", "vault_ids"});
          !r) {
        return r.error();
      }
      if (in->contains("agent")) return unsupported("updating a session's agent", "agent");
      json::object body = parseStored(session->body);
      if (in->contains("title")) {
        Result<std::optional<std::string>> title = optString(*in, "title");
        if (!title) return title.error();
        body["title"] = *title ? json::value(**title) : json::value(nullptr);
      }
      if (const json::value* md = in->if_contains("metadata")) {
        Result<json::object> patch = metadataOf(*md, "metadata", true);
        if (!patch) return patch.error();
        body["metadata"] = md->is_null() ? json::object{}
                                         : mergeMetadata(body["metadata"].is_object()
                                                             ? body["metadata"].as_object()
                                                             : json::object{},
                                                         *patch);
      }
      if (in->contains("vault_ids")) {
        Result<json::array> vaults = vaultIds(call, in->if_contains("vault_ids"));
        if (!vaults) return vaults.error();
        body["vault_ids"] = std::move(*vaults);
      }
      if (in->contains("budget")) {
        if (Result<void> r = budgetOf(in->if_contains("budget")); !r) return r.error();
        body["budget"] = in->at("budget");
      }
      return sessionReply(call,
                          store.updateSessionBody(call.access, session->id, json::serialize(body)));
    }
    if (m == "DELETE") {
      if (Result<void> r = allow("DeleteSession"); !r) return r.error();
      if (Result<void> r = store.deleteSession(call.access, session->id); !r) return r.error();
      return Reply{200, json::object{{"id", session->id}, {"type", "session_deleted"}}};
    }
    return methodNotAllowed(call);
  }
  if (s.size() == 3 && s[2] == "archive") {
    if (m != "POST") return methodNotAllowed(call);
    if (Result<void> r = allow("ArchiveSession"); !r) return r.error();
    return sessionReply(call, store.archiveSession(call.access, session->id));
  }
  if (s.size() == 3 && s[2] == "events") {
    if (m == "GET") {
      if (Result<void> r = allow("ListEvents"); !r) return r.error();
      Result<EventListOptions> o = eventListOptions(call);
      if (!o) return o.error();
      Result<Page<SessionEvent>> page = store.listEvents(call.access, session->id, *o);
      if (!page) return page.error();
      json::array data;
      for (const SessionEvent& e : page->items) data.push_back(renderEvent(e));
      return Reply{200, pageJson(std::move(data), page->next_page)};
    }
    if (m == "POST") {
      if (Result<void> r = allow("SendEvents"); !r) return r.error();
      Result<json::object> in = parseBody(call.request.body);
      if (!in) return in.error();
      if (Result<void> r = onlyKnown(*in, {"events"}); !r) return r.error();
      Result<std::vector<NewEvent>> events = userEvents(in->if_contains("events"), "events", false);
      if (!events) return events.error();
      // Persisted (queued) before the answer: an acknowledged event survives a crash.
      Result<std::vector<SessionEvent>> sent =
          store.sendUserEvents(call.access, session->id, *events);
      if (!sent) return sent.error();
      if (call.ctx.driver != nullptr) call.ctx.driver->eventsAppended(session->id);
      json::array data;
      for (const SessionEvent& e : *sent) data.push_back(renderEvent(e));
      return Reply{200, json::object{{"data", std::move(data)}}};
    }
    return methodNotAllowed(call);
  }
  if (s.size() == 3 && s[2] == "resources") {
    if (m != "GET") return unsupported("changing a session's resources", "resources");
    if (Result<void> r = allow("GetSession"); !r) return r.error();
    json::object body = parseStored(session->body);
    json::array data = body["resources"].is_array() ? body["resources"].as_array() : json::array{};
    return Reply{200, pageJson(std::move(data), "")};
  }
  if (s.size() == 4 && s[2] == "events" && s[3] == "stream") {
    return Error::invalid("The event stream is served by AgentsApi::handle");
  }
  return unknownPath(call);
}

}  // namespace basalt::agents
