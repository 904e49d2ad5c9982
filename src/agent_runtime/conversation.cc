#include "basalt/agent_runtime/conversation.h"

#include "basalt/api/anthropic/messages_codec.h"

#include "basalt/sandbox/tools.h"
#include "json_fields.h"

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace basalt::agent_runtime {

namespace json = boost::json;

namespace {

using detail::parseObject;
using detail::str;

bool askPolicy(const json::object& cfg, bool fallback) {
  const json::value* p = cfg.if_contains("permission_policy");
  if (p == nullptr || !p->is_object()) return fallback;
  return str(p->as_object(), "type") == "always_ask";
}

/// Agent event content blocks -> canonical blocks (text, images; anything else kept as raw
/// Anthropic JSON, which the Messages encoding passes through).
std::vector<canonical::ContentBlock> contentBlocks(const json::value* content) {
  std::vector<canonical::ContentBlock> out;
  if (content == nullptr) return out;
  if (content->is_string()) {
    out.emplace_back(canonical::TextBlock{std::string(content->as_string())});
    return out;
  }
  if (!content->is_array()) return out;
  for (const json::value& b : content->as_array()) {
    if (!b.is_object()) continue;
    const json::object& bo = b.as_object();
    const std::string type = str(bo, "type");
    if (type == "text") {
      out.emplace_back(canonical::TextBlock{str(bo, "text")});
    } else if (type == "image") {
      const json::value* src = bo.if_contains("source");
      if (src == nullptr || !src->is_object()) continue;
      const json::object& so = src->as_object();
      canonical::ImageBlock img;
      if (str(so, "type") == "base64") {
        img.media_type = str(so, "media_type");
        img.data = str(so, "data");
      } else {
        img.url = str(so, "url");
      }
      out.emplace_back(std::move(img));
    } else if (type == "redacted") {
      continue;
    } else {
      out.emplace_back(canonical::OpaqueBlock{canonical::Vendor::kAnthropic, json::serialize(bo)});
    }
  }
  return out;
}

canonical::ToolResultBlock resultBlock(const std::string& tool_use_id,
                                       const json::object& payload) {
  canonical::ToolResultBlock r;
  r.tool_use_id = tool_use_id;
  const json::value* e = payload.if_contains("is_error");
  r.is_error = e != nullptr && e->is_bool() && e->as_bool();
  for (canonical::ContentBlock& b : contentBlocks(payload.if_contains("content"))) {
    if (auto* t = std::get_if<canonical::TextBlock>(&b)) {
      r.content.emplace_back(std::move(*t));
    } else if (auto* i = std::get_if<canonical::ImageBlock>(&b)) {
      r.content.emplace_back(std::move(*i));
    } else if (auto* o = std::get_if<canonical::OpaqueBlock>(&b)) {
      r.content.emplace_back(canonical::TextBlock{o->json});
    }
  }
  return r;
}

}  // namespace

Result<AgentConfig> parseAgentConfig(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return Error::internal("stored agent body is not a JSON object");
  const json::object& a = v.as_object();
  AgentConfig c;
  if (const json::value* m = a.if_contains("model")) {
    if (m->is_string()) {
      c.model = std::string(m->as_string());
    } else if (m->is_object()) {
      c.model = str(m->as_object(), "id");
      if (const json::value* e = m->as_object().if_contains("effort"); e && e->is_object()) {
        c.effort = str(e->as_object(), "type");
      }
    }
  }
  if (c.model.empty()) return Error::invalid("agent has no model", "model");
  c.system = str(a, "system");
  std::map<std::string, std::string> server_urls;
  if (const json::value* servers = a.if_contains("mcp_servers"); servers && servers->is_array()) {
    for (const json::value& sv : servers->as_array()) {
      if (sv.is_object()) server_urls[str(sv.as_object(), "name")] = str(sv.as_object(), "url");
    }
  }
  const json::value* tools = a.if_contains("tools");
  if (tools == nullptr || !tools->is_array()) return c;
  for (const json::value& t : tools->as_array()) {
    if (!t.is_object()) continue;
    const json::object& to = t.as_object();
    const std::string type = str(to, "type");
    if (type == "agent_toolset_20260401") {
      c.has_toolset = true;
      bool def_enabled = true;
      bool def_ask = false;
      if (const json::value* d = to.if_contains("default_config"); d && d->is_object()) {
        const json::value* e = d->as_object().if_contains("enabled");
        if (e != nullptr && e->is_bool()) def_enabled = e->as_bool();
        def_ask = askPolicy(d->as_object(), false);
      }
      std::map<std::string, BuiltinTool> by_name;
      for (const char* name : {"bash", "read", "write", "edit", "glob", "grep", "web_fetch"}) {
        by_name[name] = BuiltinTool{name, def_enabled, def_ask};
      }
      if (const json::value* cs = to.if_contains("configs"); cs && cs->is_array()) {
        for (const json::value& cv : cs->as_array()) {
          if (!cv.is_object()) continue;
          const std::string name = str(cv.as_object(), "name");
          auto it = by_name.find(name);
          if (it == by_name.end()) continue;
          const json::value* e = cv.as_object().if_contains("enabled");
          if (e != nullptr && e->is_bool()) it->second.enabled = e->as_bool();
          it->second.always_ask = askPolicy(cv.as_object(), def_ask);
        }
      }
      for (const char* name : {"bash", "read", "write", "edit", "glob", "grep", "web_fetch"}) {
        c.builtin.push_back(by_name[name]);
      }
    } else if (type == "mcp_toolset") {
      McpToolset ts;
      ts.server_name = str(to, "mcp_server_name");
      auto url = server_urls.find(ts.server_name);
      if (url == server_urls.end() || url->second.empty()) continue;
      ts.url = url->second;
      if (const json::value* d = to.if_contains("default_config"); d && d->is_object()) {
        const json::value* e = d->as_object().if_contains("enabled");
        if (e != nullptr && e->is_bool()) ts.default_enabled = e->as_bool();
        ts.default_ask = askPolicy(d->as_object(), true);
      }
      if (const json::value* cs = to.if_contains("configs"); cs && cs->is_array()) {
        for (const json::value& cv : cs->as_array()) {
          if (!cv.is_object()) continue;
          McpToolset::ToolConfig tc;
          tc.name = str(cv.as_object(), "name");
          const json::value* e = cv.as_object().if_contains("enabled");
          tc.enabled = e != nullptr && e->is_bool() ? e->as_bool() : ts.default_enabled;
          tc.always_ask = askPolicy(cv.as_object(), ts.default_ask);
          if (!tc.name.empty()) ts.configs.push_back(std::move(tc));
        }
      }
      c.mcp.push_back(std::move(ts));
    } else if (type == "custom") {
      canonical::ToolSpec spec;
      spec.name = str(to, "name");
      spec.description = str(to, "description");
      if (const json::value* s = to.if_contains("input_schema")) {
        spec.parameters_json = json::serialize(*s);
      }
      if (!spec.name.empty()) c.custom.push_back(std::move(spec));
    }
  }
  return c;
}

bool McpToolset::enabled(std::string_view tool) const {
  for (const ToolConfig& c : configs) {
    if (c.name == tool) return c.enabled;
  }
  return default_enabled;
}

bool McpToolset::ask(std::string_view tool) const {
  for (const ToolConfig& c : configs) {
    if (c.name == tool) return c.always_ask;
  }
  return default_ask;
}

std::string mcpToolName(std::string_view server, std::string_view tool) {
  constexpr std::size_t kMax = 64;
  auto clean = [](std::string_view in, bool& changed) {
    std::string out;
    for (char ch : in) {
      const auto u = static_cast<unsigned char>(ch);
      const bool ok = std::isalnum(u) != 0 || ch == '_' || ch == '-';
      changed = changed || !ok;
      out.push_back(ok && u < 0x80 ? ch : '_');
    }
    return out;
  };
  bool changed = false;
  std::string name = "mcp__" + clean(server, changed) + "__" + clean(tool, changed);
  if (!changed && name.size() <= kMax) return name;
  // FNV-1a over the exact names: distinct tools whose cleaned names collide stay distinct.
  std::uint32_t h = 2166136261U;
  auto mix = [&h](std::string_view s) {
    for (char ch : s) {
      h ^= static_cast<unsigned char>(ch);
      h *= 16777619U;
    }
  };
  mix(server);
  mix(std::string_view("\0", 1));
  mix(tool);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string suffix = "_";
  for (int shift = 28; shift >= 0; shift -= 4) suffix.push_back(kHex[(h >> shift) & 0xFU]);
  if (name.size() + suffix.size() > kMax) name.resize(kMax - suffix.size());
  return name + suffix;
}

ToolPolicy toolPolicy(const AgentConfig& config, std::string_view name) {
  for (const BuiltinTool& t : config.builtin) {
    if (t.name == name && t.enabled) return {ToolPolicy::Kind::kBuiltin, t.always_ask};
  }
  for (const canonical::ToolSpec& t : config.custom) {
    if (t.name == name) return {ToolPolicy::Kind::kCustom, false};
  }
  return {};
}

std::vector<canonical::ToolSpec> toolSpecs(const AgentConfig& config) {
  std::vector<canonical::ToolSpec> out;
  std::set<std::string> names;
  for (const sandbox::ToolDefinition& d : sandbox::sandboxToolDefinitions()) {
    if (toolPolicy(config, d.name).kind != ToolPolicy::Kind::kBuiltin) continue;
    canonical::ToolSpec s;
    s.name = d.name;
    s.description = d.description;
    s.parameters_json = d.input_schema;
    names.insert(s.name);
    out.push_back(std::move(s));
  }
  if (toolPolicy(config, "web_fetch").kind == ToolPolicy::Kind::kBuiltin) {
    canonical::ToolSpec fetch;
    fetch.name = "web_fetch";
    fetch.description =
        "Fetch a URL with an HTTP GET and return the response body (redirects followed, 2 MB "
        "and 30 s at most). Only works when the environment allows network access.";
    fetch.parameters_json =
        R"({"type":"object","properties":{"url":{"type":"string","description":"http:// or )"
        R"(https:// URL"}},"required":["url"],"additionalProperties":false})";
    names.insert(fetch.name);
    out.push_back(std::move(fetch));
  }
  for (const canonical::ToolSpec& t : config.custom) {
    // A custom tool shadowed by a built-in of the same name would be ambiguous: built-in wins.
    if (names.insert(t.name).second) out.push_back(t);
  }
  return out;
}

