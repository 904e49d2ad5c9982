#include "basalt/agent_runtime/runtime.h"

#include "worker.h"

namespace basalt::agent_runtime {

// ---- Worker ---------------------------------------------------------------------------------

Task<void> Worker::run() {
  auto self = shared_from_this();
  Result<bool> claimed = store().claimLease(id_, rt_.holder, rt_.opts.lease_ttl);
  if (!claimed || !*claimed) {
    if (!claimed) log::warn("agent session {}: lease: {}", id_, claimed.error().message);
    done_ = true;
    lease_lost_ = true;  // not ours: nothing to release
    finish();
    co_return;
  }
  asio::co_spawn(rt_.io, heartbeat(self), asio::detached);
  if (Result<void> r = load(); !r) {
    log::warn("agent session {}: cannot load: {}", id_, r.error().message);
    finish();
    co_return;
  }
  if (session_.status == SessionStatus::kTerminated || session_.archived_at_ms) {
    finish();
    co_return;
  }
  if (rescheduled_ && (session_.status == SessionStatus::kRunning ||
                       session_.status == SessionStatus::kRescheduling)) {
    // The previous holder died mid-run: say so, then carry on from the log.
    append({event("session.status_rescheduled", json::object{})},
           StatusChange{SessionStatus::kRescheduling, {}});
  }
  for (;;) {
    wake_ = false;
    if (lease_lost_ || broken_) break;
    if (Result<void> r = refresh(); !r) {
      log::warn("agent session {}: cannot read the log: {}", id_, r.error().message);
      break;
    }
    const bool more = co_await step();
    if (!more && !wake_) break;
  }
  finish();
}

void Worker::finish() {
  done_ = true;
  heartbeat_.cancel();
  // MCP sessions end in the background: the worker is gone once this returns.
  if (mcp_) asio::co_spawn(rt_.io, closeToolbox(std::move(mcp_)), asio::detached);
  if (!lease_lost_) {
    if (Result<void> r = store().releaseLease(id_, rt_.holder); !r) {
      log::warn("agent session {}: release lease: {}", id_, r.error().message);
    }
    lease_lost_ = true;
  }
  auto it = rt_.workers.find(id_);
  if (it != rt_.workers.end() && it->second.get() == this) rt_.workers.erase(it);
}

Task<void> Worker::heartbeat(std::shared_ptr<Worker> self) {
  const auto period = std::max(rt_.opts.lease_ttl / 3, std::chrono::milliseconds(10));
  while (!done_) {
    heartbeat_.expires_after(period);
    co_await heartbeat_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (done_) break;
    Result<bool> r = store().renewLease(id_, rt_.holder, rt_.opts.lease_ttl);
    if (r && !*r) {
      // Another holder took over (we stalled past the ttl): stop writing to the session.
      log::warn("agent session {}: lease lost", id_);
      lease_lost_ = true;
      interrupt_timer_.cancel();
      cancelTool();
      break;
    }
    if (!r) log::warn("agent session {}: renew lease: {}", id_, r.error().message);
  }
}

Result<void> Worker::load() {
  const agents::Access root = agents::Access::rootAccess();
  Result<agents::Session> s = store().getSession(root, id_);
  if (!s) return s.error();
  session_ = std::move(*s);
  owner_id_ = session_.owner_id;
  Result<agents::AgentVersion> agent =
      store().getAgent(root, session_.agent_id, session_.agent_version);
  if (!agent) return agent.error();
  Result<AgentConfig> config = parseAgentConfig(agent->body);
  if (config) {
    config_ = std::move(*config);
  } else {
    config_error_ = config.error().message;
  }
  if (rt_.ports.resolve_caller) {
    Result<perimeter::Caller> caller = rt_.ports.resolve_caller(session_.run_as);
    if (!caller) return caller.error();
    identity_.caller = std::move(*caller);
  } else {
    identity_.caller.principal_id = session_.run_as;
    identity_.caller.name = session_.run_as;
    identity_.caller.kind = session_.run_as == "root" ? "root" : "user";
    identity_.caller.root = session_.run_as == "root";
  }
  identity_.agent_id = session_.agent_id;
  identity_.session_id = session_.id;
  json::object body = parseObject(session_.body);
  if (const json::value* md = body.if_contains("metadata"); md && md->is_object()) {
    identity_.end_user = str(md->as_object(), "end_user");
    if (identity_.end_user.empty()) identity_.end_user = str(md->as_object(), "external_user_id");
  }
  if (Result<agents::Document> env =
          store().getDocument(agents::DocKind::kEnvironment, root, session_.environment_id);
      env) {
    // unrestricted: the host network; limited: the egress proxy with the allow-list; else none.
    SessionNetwork net = sessionNetwork(env->body, agent->body);
    for (const std::string& h : net.skipped) {
      log::warn("agent session {}: allowed_hosts entry '{}' is not valid: skipped", id_, h);
    }
    network_ = net.mode;
    allowed_hosts_ = std::move(net.allow);
  }
  if (const json::value* vs = body.if_contains("vault_ids"); vs && vs->is_array()) {
    for (const json::value& v : vs->as_array()) {
      if (v.is_string()) vault_ids_.emplace_back(v.as_string());
    }
  }
  if (const json::value* res = body.if_contains("resources"); res && res->is_array()) {
    for (const json::value& r : res->as_array()) {
      if (!r.is_object() || str(r.as_object(), "type") != "memory_store") continue;
      MemoryMount m;
      m.store_id = str(r.as_object(), "memory_store_id");
      m.sandbox_path = str(r.as_object(), "mount_path");
      if (m.sandbox_path.empty()) m.sandbox_path = "/mnt/memory/" + m.store_id;
      m.read_only = str(r.as_object(), "access") == "read_only";
      m.dir = rt_.opts.sandbox_root / id_ / "memory" / m.store_id;
      if (!m.store_id.empty()) mounts_.push_back(std::move(m));
    }
  }
  return {};
}

Result<void> Worker::refresh() {
  for (;;) {
    Result<std::vector<SessionEvent>> more = store().eventsAfter(id_, last_seq_, 500);
    if (!more) return more.error();
    for (SessionEvent& e : *more) {
      last_seq_ = e.seq;
      log_.push_back(std::move(e));
    }
    if (more->size() < 500) break;
  }
  Result<agents::Session> s = store().getSession(agents::Access::rootAccess(), id_);
  if (!s) return s.error();
  session_ = std::move(*s);
  return {};
}

Result<std::vector<SessionEvent>> Worker::append(const std::vector<NewEvent>& events,
                                                 std::optional<StatusChange> status) {
  if (lease_lost_) return Error{ErrorKind::kCancelled, "lease lost"};
  Result<std::vector<SessionEvent>> r = store().appendEvents(id_, events, status);
  if (!r) {
    log::warn("agent session {}: append: {}", id_, r.error().message);
    broken_ = true;
    return r;
  }
  if (status) {
    session_.status = status->status;
    session_.stop_reason = status->stop_reason;
  }
  return r;
}

bool Worker::markProcessed(std::int64_t up_to) {
  if (Result<void> r = store().markProcessed(id_, up_to); !r) {
    log::warn("agent session {}: mark processed: {}", id_, r.error().message);
    broken_ = true;
    return false;
  }
  // The in-memory copy of the log follows (refresh() only reads events it has not seen).
  for (SessionEvent& e : log_) {
    if (!e.processed_at_ms && e.seq <= up_to) e.processed_at_ms = 0;
  }
  return true;
}

bool Worker::ensureRunning() {
  if (session_.status == SessionStatus::kRunning) return true;
  return append({event("session.status_running", json::object{})},
                StatusChange{SessionStatus::kRunning, {}})
      .has_value();
}

Task<bool> Worker::step() {
  LogView view = readLog(log_);
  const SessionEvent* interrupt = nullptr;
  std::int64_t last_queued = 0;
  for (const SessionEvent& e : log_) {
    if (e.processed_at_ms) continue;
    last_queued = e.seq;
    if (e.type == "user.interrupt" && interrupt == nullptr) interrupt = &e;
  }
  if (interrupt != nullptr) {
    const std::int64_t seq = interrupt->seq;
    interrupted_ = false;
    if (view.open) {
      append({idleEvent(stopReason("end_turn"))},
             StatusChange{SessionStatus::kIdle, stopReason("end_turn")});
    }
    markProcessed(seq);
    co_return !broken_;
  }
  // Answers (confirmations, custom tool results) are consumed by reading the log; a message
  // deferred behind the open turn stays queued until the turn closes.
  std::int64_t up_to = view.deferred.empty() ? last_queued : view.deferred.front()->seq - 1;
  bool any = false;
  for (const SessionEvent& e : log_) any = any || (!e.processed_at_ms && e.seq <= up_to);
  if (any && !markProcessed(up_to)) co_return false;
  if (!view.open) {
    // Resumed after a crash with nothing left to do (the turn had closed).
    if (session_.status != SessionStatus::kIdle) {
      append({idleEvent(stopReason("end_turn"))},
             StatusChange{SessionStatus::kIdle, stopReason("end_turn")});
    }
    co_return false;
  }
  PendingTools pending = pendingTools(view, log_);
  if (!pending.denied.empty()) {
    std::vector<NewEvent> results;
    for (const PendingTools::Denied& d : pending.denied) {
      json::array content{json::object{{"type", "text"}, {"text", d.message}}};
      const bool is_mcp = d.use->type == "agent.mcp_tool_use";
      results.push_back(event(is_mcp ? "agent.mcp_tool_result" : "agent.tool_result",
                              json::object{{is_mcp ? "mcp_tool_use_id" : "tool_use_id", d.use->id},
                                           {"content", std::move(content)},
                                           {"is_error", true}},
                              d.use->id));
    }
    if (!ensureRunning()) co_return false;
    append(results);
    co_return !broken_;
  }
  if (!pending.runnable.empty()) {
    if (!ensureRunning()) co_return false;
    SessionEvent use = *pending.runnable.front();  // a copy: log_ may grow meanwhile
    const bool is_mcp = use.type == "agent.mcp_tool_use";
    Task<void> run = is_mcp ? runMcpTool(std::move(use)) : runTool(std::move(use));
    co_await std::move(run);
    co_return !broken_;
  }
  if (!pending.waiting.empty()) {
    json::array ids;
    for (const std::string& id : pending.waiting) ids.emplace_back(id);
    const std::string reason =
        json::serialize(json::object{{"type", "requires_action"}, {"event_ids", ids}});
    if (session_.status != SessionStatus::kIdle || session_.stop_reason != reason) {
      append({idleEvent(reason)}, StatusChange{SessionStatus::kIdle, reason});
    }
    co_return false;
  }
  const bool more = co_await callModel(view);
  co_return more;
}

Task<bool> Worker::callModel(const LogView& view) {
  if (!config_) {
    append(
        {event("session.error",
               json::object{
                   {"error", json::object{{"type", "unknown_error"},
                                          {"message", "agent configuration: " + config_error_},
                                          {"retry_status", json::object{{"type", "terminal"}}}}}}),
         idleEvent(stopReason("retries_exhausted"))},
        StatusChange{SessionStatus::kIdle, stopReason("retries_exhausted")});
    co_return !broken_;
  }
  json::object usage = parseObject(session_.usage);
  const std::int64_t used = num(usage, "input_tokens") + num(usage, "output_tokens") +
                            num(usage, "cache_read_input_tokens") +
                            num(usage, "cache_creation_input_tokens");
  if (rt_.opts.max_session_tokens > 0 && used >= rt_.opts.max_session_tokens) {
    append({idleEvent(stopReason("budget_reached"))},
           StatusChange{SessionStatus::kIdle, stopReason("budget_reached")});
    co_return !broken_;
  }
  int calls = 0;
  for (std::size_t i = view.turn_begin; i < view.effective.size(); ++i) {
    if (view.effective[i]->type == "span.model_request_start") ++calls;
  }
  if (calls >= rt_.opts.max_model_calls_per_turn) {
    json::object err{{"type", "tool_use_limit_reached_error"},
                     {"message", "the turn made " + std::to_string(calls) + " model calls"},
                     {"retry_status", json::object{{"type", "terminal"}}}};
    append({event("session.error", json::object{{"error", std::move(err)}}),
            idleEvent(stopReason("retries_exhausted"))},
           StatusChange{SessionStatus::kIdle, stopReason("retries_exhausted")});
    co_return !broken_;
  }
  if (!ensureRunning()) co_return false;

  std::vector<NewEvent> pre;
  // A span started by a holder that died has no end: close it as failed.
  std::string open_span;
  std::int64_t first_kept = 0;
  std::string summary;  // of everything before first_kept (the last compaction's)
  for (const SessionEvent& e : log_) {
    if (e.type == "span.model_request_start") open_span = e.id;
    if (e.type == "span.model_request_end") open_span.clear();
    if (e.type == "agent.thread_context_compacted") {
      json::object p = parseObject(e.payload);
      first_kept = num(p, "first_kept_seq");
      summary = str(p, "summary");
    }
  }
  if (!open_span.empty()) {
    pre.push_back(
        event("span.model_request_end", json::object{{"model_request_start_id", open_span},
                                                     {"is_error", true},
                                                     {"model_usage", modelUsage({})}}));
  }
  if (!config_->mcp.empty()) {
    Task<std::vector<NewEvent>> resolving = resolveMcp();
    std::vector<NewEvent> failures = co_await std::move(resolving);
    if (lease_lost_) co_return false;
    pre.insert(pre.end(), failures.begin(), failures.end());
  }
  BuildOptions bo;
  if (mcp_) bo.extra_tools = mcp_->specs();
  bo.max_tokens = rt_.opts.max_tokens;
  bo.context_token_budget = rt_.opts.context_token_budget;
  bo.first_kept_seq = first_kept;
  bo.summary = summary;
  bo.summary_reserve_tokens = summaryMaxTokens();
  BuiltRequest built = buildRequest(*config_, view, log_, bo);
  if (built.compacted && built.first_kept_seq != first_kept) {
    if (bo.summary_reserve_tokens > 0) {
      // Summarize what is dropped first, as a step of its own: the summary is in the log before
      // any request uses it, and the next step rebuilds the context from the log.
      Task<bool> compacting = compact(built.first_kept_seq, std::move(summary),
                                      std::move(built.dropped), std::move(pre));
      const bool more = co_await std::move(compacting);
      co_return more;
    }
    json::object p{{"first_kept_seq", built.first_kept_seq}};
    if (!summary.empty()) p["summary"] = summary;
    pre.push_back(event("agent.thread_context_compacted", p));
  }
  pre.push_back(event("span.model_request_start", json::object{}));
  Result<std::vector<SessionEvent>> started = append(pre);
  if (!started) co_return false;
  const std::string start_id = started->back().id;

  const Clock::time_point t0 = Clock::now();
  Task<Result<canonical::ChatResponse>> call = modelCall(identity_, std::move(built.request));
  Result<canonical::ChatResponse> response = co_await std::move(call);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (lease_lost_) co_return false;
  if (!response) {
    std::vector<NewEvent> evs;
    evs.push_back(event("span.model_request_end", json::object{{"model_request_start_id", start_id},
                                                               {"is_error", true},
                                                               {"model_usage", modelUsage({})}}));
    addActive(seconds);
    if (response.error().kind == ErrorKind::kCancelled) {
      // Interrupted: the next step sees the queued user.interrupt and idles the session.
      append(evs);
      co_return !broken_;
    }
    metrics::recordAgentEvent(identity_.agent_id, "model_error");
    evs.push_back(event("session.error", json::object{{"error", modelError(response.error())}}));
    evs.push_back(idleEvent(stopReason("retries_exhausted")));
    append(evs, StatusChange{SessionStatus::kIdle, stopReason("retries_exhausted")});
    co_return !broken_;
  }

  std::vector<NewEvent> evs;
  json::array text;
  auto flushText = [&] {
    if (text.empty()) return;
    evs.push_back(event("agent.message", json::object{{"content", std::move(text)}}));
    text = json::array{};
  };
  bool tool_uses = false;
  for (const canonical::ContentBlock& b : response->content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&b)) {
      if (!t->text.empty()) text.push_back(json::object{{"type", "text"}, {"text", t->text}});
    } else if (std::holds_alternative<canonical::ReasoningBlock>(b)) {
      flushText();
      if (evs.empty() || evs.back().type != "agent.thinking") {
        evs.push_back(event("agent.thinking", json::object{}));
      }
    } else if (const auto* u = std::get_if<canonical::ToolUseBlock>(&b)) {
      flushText();
      tool_uses = true;
      json::object input = parseObject(u->input_json);
      const ToolPolicy policy = toolPolicy(*config_, u->name);
      const McpToolRef* mcp_ref =
          policy.kind == ToolPolicy::Kind::kUnknown && mcp_ ? mcp_->find(u->name) : nullptr;
      if (mcp_ref != nullptr) {
        evs.push_back(event(
            "agent.mcp_tool_use",
            json::object{{"name", mcp_ref->tool},
                         {"mcp_server_name", mcp_ref->server},
                         {"input", std::move(input)},
                         {"evaluated_permission", mcp_ref->ask ? "ask" : "allow"},
                         {"evaluation",
                          json::object{{"type", mcp_ref->ask ? "always_ask" : "always_allow"}}}}));
      } else if (policy.kind == ToolPolicy::Kind::kCustom) {
        evs.push_back(event("agent.custom_tool_use",
                            json::object{{"name", u->name}, {"input", std::move(input)}}));
      } else {
        const bool ask = policy.kind == ToolPolicy::Kind::kBuiltin && policy.ask;
        evs.push_back(event(
            "agent.tool_use",
            json::object{
                {"name", u->name},
                {"input", std::move(input)},
                {"evaluated_permission", ask ? "ask" : "allow"},
                {"evaluation", json::object{{"type", ask ? "always_ask" : "always_allow"}}}}));
      }
    }
  }
  flushText();
  evs.push_back(
      event("span.model_request_end", json::object{{"model_request_start_id", start_id},
                                                   {"is_error", false},
                                                   {"model_usage", modelUsage(response->usage)}}));
  std::optional<StatusChange> status;
  if (!tool_uses) {
    const bool refused = response->stop_reason == canonical::StopReason::kRefusal ||
                         response->stop_reason == canonical::StopReason::kContentFilter;
    const std::string reason = stopReason(refused ? "refusal" : "end_turn");
    evs.push_back(idleEvent(reason));
    status = StatusChange{SessionStatus::kIdle, reason};
  }
  append(evs, status);
  addUsage(response->usage, seconds);
  metrics::recordAgentEvent(identity_.agent_id, "model_call", response->usage.total());
  if (status) metrics::recordAgentEvent(identity_.agent_id, "turn");
  co_return !broken_;
}

