#pragma once
/// The mock-upstream script language: a `#mock key=value ...` directive line in the last user
/// message overrides the command-line defaults for that one request. The full language is
/// documented in `kScriptHelp` (the `mock-upstream --help` footer).

#include "basalt/core/error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::mock {

/// One parsed directive. Absent fields fall back to the MockOptions defaults.
struct Directive {
  std::optional<std::string> reply;       ///< fixed reply text
  bool echo = false;                      ///< force echo even when a default reply is set
  std::optional<std::string> tool;        ///< reply with a call to this tool
  std::optional<std::string> args;        ///< tool arguments (validated JSON text)
  int tools = 1;                          ///< number of parallel calls to `tool`
  std::optional<int> status;              ///< HTTP error status (0 or 200: succeed)
  std::optional<int> error_after;         ///< vendor error event after N content chunks
  std::optional<int> drop_after;          ///< abort the stream after N content chunks
  std::optional<int> latency_ms;          ///< wait before the first byte
  std::optional<double> tokens_per_s;     ///< pace content chunks
  std::optional<int> chunk;               ///< characters per content chunk (0: one word)
  std::optional<std::int64_t> usage_in;   ///< reported input tokens
  std::optional<std::int64_t> usage_out;  ///< reported output tokens
  std::optional<std::string> reasoning;   ///< reasoning/thinking text emitted before the reply
};

/// A user text split into the directive line (if any) and the rest.
struct SplitText {
  std::string text;                      ///< the text without the directive line, trimmed
  std::optional<std::string> directive;  ///< what followed `#mock` on the directive line
};

/// Finds the first line whose first non-blank characters are `#mock` (followed by a blank or
/// the end of the line) and removes it from the text.
SplitText splitDirective(std::string_view text);

/// Parses the part of a directive line after `#mock`. Unknown keys and malformed values are
/// errors (kInvalidRequest) so that a typo in a test script is loud, not silently ignored.
Result<Directive> parseDirective(std::string_view line);

/// The `--help` footer: the full script language.
extern const char* const kScriptHelp;

}  // namespace basalt::mock
