#include "basalt/sandbox/tools.h"

#include "tool_support.h"

#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace basalt::sandbox {
namespace detail {

// --- Input ----------------------------------------------------------------------------------

Result<Input> Input::parse(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec) return Error::invalid("tool input is not valid JSON: " + ec.message());
  if (!v.is_object()) return Error::invalid("tool input must be a JSON object");
  Input in;
  in.obj_ = std::move(v.as_object());
  return in;
}

Result<std::string> Input::requiredString(std::string_view name) const {
  auto v = optionalString(name);
  if (!v) return v.error();
  if (!*v)
    return Error::invalid("missing required field \"" + std::string(name) + "\"",
                          std::string(name));
  return std::move(**v);
}

Result<std::optional<std::string>> Input::optionalString(std::string_view name) const {
  const auto* v = obj_.if_contains(name);
  if (v == nullptr || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) {
    return Error::invalid("field \"" + std::string(name) + "\" must be a string",
                          std::string(name));
  }
  return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::optional<std::int64_t>> Input::optionalInt(std::string_view name) const {
  const auto* v = obj_.if_contains(name);
  if (v == nullptr || v->is_null()) return std::optional<std::int64_t>{};
  if (v->is_int64()) return std::optional<std::int64_t>(v->as_int64());
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->as_uint64()));
  }
  if (v->is_double()) {
    double d = v->as_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) {
      return std::optional<std::int64_t>(static_cast<std::int64_t>(d));
    }
  }
  return Error::invalid("field \"" + std::string(name) + "\" must be an integer",
                        std::string(name));
}

Result<std::optional<bool>> Input::optionalBool(std::string_view name) const {
  const auto* v = obj_.if_contains(name);
  if (v == nullptr || v->is_null()) return std::optional<bool>{};
  if (!v->is_bool()) {
    return Error::invalid("field \"" + std::string(name) + "\" must be a boolean",
                          std::string(name));
  }
  return std::optional<bool>(v->as_bool());
}

// --- UTF-8 ----------------------------------------------------------------------------------

std::string toValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool valid = len > 0 && i + len <= n;
    for (std::size_t k = 1; valid && k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (valid) {
      static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      valid = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (valid) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

// --- files ----------------------------------------------------------------------------------

int openBeneath(int dir_fd, const std::string& relative, std::uint64_t flags, std::uint64_t mode) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EAGAIN || errno == EINTR) continue;  // a concurrent rename: just retry
    return -errno;
  }
}

std::string openErrorMessage(int neg_errno, const std::string& display) {
  switch (-neg_errno) {
    case ENOENT:
      return "File does not exist: " + display;
    case EXDEV:
      return "Path escapes the sandbox (a symlink or mount leads outside it): " + display;
    case ELOOP:
      return "Too many levels of symbolic links: " + display;
    case ENOTDIR:
      return "A component of the path is not a directory: " + display;
    case EISDIR:
      return "Path is a directory: " + display;
    case EACCES:
    case EPERM:
      return "Permission denied: " + display;
    case EROFS:
      return "Read-only location: " + display;
    case ENAMETOOLONG:
      return "Path is too long: " + display;
    case ENOSYS:
      return "This kernel lacks openat2 (Linux >= 5.6 is required for file tools)";
    default:
      return "Cannot open " + display + ": " + std::strerror(-neg_errno);
  }
}

void chownForSandbox(const Sandbox& sandbox, int fd) {
  if (sandbox.fileOwnerUid() == static_cast<uid_t>(-1)) return;
  [[maybe_unused]] int rc = ::fchown(fd, sandbox.fileOwnerUid(), sandbox.fileOwnerGid());
}

bool readAll(int fd, std::size_t max_bytes, std::string& out) {
  out.clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) return false;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// --- glob -----------------------------------------------------------------------------------

