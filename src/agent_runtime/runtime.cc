#include "basalt/agent_runtime/runtime.h"

#include "basalt/agent_runtime/conversation.h"

#include "basalt/agent_runtime/mcp_tools.h"
#include "basalt/agent_runtime/session_network.h"
#include "basalt/agents/agent_store.h"
#include "basalt/agents/agents_api.h"
#include "basalt/audit/async_append.h"
#include "basalt/audit/audit_sink.h"
#include "basalt/core/ids.h"
#include "basalt/core/log.h"
#include "basalt/core/metrics.h"
#include "basalt/sandbox/tools.h"
#include "basalt/sandbox/tree.h"
#include "json_fields.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <thread>
#include <type_traits>
#include <variant>

namespace basalt::agent_runtime {

namespace asio = boost::asio;
namespace json = boost::json;
using agents::NewEvent;
using agents::SessionEvent;
using agents::SessionStatus;
using agents::StatusChange;

namespace {

using detail::num;
using detail::parseObject;
using detail::str;

using Clock = std::chrono::steady_clock;

NewEvent event(std::string type, const json::object& payload, std::string ref_id = {}) {
  NewEvent e;
  e.type = std::move(type);
  e.payload = json::serialize(payload);
  e.ref_id = std::move(ref_id);
  e.processed = true;
  return e;
}

std::string stopReason(std::string_view type) {
  return json::serialize(json::object{{"type", type}});
}

NewEvent idleEvent(const std::string& stop_reason_json) {
  json::object p{{"stop_reason", parseObject(stop_reason_json)}, {"stop_details", nullptr}};
  if (stop_reason_json.find("\"refusal\"") != std::string::npos) {
    p["stop_details"] =
        json::object{{"type", "refusal"}, {"category", nullptr}, {"explanation", nullptr}};
  }
  return event("session.status_idle", p);
}

json::object modelUsage(const canonical::Usage& u) {
  const std::int64_t uncached =
      std::max<std::int64_t>(0, u.input_tokens - u.cache_read_tokens - u.cache_write_tokens);
  return json::object{{"input_tokens", uncached},
                      {"output_tokens", u.output_tokens},
                      {"cache_creation_input_tokens", u.cache_write_tokens},
                      {"cache_read_input_tokens", u.cache_read_tokens}};
}

/// The session.error object for a failed model call.
json::object modelError(const Error& error) {
  std::string type = "model_request_failed_error";
  if (error.kind == ErrorKind::kRateLimited) type = "model_rate_limited_error";
  if (error.kind == ErrorKind::kUpstreamUnavailable) type = "model_overloaded_error";
  return json::object{{"type", type},
                      {"message", error.message},
                      {"retry_status", json::object{{"type", "terminal"}}}};
}

/// Runs `f` (blocking) on `pool` and resumes the awaiting coroutine on its own executor.
template <class F>
Task<std::invoke_result_t<F&>> onPool(asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F&>;
  auto init = [&pool, f = std::move(f)](auto handler) mutable {
    asio::post(pool, [f = std::move(f), handler = std::move(handler)]() mutable {
      R r = f();
      auto ex = asio::get_associated_executor(handler);
      asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
        std::move(handler)(std::move(r));
      });
    });
  };
  auto op = asio::async_initiate<const asio::use_awaitable_t<Executor>&, void(R)>(
      std::move(init), asio::use_awaitable);
  R r = co_await std::move(op);
  co_return r;
}

struct MemoryMount {
  std::string store_id;
  std::filesystem::path dir;
  std::string sandbox_path;
  bool read_only = false;
  std::map<std::string, std::string> written;  ///< relative path -> content copied in
  std::map<std::string, std::string> ids;      ///< relative path -> memory id
};

}  // namespace

class Worker;

struct Runtime::Impl {
  Impl(RuntimePorts p, RuntimeOptions o)
      : ports(std::move(p)),
        opts(std::move(o)),
        holder(opts.holder_id.empty() ? randomId("rt_", 16) : opts.holder_id),
        pool(static_cast<std::size_t>(std::max(1, opts.tool_threads))) {}

  agents::AgentStore& store() { return *ports.store; }
  void onEvents(const std::string& id);
  void spawn(const std::string& id, bool rescheduled);
  void reap();
  void resumeQueued();
  Task<void> reaperLoop();

  RuntimePorts ports;
  RuntimeOptions opts;
  std::string holder;
  asio::thread_pool pool;
  std::map<std::string, std::shared_ptr<Worker>> workers;  ///< runtime thread only
  std::thread thread;
  bool started = false;
  asio::io_context io;  // last: destroyed first, with the coroutine frames it still holds
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::unique_ptr<asio::steady_timer> reap_timer;
};

