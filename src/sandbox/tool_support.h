#pragma once
// Helpers shared by the tool implementations. Private to the module.

#include "basalt/core/error.h"
#include "basalt/sandbox/sandbox.h"
#include "basalt/sandbox/tools.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::sandbox::detail {

inline ToolOutcome fail(std::string message) {
  return ToolOutcome{true, std::move(message)};
}
inline ToolOutcome ok(std::string content) {
  return ToolOutcome{false, std::move(content)};
}

/// The tool input as a JSON object, with typed accessors whose errors name the field.
class Input {
 public:
  static Result<Input> parse(std::string_view json);

  Result<std::string> requiredString(std::string_view name) const;
  Result<std::optional<std::string>> optionalString(std::string_view name) const;
  Result<std::optional<std::int64_t>> optionalInt(std::string_view name) const;
  Result<std::optional<bool>> optionalBool(std::string_view name) const;

 private:
  boost::json::object obj_;
};

/// Replaces invalid UTF-8 with U+FFFD so the result can always go into JSON.
std::string toValidUtf8(std::string_view bytes);

/// openat2(dir_fd, relative, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV).
/// Returns the fd or -errno.
int openBeneath(int dir_fd, const std::string& relative, std::uint64_t flags,
                std::uint64_t mode = 0);

/// A message for a failed openBeneath(), naming the sandbox path.
std::string openErrorMessage(int neg_errno, const std::string& display);

/// Gives a file created by an in-process tool to the sandbox's uid when Basalt is root, so the
/// sandboxed commands can modify it.
void chownForSandbox(const Sandbox& sandbox, int fd);

/// Reads a whole regular file up to `max_bytes`; false if it is larger or unreadable.
bool readAll(int fd, std::size_t max_bytes, std::string& out);

/// Glob matching over '/'-separated relative paths: `*`, `?`, `[...]` within one segment, `**`
/// across segments, `{a,b}` alternatives. A leading '.' in a segment is matched only explicitly.
class GlobMatcher {
 public:
  /// Fails on an empty pattern, or a pattern with ".." segments.
  static Result<GlobMatcher> compile(std::string_view pattern);
  bool matches(std::string_view relative_path) const;
  /// True when the pattern has no '/' (then it is matched against the file name alone).
  bool basenameOnly() const { return basename_only_; }

 private:
  std::vector<std::vector<std::string>> alternatives_;  ///< brace-expanded, split on '/'
  bool basename_only_ = false;
};

}  // namespace basalt::sandbox::detail
