#pragma once
/// A per-session sandbox for managed agents' built-in tools: a private workspace directory on the
/// host, and commands run inside bubblewrap (user/pid/ipc/uts/net/mount namespaces, seccomp,
/// rlimits, wall-clock timeout, output cap). What is and is not enforced: see README.md.
///
/// Threading: `Sandbox` is safe to share between threads (its only mutable state, the bash
/// tool's working directory, is locked). `run()` BLOCKS for the duration of the command (up to
/// the wall-clock timeout): never call it on an io_context thread. Call it on a worker
/// thread/pool, or use `runAsync()`, which returns a std::future served by a dedicated thread.
/// A `Cancellation` ends a running command early (e.g. on `user.interrupt`).
///
/// Process rules for the embedding program: do not set SIGCHLD to SIG_IGN and do not reap with
/// waitpid(-1) elsewhere (run() waits for its own child).

#include "basalt/core/error.h"

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace basalt::sandbox {

/// Network access from inside the sandbox.
enum class Network : std::uint8_t {
  kNone,   ///< a fresh network namespace with only loopback: no route to the host or outside
  kAll,    ///< the host's network namespace (plus /etc/resolv.conf, /etc/hosts)
  kProxy,  ///< kNone plus an HTTP proxy at 127.0.0.1:EgressOptions::port that relays to the
           ///< host's egress proxy (SandboxOptions::egress); the proxy decides which hosts
};

/// Where Network::kProxy sends traffic (docs/adr/0011-sandbox-egress.md). Each command runs
/// under `basalt-egress-shim`, which listens on 127.0.0.1:port inside the sandbox and relays
/// every connection to the unix socket (bind-mounted at /run/basalt/egress.sock). The proxy
/// environment variables (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and lower-case forms) point there.
struct EgressOptions {
  std::filesystem::path socket;  ///< host path of the session's egress proxy socket
  /// The forwarder executable. Empty: `basalt-egress-shim` next to the running executable,
  /// else the one in the build tree this library was built in.
  std::filesystem::path shim;
  std::uint16_t port = 3128;
};

/// The forwarder Network::kProxy uses when EgressOptions::shim is empty (may not exist).
std::filesystem::path defaultEgressShim();

/// A host directory made visible inside the sandbox (memory stores appear this way).
struct Mount {
  std::filesystem::path host_dir;  ///< must exist and be a directory
  std::string sandbox_path;        ///< absolute, e.g. "/mnt/memory/notes"; not a system dir
  bool read_only = false;
};

/// Resource limits for every command. Per-process limits are rlimits; the wall-clock timeout and
/// the output cap apply to the command as a whole.
struct Limits {
  std::chrono::milliseconds wall_timeout{120'000};      ///< default when a run gives none
  std::chrono::milliseconds max_wall_timeout{600'000};  ///< a run's own timeout is clamped here
  int cpu_seconds = 300;  ///< RLIMIT_CPU per process (SIGXCPU, then SIGKILL)
  std::uint64_t address_space_bytes = 4ull << 30;  ///< RLIMIT_AS per process
  int max_processes = 256;                    ///< RLIMIT_NPROC inside the sandbox's user namespace
  std::uint64_t max_file_bytes = 1ull << 30;  ///< RLIMIT_FSIZE (also caps the write tool)
  int max_open_files = 1024;                  ///< RLIMIT_NOFILE
  std::uint64_t tmp_bytes = 512ull << 20;     ///< size of the tmpfs at /tmp
  std::size_t max_output_bytes = 64 * 1024;   ///< stdout+stderr kept; the rest is dropped
  /// Output beyond the cap is drained and discarded; past this many discarded bytes the command
  /// is killed (something that floods forever should not run until the wall-clock timeout).
  std::size_t flood_kill_bytes = 16ull << 20;
};

struct SandboxOptions {
  /// e.g. DATA/sandboxes; the workspace is root/<session>/workspace. When Basalt is root, every
  /// directory above root must be searchable by run_as_uid (o+x), or commands are refused.
  std::filesystem::path root;
  std::string session_id;  ///< [A-Za-z0-9_-]{1,128}: it becomes a directory name
  std::vector<Mount> mounts;
  Network network = Network::kNone;
  EgressOptions egress;  ///< used with Network::kProxy only
  Limits limits;
  /// Extra environment for commands. The environment is otherwise scrubbed: only PATH,
  /// HOME=/workspace, LANG, TERM and these reach the sandbox (a name given here replaces the
  /// default). Never put credentials here that the model must not see: it can print them.
  std::vector<std::pair<std::string, std::string>> env;
  std::string bwrap_path = "/usr/bin/bwrap";
  /// When Basalt runs as root, commands run as this unprivileged host uid/gid (the workspace and
  /// writable mounts are chowned to it), so a sandboxed process never holds host-root file
  /// ownership. Ignored when Basalt is not root (commands then run as Basalt's own uid).
  uid_t run_as_uid = 65534;
  gid_t run_as_gid = 65534;
};

/// Ends a running command early. Thread-safe; one Cancellation may serve many runs, and once
/// cancelled it stays cancelled (later runs with it return at once, `cancelled` set).
class Cancellation {
 public:
  Cancellation();
  ~Cancellation();
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  void cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  /// An eventfd that becomes readable on cancel() (for poll()).
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::atomic<bool> cancelled_{false};
};

struct RunSpec {
  std::vector<std::string> argv;  ///< argv[0] is resolved inside the sandbox (e.g. "/bin/bash")
  std::optional<std::chrono::milliseconds> timeout;  ///< clamped to Limits::max_wall_timeout
  std::shared_ptr<Cancellation> cancel;              ///< optional
  /// Gives the command a second output channel for machine-readable state: the literal
  /// "{STATE_FD}" in any argv element is replaced by its descriptor number. What the command
  /// writes there (up to 4 KiB) comes back in RunResult::state.
  bool state_channel = false;
};

struct RunResult {
  int exit_code = -1;  ///< the command's exit status; 128+N when killed by signal N
  std::string output;  ///< stdout and stderr interleaved, capped (marker appended if truncated)
  bool output_truncated = false;
  bool timed_out = false;     ///< killed by the wall-clock timeout
  bool flood_killed = false;  ///< killed for writing far more than the output cap
  bool cancelled = false;     ///< killed through the Cancellation
  std::chrono::milliseconds elapsed{0};
  std::string state;  ///< what was written to the state channel (RunSpec::state_channel)
};

/// What this machine lets the sandbox enforce (probed once per bwrap path and uid).
struct Support {
  bool commands = false;  ///< bwrap runs with every namespace + seccomp; false: run() refuses
  std::string reason;     ///< why commands are unavailable (empty when they are)
};

/// Which of the sandbox's roots a confined path is under (for the in-process file tools).
struct Root {
  std::string sandbox_path;  ///< "/workspace" or a mount's sandbox_path
  int dir_fd = -1;           ///< O_PATH|O_DIRECTORY fd of the host directory, owned by Sandbox
  bool read_only = false;
};

/// A path given by the model, mapped onto one root: open it with openat2(root.dir_fd, relative,
/// RESOLVE_BENEATH ...) so neither `..` nor a symlink can leave the root.
struct ConfinedPath {
  const Root* root = nullptr;
  std::string relative;  ///< normalized, no leading '/', "." for the root itself
  std::string display;   ///< the normalized sandbox path ("/workspace/a/b.txt")
};

class Sandbox {
 public:
  /// Creates (or reopens) the session's workspace and validates mounts. The first call per bwrap
  /// path runs probe() (one short bwrap run, ~0.1 s); later calls only touch the filesystem.
  static Result<std::unique_ptr<Sandbox>> open(SandboxOptions options);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  /// Runs one command in a fresh bwrap sandbox over this workspace. Blocks (see file comment).
  /// Errors: sandbox unavailable on this machine, or spawning failed. A command that fails,
  /// times out or floods is a RunResult, not an Error.
  Result<RunResult> run(const RunSpec& spec) const;
  /// run() on a dedicated thread. The Sandbox must outlive the future.
  std::future<Result<RunResult>> runAsync(RunSpec spec) const;

  /// Maps a model-supplied path (absolute, or relative to /workspace) onto a root. Rejects
  /// paths outside the workspace and mounts, and `..` that climbs out of a root.
  Result<ConfinedPath> confine(std::string_view path) const;

  const std::filesystem::path& workspaceDir() const { return workspace_dir_; }
  const SandboxOptions& options() const { return options_; }
  const Support& support() const { return support_; }
  /// uid/gid that sandboxed processes run as on the host, and that in-process tools give to the
  /// files they create when Basalt is root; -1 when no ownership change is needed.
  uid_t fileOwnerUid() const { return owner_uid_; }
  gid_t fileOwnerGid() const { return owner_gid_; }

  /// The bash tool's working directory between calls ("/workspace" after open or restart).
  std::string shellCwd() const;
  void setShellCwd(std::string cwd) const;

  /// Deletes a session's sandbox directory (root/<session_id>, workspace included). Symlinks
  /// inside are removed, never followed. No Sandbox for the session may be in use.
  static Result<void> remove(const std::filesystem::path& root, std::string_view session_id);

  /// The probe behind support(): whether bwrap can run here with all the isolation we require.
  static Support probe(const std::string& bwrap_path, uid_t run_as_uid, gid_t run_as_gid);

 private:
  explicit Sandbox(SandboxOptions options);

  SandboxOptions options_;
  std::filesystem::path workspace_dir_;
  std::vector<Root> roots_;  ///< [0] is /workspace; then the mounts
  Support support_;
  uid_t owner_uid_ = static_cast<uid_t>(-1);
  gid_t owner_gid_ = static_cast<gid_t>(-1);
  mutable std::mutex shell_mu_;
  mutable std::string shell_cwd_ = "/workspace";
};

}  // namespace basalt::sandbox
