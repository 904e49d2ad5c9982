#include "basalt/sandbox/sandbox.h"

#include "seccomp_filter.h"
#include "spawn.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>

namespace basalt::sandbox {
namespace {

constexpr std::string_view kWorkspace = "/workspace";
// Where Network::kProxy puts the forwarder and the proxy's socket inside the sandbox.
constexpr const char* kShimInside = "/run/basalt/egress-shim";
constexpr const char* kSocketInside = "/run/basalt/egress.sock";
constexpr const char* kPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Top-level directories a mount may not shadow (the sandbox's own system view).
constexpr std::string_view kReservedTop[] = {"usr",    "bin", "sbin", "lib",  "lib32", "lib64",
                                             "libx32", "etc", "proc", "dev",  "tmp",   "sys",
                                             "run",    "var", "boot", "root", "home"};

// /etc entries a shell and common tools need (loader cache, alternatives symlinks, TLS roots,
// locale/time). Bound read-only; passwd/group are generated instead of copied from the host.
constexpr const char* kEtcFiles[] = {
    "/etc/ld.so.cache",  "/etc/ld.so.conf",    "/etc/ld.so.conf.d",
    "/etc/alternatives", "/etc/ssl",           "/etc/ca-certificates",
    "/etc/localtime",    "/etc/nsswitch.conf", "/etc/mime.types",
    "/etc/protocols",    "/etc/services",      "/etc/inputrc",
    "/etc/bash.bashrc",  "/etc/profile",       "/etc/gitconfig",
    "/etc/python3",      "/etc/python3.11",    "/etc/perl"};
constexpr const char* kEtcNetworkFiles[] = {"/etc/resolv.conf", "/etc/hosts", "/etc/host.conf",
                                            "/etc/gai.conf"};

bool validSessionId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool validEnvName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Lexical normalization of an absolute sandbox path: collapses "//", "." and "..". Returns
// false when ".." would climb above "/". Never touches the filesystem.
bool normalizeAbsolute(std::string_view path, std::string& out) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "..") {
      if (parts.empty()) return false;
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  out.clear();
  for (auto p : parts) {
    out += '/';
    out += p;
  }
  if (out.empty()) out = "/";
  return true;
}

bool isUnder(std::string_view path, std::string_view root) {
  if (path == root) return true;
  return path.size() > root.size() && path.substr(0, root.size()) == root &&
         path[root.size()] == '/';
}

int moveHigh(int fd) {
  return ::fcntl(fd, F_DUPFD_CLOEXEC, kHighFd);
}

Result<int> dataFd(const std::string& name, const std::string& content) {
  int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) return Error::internal(std::string("memfd_create: ") + std::strerror(errno));
  if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size()) ||
      ::lseek(fd, 0, SEEK_SET) != 0) {
    ::close(fd);
    return Error::internal("memfd write failed");
  }
  return fd;
}

// Closes every descriptor in the list on scope exit.
struct FdList {
  std::vector<int> fds;
  ~FdList() {
    for (int fd : fds) ::close(fd);
  }
};

struct Isolation {
  Network network = Network::kNone;
  const Limits* limits = nullptr;
  uid_t inside_uid = 0;
  gid_t inside_gid = 0;
};