std::string idleStopType(const agents::SessionEvent& event) {
  json::object p = parseObject(event.payload);
  const json::value* sr = p.if_contains("stop_reason");
  if (sr == nullptr || !sr->is_object()) return {};
  return str(sr->as_object(), "type");
}

LogView readLog(const std::vector<agents::SessionEvent>& events) {
  LogView v;
  for (const agents::SessionEvent& e : events) {
    if (e.type == "user.message") {
      if (!v.open) {
        v.turn_begin = v.effective.size();
        v.effective.push_back(&e);
        v.open = true;
      } else {
        v.deferred.push_back(&e);
      }
      continue;
    }
    v.effective.push_back(&e);
    if (e.type == "session.status_idle" && idleStopType(e) != "requires_action") {
      v.open = false;
      if (!v.deferred.empty()) {
        v.turn_begin = v.effective.size();
        v.effective.insert(v.effective.end(), v.deferred.begin(), v.deferred.end());
        v.deferred.clear();
        v.open = true;
      }
    }
  }
  return v;
}

PendingTools pendingTools(const LogView& view, const std::vector<agents::SessionEvent>& events) {
  PendingTools out;
  if (!view.open) return out;
  std::set<std::string> answered;
  std::map<std::string, const agents::SessionEvent*> confirmations;
  for (const agents::SessionEvent& e : events) {
    if (e.type == "agent.tool_result") {
      answered.insert(str(parseObject(e.payload), "tool_use_id"));
    } else if (e.type == "agent.mcp_tool_result") {
      answered.insert(str(parseObject(e.payload), "mcp_tool_use_id"));
    } else if (e.type == "user.custom_tool_result") {
      answered.insert(e.ref_id);
    } else if (e.type == "user.tool_confirmation") {
      confirmations.emplace(e.ref_id, &e);
    }
  }
  for (std::size_t i = view.turn_begin; i < view.effective.size(); ++i) {
    const agents::SessionEvent& e = *view.effective[i];
    // Built-in and MCP tool uses run here (after a confirmation when asked); custom ones wait
    // for the client's result.
    const bool builtin = e.type == "agent.tool_use" || e.type == "agent.mcp_tool_use";
    if (!builtin && e.type != "agent.custom_tool_use") continue;
    if (answered.count(e.id) != 0) continue;
    if (!builtin) {
      out.waiting.push_back(e.id);
      continue;
    }
    json::object p = parseObject(e.payload);
    if (str(p, "evaluated_permission") != "ask") {
      out.runnable.push_back(&e);
      continue;
    }
    auto c = confirmations.find(e.id);
    if (c == confirmations.end()) {
      out.waiting.push_back(e.id);
      continue;
    }
    json::object cp = parseObject(c->second->payload);
    if (str(cp, "result") == "allow") {
      out.runnable.push_back(&e);
    } else {
      std::string msg = str(cp, "deny_message");
      out.denied.push_back({&e, msg.empty() ? "The user denied this tool use."
                                            : "The user denied this tool use: " + msg});
    }
  }
  return out;
}

