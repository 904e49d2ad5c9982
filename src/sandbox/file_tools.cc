// read, write, edit: in-process, confined with openat2(RESOLVE_BENEATH) under one root.

#include "basalt/sandbox/tools.h"

#include "tool_support.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace basalt::sandbox {
namespace {

using detail::fail;
using detail::ok;

constexpr std::int64_t kDefaultReadLines = 2000;
constexpr std::int64_t kMaxReadLines = 20000;
constexpr std::size_t kMaxLineChars = 2000;
constexpr std::size_t kMaxReadOutput = 256 * 1024;
constexpr std::size_t kMaxEditBytes = 16 << 20;

class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Opens an existing regular file for the tools. O_NONBLOCK so a FIFO planted by a sandboxed
// command cannot hang the server; anything but a regular file is refused.
Result<int> openRegular(const ConfinedPath& p, int access) {
  int fd = detail::openBeneath(p.root->dir_fd, p.relative, access | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return Error::invalid(detail::openErrorMessage(fd, p.display));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Error::invalid("Cannot stat " + p.display);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Error::invalid("Path is a directory, not a file: " + p.display +
                          " (use glob, or bash with ls)");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error::invalid("Not a regular file: " + p.display);
  }
  if (access != O_RDONLY && st.st_nlink > 1) {
    // A hard link could make a write land in a file that is also reachable elsewhere.
    ::close(fd);
    return Error::invalid("Refusing to modify a file with several hard links: " + p.display);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

// Creates the missing parent directories of p, each step confined like the final open.
Result<void> makeParents(const Sandbox& sandbox, const ConfinedPath& p) {
  std::string prefix;
  std::size_t pos = 0;
  for (;;) {
    auto slash = p.relative.find('/', pos);
    if (slash == std::string::npos) return {};
    std::string parent = prefix.empty() ? "." : prefix;
    std::string name = p.relative.substr(pos, slash - pos);
    prefix = p.relative.substr(0, slash);
    pos = slash + 1;
    int dir = detail::openBeneath(p.root->dir_fd, parent, O_PATH | O_DIRECTORY);
    if (dir < 0) return Error::invalid(detail::openErrorMessage(dir, p.display));
    ScopedFd dir_fd(dir);
    if (::mkdirat(dir, name.c_str(), 0755) == 0) {
      int made = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (made >= 0) {
        detail::chownForSandbox(sandbox, made);
        ::close(made);
      }
    } else if (errno != EEXIST) {
      return Error::invalid("Cannot create directory " + prefix + ": " + std::strerror(errno));
    }
  }
}

Result<void> writeAll(int fd, std::string_view data) {
  if (::ftruncate(fd, 0) != 0) return Error::invalid(std::string("truncate: ") + strerror(errno));
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + off, data.size() - off, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::invalid(std::string("write: ") + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  return {};
}

bool writableRoot(const ConfinedPath& p) {
  return !p.root->read_only;
}

}  // namespace

ToolOutcome readTool(const Sandbox& sandbox, std::string_view input_json) {
  auto in = detail::Input::parse(input_json);
  if (!in) return fail(in.error().message);
  auto path = in->requiredString("file_path");
  if (!path) return fail(path.error().message);
  auto offset = in->optionalInt("offset");
  if (!offset) return fail(offset.error().message);
  auto limit = in->optionalInt("limit");
  if (!limit) return fail(limit.error().message);
  std::int64_t first = offset->value_or(1);
  if (first < 1) first = 1;                                  // 0 is a common "from the start"
  first = std::min<std::int64_t>(first, 1'000'000'000'000);  // keeps first + count in range
  std::int64_t count = limit->value_or(kDefaultReadLines);
  if (count < 1) return fail("field \"limit\" must be positive");
  count = std::min(count, kMaxReadLines);

  auto cp = sandbox.confine(*path);
  if (!cp) return fail(cp.error().message);
  auto fd = openRegular(*cp, O_RDONLY);
  if (!fd) return fail(fd.error().message);
  ScopedFd file(*fd);

  std::string out;
  std::string line;
  std::int64_t lineno = 1;
  bool truncated_output = false;
  bool any_bytes = false;
  bool checked_binary = false;
  char buf[65536];
  auto emit = [&](std::string& text) {
    if (lineno >= first && lineno < first + count && !truncated_output) {
      if (text.size() > kMaxLineChars) {
        text.resize(kMaxLineChars);
        text += "... [line truncated]";
      }
      char num[32];
      std::snprintf(num, sizeof num, "%6lld\t", static_cast<long long>(lineno));
      out += num;
      out += text;
      out += '\n';
      if (out.size() > kMaxReadOutput) truncated_output = true;
    }
    ++lineno;
    text.clear();
  };
  for (;;) {
    ssize_t n = ::read(file.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("Cannot read " + cp->display + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    any_bytes = true;
    std::string_view chunk(buf, static_cast<std::size_t>(n));
    if (!checked_binary) {
      checked_binary = true;
      if (chunk.substr(0, 8192).find('\0') != std::string_view::npos) {
        return fail("Binary file, not shown: " + cp->display +
                    " (inspect it with bash, e.g. xxd or file)");
      }
    }
    std::size_t start = 0;
    while (start < chunk.size()) {
      auto nl = chunk.find('\n', start);
      if (nl == std::string_view::npos) {
        // Keep at most what will be shown of an overlong line.
        if (line.size() < kMaxLineChars + 1) {
          line.append(chunk.substr(start, kMaxLineChars + 1 - line.size()));
        }
        break;
      }
      if (line.size() < kMaxLineChars + 1) {
        line.append(chunk.substr(start, std::min(nl - start, kMaxLineChars + 1 - line.size())));
      }
      emit(line);
      start = nl + 1;
    }
    if (lineno >= first + count || truncated_output) break;
  }
  if (!line.empty()) emit(line);
  if (!any_bytes) return ok("(the file " + cp->display + " is empty)");
  if (out.empty()) {
    return ok("(the file " + cp->display + " has " + std::to_string(lineno - 1) +
              " lines; offset " + std::to_string(first) + " is past the end)");
  }
  if (truncated_output) out += "[output truncated: read a smaller range with offset and limit]\n";
  return ok(detail::toValidUtf8(out));
}

ToolOutcome writeTool(const Sandbox& sandbox, std::string_view input_json) {
  auto in = detail::Input::parse(input_json);
  if (!in) return fail(in.error().message);
  auto path = in->requiredString("file_path");
  if (!path) return fail(path.error().message);
  auto content = in->requiredString("content");
  if (!content) return fail(content.error().message);
  if (content->size() > sandbox.options().limits.max_file_bytes) {
    return fail("Content is larger than the sandbox's file size limit");
  }
  auto cp = sandbox.confine(*path);
  if (!cp) return fail(cp.error().message);
  if (cp->relative == ".") return fail("Path is a directory, not a file: " + cp->display);
  if (!writableRoot(*cp)) return fail("Read-only location: " + cp->display);
  if (auto made = makeParents(sandbox, *cp); !made) return fail(made.error().message);

  bool created = true;
  int fd = detail::openBeneath(cp->root->dir_fd, cp->relative,
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0644);
  if (fd == -EEXIST) {
    created = false;
    auto existing = openRegular(*cp, O_WRONLY);
    if (!existing) return fail(existing.error().message);
    fd = *existing;
  } else if (fd < 0) {
    return fail(detail::openErrorMessage(fd, cp->display));
  }
  ScopedFd file(fd);
  if (created) detail::chownForSandbox(sandbox, fd);
  if (auto w = writeAll(fd, *content); !w) return fail(w.error().message);
  if (created) return ok("File created successfully at: " + cp->display);
  return ok("The file " + cp->display + " has been overwritten.");
}

ToolOutcome editTool(const Sandbox& sandbox, std::string_view input_json) {
  auto in = detail::Input::parse(input_json);
  if (!in) return fail(in.error().message);
  auto path = in->requiredString("file_path");
  if (!path) return fail(path.error().message);
  auto old_string = in->requiredString("old_string");
  if (!old_string) return fail(old_string.error().message);
  auto new_string = in->requiredString("new_string");
  if (!new_string) return fail(new_string.error().message);
  auto replace_all = in->optionalBool("replace_all");
  if (!replace_all) return fail(replace_all.error().message);
  if (*old_string == *new_string) return fail("old_string and new_string are identical");

  auto cp = sandbox.confine(*path);
  if (!cp) return fail(cp.error().message);
  if (!writableRoot(*cp)) return fail("Read-only location: " + cp->display);

  if (old_string->empty()) {
    // Creating a new file through edit; an existing one needs a real old_string.
    if (cp->relative == ".") return fail("Path is a directory, not a file: " + cp->display);
    if (auto made = makeParents(sandbox, *cp); !made) return fail(made.error().message);
    int fd = detail::openBeneath(cp->root->dir_fd, cp->relative,
                                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0644);
    if (fd == -EEXIST) {
      return fail("old_string is empty but " + cp->display +
                  " already exists: give the text to replace");
    }
    if (fd < 0) return fail(detail::openErrorMessage(fd, cp->display));
    ScopedFd file(fd);
    detail::chownForSandbox(sandbox, fd);
    if (auto w = writeAll(fd, *new_string); !w) return fail(w.error().message);
    return ok("File created successfully at: " + cp->display);
  }

  auto fd = openRegular(*cp, O_RDWR);
  if (!fd) return fail(fd.error().message);
  ScopedFd file(*fd);
  std::string text;
  if (!detail::readAll(file.get(), kMaxEditBytes, text)) {
    return fail("File is too large to edit (over 16 MiB) or unreadable: " + cp->display);
  }
  std::size_t count = 0;
  for (auto pos = text.find(*old_string); pos != std::string::npos;
       pos = text.find(*old_string, pos + old_string->size())) {
    ++count;
  }
  if (count == 0) return fail("old_string was not found in " + cp->display);
  const bool all = replace_all->value_or(false);
  if (count > 1 && !all) {
    return fail("old_string occurs " + std::to_string(count) + " times in " + cp->display +
                "; add surrounding context to make it unique, or set replace_all to true");
  }
  std::string result;
  result.reserve(text.size() + count * new_string->size());
  std::size_t from = 0;
  for (auto pos = text.find(*old_string); pos != std::string::npos;
       pos = text.find(*old_string, from)) {
    result.append(text, from, pos - from);
    result += *new_string;
    from = pos + old_string->size();
    if (!all) break;
  }
  result.append(text, from, std::string::npos);
  if (result.size() > sandbox.options().limits.max_file_bytes) {
    return fail("The edited file would exceed the sandbox's file size limit");
  }
  if (auto w = writeAll(file.get(), result); !w) return fail(w.error().message);
  return ok("The file " + cp->display + " has been updated" +
            (all ? " (" + std::to_string(count) + " replacements)." : "."));
}

}  // namespace basalt::sandbox
