// glob and grep: in-process directory walks that never follow symlinks to directories (so a
// walk cannot leave its root) and RE2 for the regular expressions (linear time, no ReDoS).

#include "basalt/sandbox/tools.h"

#include "tool_support.h"

#include <re2/re2.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>

namespace basalt::sandbox {
namespace {

using detail::fail;
using detail::ok;

constexpr std::size_t kMaxVisited = 200'000;
constexpr int kMaxDepth = 64;
constexpr std::size_t kGlobMaxResults = 100;
constexpr std::size_t kGrepMaxFileBytes = 16 << 20;
constexpr std::size_t kMaxOutput = 64 * 1024;
constexpr std::int64_t kMaxContext = 50;

struct FileHit {
  std::string rel;  ///< relative to the search directory
  int dir_fd;       ///< valid only during the callback
  std::string name;
  struct stat st;
};

// Walks `dir_fd` depth-first. Directories are entered with O_NOFOLLOW; `on_file` sees regular
// files and symlinks (lstat). Returns false when the visit limit stopped the walk.
class Walker {
 public:
  Walker(bool skip_vcs, std::function<void(const FileHit&)> on_file)
      : skip_vcs_(skip_vcs), on_file_(std::move(on_file)) {}

  bool walk(int dir_fd, const std::string& rel, int depth) {
    if (depth > kMaxDepth) return true;
    int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return true;
    DIR* dir = ::fdopendir(dup);
    if (dir == nullptr) {
      ::close(dup);
      return true;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir)) {
      std::string_view n = e->d_name;
      if (n == "." || n == "..") continue;
      names.emplace_back(n);
      if (++visited_ > kMaxVisited) break;
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (visited_ > kMaxVisited) return false;
      struct stat st {};
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      std::string child = rel.empty() ? name : rel + "/" + name;
      if (S_ISDIR(st.st_mode)) {
        if (skip_vcs_ && (name == ".git" || name == ".hg" || name == ".svn")) continue;
        int sub = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) continue;
        bool more = walk(sub, child, depth + 1);
        ::close(sub);
        if (!more) return false;
      } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
        on_file_(FileHit{child, dir_fd, name, st});
      }
    }
    return visited_ <= kMaxVisited;
  }

 private:
  bool skip_vcs_;
  std::function<void(const FileHit&)> on_file_;
  std::size_t visited_ = 0;
};

std::string joinDisplay(const std::string& base, const std::string& rel) {
  if (rel.empty()) return base;
  return base == "/" ? "/" + rel : base + "/" + rel;
}

bool newerFirst(const struct stat& a, const struct stat& b) {
  if (a.st_mtim.tv_sec != b.st_mtim.tv_sec) return a.st_mtim.tv_sec > b.st_mtim.tv_sec;
  return a.st_mtim.tv_nsec > b.st_mtim.tv_nsec;
}

// Resolves the optional `path` argument to an open directory (or file, for grep).
struct SearchBase {
  ConfinedPath where;
  int fd = -1;
  bool is_dir = false;
  struct stat st {};
};

Result<SearchBase> openSearchBase(const Sandbox& sandbox, const std::optional<std::string>& path) {
  auto cp = sandbox.confine(path.value_or("/workspace"));
  if (!cp) return cp.error();
  SearchBase base;
  base.where = *cp;
  int fd = detail::openBeneath(cp->root->dir_fd, cp->relative, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return Error::invalid(detail::openErrorMessage(fd, cp->display));
  if (::fstat(fd, &base.st) != 0) {
    ::close(fd);
    return Error::invalid("Cannot stat " + cp->display);
  }
  base.fd = fd;
  base.is_dir = S_ISDIR(base.st.st_mode);
  if (!base.is_dir && !S_ISREG(base.st.st_mode)) {
    ::close(fd);
    return Error::invalid("Not a file or directory: " + cp->display);
  }
  return base;
}

// ripgrep-style --type names for the common languages.
std::optional<std::string> typeGlob(std::string_view type) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {"c", "*.{c,h}"},
      {"cpp", "*.{cc,cpp,cxx,c++,h,hh,hpp,hxx,inl}"},
      {"go", "*.go"},
      {"java", "*.java"},
      {"js", "*.{js,mjs,cjs,jsx}"},
      {"ts", "*.{ts,tsx,mts,cts}"},
      {"json", "*.json"},
      {"md", "*.{md,markdown}"},
      {"py", "*.{py,pyi}"},
      {"rust", "*.rs"},
      {"rs", "*.rs"},
      {"sh", "*.{sh,bash,zsh}"},
      {"toml", "*.toml"},
      {"yaml", "*.{yaml,yml}"},
      {"html", "*.{html,htm}"},
      {"css", "*.{css,scss}"},
      {"sql", "*.sql"},
      {"txt", "*.txt"},
  };
  auto it = kTypes.find(type);
  if (it == kTypes.end()) return std::nullopt;
  return std::string(it->second);
}

}  // namespace