namespace {

/// One message of the rebuilt conversation and the seq of the event that started it.
struct Tagged {
  canonical::Message message;
  std::int64_t seq = 0;
  bool user_turn_start = false;  ///< a user.message (a place where the context may be cut)
};

std::vector<Tagged> conversation(const LogView& view,
                                 const std::vector<agents::SessionEvent>& events,
                                 std::int64_t first_kept_seq) {
  std::map<std::string, json::object> results;
  for (const agents::SessionEvent& e : events) {
    if (e.type == "agent.tool_result" || e.type == "agent.mcp_tool_result") {
      json::object p = parseObject(e.payload);
      std::string id = str(p, e.type == "agent.tool_result" ? "tool_use_id" : "mcp_tool_use_id");
      results.emplace(std::move(id), std::move(p));
    } else if (e.type == "user.custom_tool_result") {
      results.emplace(e.ref_id, parseObject(e.payload));
    }
  }
  std::vector<Tagged> out;
  Tagged assistant;
  assistant.message.role = canonical::Role::kAssistant;
  std::vector<std::string> uses;
  auto flush = [&] {
    if (assistant.message.content.empty()) return;
    out.push_back(std::move(assistant));
    assistant = Tagged{};
    assistant.message.role = canonical::Role::kAssistant;
    if (uses.empty()) return;
    Tagged res;
    res.message.role = canonical::Role::kUser;
    res.seq = out.back().seq;
    for (const std::string& id : uses) {
      auto it = results.find(id);
      if (it != results.end()) {
        res.message.content.emplace_back(resultBlock(id, it->second));
      } else {
        // Interrupted before it ran or was answered: the model must still see a result.
        canonical::ToolResultBlock missing;
        missing.tool_use_id = id;
        missing.is_error = true;
        missing.content.emplace_back(
            canonical::TextBlock{"No result: the tool use was interrupted."});
        res.message.content.emplace_back(std::move(missing));
      }
    }
    uses.clear();
    out.push_back(std::move(res));
  };
  bool keeping = first_kept_seq <= 0;
  for (const agents::SessionEvent* ep : view.effective) {
    const agents::SessionEvent& e = *ep;
    if (!keeping) {
      if (e.seq != first_kept_seq) continue;
      keeping = true;
    }
    if (e.type == "user.message" || e.type == "system.message") {
      flush();
      json::object p = parseObject(e.payload);
      Tagged t;
      t.message.role = e.type == "user.message" ? canonical::Role::kUser : canonical::Role::kSystem;
      t.message.content = contentBlocks(p.if_contains("content"));
      t.seq = e.seq;
      t.user_turn_start = e.type == "user.message";
      if (t.message.content.empty()) continue;
      out.push_back(std::move(t));
    } else if (e.type == "span.model_request_start") {
      flush();
    } else if (e.type == "agent.message") {
      json::object p = parseObject(e.payload);
      if (assistant.message.content.empty()) assistant.seq = e.seq;
      for (canonical::ContentBlock& b : contentBlocks(p.if_contains("content"))) {
        assistant.message.content.push_back(std::move(b));
      }
    } else if (e.type == "agent.tool_use" || e.type == "agent.custom_tool_use" ||
               e.type == "agent.mcp_tool_use") {
      json::object p = parseObject(e.payload);
      if (assistant.message.content.empty()) assistant.seq = e.seq;
      canonical::ToolUseBlock use;
      use.id = e.id;
      use.name = e.type == "agent.mcp_tool_use"
                     ? mcpToolName(str(p, "mcp_server_name"), str(p, "name"))
                     : str(p, "name");
      const json::value* in = p.if_contains("input");
      use.input_json = in != nullptr && in->is_object() ? json::serialize(*in) : "{}";
      assistant.message.content.emplace_back(std::move(use));
      uses.push_back(e.id);
    }
  }
  flush();
  return out;
}

}  // namespace

