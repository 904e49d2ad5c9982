#pragma once
/// The pure half of the agent loop: an agent's configuration as the loop needs it, the reading
/// of a session's event log (which turn is open, which tool uses wait for what), and the model
/// request rebuilt from the log. No I/O, no Asio: everything here is a function of its inputs,
/// so the runtime can resume any session from its log alone.
///
/// Turn model. A `user.message` opens a turn when none is open; one sent while a turn is open
/// (running, or waiting on a tool confirmation / custom tool result) is *deferred*: in the
/// rebuilt conversation it follows the turn's close. A turn closes at a `session.status_idle`
/// whose stop reason is not `requires_action` (end_turn, budget_reached, retries_exhausted,
/// refusal). Tool uses are keyed by the id of their `agent.tool_use` / `agent.mcp_tool_use` /
/// `agent.custom_tool_use` event; that id is also the tool-use id the model sees, so results
/// pair up across restarts (`agent.tool_result.tool_use_id`,
/// `agent.mcp_tool_result.mcp_tool_use_id`, `user.custom_tool_result`).

#include "basalt/agents/records.h"
#include "basalt/canonical/chat.h"
#include "basalt/core/error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::agent_runtime {

/// A built-in tool of `agent_toolset_20260401` as configured on the agent.
struct BuiltinTool {
  std::string name;
  bool enabled = true;
  bool always_ask = false;  ///< permission_policy always_ask (else always_allow)
};

/// An `mcp_toolset` of the agent joined with its `mcp_servers` entry. Per-tool `configs` override
/// the toolset's `default_config` (whose policy defaults to always_ask, as the agents API
/// resolves it).
struct McpToolset {
  struct ToolConfig {
    std::string name;
    bool enabled = true;
    bool always_ask = true;
  };
  std::string server_name;
  std::string url;
  bool default_enabled = true;
  bool default_ask = true;
  std::vector<ToolConfig> configs;

  bool enabled(std::string_view tool) const;
  bool ask(std::string_view tool) const;
};

/// What the loop reads from an agent version's body.
struct AgentConfig {
  std::string model;   ///< model.id
  std::string effort;  ///< model.effort.type, may be empty
  std::string system;
  bool has_toolset = false;
  std::vector<BuiltinTool> builtin;  ///< every toolset tool, resolved against default_config
  std::vector<canonical::ToolSpec> custom;
  std::vector<McpToolset> mcp;  ///< toolsets whose server is declared in mcp_servers
};

/// Parses the stored agent body (agents/api_agents.cc shape): the built-in toolset, custom
/// tools and MCP toolsets.
Result<AgentConfig> parseAgentConfig(std::string_view body);

/// How a tool name is governed for this agent.
struct ToolPolicy {
  enum class Kind : std::uint8_t { kUnknown, kBuiltin, kCustom };
  Kind kind = Kind::kUnknown;
  bool ask = false;  ///< built-in under always_ask
};
ToolPolicy toolPolicy(const AgentConfig& config, std::string_view name);

/// The tool declarations sent to the model: enabled sandbox tools (bash, read, write, edit,
/// glob, grep; web_fetch is not offered) then the custom tools.
std::vector<canonical::ToolSpec> toolSpecs(const AgentConfig& config);

/// The name an MCP tool is offered to the model under: `mcp__<server>__<tool>`, restricted to
/// `[A-Za-z0-9_-]` and 64 characters (what every provider accepts). When sanitizing or
/// shortening changed anything, a hash of the exact server and tool names is appended, so
/// distinct tools keep distinct names. Pure: the rebuild of old turns derives the same name.
std::string mcpToolName(std::string_view server, std::string_view tool);

/// The log read as turns.
struct LogView {
  /// Events in conversation order (deferred user messages moved after their turn's close).
  std::vector<const agents::SessionEvent*> effective;
  bool open = false;           ///< a turn is in progress (or waiting on the user)
  std::size_t turn_begin = 0;  ///< index in `effective` of the open (or last) turn's start
  /// user.message events sent during the open turn, waiting for it to close.
  std::vector<const agents::SessionEvent*> deferred;
};
LogView readLog(const std::vector<agents::SessionEvent>& events);

