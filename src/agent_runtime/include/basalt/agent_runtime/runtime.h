#pragma once
/// The agent loop: an agents::SessionDriver that runs managed-agent sessions from their event
/// logs (docs/adr/0010-managed-agents.md). Threading: the Runtime owns ONE io_context thread on
/// which every session's coroutine runs (so per-session state needs no locks and sessions
/// interleave at their awaits), plus a small thread pool for blocking work (sandboxed tools,
/// memory-store copies). AgentStore calls are short SQLite transactions made on the runtime's
/// thread, never on a server thread. Model calls await the ModelCaller on the runtime's thread.
///
/// Durability: every event is appended (AgentStore::appendEvents, atomically with the status
/// change) before it is acted on; a session is worked on by the holder of its lease (renewed
/// while working, released when idle). start() and a periodic reaper resume sessions whose
/// holder died (`session.status_rescheduled`, then the loop continues from the log). A tool use
/// with a persisted `agent.tool_result` is never re-run; one without (the process died while it
/// ran) is run again: built-in tools are at-least-once across crashes.

#include "basalt/agent_runtime/model_caller.h"
#include "basalt/agents/session_driver.h"
#include "basalt/core/error.h"
#include "basalt/mcp/client.h"
#include "basalt/perimeter/perimeter.h"
#include "basalt/sandbox/sandbox.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace basalt::agents {
class AgentStore;
}
namespace basalt::audit {
class AuditSink;
}

namespace basalt::agent_runtime {

struct RuntimeOptions {
  /// Where session sandboxes live (root/<session>/workspace, root/<session>/memory/<store>).
  std::filesystem::path sandbox_root;
  /// This process's lease holder id; empty: a random "rt_..." id.
  std::string holder_id;
  std::chrono::milliseconds lease_ttl{30'000};  ///< renewed every ttl/3 while working
  std::chrono::milliseconds reap_interval{15'000};
  /// Token budget per session (input + output over all model calls); 0: unlimited. Reaching it
  /// ends the run with session.status_idle {stop_reason: budget_reached}. (The SDK's session
  /// `budget` is a monetary limit Basalt cannot price; this is the runtime's own option.)
  std::int64_t max_session_tokens = 0;
  /// Estimated context size above which the oldest turns are dropped
  /// (agent.thread_context_compacted) and summarized.
  std::int64_t context_token_budget = 150'000;
  /// Upper bound of a compaction summary's max_tokens; the call uses
  /// min(this, max_tokens, context_token_budget / 4). 0: drop-only compaction (no summary).
  std::int64_t compaction_summary_max_tokens = 2048;
  std::int64_t max_tokens = 8192;  ///< max_tokens of each model call
  /// Model calls per turn before the run stops with session.error tool_use_limit_reached_error.
  int max_model_calls_per_turn = 200;
  std::size_t max_tool_output_bytes = 64 * 1024;  ///< tool_result text cap
  int tool_threads = 4;
  std::string region = "us-east-1";  ///< for tool ARNs
  sandbox::Limits sandbox_limits;
  std::string bwrap_path = "/usr/bin/bwrap";
  /// MCP servers of the agents' mcp_toolsets (timeouts, size limits, extra CAs).
  mcp::ClientOptions mcp;
};

/// Authorizes `action` ("agents:ExecuteTool") on `resource`
/// (`arn:basalt:agents:{region}:{owner}:tool/{name}`) for a session's caller; the composition
/// root points it at Perimeter::authorize. Called on the runtime's thread.
using ToolAuthorizer = std::function<perimeter::AuthzResult(
    const perimeter::Caller&, std::string_view action, std::string_view resource)>;
/// The caller a session's calls run as, from its `run_as` principal id.
using CallerResolver = std::function<Result<perimeter::Caller>(const std::string& principal_id)>;

/// What the runtime works with. Borrowed: all must outlive the Runtime.
struct RuntimePorts {
  agents::AgentStore* store = nullptr;
  ModelCaller* models = nullptr;
  audit::AuditSink* audit = nullptr;  ///< null: tool executions are not audited (tests)
  ToolAuthorizer authorize_tool;      ///< null: every tool is allowed
  /// null: a plain caller {principal_id = name = run_as, kind "user", root iff "root"}.
  CallerResolver resolve_caller;
};

class Runtime final : public agents::SessionDriver {
 public:
  Runtime(RuntimePorts ports, RuntimeOptions options);
  /// stop()s.
  ~Runtime() override;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Starts the runtime's thread, resumes idle sessions that have queued user events (a lost
  /// wake-up), reaps sessions left running by a dead holder, and keeps reaping every
  /// reap_interval.
  void start();
  /// Cancels running tools, stops the thread. Leases are not released: they expire and the
  /// sessions are resumed by the next runtime (as after a crash).
  void stop();

  /// SessionDriver: posts to the runtime's thread; never blocks.
  void eventsAppended(const std::string& session_id) override;

  /// Runs the reaper once now (on the runtime's thread).
  void reapNow();

  const std::string& holderId() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::agent_runtime