namespace {

/// Puts the summary text in front of the kept context: into the first user message (a second
/// consecutive user message would break Anthropic's role alternation), or as a user message of
/// its own when the context does not start with one.
void prefixSummary(std::vector<canonical::Message>& messages, const std::string& text) {
  if (text.empty()) return;
  if (!messages.empty() && messages.front().role == canonical::Role::kUser) {
    auto& content = messages.front().content;
    content.insert(content.begin(), canonical::TextBlock{text});
    return;
  }
  canonical::Message m;
  m.role = canonical::Role::kUser;
  m.content.emplace_back(canonical::TextBlock{text});
  messages.insert(messages.begin(), std::move(m));
}

std::int64_t textTokens(std::size_t bytes) {
  return static_cast<std::int64_t>((bytes + 3) / 4);  // estimateInputTokens' rate
}

}  // namespace

std::string summaryBlockText(std::string_view summary) {
  std::string out = "Summary of the earlier part of this session:\n";
  out += summary;
  return out;
}

BuiltRequest buildRequest(const AgentConfig& config, const LogView& view,
                          const std::vector<agents::SessionEvent>& events,
                          const BuildOptions& options) {
  BuiltRequest out;
  canonical::ChatRequest& r = out.request;
  r.model = config.model;
  r.door = canonical::Door::kAnthropicMessages;
  if (!config.system.empty()) r.system.emplace_back(canonical::TextBlock{config.system});
  r.tools = toolSpecs(config);
  r.tools.insert(r.tools.end(), options.extra_tools.begin(), options.extra_tools.end());
  r.max_tokens = options.max_tokens;
  if (!config.effort.empty()) r.reasoning.effort = config.effort;

  std::vector<Tagged> msgs = conversation(view, events, options.first_kept_seq);
  bool from_compaction = options.first_kept_seq > 0;
  // A compaction point that is no longer a turn start (cannot happen with logs this runtime
  // wrote) must not lose the conversation: start over from the beginning (without the summary,
  // which covered what is now back in full).
  if (msgs.empty() && options.first_kept_seq > 0) {
    msgs = conversation(view, events, 0);
    from_compaction = false;
  }
  const std::string prefix =
      from_compaction && !options.summary.empty() ? summaryBlockText(options.summary) : "";
  // What the summary in front costs: the previous one while nothing more is dropped; once turns
  // are dropped, room for a new one (at most the reserve) or the previous one (kept when the
  // summarization fails), whichever is larger, so that the summarized context fits too.
  const std::int64_t prev_tokens = prefix.empty() ? 0 : textTokens(prefix.size());
  const std::int64_t fresh_tokens =
      options.summary_reserve_tokens > 0
          ? textTokens(summaryBlockText({}).size()) + options.summary_reserve_tokens
          : 0;
  // The open turn is never dropped: it starts at the last user turn start.
  std::size_t last_start = 0;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    if (msgs[i].user_turn_start) last_start = i;
  }
  std::size_t first = 0;
  auto estimate = [&](std::size_t from) {
    r.messages.clear();
    for (std::size_t i = from; i < msgs.size(); ++i) r.messages.push_back(msgs[i].message);
    return api::anthropic::estimateInputTokens(r) +
           (from == 0 ? prev_tokens : std::max(prev_tokens, fresh_tokens));
  };
  out.estimated_tokens = estimate(first);
  while (out.estimated_tokens > options.context_token_budget && first < last_start) {
    std::size_t next = first + 1;
    while (next < last_start && !msgs[next].user_turn_start) ++next;
    first = next;
    out.compacted = true;
    out.estimated_tokens = estimate(first);
  }
  out.first_kept_seq = first < msgs.size() ? msgs[first].seq : options.first_kept_seq;
  if (!out.compacted) out.first_kept_seq = options.first_kept_seq;
  for (std::size_t i = 0; out.compacted && i < first; ++i) out.dropped.push_back(msgs[i].message);
  prefixSummary(r.messages, prefix);
  return out;
}