/// The unanswered tool uses of the open turn.
struct PendingTools {
  struct Denied {
    const agents::SessionEvent* use = nullptr;
    std::string message;
  };
  std::vector<const agents::SessionEvent*> runnable;  ///< allowed, or confirmed "allow"
  std::vector<Denied> denied;                         ///< confirmed "deny"
  std::vector<std::string> waiting;  ///< event ids awaiting a confirmation or custom result
};
PendingTools pendingTools(const LogView& view, const std::vector<agents::SessionEvent>& events);

/// The `type` of a status_idle event's stop_reason ("end_turn", "requires_action" ...).
std::string idleStopType(const agents::SessionEvent& event);

/// The model request for the current state of the log.
struct BuiltRequest {
  canonical::ChatRequest request;
  std::int64_t first_kept_seq = 0;  ///< seq of the oldest event still in the context
  std::int64_t estimated_tokens = 0;
  bool compacted = false;  ///< this call dropped turns that the previous compaction kept
  /// When `compacted`: the messages this call dropped (from the previous compaction point up to
  /// the new one), in order: what a new summary must cover besides `BuildOptions::summary`.
  /// `request` then still starts at the new point with the *previous* summary (drop-only).
  std::vector<canonical::Message> dropped;
};

struct BuildOptions {
  std::int64_t max_tokens = 8192;
  /// When the estimated input exceeds this, the oldest turns are dropped (never the open one).
  std::int64_t context_token_budget = 150'000;
  /// The context starts at this seq (from the last agent.thread_context_compacted), 0: all.
  std::int64_t first_kept_seq = 0;
  /// The summary of everything before `first_kept_seq` (the last compaction event's), may be
  /// empty. Put in front of the first kept user message (`summaryBlockText`).
  std::string summary;
  /// Tokens kept free for a new summary when turns are dropped (the summary call's max_tokens);
  /// 0: drop-only compaction.
  std::int64_t summary_reserve_tokens = 0;
  /// Tools offered after the agent's own (the session's resolved MCP tools).
  std::vector<canonical::ToolSpec> extra_tools;
};

BuiltRequest buildRequest(const AgentConfig& config, const LogView& view,
                          const std::vector<agents::SessionEvent>& events,
                          const BuildOptions& options);

/// The text block that carries a compaction summary at the start of the kept context:
/// "Summary of the earlier part of this session:\n<summary>".
std::string summaryBlockText(std::string_view summary);

/// Bounds of a summarization call.
struct SummaryOptions {
  std::int64_t max_tokens = 2048;  ///< the summary's max_tokens
  /// The whole summarization input (instruction, previous summary, transcript) stays under
  /// this estimate: when the dropped part is larger, only its most recent part is kept.
  std::int64_t input_token_budget = 150'000;
};

/// A summarization call: one user message holding the previous summary and a plain-text
/// transcript of `dropped` (tool calls and results rendered as text, so the request needs no
/// tool declarations), no tools, the agent's model.
struct SummaryRequest {
  canonical::ChatRequest request;
  std::size_t omitted_bytes = 0;  ///< transcript bytes left out (oldest first) to fit the budget
};
SummaryRequest summaryRequest(const AgentConfig& config, std::string_view previous_summary,
                              const std::vector<canonical::Message>& dropped,
                              const SummaryOptions& options);

/// The summary text of a summarization answer (its text blocks, trimmed), cut on a UTF-8
/// boundary to `max_bytes`; empty when the model wrote none.
std::string summaryText(const canonical::ChatResponse& response, std::size_t max_bytes);

/// Cuts `text` to at most `max_bytes` on a UTF-8 boundary, adding a marker when cut.
std::string capOutput(std::string text, std::size_t max_bytes);

}  // namespace basalt::agent_runtime