ToolOutcome globTool(const Sandbox& sandbox, std::string_view input_json) {
  auto in = detail::Input::parse(input_json);
  if (!in) return fail(in.error().message);
  auto pattern = in->requiredString("pattern");
  if (!pattern) return fail(pattern.error().message);
  auto path = in->optionalString("path");
  if (!path) return fail(path.error().message);
  auto base = openSearchBase(sandbox, *path);
  if (!base) return fail(base.error().message);
  int base_fd = base->fd;
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } close_base{base_fd};
  if (!base->is_dir) return fail("path is not a directory: " + base->where.display);

  std::string pat = *pattern;
  if (!pat.empty() && pat[0] == '/') {
    // An absolute pattern must lie under the search directory; match the rest relative to it.
    const std::string& d = base->where.display;
    if (pat.size() > d.size() && pat.compare(0, d.size(), d) == 0 && pat[d.size()] == '/') {
      pat = pat.substr(d.size() + 1);
    } else {
      return fail("An absolute pattern must be under the search path " + d);
    }
  }
  auto matcher = detail::GlobMatcher::compile(pat);
  if (!matcher) return fail(matcher.error().message);

  struct Match {
    std::string rel;
    struct stat st;
  };
  std::vector<Match> matches;
  Walker walker(false, [&](const FileHit& f) {
    // Like a shell glob: "*.py" is the top level only, "**/*.py" any depth.
    bool hit = matcher->matches(f.rel);
    if (hit) matches.push_back(Match{f.rel, f.st});
  });
  bool complete = walker.walk(base_fd, "", 0);
  if (matches.empty())
    return ok(complete ? "No files found"
                       : "No files found (search stopped early: too many entries)");
  std::stable_sort(matches.begin(), matches.end(),
                   [](const Match& a, const Match& b) { return newerFirst(a.st, b.st); });
  std::string out;
  std::size_t shown = std::min(matches.size(), kGlobMaxResults);
  for (std::size_t i = 0; i < shown; ++i) {
    out += joinDisplay(base->where.display, matches[i].rel);
    out += '\n';
  }
  if (matches.size() > shown || !complete) {
    out += "(results truncated: " + std::to_string(matches.size()) + (complete ? "" : "+") +
           " matches; use a more specific pattern or path)\n";
  }
  return ok(detail::toValidUtf8(out));
}