namespace {

// Expands the first {a,b,...} group (recursively for the rest). Nested braces are literal.
void expandBraces(const std::string& pattern, std::vector<std::string>& out, int depth = 0) {
  auto open = pattern.find('{');
  auto close = open == std::string::npos ? std::string::npos : pattern.find('}', open);
  if (open == std::string::npos || close == std::string::npos || depth > 8 || out.size() > 256) {
    out.push_back(pattern);
    return;
  }
  std::string head = pattern.substr(0, open);
  std::string tail = pattern.substr(close + 1);
  std::string body = pattern.substr(open + 1, close - open - 1);
  std::size_t start = 0;
  for (;;) {
    auto comma = body.find(',', start);
    std::string alt =
        body.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    expandBraces(head + alt + tail, out, depth + 1);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

// One bracket expression "[...]" starting at p[at]: sets `matched` for c and returns the index
// after ']', or npos when the bracket is not closed (then '[' is an ordinary character).
std::size_t matchBracket(std::string_view p, std::size_t at, unsigned char c, bool& matched) {
  std::size_t i = at + 1;
  bool negate = false;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
    negate = true;
    ++i;
  }
  bool any = false;
  bool first = true;
  while (i < p.size() && (first || p[i] != ']')) {
    first = false;
    if (p[i] == '\\' && i + 1 < p.size()) ++i;
    auto lo = static_cast<unsigned char>(p[i++]);
    auto hi = lo;
    if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
      ++i;
      if (p[i] == '\\' && i + 1 < p.size()) ++i;
      hi = static_cast<unsigned char>(p[i++]);
    }
    if (c >= lo && c <= hi) any = true;
  }
  if (i >= p.size()) return std::string_view::npos;
  matched = any != negate;
  return i + 1;
}

// fnmatch(FNM_PERIOD) for one path segment, without its worst case: glibc's fnmatch backtracks
// exponentially on patterns like "*a*a*a*a*b", which the model controls. This is the classic
// single-backtrack wildcard match, O(|pattern| * |name|).
bool matchSegment(std::string_view p, std::string_view s) {
  if (!s.empty() && s[0] == '.' && (p.empty() || p[0] != '.')) return false;
  constexpr auto npos = std::string_view::npos;
  std::size_t pi = 0, si = 0, star_p = npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      const char pc = p[pi];
      if (pc == '*') {
        star_p = ++pi;
        star_s = si;
        continue;
      }
      if (pc == '?') {
        ++pi;
        ++si;
        continue;
      }
      if (pc == '[') {
        bool m = false;
        auto next = matchBracket(p, pi, static_cast<unsigned char>(s[si]), m);
        if (next != npos && m) {
          pi = next;
          ++si;
          continue;
        }
        if (next == npos && s[si] == '[') {
          ++pi;
          ++si;
          continue;
        }
      } else if (pc == '\\' && pi + 1 < p.size()) {
        if (p[pi + 1] == s[si]) {
          pi += 2;
          ++si;
          continue;
        }
      } else if (pc == s[si]) {
        ++pi;
        ++si;
        continue;
      }
    }
    if (star_p == npos) return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

// Segment-wise matching with `**`, memoized on (pattern index, path index) so that patterns
// with many `**` stay polynomial.
class SegmentMatch {
 public:
  SegmentMatch(const std::vector<std::string>& pat, const std::vector<std::string>& path)
      : pat_(pat), path_(path), memo_((pat.size() + 1) * (path.size() + 1), -1) {}

  bool at(std::size_t pi, std::size_t si) {
    auto& m = memo_[pi * (path_.size() + 1) + si];
    if (m < 0) m = compute(pi, si) ? 1 : 0;
    return m == 1;
  }

 private:
  bool compute(std::size_t pi, std::size_t si) {
    if (pi == pat_.size()) return si == path_.size();
    if (pat_[pi] == "**") {
      // Zero or more segments; hidden directories only when named explicitly.
      for (std::size_t k = si; k <= path_.size(); ++k) {
        if (at(pi + 1, k)) return true;
        if (k < path_.size() && !path_[k].empty() && path_[k][0] == '.') return false;
      }
      return false;
    }
    if (si == path_.size()) return false;
    return matchSegment(pat_[pi], path_[si]) && at(pi + 1, si + 1);
  }

  const std::vector<std::string>& pat_;
  const std::vector<std::string>& path_;
  std::vector<signed char> memo_;
};

}  // namespace

Result<GlobMatcher> GlobMatcher::compile(std::string_view pattern) {
  if (pattern.empty()) return Error::invalid("pattern is empty", "pattern");
  if (pattern.size() > 1024) return Error::invalid("pattern is too long", "pattern");
  GlobMatcher m;
  m.basename_only_ = pattern.find('/') == std::string_view::npos;
  std::vector<std::string> expanded;
  expandBraces(std::string(pattern), expanded);
  for (const auto& p : expanded) {
    auto parts = splitPath(p);
    for (const auto& part : parts) {
      if (part == "..") return Error::invalid("pattern must not contain \"..\"", "pattern");
    }
    if (!parts.empty()) m.alternatives_.push_back(std::move(parts));
  }
  if (m.alternatives_.empty()) return Error::invalid("pattern matches nothing", "pattern");
  return m;
}