std::int64_t Worker::summaryMaxTokens() const {
  const RuntimeOptions& o = rt_.opts;
  if (o.compaction_summary_max_tokens <= 0) return 0;
  // The summary takes room in every later context: at most a quarter of the budget.
  return std::max<std::int64_t>(
      1, std::min({o.compaction_summary_max_tokens, o.max_tokens, o.context_token_budget / 4}));
}

Task<bool> Worker::compact(std::int64_t first_kept_seq, std::string previous,
                           std::vector<canonical::Message> dropped, std::vector<NewEvent> pre) {
  const std::int64_t max_tokens = summaryMaxTokens();
  SummaryOptions so;
  so.max_tokens = max_tokens;
  so.input_token_budget = rt_.opts.context_token_budget;
  SummaryRequest sr = summaryRequest(*config_, previous, dropped, so);
  if (sr.omitted_bytes > 0) {
    log::info(
        "agent session {}: compaction: the oldest {} bytes of the dropped history exceed "
        "the summary call's budget and are left out",
        id_, sr.omitted_bytes);
  }
  // A model call like any other: its own span (so its usage is visible), the same gateway path
  // (principal, policy, quota, audit), its tokens in the session usage and budget.
  pre.push_back(event("span.model_request_start", json::object{}));
  Result<std::vector<SessionEvent>> started = append(pre);
  if (!started) co_return false;
  const std::string start_id = started->back().id;
  CallIdentity who = identity_;
  who.purpose = "compaction";
  const Clock::time_point t0 = Clock::now();
  Task<Result<canonical::ChatResponse>> call = modelCall(who, std::move(sr.request));
  Result<canonical::ChatResponse> response = co_await std::move(call);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (lease_lost_) co_return false;
  std::vector<NewEvent> evs;
  evs.push_back(event(
      "span.model_request_end",
      json::object{{"model_request_start_id", start_id},
                   {"is_error", !response},
                   {"model_usage", modelUsage(response ? response->usage : canonical::Usage{})}}));
  if (!response && response.error().kind == ErrorKind::kCancelled) {
    // Interrupted: nothing is compacted; the next step sees the queued user.interrupt.
    append(evs);
    addActive(seconds);
    co_return !broken_;
  }
  std::string summary;
  if (response) {
    summary = summaryText(*response, static_cast<std::size_t>(max_tokens) * 4);
  }
  if (summary.empty()) {
    // Drop-only compaction: the turn goes on. The previous summary (if any) still describes
    // the oldest part and is kept; what is dropped now is lost.
    log::warn("agent session {}: compaction summary failed ({}): older turns dropped without one",
              id_, response ? std::string("no text in the answer") : response.error().message);
    if (!response) metrics::recordAgentEvent(identity_.agent_id, "model_error");
    summary = std::move(previous);
  }
  json::object p{{"first_kept_seq", first_kept_seq}};
  if (!summary.empty()) p["summary"] = std::move(summary);
  evs.push_back(event("agent.thread_context_compacted", p));
  append(evs);
  if (response) {
    addUsage(response->usage, seconds);
    metrics::recordAgentEvent(identity_.agent_id, "model_call", response->usage.total());
  } else {
    addActive(seconds);
  }
  co_return !broken_;
}

