#pragma once
/// The managed-agents built-in toolset (agent_toolset: bash, read, write, edit, glob, grep) over
/// a Sandbox. Each tool takes the tool_use `input` object as JSON text and returns a ToolOutcome
/// for the `tool_result`. Bad input, confinement violations, missing files, failing commands:
/// all are `is_error` outcomes with a message for the model, never exceptions or crashes.
///
/// Every tool does blocking work: bash runs inside bubblewrap (Sandbox::run) for up to its
/// timeout; the file tools do bounded in-process file I/O (a grep over a big workspace can take
/// a while). Call them on a worker thread, never on an io_context thread. The file tools
/// confine every path to the workspace and the mounts with openat2(RESOLVE_BENEATH): `..` and
/// symlinks cannot leave a root.
///
/// web_fetch is NOT here: the agent runtime runs it as curl through Sandbox::run, under the
/// session's network policy.

#include "basalt/sandbox/sandbox.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::sandbox {

struct ToolOutcome {
  bool is_error = false;
  std::string content;  ///< always valid UTF-8
};

/// What the model is shown for one tool: its name, a description and the JSON Schema of its
/// input (JSON text), matching exactly what the functions below accept.
struct ToolDefinition {
  std::string name;
  std::string description;
  std::string input_schema;  ///< a JSON object (JSON Schema draft 2020-12 subset)
};

/// The six sandbox tools, in a stable order (bash, read, write, edit, glob, grep).
const std::vector<ToolDefinition>& sandboxToolDefinitions();

/// True for "bash", "read", "write", "edit", "glob", "grep".
bool isSandboxTool(std::string_view name);

/// Dispatches on the tool name; an unknown name is an is_error outcome.
ToolOutcome runTool(const Sandbox& sandbox, std::string_view name, std::string_view input_json,
                    const std::shared_ptr<Cancellation>& cancel = {});

/// {command: string, timeout?: integer milliseconds, restart?: bool}. Each command runs in a
/// fresh shell; files and the working directory persist between calls (the cwd starts at
/// /workspace), shell variables do not. `restart` resets the working directory.
ToolOutcome bashTool(const Sandbox& sandbox, std::string_view input_json,
                     const std::shared_ptr<Cancellation>& cancel = {});
/// {file_path, offset?: first line (1-based), limit?: lines (default 2000)}: `cat -n` format.
ToolOutcome readTool(const Sandbox& sandbox, std::string_view input_json);
/// {file_path, content}: creates parent directories, replaces the file.
ToolOutcome writeTool(const Sandbox& sandbox, std::string_view input_json);
/// {file_path, old_string, new_string, replace_all?}: old_string must occur exactly once unless
/// replace_all; an empty old_string creates a file that does not exist yet.
ToolOutcome editTool(const Sandbox& sandbox, std::string_view input_json);
/// {pattern, path?}: files matching a glob (`*`, `?`, `[...]`, `**`, `{a,b}`), newest first.
ToolOutcome globTool(const Sandbox& sandbox, std::string_view input_json);
/// {pattern (RE2), path?, glob?, type?, output_mode?: files_with_matches|content|count, -i?, -n?,
/// -A?, -B?, -C?, head_limit?, multiline?}
ToolOutcome grepTool(const Sandbox& sandbox, std::string_view input_json);

}  // namespace basalt::sandbox