ToolOutcome grepTool(const Sandbox& sandbox, std::string_view input_json) {
  auto in = detail::Input::parse(input_json);
  if (!in) return fail(in.error().message);
  auto pattern = in->requiredString("pattern");
  if (!pattern) return fail(pattern.error().message);
  auto path = in->optionalString("path");
  if (!path) return fail(path.error().message);
  auto glob = in->optionalString("glob");
  if (!glob) return fail(glob.error().message);
  auto type = in->optionalString("type");
  if (!type) return fail(type.error().message);
  auto mode = in->optionalString("output_mode");
  if (!mode) return fail(mode.error().message);
  auto ci = in->optionalBool("-i");
  if (!ci) return fail(ci.error().message);
  auto numbers = in->optionalBool("-n");
  if (!numbers) return fail(numbers.error().message);
  auto after = in->optionalInt("-A");
  if (!after) return fail(after.error().message);
  auto before = in->optionalInt("-B");
  if (!before) return fail(before.error().message);
  auto context = in->optionalInt("-C");
  if (!context) return fail(context.error().message);
  auto head_limit = in->optionalInt("head_limit");
  if (!head_limit) return fail(head_limit.error().message);
  auto multiline = in->optionalBool("multiline");
  if (!multiline) return fail(multiline.error().message);

  const std::string output_mode = mode->value_or("files_with_matches");
  if (output_mode != "files_with_matches" && output_mode != "content" && output_mode != "count") {
    return fail("output_mode must be one of files_with_matches, content, count");
  }
  std::int64_t a = after->value_or(context->value_or(0));
  std::int64_t b = before->value_or(context->value_or(0));
  if (a < 0 || b < 0) return fail("context line counts (-A, -B, -C) must not be negative");
  a = std::min(a, kMaxContext);
  b = std::min(b, kMaxContext);
  std::int64_t limit = head_limit->value_or(0);
  if (limit < 0) return fail("head_limit must not be negative");
  const bool multi = multiline->value_or(false);
  const bool show_numbers = numbers->value_or(true);

  RE2::Options opts;
  opts.set_case_sensitive(!ci->value_or(false));
  opts.set_log_errors(false);
  opts.set_dot_nl(multi);
  opts.set_never_nl(false);
  opts.set_max_mem(64 << 20);
  RE2 re(*pattern, opts);
  if (!re.ok()) return fail("Invalid regular expression (RE2 syntax): " + re.error());

  std::optional<detail::GlobMatcher> filter;
  if (*glob) {
    auto m = detail::GlobMatcher::compile(**glob);
    if (!m) return fail("glob: " + m.error().message);
    filter = std::move(*m);
  } else if (*type) {
    auto g = typeGlob(**type);
    if (!g) return fail("Unknown file type: " + **type);
    auto m = detail::GlobMatcher::compile(*g);
    if (!m) return fail(m.error().message);
    filter = std::move(*m);
  }

  auto base = openSearchBase(sandbox, *path);
  if (!base) return fail(base.error().message);
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } close_base{base->fd};

  struct FileResult {
    std::string display;
    struct stat st;
    std::size_t count = 0;
    std::string lines;  ///< content mode output for this file
  };
  std::vector<FileResult> results;
  std::size_t emitted_lines = 0;
  bool output_full = false;
  const auto max_lines = limit > 0 ? static_cast<std::size_t>(limit) : SIZE_MAX;

  auto searchFile = [&](int fd, const std::string& display, const struct stat& st) {
    if (st.st_size > static_cast<off_t>(kGrepMaxFileBytes)) return;
    std::string text;
    if (!detail::readAll(fd, kGrepMaxFileBytes, text)) return;
    if (std::string_view(text).substr(0, 8192).find('\0') != std::string_view::npos) return;
    // Line starts, to map matches to lines.
    std::vector<std::size_t> starts{0};
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n' && i + 1 < text.size()) starts.push_back(i + 1);
    }
    auto lineOf = [&](std::size_t off) {
      return static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), off) -
                                      starts.begin()) -
             1;
    };
    auto lineText = [&](std::size_t l) {
      std::size_t s = starts[l];
      std::size_t e = l + 1 < starts.size() ? starts[l + 1] - 1 : text.size();
      if (e > s && text[e - 1] == '\n') --e;
      return std::string_view(text).substr(s, e - s);
    };
    std::vector<bool> hit(starts.size(), false);
    std::size_t count = 0;
    if (multi) {
      std::string_view sv(text);
      std::size_t pos = 0;
      re2::StringPiece m;
      while (pos <= sv.size() && re.Match(re2::StringPiece(sv.data(), sv.size()), pos, sv.size(),
                                          RE2::UNANCHORED, &m, 1)) {
        ++count;
        std::size_t s = static_cast<std::size_t>(m.data() - sv.data());
        std::size_t e = s + m.size();
        for (std::size_t l = lineOf(s); l <= lineOf(e > s ? e - 1 : s); ++l) hit[l] = true;
        pos = e > s ? e : e + 1;
      }
    } else {
      for (std::size_t l = 0; l < starts.size(); ++l) {
        auto t = lineText(l);
        if (starts.size() == 1 && text.empty()) break;
        if (RE2::PartialMatch(re2::StringPiece(t.data(), t.size()), re)) {
          hit[l] = true;
          ++count;
        }
      }
    }
    if (count == 0) return;
    FileResult fr{display, st, count, {}};
    if (output_mode == "content") {
      std::int64_t last_printed = -1;
      for (std::size_t l = 0; l < starts.size() && !output_full; ++l) {
        if (!hit[l]) continue;
        std::int64_t from =
            std::max<std::int64_t>(static_cast<std::int64_t>(l) - b, last_printed + 1);
        std::int64_t to = std::min<std::int64_t>(static_cast<std::int64_t>(l) + a,
                                                 static_cast<std::int64_t>(starts.size()) - 1);
        if (last_printed >= 0 && from > last_printed + 1 && (a > 0 || b > 0)) fr.lines += "--\n";
        for (std::int64_t k = from; k <= to; ++k) {
          if (emitted_lines >= max_lines) {
            output_full = true;
            break;
          }
          const bool is_hit = hit[static_cast<std::size_t>(k)];
          char sep = is_hit ? ':' : '-';
          fr.lines += display;
          fr.lines += sep;
          if (show_numbers) {
            fr.lines += std::to_string(k + 1);
            fr.lines += sep;
          }
          auto t = lineText(static_cast<std::size_t>(k));
          fr.lines.append(t.substr(0, 2000));
          if (t.size() > 2000) fr.lines += "... [line truncated]";
          fr.lines += '\n';
          ++emitted_lines;
          last_printed = k;
        }
      }
    }
    results.push_back(std::move(fr));
  };

  bool complete = true;
  if (!base->is_dir) {
    searchFile(base->fd, base->where.display, base->st);
  } else {
    const std::string& root_display = base->where.display;
    Walker walker(true, [&](const FileHit& f) {
      if (output_full || !S_ISREG(f.st.st_mode)) return;
      if (filter && !(filter->basenameOnly() ? filter->matches(f.name) : filter->matches(f.rel))) {
        return;
      }
      int fd = ::openat(f.dir_fd, f.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) return;
      struct stat st {};
      if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        searchFile(fd, joinDisplay(root_display, f.rel), st);
      }
      ::close(fd);
    });
    complete = walker.walk(base->fd, "", 0);
  }

  if (results.empty())
    return ok(complete ? "No matches found"
                       : "No matches found (search stopped early: too many entries)");
  std::string out;
  if (output_mode == "files_with_matches") {
    std::stable_sort(results.begin(), results.end(), [](const FileResult& x, const FileResult& y) {
      return newerFirst(x.st, y.st);
    });
    std::size_t shown = std::min<std::size_t>(results.size(), max_lines);
    out =
        "Found " + std::to_string(results.size()) + (results.size() == 1 ? " file\n" : " files\n");
    for (std::size_t i = 0; i < shown && out.size() < kMaxOutput; ++i) {
      out += results[i].display;
      out += '\n';
    }
    if (shown < results.size()) out += "(more files not shown)\n";
  } else if (output_mode == "count") {
    std::size_t total = 0;
    for (const auto& r : results) total += r.count;
    for (std::size_t i = 0; i < results.size() && i < max_lines && out.size() < kMaxOutput; ++i) {
      out += results[i].display + ":" + std::to_string(results[i].count) + "\n";
    }
    out += "Found " + std::to_string(total) + (multi ? " matches" : " matching lines") + " in " +
           std::to_string(results.size()) + (results.size() == 1 ? " file\n" : " files\n");
  } else {
    for (const auto& r : results) {
      if (out.size() + r.lines.size() > kMaxOutput) {
        out.append(r.lines, 0, kMaxOutput - std::min(out.size(), kMaxOutput));
        out += "\n[output truncated: narrow the pattern, path or glob, or use head_limit]\n";
        output_full = false;
        break;
      }
      out += r.lines;
    }
    if (output_full) out += "[more matches not shown: head_limit reached]\n";
  }
  if (!complete) out += "(search stopped early: too many entries)\n";
  return ok(detail::toValidUtf8(out));
}

}  // namespace basalt::sandbox
