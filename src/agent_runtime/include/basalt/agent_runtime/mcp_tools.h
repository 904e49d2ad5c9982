#pragma once
/// A session's MCP toolsets as the agent loop uses them: one mcp::McpClient per referenced
/// server (connect + tools/list, cached for the worker's lifetime, re-listed when the client
/// re-initialized), the tools offered to the model under `mcpToolName` names (per-tool
/// `enabled` respected), and tools/call. Credentials come from the session's vaults: the first
/// live credential whose `mcp_server_url` equals the server URL exactly (static_bearer token,
/// or an mcp_oauth access token, refreshed with its refresh_token when expired and the new
/// token written back to the vault). Runs on the runtime's thread (store calls are short
/// SQLite transactions, like the rest of the loop).

#include "basalt/agent_runtime/conversation.h"
#include "basalt/canonical/chat.h"
#include "basalt/core/async.h"
#include "basalt/core/error.h"
#include "basalt/mcp/client.h"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::agents {
class AgentStore;
}

namespace basalt::agent_runtime {

/// What a model-facing MCP tool name stands for.
struct McpToolRef {
  std::string server;
  std::string tool;
  bool ask = true;  ///< always_ask
};

/// A server that could not be used this time: a `session.error` of type
/// mcp_authentication_failed_error (auth) or mcp_connection_failed_error.
struct McpServerFailure {
  std::string server;
  bool auth = false;
  std::string message;
};

class McpToolbox {
 public:
  /// `owner_id`: the session owner (whose vaults and credentials are read); `vault_ids`: the
  /// session's vaults, in order.
  McpToolbox(agents::AgentStore& store, std::string owner_id, std::vector<std::string> vault_ids,
             mcp::ClientOptions options);
  ~McpToolbox();
  McpToolbox(const McpToolbox&) = delete;
  McpToolbox& operator=(const McpToolbox&) = delete;

  /// Connects to and lists the tools of every toolset's server not yet resolved (or whose
  /// client re-initialized since). Each server fails at most once per toolbox: the failures
  /// returned are new ones; a failed server offers no tools. `reserved` are names the model
  /// already has (built-in and custom tools): an MCP tool mapping to one is not offered.
  Task<std::vector<McpServerFailure>> resolve(const std::vector<McpToolset>& toolsets,
                                              std::vector<std::string> reserved);
  /// The tools to offer the model (after resolve).
  std::vector<canonical::ToolSpec> specs() const;
  /// The MCP tool behind a model-facing name, or null.
  const McpToolRef* find(std::string_view model_name) const;
  /// tools/call on `toolset`'s server (connecting first when this toolbox has no client for it
  /// yet, e.g. after a restart or a confirmation).
  Task<Result<mcp::ToolResult>> call(const McpToolset& toolset, std::string tool,
                                     std::string input_json);
  /// Ends every server session (DELETE), best effort.
  Task<void> closeAll();

 private:
  struct Server;
  Task<Result<std::string>> bearerFor(const std::string& url);
  Task<Result<Server*>> connected(const McpToolset& toolset);

  agents::AgentStore& store_;
  std::string owner_id_;
  std::vector<std::string> vault_ids_;
  mcp::ClientOptions options_;
  std::map<std::string, std::unique_ptr<Server>> servers_;  ///< by server name
  std::map<std::string, McpToolRef> by_model_name_;
  std::vector<canonical::ToolSpec> specs_;
};

/// Ends the toolbox's sessions and destroys it (for a detached coroutine after a worker ends).
Task<void> closeToolbox(std::unique_ptr<McpToolbox> toolbox);

}  // namespace basalt::agent_runtime