namespace {

constexpr std::string_view kSummaryInstruction =
    "You compact the history of a long-running agent session. The earlier part of the session "
    "is about to be removed from the agent's context; your summary will replace it. Write a "
    "concise summary that preserves what the agent needs to continue the work: the user's "
    "requests and constraints, facts learned, decisions made and why, file paths, commands, "
    "identifiers and other exact values, tool results that still matter, and tasks that are "
    "still open. When a previous summary is given, merge it into yours: your summary replaces "
    "it. Drop chit-chat and superseded details. Write only the summary, as plain text.";

const char* roleLabel(canonical::Role role) {
  switch (role) {
    case canonical::Role::kUser:
      return "User";
    case canonical::Role::kAssistant:
      return "Assistant";
    default:
      return "System";
  }
}

/// One message of the dropped part as plain text, every block capped at `block_cap` bytes.
std::string transcriptOf(const canonical::Message& m, std::size_t block_cap) {
  std::string out;
  auto line = [&out](std::string_view label, std::string text) {
    out += label;
    out += ": ";
    out += text;
    out += '\n';
  };
  const std::string who = roleLabel(m.role);
  for (const canonical::ContentBlock& b : m.content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&b)) {
      if (!t->text.empty()) line(who, capOutput(t->text, block_cap));
    } else if (std::holds_alternative<canonical::ImageBlock>(b)) {
      line(who, "[an image]");
    } else if (const auto* u = std::get_if<canonical::ToolUseBlock>(&b)) {
      line(who + " called tool " + u->name, capOutput(u->input_json, block_cap));
    } else if (const auto* res = std::get_if<canonical::ToolResultBlock>(&b)) {
      std::string text;
      for (const canonical::ToolResultPart& p : res->content) {
        if (const auto* pt = std::get_if<canonical::TextBlock>(&p)) {
          text += pt->text;
        } else {
          text += "[an image]";
        }
      }
      line(res->is_error ? "Tool result (error)" : "Tool result", capOutput(text, block_cap));
    } else if (const auto* o = std::get_if<canonical::OpaqueBlock>(&b)) {
      line(who, capOutput(o->json, block_cap));
    }
    // Reasoning is not kept in the log (agent.thinking has no text): nothing to render.
  }
  return out;
}

}  // namespace

