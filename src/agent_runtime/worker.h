#pragma once
// Private to basalt_agent_runtime: the Runtime's internals and the per-session Worker, shared by
// runtime.cc (leases, the step loop, model calls, compaction) and worker_tools.cc (built-in and
// MCP tools, the sandbox, memory-store mounts).

#include "basalt/agent_runtime/conversation.h"
#include "basalt/agent_runtime/mcp_tools.h"
#include "basalt/agent_runtime/runtime.h"
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

namespace detail {

using Clock = std::chrono::steady_clock;

inline NewEvent event(std::string type, const json::object& payload, std::string ref_id = {}) {
  NewEvent e;
  e.type = std::move(type);
  e.payload = json::serialize(payload);
  e.ref_id = std::move(ref_id);
  e.processed = true;
  return e;
}

inline std::string stopReason(std::string_view type) {
  return json::serialize(json::object{{"type", type}});
}

inline NewEvent idleEvent(const std::string& stop_reason_json) {
  json::object p{{"stop_reason", parseObject(stop_reason_json)}, {"stop_details", nullptr}};
  if (stop_reason_json.find("\"refusal\"") != std::string::npos) {
    p["stop_details"] =
        json::object{{"type", "refusal"}, {"category", nullptr}, {"explanation", nullptr}};
  }
  return event("session.status_idle", p);
}

inline json::object modelUsage(const canonical::Usage& u) {
  const std::int64_t uncached =
      std::max<std::int64_t>(0, u.input_tokens - u.cache_read_tokens - u.cache_write_tokens);
  return json::object{{"input_tokens", uncached},
                      {"output_tokens", u.output_tokens},
                      {"cache_creation_input_tokens", u.cache_write_tokens},
                      {"cache_read_input_tokens", u.cache_read_tokens}};
}

/// The session.error object for a failed model call.
inline json::object modelError(const Error& error) {
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

}  // namespace detail

using detail::Clock;
using detail::event;
using detail::idleEvent;
using detail::MemoryMount;
using detail::modelError;
using detail::modelUsage;
using detail::num;
using detail::onPool;
using detail::parseObject;
using detail::stopReason;
using detail::str;

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

}  // namespace basalt::agent_runtime