Task<Result<canonical::ChatResponse>> Worker::modelCall(const CallIdentity& who,
                                                        canonical::ChatRequest request) {
  using namespace asio::experimental::awaitable_operators;
  Task<Result<canonical::ChatResponse>> call = rt_.ports.models->call(who, std::move(request));
  Task<void> stop = waitInterrupt();
  auto both = std::move(call) || std::move(stop);
  std::variant<Result<canonical::ChatResponse>, std::monostate> r = co_await std::move(both);
  if (r.index() == 1) {
    Result<canonical::ChatResponse> cancelled = Error{ErrorKind::kCancelled, "interrupted"};
    co_return cancelled;
  }
  Result<canonical::ChatResponse> out = std::move(std::get<0>(r));
  co_return out;
}

Task<void> Worker::waitInterrupt() {
  if (interrupted_ || lease_lost_) co_return;
  interrupt_timer_.expires_at(asio::steady_timer::time_point::max());
  co_await interrupt_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

void Worker::addUsage(const canonical::Usage& u, double seconds) {
  json::object usage = parseObject(session_.usage);
  json::object add = modelUsage(u);
  for (const char* k : {"input_tokens", "output_tokens", "cache_read_input_tokens"}) {
    usage[k] = num(usage, k) + num(add, k);
  }
  usage["cache_creation_input_tokens"] =
      num(usage, "cache_creation_input_tokens") + u.cache_write_tokens;
  session_.usage = json::serialize(usage);
  addActive(seconds);
}

void Worker::addActive(double seconds) {
  json::object stats = parseObject(session_.stats);
  const json::value* a = stats.if_contains("active_seconds");
  double active = a != nullptr && a->is_number() ? a->to_number<double>() : 0.0;
  stats["active_seconds"] = active + seconds;
  session_.stats = json::serialize(stats);
  if (Result<void> r = store().setSessionUsage(id_, session_.usage, session_.stats); !r) {
    log::warn("agent session {}: usage: {}", id_, r.error().message);
  }
}

// ---- Runtime ------------------------------------------------------------------------------

void Runtime::Impl::spawn(const std::string& id, bool rescheduled) {
  auto w = std::make_shared<Worker>(*this, id, rescheduled);
  workers[id] = w;
  asio::co_spawn(io, w->run(), [this, w](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("agent session {}: runtime failure: {}", w->id(), ex.what());
      }
      // The lease is left to expire; the reaper resumes the session from its log.
      auto it = workers.find(w->id());
      if (it != workers.end() && it->second == w) workers.erase(it);
    }
  });
}