/// One session being worked on by this process (between claiming and releasing its lease).
/// Lives on the runtime's thread; only `execute` runs on the pool (one tool at a time).
class Worker : public std::enable_shared_from_this<Worker> {
 public:
  Worker(Runtime::Impl& rt, std::string id, bool rescheduled)
      : rt_(rt),
        id_(std::move(id)),
        rescheduled_(rescheduled),
        heartbeat_(rt.io),
        interrupt_timer_(rt.io) {}

  const std::string& id() const { return id_; }
  Task<void> run();
  void wake() { wake_ = true; }
  /// A user.interrupt is queued: stop the model call or the command in flight.
  void interrupt() {
    interrupted_ = true;
    interrupt_timer_.cancel();
    if (cancel_) cancel_->cancel();
  }
  void cancelTool() {
    if (cancel_) cancel_->cancel();
  }
  void finish();

 private:
  agents::AgentStore& store() { return rt_.store(); }
  Task<void> heartbeat(std::shared_ptr<Worker> self);
  Result<void> load();
  Result<void> refresh();
  Result<std::vector<SessionEvent>> append(const std::vector<NewEvent>& events,
                                           std::optional<StatusChange> status = {});
  Task<bool> step();
  bool ensureRunning();
  bool markProcessed(std::int64_t up_to);
  Task<bool> callModel(const LogView& view);
  /// The summarization step of a compaction: `pre` + a span around a summary call of
  /// `dropped` (and `previous`), then agent.thread_context_compacted {first_kept_seq, summary}.
  Task<bool> compact(std::int64_t first_kept_seq, std::string previous,
                     std::vector<canonical::Message> dropped, std::vector<NewEvent> pre);
  std::int64_t summaryMaxTokens() const;
  Task<Result<canonical::ChatResponse>> modelCall(const CallIdentity& who,
                                                  canonical::ChatRequest request);
  Task<void> waitInterrupt();
  Task<void> runTool(SessionEvent use);
  /// An agent.mcp_tool_use: authorize + audit like a built-in, then tools/call.
  Task<void> runMcpTool(SessionEvent use);
  Task<Result<mcp::ToolResult>> mcpCall(const McpToolset& toolset, std::string tool,
                                        std::string input);
  /// Connects the agent's MCP toolsets (once per worker) before a model call: the tools to
  /// offer, and session.error events for servers that failed.
  Task<std::vector<NewEvent>> resolveMcp();
  McpToolbox& mcpToolbox();
  Task<Result<void>> auditTool(const std::string& tool, const std::string& use_id,
                               const perimeter::AuthzResult& authz);
  /// web_fetch: a GET made by curl inside the session's sandbox, so the environment's network
  /// policy applies to it exactly as to bash (`limited`: through the egress proxy).
  sandbox::ToolOutcome webFetch(const std::string& input,
                                std::shared_ptr<sandbox::Cancellation> cancel);
  sandbox::ToolOutcome execute(const std::string& name, const std::string& input,
                               std::shared_ptr<sandbox::Cancellation> cancel);
  Result<void> openSandbox();
  void syncIn(MemoryMount& m);
  std::string syncOut(MemoryMount& m);
  void addUsage(const canonical::Usage& usage, double seconds);
  void addActive(double seconds);

  Runtime::Impl& rt_;
  std::string id_;
  bool rescheduled_ = false;
  bool wake_ = false;
  bool interrupted_ = false;
  bool done_ = false;
  bool lease_lost_ = false;
  bool broken_ = false;
  asio::steady_timer heartbeat_;
  asio::steady_timer interrupt_timer_;
  std::shared_ptr<sandbox::Cancellation> cancel_;

  agents::Session session_;
  std::optional<AgentConfig> config_;
  std::string config_error_;
  CallIdentity identity_;
  sandbox::Network network_ = sandbox::Network::kNone;
  egress::AllowList allowed_hosts_;  ///< kProxy: what the egress proxy lets out
  std::vector<SessionEvent> log_;
  std::int64_t last_seq_ = 0;
  std::vector<std::string> vault_ids_;  ///< the session's vaults (MCP credentials)
  std::unique_ptr<McpToolbox> mcp_;     ///< MCP clients of this worker, made on first use

  std::string owner_id_;  ///< set once by load(): read by execute() on the pool

  // Touched only by execute() on the pool (one tool at a time per session).
  std::unique_ptr<sandbox::Sandbox> sandbox_;
  std::unique_ptr<egress::Listener> egress_;  ///< kProxy: the session's proxy socket
  std::vector<MemoryMount> mounts_;
};

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