bool GlobMatcher::matches(std::string_view relative_path) const {
  auto path = splitPath(relative_path);
  for (const auto& alt : alternatives_) {
    if (SegmentMatch(alt, path).at(0, 0)) return true;
  }
  return false;
}

}  // namespace detail

// --- dispatch and bash ----------------------------------------------------------------------

using detail::fail;
using detail::ok;

namespace {

// execve() refuses a single argument over 128 KiB (MAX_ARG_STRLEN); stay clear of it.
constexpr std::size_t kMaxCommandBytes = 100 * 1024;

// $1: the directory to start in, $2: the command. The EXIT trap reports the final directory
// on the state channel (not run when the command replaces the shell with exec: cwd then
// stays as it was).
constexpr const char* kShellWrapper =
    "__basalt_cmd=$2; cd -- \"$1\" 2>/dev/null || cd /workspace; set --; "
    "trap 'pwd >&{STATE_FD}' EXIT; eval \"$__basalt_cmd\"";

}  // namespace

bool isSandboxTool(std::string_view name) {
  return name == "bash" || name == "read" || name == "write" || name == "edit" || name == "glob" ||
         name == "grep";
}

ToolOutcome runTool(const Sandbox& sandbox, std::string_view name, std::string_view input_json,
                    const std::shared_ptr<Cancellation>& cancel) {
  if (name == "bash") return bashTool(sandbox, input_json, cancel);
  if (name == "read") return readTool(sandbox, input_json);
  if (name == "write") return writeTool(sandbox, input_json);
  if (name == "edit") return editTool(sandbox, input_json);
  if (name == "glob") return globTool(sandbox, input_json);
  if (name == "grep") return grepTool(sandbox, input_json);
  return fail("Unknown sandbox tool: " + detail::toValidUtf8(name));
}

ToolOutcome bashTool(const Sandbox& sandbox, std::string_view input_json,
                     const std::shared_ptr<Cancellation>& cancel) {
  auto in = detail::Input::parse(input_json);
  if (!in) return fail(in.error().message);
  auto restart = in->optionalBool("restart");
  if (!restart) return fail(restart.error().message);
  auto command = in->optionalString("command");
  if (!command) return fail(command.error().message);
  if (restart->value_or(false)) {
    sandbox.setShellCwd("/workspace");
    if (!*command) {
      return ok("Bash session restarted: the working directory is /workspace again.");
    }
  }
  if (!*command || (*command)->empty()) return fail("missing required field \"command\"");
  if ((*command)->size() > kMaxCommandBytes) {
    return fail(
        "command is too long (over 100 KiB): write it to a script file with the write "
        "tool and run the script");
  }
  auto timeout = in->optionalInt("timeout");
  if (!timeout) return fail(timeout.error().message);
  RunSpec spec;
  // Each call is a fresh shell, but the working directory carries over like in a persistent
  // session: the shell starts where the last call ended and reports `pwd` on the state channel
  // when it exits.
  spec.argv = {"/bin/bash", "-c", kShellWrapper, "bash", sandbox.shellCwd(), **command};
  spec.state_channel = true;
  if (*timeout) {
    if (**timeout <= 0) return fail("field \"timeout\" must be a positive number of milliseconds");
    spec.timeout = std::chrono::milliseconds(**timeout);
  }
  spec.cancel = cancel;
  auto r = sandbox.run(spec);
  if (!r) return fail(r.error().message);
  if (auto cwd = r->state; !cwd.empty() && cwd.back() == '\n') {
    cwd.pop_back();
    // Only a plausible absolute path; `cd` inside the sandbox is the real check next time.
    if (!cwd.empty() && cwd[0] == '/' && cwd.find('\n') == std::string::npos) {
      sandbox.setShellCwd(std::move(cwd));
    }
  }

  std::string content = detail::toValidUtf8(r->output);
  auto note = [&](const std::string& line) {
    if (!content.empty() && content.back() != '\n') content += '\n';
    content += line;
  };
  if (r->timed_out) {
    auto limit = spec.timeout.value_or(sandbox.options().limits.wall_timeout);
    limit = std::min(limit, sandbox.options().limits.max_wall_timeout);
    note("Command timed out after " + std::to_string(limit.count()) + " ms and was killed.");
  } else if (r->cancelled) {
    note("Command was interrupted.");
  } else if (r->flood_killed) {
    note("Command was killed: it kept writing output far past the limit.");
  } else if (r->exit_code != 0) {
    note("Exit code: " + std::to_string(r->exit_code));
  }
  if (content.empty()) content = "(no output)";
  bool is_error = r->timed_out || r->cancelled || r->flood_killed || r->exit_code != 0;
  return ToolOutcome{is_error, std::move(content)};
}

}  // namespace basalt::sandbox

