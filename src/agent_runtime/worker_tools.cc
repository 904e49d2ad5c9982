// The Worker's tools: built-ins in the session's sandbox (with memory-store mounts synced in
// and out), web_fetch through the sandbox's network policy, and MCP tools; each authorized and
// audited before it runs.

#include "worker.h"

namespace basalt::agent_runtime {

Task<void> Worker::runTool(SessionEvent use) {
  json::object payload = parseObject(use.payload);
  const std::string name = str(payload, "name");
  const json::value* in = payload.if_contains("input");
  const std::string input = in != nullptr ? json::serialize(*in) : "{}";
  const Clock::time_point t0 = Clock::now();
  sandbox::ToolOutcome outcome;
  if ((!sandbox::isSandboxTool(name) && name != "web_fetch") ||
      toolPolicy(*config_, name).kind != ToolPolicy::Kind::kBuiltin) {
    outcome = {true, "Unknown or disabled tool '" + name + "'"};
  } else {
    perimeter::AuthzResult authz{true, "Allow", {}, -1};
    if (rt_.ports.authorize_tool) {
      const std::string arn = agents::agentsArn(rt_.opts.region, session_.owner_id, "tool", name);
      authz = rt_.ports.authorize_tool(identity_.caller, "agents:ExecuteTool", arn);
    }
    Result<void> audited = co_await auditTool(name, use.id, authz);
    if (!authz.allowed) {
      metrics::recordAgentEvent(identity_.agent_id, "tool_denied");
      outcome = {true, "not authorized: " + identity_.caller.name +
                           " may not perform agents:ExecuteTool on tool/" + name};
    } else if (!audited) {
      // Fail closed: a tool run that cannot be audited does not happen.
      outcome = {true, "The tool could not run: the audit log is unavailable."};
    } else {
      cancel_ = std::make_shared<sandbox::Cancellation>();
      if (interrupted_) cancel_->cancel();
      auto self = shared_from_this();
      auto cancel = cancel_;
      // GCC 12 destroys temporaries of a co_await operand twice: build the task first.
      auto work = [self, name, input, cancel] { return self->execute(name, input, cancel); };
      Task<sandbox::ToolOutcome> task = onPool(rt_.pool, std::move(work));
      outcome = co_await std::move(task);
      cancel_.reset();
    }
  }
  addActive(std::chrono::duration<double>(Clock::now() - t0).count());
  metrics::recordAgentEvent(identity_.agent_id, outcome.is_error ? "tool_error" : "tool_run");
  if (lease_lost_) co_return;
  json::array content{json::object{
      {"type", "text"},
      {"text", capOutput(std::move(outcome.content), rt_.opts.max_tool_output_bytes)}}};
  append({event(
      "agent.tool_result",
      json::object{
          {"tool_use_id", use.id}, {"content", std::move(content)}, {"is_error", outcome.is_error}},
      use.id)});
}

Task<Result<void>> Worker::auditTool(const std::string& tool, const std::string& use_id,
                                     const perimeter::AuthzResult& authz) {
  if (rt_.ports.audit == nullptr) co_return Result<void>{};
  audit::AuditEvent ev;
  const perimeter::Caller& c = identity_.caller;
  ev.user_identity = {c.kind.empty() ? "user" : c.kind, c.principal_id, c.name, c.key_id};
  ev.event_time = std::chrono::system_clock::now();
  ev.event_name = "ExecuteTool";
  ev.aws_region = rt_.opts.region;
  ev.request_parameters.extra = {{"agentId", identity_.agent_id},
                                 {"sessionId", identity_.session_id},
                                 {"tool", tool},
                                 {"toolUseId", use_id}};
  if (!identity_.end_user.empty()) {
    ev.request_parameters.extra.emplace_back("endUser", identity_.end_user);
  }
  ev.request_id = newRequestId();
  ev.policy_decision.effect = authz.effect;
  ev.policy_decision.policy = authz.policy;
  ev.policy_decision.statement = authz.statement;
  ev.response_elements.status = authz.allowed ? 200 : 403;
  if (!authz.allowed) {
    ev.error_code = "AccessDenied";
    ev.error_message = "not authorized to perform agents:ExecuteTool";
  }
  Result<std::uint64_t> r =
      co_await audit::asyncAppend(*rt_.ports.audit, std::move(ev), asio::use_awaitable);
  if (!r) co_return r.error();
  co_return Result<void>{};
}

// ---- MCP tools (mcp_tools.h does the protocol and credentials) ------------------------------

McpToolbox& Worker::mcpToolbox() {
  if (!mcp_) mcp_ = std::make_unique<McpToolbox>(store(), owner_id_, vault_ids_, rt_.opts.mcp);
  return *mcp_;
}

Task<std::vector<NewEvent>> Worker::resolveMcp() {
  using namespace asio::experimental::awaitable_operators;
  std::vector<std::string> reserved;
  for (const canonical::ToolSpec& t : toolSpecs(*config_)) reserved.push_back(t.name);
  Task<std::vector<McpServerFailure>> resolving =
      mcpToolbox().resolve(config_->mcp, std::move(reserved));
  Task<void> stop = waitInterrupt();
  auto both = std::move(resolving) || std::move(stop);
  std::variant<std::vector<McpServerFailure>, std::monostate> r = co_await std::move(both);
  std::vector<NewEvent> out;
  if (r.index() != 0) co_return out;  // interrupted: the model call sees it next
  for (const McpServerFailure& f : std::get<0>(r)) {
    json::object err{
        {"type", f.auth ? "mcp_authentication_failed_error" : "mcp_connection_failed_error"},
        {"mcp_server_name", f.server},
        {"message", f.message},
        {"retry_status", json::object{{"type", "terminal"}}}};
    out.push_back(event("session.error", json::object{{"error", std::move(err)}}));
  }
  co_return out;
}

Task<Result<mcp::ToolResult>> Worker::mcpCall(const McpToolset& toolset, std::string tool,
                                              std::string input) {
  using namespace asio::experimental::awaitable_operators;
  Task<Result<mcp::ToolResult>> call =
      mcpToolbox().call(toolset, std::move(tool), std::move(input));
  Task<void> stop = waitInterrupt();
  auto both = std::move(call) || std::move(stop);
  std::variant<Result<mcp::ToolResult>, std::monostate> r = co_await std::move(both);
  if (r.index() == 1) {
    Result<mcp::ToolResult> cancelled = Error{ErrorKind::kCancelled, "interrupted"};
    co_return cancelled;
  }
  Result<mcp::ToolResult> out = std::move(std::get<0>(r));
  co_return out;
}

Task<void> Worker::runMcpTool(SessionEvent use) {
  json::object payload = parseObject(use.payload);
  const std::string tool = str(payload, "name");
  const std::string server = str(payload, "mcp_server_name");
  const json::value* in = payload.if_contains("input");
  const std::string input = in != nullptr && in->is_object() ? json::serialize(*in) : "{}";
  const std::string label = "mcp/" + server + "/" + tool;
  const Clock::time_point t0 = Clock::now();
  const McpToolset* toolset = nullptr;
  for (const McpToolset& ts : config_->mcp) {
    if (ts.server_name == server) toolset = &ts;
  }
  bool is_error = true;
  json::array content;
  auto say = [&content](std::string text) {
    content = json::array{json::object{{"type", "text"}, {"text", std::move(text)}}};
  };
  if (toolset == nullptr || !toolset->enabled(tool)) {
    say("Unknown or disabled MCP tool '" + tool + "' of server '" + server + "'");
  } else {
    perimeter::AuthzResult authz{true, "Allow", {}, -1};
    if (rt_.ports.authorize_tool) {
      const std::string arn = agents::agentsArn(rt_.opts.region, session_.owner_id, "tool", label);
      authz = rt_.ports.authorize_tool(identity_.caller, "agents:ExecuteTool", arn);
    }
    Result<void> audited = co_await auditTool(label, use.id, authz);
    if (!authz.allowed) {
      metrics::recordAgentEvent(identity_.agent_id, "tool_denied");
      say("not authorized: " + identity_.caller.name +
          " may not perform agents:ExecuteTool on tool/" + label);
    } else if (!audited) {
      say("The tool could not run: the audit log is unavailable.");
    } else {
      Task<Result<mcp::ToolResult>> calling = mcpCall(*toolset, tool, input);
      Result<mcp::ToolResult> r = co_await std::move(calling);
      if (!r) {
        say(r.error().kind == ErrorKind::kCancelled ? "The MCP tool call was interrupted."
                                                    : "MCP tool call failed: " + r.error().message);
      } else {
        is_error = r->is_error;
        std::size_t budget = rt_.opts.max_tool_output_bytes;
        for (mcp::ResultBlock& b : r->content) {
          if (b.kind == mcp::ResultBlock::Kind::kImage) {
            content.push_back(
                json::object{{"type", "image"},
                             {"source", json::object{{"type", "base64"},
                                                     {"media_type", std::move(b.media_type)},
                                                     {"data", std::move(b.data)}}}});
            continue;
          }
          std::string text = capOutput(std::move(b.text), budget);
          budget -= std::min(budget, text.size());
          content.push_back(json::object{{"type", "text"}, {"text", std::move(text)}});
        }
      }
    }
  }
  addActive(std::chrono::duration<double>(Clock::now() - t0).count());
  metrics::recordAgentEvent(identity_.agent_id, is_error ? "tool_error" : "tool_run");
  if (lease_lost_) co_return;
  append({event(
      "agent.mcp_tool_result",
      json::object{
          {"mcp_tool_use_id", use.id}, {"content", std::move(content)}, {"is_error", is_error}},
      use.id)});
}

Result<void> Worker::openSandbox() {
  if (sandbox_) return {};
  sandbox::SandboxOptions o;
  o.root = rt_.opts.sandbox_root;
  o.session_id = id_;
  o.network = network_;
  if (network_ == sandbox::Network::kProxy) o.egress.socket = o.root / id_ / "egress.sock";
  o.limits = rt_.opts.sandbox_limits;
  o.bwrap_path = rt_.opts.bwrap_path;
  for (const MemoryMount& m : mounts_) {
    std::error_code ec;
    std::filesystem::create_directories(m.dir, ec);
    if (ec) return Error::internal("memory directory " + m.dir.string() + ": " + ec.message());
    o.mounts.push_back(sandbox::Mount{m.dir, m.sandbox_path, m.read_only});
  }
  Result<std::unique_ptr<sandbox::Sandbox>> sb = sandbox::Sandbox::open(std::move(o));
  if (!sb) return sb.error();
  if (network_ == sandbox::Network::kProxy) {
    EgressAudit audit{rt_.ports.audit, {}};  // attributed like ExecuteTool records
    const perimeter::Caller& c = identity_.caller;
    audit.base.user_identity = {c.kind.empty() ? "user" : c.kind, c.principal_id, c.name, c.key_id};
    audit.base.aws_region = rt_.opts.region;
    audit.base.request_parameters.extra = {{"agentId", identity_.agent_id},
                                           {"sessionId", identity_.session_id}};
    if (!identity_.end_user.empty()) {
      audit.base.request_parameters.extra.emplace_back("endUser", identity_.end_user);
    }
    Result<std::unique_ptr<egress::Listener>> listener =
        openSessionEgress(**sb, allowed_hosts_, std::move(audit));
    if (!listener) return listener.error();
    egress_ = std::move(*listener);
  }
  sandbox_ = std::move(*sb);
  return {};
}

sandbox::ToolOutcome Worker::execute(const std::string& name, const std::string& input,
                                     std::shared_ptr<sandbox::Cancellation> cancel) {
  if (Result<void> r = openSandbox(); !r) {
    return {true, "The sandbox is unavailable: " + r.error().message};
  }
  if (name == "web_fetch") return webFetch(input, std::move(cancel));
  for (MemoryMount& m : mounts_) syncIn(m);
  sandbox::ToolOutcome out = sandbox::runTool(*sandbox_, name, input, cancel);
  std::string notes;
  for (MemoryMount& m : mounts_) notes += syncOut(m);
  if (!notes.empty()) out.content += "\n" + notes;
  return out;
}

sandbox::ToolOutcome Worker::webFetch(const std::string& input,
                                      std::shared_ptr<sandbox::Cancellation> cancel) {
  json::object in = parseObject(input);
  const std::string url = str(in, "url");
  const bool http = url.starts_with("http://") || url.starts_with("https://");
  const bool clean = url.size() <= 4096 && std::none_of(url.begin(), url.end(), [](char c) {
                       return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
                     });
  if (!http || !clean) return {true, "web_fetch needs an http:// or https:// \"url\""};
  if (network_ == sandbox::Network::kNone) {
    return {true, "web_fetch: network access is disabled for this session's environment"};
  }
  if (network_ == sandbox::Network::kProxy && !allowed_hosts_.allows(urlHost(url))) {
    // The proxy would refuse it too; this says why in words the model can act on.
    return {true, "web_fetch: host '" + urlHost(url) +
                      "' is not in this environment's allowed_hosts (networking: limited)"};
  }
  sandbox::RunSpec spec;
  spec.argv = {"/usr/bin/curl", "--silent",   "--show-error", "--fail-with-body", "--location",
               "--max-redirs",  "5",          "--proto",      "=http,https",      "--proto-redir",
               "=http,https",   "--max-time", "30",           "--max-filesize",   "2000000",
               "--url",         url};
  spec.timeout = std::chrono::seconds(35);
  spec.cancel = std::move(cancel);
  Result<sandbox::RunResult> run = sandbox_->run(spec);
  if (!run) return {true, "web_fetch failed: " + run.error().message};
  if (run->timed_out) return {true, "web_fetch timed out"};
  return {run->exit_code != 0, std::move(run->output)};
}

/// Copies the memory store's current memories into its mount directory.
void Worker::syncIn(MemoryMount& m) {
  const agents::Access access{owner_id_, owner_id_ == "root"};
  std::vector<sandbox::TreeFile> files;
  m.written.clear();
  m.ids.clear();
  agents::MemoryListOptions opts;
  opts.limit = 100;
  for (int pages = 0; pages < 1000; ++pages) {
    Result<agents::Page<agents::MemoryListItem>> page =
        store().listMemories(access, m.store_id, opts);
    if (!page) {
      log::warn("agent session {}: memory store {}: {}", id_, m.store_id, page.error().message);
      break;
    }
    for (const agents::MemoryListItem& item : page->items) {
      if (item.is_prefix) continue;
      std::string rel = item.memory.path;
      while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
      if (rel.empty()) continue;
      m.written[rel] = item.memory.content;
      m.ids[rel] = item.memory.id;
      files.push_back({rel, item.memory.content});
    }
    if (page->next_page.empty()) break;
    opts.page = page->next_page;
  }
  if (Result<void> r =
          sandbox::writeTree(m.dir, files, sandbox_->fileOwnerUid(), sandbox_->fileOwnerGid());
      !r) {
    log::warn("agent session {}: memory store {}: {}", id_, m.store_id, r.error().message);
  }
}

/// Writes what the tool changed in a read-write mount back as memory versions. Returns notes
/// for the model about what could not be saved.
std::string Worker::syncOut(MemoryMount& m) {
  if (m.read_only) return {};
  Result<sandbox::TreeSnapshot> snap = sandbox::readTree(m.dir);
  if (!snap) return "[memory " + m.sandbox_path + ": not saved: " + snap.error().message + "]\n";
  const agents::Access access{owner_id_, owner_id_ == "root"};
  const std::string actor =
      json::serialize(json::object{{"type", "session_actor"}, {"session_id", id_}});
  std::string notes;
  std::map<std::string, bool> seen;
  for (const sandbox::TreeFile& f : snap->files) {
    seen[f.path] = true;
    auto it = m.written.find(f.path);
    if (it != m.written.end() && it->second == f.content) continue;
    Result<void> r;
    if (it == m.written.end()) {
      Result<agents::Memory> made =
          store().createMemory(access, m.store_id, "/" + f.path, f.content, actor);
      if (!made) r = made.error();
    } else {
      Result<agents::Memory> changed = store().updateMemory(
          access, m.store_id, m.ids[f.path], f.content, std::nullopt, std::nullopt, actor);
      if (!changed) r = changed.error();
    }
    if (!r)
      notes +=
          "[memory " + m.sandbox_path + "/" + f.path + ": not saved: " + r.error().message + "]\n";
  }
  for (const auto& [path, content] : m.written) {
    if (seen.count(path) != 0) continue;
    if (Result<void> r = store().deleteMemory(access, m.store_id, m.ids[path], std::nullopt, actor);
        !r) {
      notes +=
          "[memory " + m.sandbox_path + "/" + path + ": not deleted: " + r.error().message + "]\n";
    }
  }
  for (const std::string& s : snap->skipped) {
    notes += "[memory " + m.sandbox_path + ": skipped " + s + "]\n";
  }
  return notes;
}

}  // namespace basalt::agent_runtime