// The bwrap arguments shared by run() and probe(): namespaces, the read-only system view,
// /proc, /dev, /tmp, generated passwd/group, seccomp. `next_fd` is the child fd number the next
// passed descriptor will get; `fds` collects {source, target} pairs.
Result<std::vector<std::string>> baseArgs(const Isolation& iso, int& next_fd, FdList& owned,
                                          std::vector<std::pair<int, int>>& fds) {
  auto pass = [&](int fd) -> Result<int> {
    int high = moveHigh(fd);
    ::close(fd);
    if (high < 0) return Error::internal(std::string("fcntl: ") + std::strerror(errno));
    owned.fds.push_back(high);
    int target = next_fd++;
    fds.emplace_back(high, target);
    return target;
  };
  std::vector<std::string> a = {
      "--unshare-user",       "--unshare-pid",    "--unshare-ipc",     "--unshare-uts",
      "--unshare-cgroup-try", "--disable-userns", "--die-with-parent", "--new-session",
      "--hostname",           "sandbox"};
  // kProxy too: its only way out is the forwarder on loopback.
  if (iso.network != Network::kAll) a.push_back("--unshare-net");
  a.insert(a.end(), {"--ro-bind", "/usr", "/usr"});
  for (const char* dir : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    struct stat st {};
    if (::lstat(dir, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char target[256];
      ssize_t n = ::readlink(dir, target, sizeof target - 1);
      if (n <= 0) continue;
      a.insert(a.end(), {"--symlink", std::string(target, static_cast<std::size_t>(n)), dir});
    } else if (S_ISDIR(st.st_mode)) {
      a.insert(a.end(), {"--ro-bind", dir, dir});
    }
  }
  for (const char* f : kEtcFiles) a.insert(a.end(), {"--ro-bind-try", f, f});
  if (iso.network == Network::kAll) {
    for (const char* f : kEtcNetworkFiles) a.insert(a.end(), {"--ro-bind-try", f, f});
  }
  const std::string uid = std::to_string(iso.inside_uid);
  const std::string gid = std::to_string(iso.inside_gid);
  auto passwd =
      dataFd("passwd", "sandbox:x:" + uid + ":" + gid + ":sandbox:/workspace:/bin/bash\n");
  if (!passwd) return passwd.error();
  auto passwd_fd = pass(*passwd);
  if (!passwd_fd) return passwd_fd.error();
  a.insert(a.end(), {"--ro-bind-data", std::to_string(*passwd_fd), "/etc/passwd"});
  auto group = dataFd("group", "sandbox:x:" + gid + ":\n");
  if (!group) return group.error();
  auto group_fd = pass(*group);
  if (!group_fd) return group_fd.error();
  a.insert(a.end(), {"--ro-bind-data", std::to_string(*group_fd), "/etc/group"});
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--size",
                     std::to_string(iso.limits->tmp_bytes), "--tmpfs", "/tmp"});
  auto filter = buildSeccompFilterFd();
  if (!filter) return filter.error();
  auto filter_fd = pass(*filter);
  if (!filter_fd) return filter_fd.error();
  a.insert(a.end(), {"--seccomp", std::to_string(*filter_fd)});
  return a;
}