SummaryRequest summaryRequest(const AgentConfig& config, std::string_view previous_summary,
                              const std::vector<canonical::Message>& dropped,
                              const SummaryOptions& options) {
  SummaryRequest out;
  canonical::ChatRequest& r = out.request;
  r.model = config.model;
  r.door = canonical::Door::kAnthropicMessages;
  r.system.emplace_back(canonical::TextBlock{std::string(kSummaryInstruction)});
  r.max_tokens = options.max_tokens;
  std::string head;
  if (!previous_summary.empty()) {
    head = "<previous_summary>\n";
    head += previous_summary;
    head += "\n</previous_summary>\n\n";
  }
  head += "<transcript>\n";
  const std::string tail = "</transcript>\n\nWrite the summary of the transcript now.";
  canonical::Message user;
  user.role = canonical::Role::kUser;
  user.content.emplace_back(canonical::TextBlock{head + tail});
  r.messages.push_back(user);
  // The room left for the transcript, at the estimator's 4 bytes per token.
  const std::int64_t fixed = api::anthropic::estimateInputTokens(r);
  const std::size_t room =
      static_cast<std::size_t>(std::max<std::int64_t>(0, options.input_token_budget - fixed)) * 4;
  // One huge tool output must not crowd out everything else: a block gets at most a quarter
  // of the room (its head is kept: commands and outputs state what they are first).
  const std::size_t block_cap = std::max<std::size_t>(256, room / 4);
  std::string transcript;
  for (const canonical::Message& m : dropped) transcript += transcriptOf(m, block_cap);
  if (transcript.size() > room) {
    // Too large: keep the most recent part (the older part is the least likely to matter, and
    // the previous summary already covers what came before it).
    const std::string marker_head = "[... the oldest ";
    const std::string marker_tail = " bytes are omitted ...]\n";
    const std::size_t marker_max =
        marker_head.size() + std::to_string(transcript.size()).size() + marker_tail.size();
    const std::size_t keep = room > marker_max ? room - marker_max : 0;
    std::size_t cut = transcript.size() - keep;
    while (cut < transcript.size() &&
           (static_cast<unsigned char>(transcript[cut]) & 0xC0) == 0x80) {
      ++cut;
    }
    out.omitted_bytes = cut;
    transcript = keep == 0
                     ? std::string()
                     : marker_head + std::to_string(cut) + marker_tail + transcript.substr(cut);
  }
  std::get<canonical::TextBlock>(r.messages[0].content[0]).text = head + transcript + tail;
  return out;
}

std::string summaryText(const canonical::ChatResponse& response, std::size_t max_bytes) {
  std::string text;
  for (const canonical::ContentBlock& b : response.content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&b)) {
      if (!text.empty() && !t->text.empty()) text += '\n';
      text += t->text;
    }
  }
  const auto space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  std::size_t b = 0;
  while (b < text.size() && space(text[b])) ++b;
  std::size_t e = text.size();
  while (e > b && space(text[e - 1])) --e;
  text = text.substr(b, e - b);
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text;
}

std::string capOutput(std::string text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes;
  // Back up to the start of a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  const std::size_t dropped = text.size() - cut;
  text.resize(cut);
  text += "\n[output truncated: " + std::to_string(dropped) + " more bytes dropped]";
  return text;
}

}  // namespace basalt::agent_runtime