namespace basalt::sandbox {

const std::vector<ToolDefinition>& sandboxToolDefinitions() {
  static const std::vector<ToolDefinition> kDefinitions = {
      {"bash",
       "Run a bash command in the session's sandbox (cwd /workspace at first; the working "
       "directory carries over between calls, shell variables do not). No network unless the "
       "environment allows it. Output is stdout and stderr together, truncated when long.",
       R"j({"type":"object","properties":{
"command":{"type":"string","description":"The command to run"},
"timeout":{"type":"integer","minimum":1,"description":"Timeout in milliseconds"},
"restart":{"type":"boolean","description":"Reset the shell (working directory)"}},
"additionalProperties":false})j"},
      {"read",
       "Read a text file from the sandbox. Output is numbered lines (cat -n); use offset and "
       "limit for long files. Paths are absolute (/workspace/...) or relative to /workspace.",
       R"j({"type":"object","properties":{
"file_path":{"type":"string","description":"The file to read"},
"offset":{"type":"integer","minimum":1,"description":"First line to read (1-based)"},
"limit":{"type":"integer","minimum":1,"description":"Number of lines (default 2000)"}},
"required":["file_path"],"additionalProperties":false})j"},
      {"write", "Create or overwrite a file in the sandbox, creating missing parent directories.",
       R"j({"type":"object","properties":{
"file_path":{"type":"string","description":"The file to write"},
"content":{"type":"string","description":"The full new content"}},
"required":["file_path","content"],"additionalProperties":false})j"},
      {"edit",
       "Replace text in a file: old_string must occur exactly once unless replace_all is true. "
       "An empty old_string creates a file that does not exist yet.",
       R"j({"type":"object","properties":{
"file_path":{"type":"string","description":"The file to edit"},
"old_string":{"type":"string","description":"The exact text to replace"},
"new_string":{"type":"string","description":"The replacement text"},
"replace_all":{"type":"boolean","description":"Replace every occurrence"}},
"required":["file_path","old_string","new_string"],"additionalProperties":false})j"},
      {"glob", "Find files by glob pattern (*, ?, [..], ** for any depth, {a,b}), newest first.",
       R"j({"type":"object","properties":{
"pattern":{"type":"string","description":"Glob, e.g. **/*.py"},
"path":{"type":"string","description":"Directory to search (default /workspace)"}},
"required":["pattern"],"additionalProperties":false})j"},
      {"grep",
       "Search file contents with a regular expression (RE2 syntax). Skips binary files and "
       ".git. output_mode: files_with_matches (default), content, or count.",
       R"j({"type":"object","properties":{
"pattern":{"type":"string","description":"Regular expression (RE2)"},
"path":{"type":"string","description":"File or directory (default /workspace)"},
"glob":{"type":"string","description":"Only files matching this glob, e.g. *.ts"},
"type":{"type":"string","description":"File type: c, cpp, go, java, js, ts, py, rust, sh, md..."},
"output_mode":{"type":"string","enum":["files_with_matches","content","count"]},
"-i":{"type":"boolean","description":"Case insensitive"},
"-n":{"type":"boolean","description":"Line numbers in content mode (default true)"},
"-A":{"type":"integer","minimum":0,"description":"Lines of context after each match"},
"-B":{"type":"integer","minimum":0,"description":"Lines of context before each match"},
"-C":{"type":"integer","minimum":0,"description":"Lines of context around each match"},
"head_limit":{"type":"integer","minimum":0,"description":"At most this many lines or files"},
"multiline":{"type":"boolean","description":"Let the pattern and . span lines"}},
"required":["pattern"],"additionalProperties":false})j"},
  };
  return kDefinitions;
}

}  // namespace basalt::sandbox