std::vector<std::pair<int, rlimit>> rlimitsFor(const Limits& l) {
  auto lim = [](std::uint64_t soft, std::uint64_t hard) {
    return rlimit{static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
  };
  const auto cpu = static_cast<std::uint64_t>(std::max(1, l.cpu_seconds));
  return {
      {RLIMIT_CPU, lim(cpu, cpu + 1)},  // SIGXCPU first, SIGKILL a second later
      {RLIMIT_AS, lim(l.address_space_bytes, l.address_space_bytes)},
      {RLIMIT_FSIZE, lim(l.max_file_bytes, l.max_file_bytes)},
      {RLIMIT_NOFILE, lim(static_cast<std::uint64_t>(std::max(16, l.max_open_files)),
                          static_cast<std::uint64_t>(std::max(16, l.max_open_files)))},
      {RLIMIT_CORE, lim(0, 0)},
  };
}

// RLIMIT_NPROC is enforced per user namespace and uid, and checked against the creator's limit
// one level up, so setting it before bwrap would cap the host uid (every sandbox together, and
// Basalt's own threads when not root). Inside the sandbox's fresh user namespace it counts only
// that sandbox's processes, so the command is started through a shell that lowers it there.
std::vector<std::string> withProcessLimit(int max_processes, const std::vector<std::string>& argv) {
  std::vector<std::string> out = {
      "/bin/bash", "-c",
      "ulimit -u " + std::to_string(std::max(8, max_processes)) +
          " || { echo 'sandbox: cannot set the process limit' >&2; exit 126; }; exec \"$@\"",
      "sandbox"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

bool runningAsRoot() {
  return ::geteuid() == 0;
}

// bwrap resolves every bind source with realpath() as the sandbox uid, so each ancestor of a
// bound directory must be searchable by that uid. Returns the first one that is not.
std::optional<std::string> unsearchableAncestor(const std::filesystem::path& dir, uid_t uid,
                                                gid_t gid) {
  std::error_code ec;
  auto canonical = std::filesystem::canonical(dir, ec);
  if (ec) return dir.string();
  for (auto p = canonical.parent_path();; p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return p.string();
    bool ok = st.st_uid == uid   ? (st.st_mode & S_IXUSR) != 0
              : st.st_gid == gid ? (st.st_mode & S_IXGRP) != 0
                                 : (st.st_mode & S_IXOTH) != 0;
    if (!ok) return p.string();
    if (p == p.root_path()) break;
  }
  return std::nullopt;
}

bool executableFile(const std::filesystem::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

}  // namespace

std::filesystem::path defaultEgressShim() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = self.parent_path() / "basalt-egress-shim";
    if (executableFile(beside)) return beside;
  }
#ifdef BASALT_EGRESS_SHIM_BUILD
  return BASALT_EGRESS_SHIM_BUILD;  // tests run from the build tree
#else
  return {};
#endif
}

// --- Cancellation ---------------------------------------------------------------------------

Cancellation::Cancellation() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Cancellation::~Cancellation() {
  if (fd_ >= 0) ::close(fd_);
}

void Cancellation::cancel() {
  cancelled_.store(true, std::memory_order_release);
  std::uint64_t one = 1;
  if (fd_ >= 0) [[maybe_unused]]
    auto n = ::write(fd_, &one, sizeof one);
}

// --- Sandbox --------------------------------------------------------------------------------

Sandbox::Sandbox(SandboxOptions options) : options_(std::move(options)) {}

Sandbox::~Sandbox() {
  for (const auto& r : roots_) {
    if (r.dir_fd >= 0) ::close(r.dir_fd);
  }
}

Result<std::unique_ptr<Sandbox>> Sandbox::open(SandboxOptions options) {
  if (!validSessionId(options.session_id)) {
    return Error::invalid("sandbox: session id must be 1-128 of [A-Za-z0-9_-]", "session_id");
  }
  if (options.root.empty() || !options.root.is_absolute()) {
    return Error::invalid("sandbox: root must be an absolute directory", "root");
  }
  for (const auto& [name, value] : options.env) {
    if (!validEnvName(name) || value.find('\0') != std::string::npos) {
      return Error::invalid("sandbox: invalid environment variable name or value: " + name);
    }
  }
  if (options.network == Network::kProxy) {
    if (options.egress.socket.empty() || !options.egress.socket.is_absolute() ||
        options.egress.port == 0) {
      return Error::invalid("sandbox: proxy networking needs an absolute egress socket path",
                            "egress.socket");
    }
    if (options.egress.shim.empty()) options.egress.shim = defaultEgressShim();
  }
  std::unique_ptr<Sandbox> sb(new Sandbox(std::move(options)));
  const auto& opts = sb->options_;
  const bool root = runningAsRoot();
  if (root) {
    sb->owner_uid_ = opts.run_as_uid;
    sb->owner_gid_ = opts.run_as_gid;
  }

  sb->workspace_dir_ = opts.root / opts.session_id / "workspace";
  std::error_code ec;
  std::filesystem::create_directories(sb->workspace_dir_, ec);
  if (ec) return Error::internal("sandbox: cannot create workspace: " + ec.message());
  int ws = ::open(sb->workspace_dir_.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (ws < 0)
    return Error::internal("sandbox: cannot open workspace: " + std::string(strerror(errno)));
  sb->roots_.push_back(Root{std::string(kWorkspace), ws, false});
  if (root && ::fchownat(ws, "", sb->owner_uid_, sb->owner_gid_, AT_EMPTY_PATH) != 0) {
    return Error::internal("sandbox: cannot chown workspace: " + std::string(strerror(errno)));
  }
  ::chmod(sb->workspace_dir_.c_str(), 0700);

  for (const auto& m : opts.mounts) {
    std::string norm;
    if (m.sandbox_path.empty() || m.sandbox_path[0] != '/' ||
        !normalizeAbsolute(m.sandbox_path, norm) || norm != m.sandbox_path) {
      return Error::invalid("sandbox: mount path must be absolute and normalized: " +
                            m.sandbox_path);
    }
    std::string_view top = std::string_view(norm).substr(1);
    top = top.substr(0, top.find('/'));
    if (norm == "/" || norm == kWorkspace ||
        std::find(std::begin(kReservedTop), std::end(kReservedTop), top) !=
            std::end(kReservedTop)) {
      return Error::invalid("sandbox: mount path is reserved: " + m.sandbox_path);
    }
    for (const auto& r : sb->roots_) {
      if (r.sandbox_path == norm) {
        return Error::invalid("sandbox: duplicate mount path: " + m.sandbox_path);
      }
    }
    int fd = ::open(m.host_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      return Error::invalid("sandbox: mount source is not a directory: " + m.host_dir.string());
    }
    sb->roots_.push_back(Root{norm, fd, m.read_only});
    if (root && !m.read_only &&
        ::fchownat(fd, "", sb->owner_uid_, sb->owner_gid_, AT_EMPTY_PATH) != 0) {
      return Error::internal("sandbox: cannot chown mount: " + std::string(strerror(errno)));
    }
  }
  sb->support_ = probe(opts.bwrap_path, opts.run_as_uid, opts.run_as_gid);
  if (sb->support_.commands && opts.network == Network::kProxy &&
      (opts.egress.shim.empty() || !opts.egress.shim.is_absolute() ||
       !executableFile(opts.egress.shim))) {
    // Without the forwarder there would be no network at all; say why instead of failing
    // every fetch obscurely.
    sb->support_.commands = false;
    sb->support_.reason = "the egress forwarder (basalt-egress-shim) is not at '" +
                          opts.egress.shim.string() + "' (install it next to the basalt binary)";
  }
  if (root && sb->support_.commands) {
    // The sandbox uid must be able to reach the workspace and mounts (see
    // unsearchableAncestor). The sandbox root and session directory are ours: open them for
    // search (not listing). Anything above is the operator's: report it instead.
    for (const auto& d : {opts.root, opts.root / opts.session_id}) {
      struct stat st {};
      if (::stat(d.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
        ::chmod(d.c_str(), (st.st_mode & 07777) | S_IXGRP | S_IXOTH);
      }
    }
    std::vector<std::filesystem::path> dirs = {sb->workspace_dir_};
    for (const auto& m : opts.mounts) dirs.push_back(m.host_dir);
    for (const auto& d : dirs) {
      if (auto bad = unsearchableAncestor(d, opts.run_as_uid, opts.run_as_gid)) {
        sb->support_.commands = false;
        sb->support_.reason = "directory " + *bad + " is not searchable by the sandbox uid " +
                              std::to_string(opts.run_as_uid) + " (needs o+x) to reach " +
                              d.string();
        break;
      }
    }
  }
  return sb;
}

Support Sandbox::probe(const std::string& bwrap_path, uid_t run_as_uid, gid_t run_as_gid) {
  static std::mutex mu;
  static std::map<std::string, Support> cache;
  const bool root = runningAsRoot();
  const std::string key = bwrap_path + "|" + (root ? std::to_string(run_as_uid) : "self");
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  Support s;
  if (bwrap_path.empty() || bwrap_path[0] != '/' || ::access(bwrap_path.c_str(), X_OK) != 0) {
    s.reason = "bubblewrap not found at " + bwrap_path + " (install the bubblewrap package)";
  } else {
    Limits limits;
    Isolation iso{Network::kNone, &limits, root ? run_as_uid : ::geteuid(),
                  root ? run_as_gid : ::getegid()};
    int next_fd = 3;
    FdList owned;
    SpawnPlan plan;
    auto args = baseArgs(iso, next_fd, owned, plan.fds);
    if (!args) {
      s.reason = args.error().message;
    } else {
      plan.path = bwrap_path;
      plan.argv = {bwrap_path};
      plan.argv.insert(plan.argv.end(), args->begin(), args->end());
      plan.argv.insert(plan.argv.end(), {"--tmpfs", "/workspace", "--remount-ro", "/", "--chdir",
                                         "/workspace", "--"});
      auto cmd = withProcessLimit(64, {"/bin/true"});
      plan.argv.insert(plan.argv.end(), cmd.begin(), cmd.end());
      plan.envp = {kPath};
      plan.switch_user = root;
      plan.uid = run_as_uid;
      plan.gid = run_as_gid;
      plan.timeout = std::chrono::seconds(20);
      plan.max_output_bytes = 4096;
      plan.flood_kill_bytes = 1 << 20;
      auto r = spawnAndWait(plan);
      if (!r) {
        s.reason = r.error().message;
      } else if (r->exit_code != 0) {
        s.reason = "bubblewrap cannot create the sandbox here (exit " +
                   std::to_string(r->exit_code) + "): " + r->output;
        while (!s.reason.empty() && s.reason.back() == '\n') s.reason.pop_back();
      } else {
        s.commands = true;
      }
    }
  }
  std::lock_guard lock(mu);
  cache.emplace(key, s);
  return s;
}

Result<RunResult> Sandbox::run(const RunSpec& spec) const {
  if (!support_.commands) {
    return Error{ErrorKind::kUpstreamUnavailable,
                 "sandbox unavailable on this host: " + support_.reason,
                 {},
                 "sandbox_unavailable"};
  }
  if (spec.argv.empty()) return Error::invalid("sandbox: empty command");
  for (const auto& a : spec.argv) {
    if (a.find('\0') != std::string::npos) return Error::invalid("sandbox: NUL in argument");
    // execve() limit for one argument (MAX_ARG_STRLEN), with room for the wrapper's.
    if (a.size() > 120 * 1024) return Error::invalid("sandbox: argument longer than 120 KiB");
  }
  const Limits& limits = options_.limits;
  const bool root = runningAsRoot();
  Isolation iso{options_.network, &limits, root ? options_.run_as_uid : ::geteuid(),
                root ? options_.run_as_gid : ::getegid()};
  int next_fd = 3;
  FdList owned;
  SpawnPlan plan;
  auto args = baseArgs(iso, next_fd, owned, plan.fds);
  if (!args) return args.error();
  plan.path = options_.bwrap_path;
  plan.argv = {options_.bwrap_path};
  plan.argv.insert(plan.argv.end(), args->begin(), args->end());
  for (const auto& r : roots_) {
    int fd = moveHigh(r.dir_fd);
    if (fd < 0) return Error::internal("sandbox: fcntl failed");
    owned.fds.push_back(fd);
    int target = next_fd++;
    plan.fds.emplace_back(fd, target);
    plan.argv.insert(plan.argv.end(), {r.read_only ? "--ro-bind-fd" : "--bind-fd",
                                       std::to_string(target), r.sandbox_path});
  }
  std::vector<std::string> argv = spec.argv;
  if (options_.network == Network::kProxy) {
    // Both go in by descriptor, opened here: bwrap would otherwise resolve the paths as the
    // sandbox uid, which need not be able to reach them.
    const std::pair<const std::filesystem::path*, const char*> binds[] = {
        {&options_.egress.shim, kShimInside}, {&options_.egress.socket, kSocketInside}};
    for (const auto& [host_path, inside] : binds) {
      int fd = ::open(host_path->c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        return Error{ErrorKind::kUpstreamUnavailable,
                     "sandbox: egress " +
                         std::string(inside == kShimInside ? "forwarder" : "socket") + " " +
                         host_path->string() + ": " + std::strerror(errno),
                     {},
                     "sandbox_unavailable"};
      }
      int high = moveHigh(fd);
      ::close(fd);
      if (high < 0) return Error::internal("sandbox: fcntl failed");
      owned.fds.push_back(high);
      int target = next_fd++;
      plan.fds.emplace_back(high, target);
      plan.argv.insert(plan.argv.end(), {"--ro-bind-fd", std::to_string(target), inside});
    }
    argv.insert(argv.begin(), {kShimInside, std::to_string(options_.egress.port), kSocketInside});
  }
  // bwrap's root is a tmpfs; freeze it (and the /etc built on it) once every mount is in place.
  plan.argv.insert(plan.argv.end(),
                   {"--remount-ro", "/", "--chdir", std::string(kWorkspace), "--"});
  int state_read = -1;
  if (spec.state_channel) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::internal("sandbox: pipe2 failed");
    state_read = p[0];
    owned.fds.push_back(p[0]);
    int high = moveHigh(p[1]);
    ::close(p[1]);
    if (high < 0) return Error::internal("sandbox: fcntl failed");
    owned.fds.push_back(high);
    const std::string target = std::to_string(next_fd);
    plan.fds.emplace_back(high, next_fd++);
    for (auto& a : argv) {
      for (auto pos = a.find("{STATE_FD}"); pos != std::string::npos;
           pos = a.find("{STATE_FD}", pos + target.size())) {
        a.replace(pos, 10, target);
      }
    }
  }
  plan.state_read_fd = state_read;
  auto cmd = withProcessLimit(limits.max_processes, argv);
  plan.argv.insert(plan.argv.end(), cmd.begin(), cmd.end());

  plan.envp = {kPath, "HOME=/workspace", "LANG=C.UTF-8", "TERM=dumb"};
  if (options_.network == Network::kProxy) {
    // Tools that honour proxy variables go through the forwarder; anything else finds no
    // route at all (the network namespace has only loopback).
    const std::string proxy = "http://127.0.0.1:" + std::to_string(options_.egress.port);
    for (const char* name :
         {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"}) {
      plan.envp.push_back(std::string(name) + "=" + proxy);
    }
    plan.envp.push_back("NO_PROXY=");
    plan.envp.push_back("no_proxy=");
  }
  for (const auto& [name, value] : options_.env) {
    // A caller's variable replaces a default of the same name (no duplicate entries).
    std::string entry = name + "=" + value;
    auto same = std::find_if(plan.envp.begin(), plan.envp.end(), [&](const std::string& e) {
      return e.compare(0, name.size() + 1, name + "=") == 0;
    });
    if (same != plan.envp.end()) {
      *same = std::move(entry);
    } else {
      plan.envp.push_back(std::move(entry));
    }
  }
  plan.switch_user = root;
  plan.uid = options_.run_as_uid;
  plan.gid = options_.run_as_gid;
  plan.rlimits = rlimitsFor(limits);
  auto timeout = spec.timeout.value_or(limits.wall_timeout);
  timeout = std::clamp(timeout, std::chrono::milliseconds(1), limits.max_wall_timeout);
  plan.timeout = timeout;
  plan.max_output_bytes = limits.max_output_bytes;
  plan.flood_kill_bytes = limits.flood_kill_bytes;
  plan.cancel = spec.cancel.get();
  if (spec.cancel && spec.cancel->cancelled()) {
    RunResult r;
    r.cancelled = true;
    return r;
  }
  return spawnAndWait(plan);
}

std::future<Result<RunResult>> Sandbox::runAsync(RunSpec spec) const {
  return std::async(std::launch::async, [this, spec = std::move(spec)] { return run(spec); });
}

Result<void> Sandbox::remove(const std::filesystem::path& root, std::string_view session_id) {
  if (!validSessionId(session_id)) return Error::invalid("sandbox: invalid session id");
  std::error_code ec;
  std::filesystem::remove_all(root / std::string(session_id), ec);
  if (ec)
    return Error::internal("sandbox: cannot remove " + std::string(session_id) + ": " +
                           ec.message());
  return {};
}

std::string Sandbox::shellCwd() const {
  std::lock_guard lock(shell_mu_);
  return shell_cwd_;
}

void Sandbox::setShellCwd(std::string cwd) const {
  std::lock_guard lock(shell_mu_);
  shell_cwd_ = std::move(cwd);
}

Result<ConfinedPath> Sandbox::confine(std::string_view path) const {
  if (path.empty()) return Error::invalid("path is empty");
  if (path.find('\0') != std::string_view::npos) return Error::invalid("path contains NUL");
  if (path.size() > 4096) return Error::invalid("path is too long");
  std::string full;
  if (path[0] == '/') {
    full = std::string(path);
  } else {
    full = std::string(kWorkspace) + "/" + std::string(path);
  }
  std::string norm;
  if (!normalizeAbsolute(full, norm)) {
    return Error{ErrorKind::kPermissionDenied, "path escapes the sandbox: " + std::string(path)};
  }
  const Root* best = nullptr;
  for (const auto& r : roots_) {
    if (isUnder(norm, r.sandbox_path) &&
        (best == nullptr || r.sandbox_path.size() > best->sandbox_path.size())) {
      best = &r;
    }
  }
  if (best == nullptr) {
    return Error{ErrorKind::kPermissionDenied,
                 "path is outside the workspace (" + std::string(kWorkspace) +
                     (roots_.size() > 1 ? " and mounted directories" : "") +
                     "): " + std::string(path)};
  }
  ConfinedPath cp;
  cp.root = best;
  cp.display = norm;
  cp.relative = norm.size() == best->sandbox_path.size()
                    ? std::string(".")
                    : norm.substr(best->sandbox_path.size() + 1);
  return cp;
}

}  // namespace basalt::sandbox