void Runtime::Impl::onEvents(const std::string& id) {
  auto it = workers.find(id);
  if (it == workers.end()) {
    spawn(id, false);
    return;
  }
  it->second->wake();
  Result<std::vector<SessionEvent>> queued = store().queuedEvents(id);
  if (!queued) return;
  for (const SessionEvent& e : *queued) {
    if (e.type == "user.interrupt") {
      it->second->interrupt();
      break;
    }
  }
}

void Runtime::Impl::reap() {
  Result<std::vector<std::string>> ids = store().sessionsWithExpiredLease();
  if (!ids) {
    log::warn("agent runtime: reaper: {}", ids.error().message);
    return;
  }
  for (const std::string& id : *ids) {
    if (workers.count(id) == 0) spawn(id, true);
  }
}

void Runtime::Impl::resumeQueued() {
  // An idle session whose user events were persisted but whose wake-up was lost (the process
  // died between the commit and eventsAppended) would otherwise wait for the next event.
  agents::ListOptions o;
  o.limit = 100;
  agents::AgentStore::SessionFilter idle;
  idle.statuses.push_back(SessionStatus::kIdle);
  for (int pages = 0; pages < 10'000; ++pages) {
    Result<agents::Page<agents::Session>> page =
        store().listSessions(agents::Access::rootAccess(), o, idle);
    if (!page) {
      log::warn("agent runtime: startup scan: {}", page.error().message);
      return;
    }
    for (const agents::Session& s : page->items) {
      Result<std::vector<SessionEvent>> queued = store().queuedEvents(s.id);
      if (queued && !queued->empty() && workers.count(s.id) == 0) spawn(s.id, false);
    }
    if (page->next_page.empty()) return;
    o.page = page->next_page;
  }
}

Task<void> Runtime::Impl::reaperLoop() {
  resumeQueued();
  for (;;) {
    reap();
    reap_timer->expires_after(opts.reap_interval);
    auto [ec] = co_await reap_timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

Runtime::Runtime(RuntimePorts ports, RuntimeOptions options)
    : impl_(std::make_unique<Impl>(std::move(ports), std::move(options))) {}

Runtime::~Runtime() {
  stop();
}

void Runtime::start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->guard.emplace(impl_->io.get_executor());
  impl_->reap_timer = std::make_unique<asio::steady_timer>(impl_->io);
  asio::co_spawn(impl_->io, impl_->reaperLoop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

void Runtime::stop() {
  if (!impl_ || !impl_->started) return;
  impl_->started = false;
  impl_->guard.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  // Running commands end now, so the pool's threads can be joined.
  for (auto& [id, w] : impl_->workers) w->cancelTool();
  impl_->pool.stop();
  impl_->pool.join();
  // Workers now live only in the coroutine frames the io_context still holds; they go with it
  // (before the services their timers use).
  impl_->workers.clear();
}

void Runtime::eventsAppended(const std::string& session_id) {
  asio::post(impl_->io, [impl = impl_.get(), session_id] { impl->onEvents(session_id); });
}

void Runtime::reapNow() {
  asio::post(impl_->io, [impl = impl_.get()] { impl->reap(); });
}

const std::string& Runtime::holderId() const {
  return impl_->holder;
}

}  // namespace basalt::agent_runtime
