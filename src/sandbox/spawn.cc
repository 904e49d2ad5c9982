#include "spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace basalt::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Error sysError(const char* what) {
  return Error::internal(std::string(what) + ": " + std::strerror(errno));
}

// Everything the child touches between fork() and execve() is prepared here, so the child only
// makes raw system calls (the parent may be multithreaded: no malloc, no locks after fork).
struct ChildArgs {
  const char* path;
  char* const* argv;
  char* const* envp;
  int devnull;
  int out;
  const std::pair<int, int>* fds;
  std::size_t nfds;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  const std::pair<int, rlimit>* rlimits;
  std::size_t nrlimits;
  pid_t parent;
};

// State of the reaper process (below). Private to that process after fork().
volatile sig_atomic_t g_kill_requested = 0;
volatile pid_t g_bwrap_pid = 0;

void onKillRequest(int) {
  int saved = errno;
  g_kill_requested = 1;
  if (pid_t p = g_bwrap_pid; p > 0) ::kill(p, SIGKILL);
  errno = saved;
}

// The forked child is a small reaper that starts bwrap and waits for every process it leaves
// behind: bwrap's outer process exits as soon as its pid-1 init reports the exit code, before
// that init is reaped, so without a subreaper each command would leave a zombie for the host's
// init (and Basalt running as pid 1 in a container never reaps them). SIGTERM to the reaper
// SIGKILLs bwrap (whose --die-with-parent takes the sandbox along); the reaper then collects
// everything and exits 128+9.
[[noreturn]] void childMain(const ChildArgs& a) {
  ::setsid();
  if (a.switch_user) {
    // Raw syscalls: glibc's wrappers broadcast to all threads, which a forked child must avoid.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) ::_exit(125);
    if (::syscall(SYS_setresgid, a.gid, a.gid, a.gid) != 0) ::_exit(125);
    if (::syscall(SYS_setresuid, a.uid, a.uid, a.uid) != 0) ::_exit(125);
  }
  // After the uid change (which clears it): if Basalt's thread dies, the reaper dies, bwrap
  // dies, and --die-with-parent takes the sandbox with it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != a.parent) ::_exit(125);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (::dup2(a.devnull, 0) < 0 || ::dup2(a.out, 1) < 0 || ::dup2(a.out, 2) < 0) ::_exit(125);
  for (std::size_t i = 0; i < a.nfds; ++i) {
    if (::dup2(a.fds[i].first, a.fds[i].second) < 0) ::_exit(125);
  }
  ::syscall(SYS_close_range, 3 + a.nfds, ~0u, 0u);
  for (std::size_t i = 0; i < a.nrlimits; ++i) {
    if (::setrlimit(static_cast<__rlimit_resource>(a.rlimits[i].first), &a.rlimits[i].second) !=
        0) {
      ::_exit(125);
    }
  }
  // The server ignores SIGPIPE and may block signals; exec keeps both. Restore defaults.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t term;
  ::sigemptyset(&term);
  ::sigaddset(&term, SIGTERM);
  ::sigprocmask(SIG_SETMASK, &term, nullptr);  // held until bwrap's pid is known
  struct sigaction on_term {};
  on_term.sa_handler = onKillRequest;
  ::sigaction(SIGTERM, &on_term, nullptr);

  sigset_t none;
  ::sigemptyset(&none);
  const pid_t reaper = ::getpid();
  pid_t bwrap = ::vfork();
  if (bwrap == 0) {
    // bwrap stays in the reaper's process group, so the parent's last-resort kill of that
    // group reaches it even if the death signal below were lost.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != reaper) ::_exit(125);  // the reaper died first (vfork may be emulated)
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(a.path, a.argv, a.envp);
    ::_exit(127);
  }
  if (bwrap < 0) ::_exit(125);
  g_bwrap_pid = bwrap;
  // The reaper holds no end of the output pipe: EOF means bwrap's side is gone.
  ::syscall(SYS_close_range, 0u, ~0u, 0u);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // a pending kill request is delivered here
  int bwrap_status = 0;
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(-1, &status, 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: everything is reaped
    }
    if (done == bwrap) bwrap_status = status;
  }
  if (WIFEXITED(bwrap_status)) ::_exit(WEXITSTATUS(bwrap_status));
  ::_exit(128 + (WIFSIGNALED(bwrap_status) ? WTERMSIG(bwrap_status) : 0));
}

int waitStatusToExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<RunResult> spawnAndWait(const SpawnPlan& plan) {
  std::vector<char*> argv;
  argv.reserve(plan.argv.size() + 1);
  for (const auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(plan.envp.size() + 1);
  for (const auto& e : plan.envp) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return sysError("pipe2");
  Fd out_read(pipe_fds[0]);
  Fd out_write(pipe_fds[1]);
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (devnull.get() < 0) return sysError("open /dev/null");

  ChildArgs args{plan.path.c_str(), argv.data(),     envp.data(),         devnull.get(),
                 out_write.get(),   plan.fds.data(), plan.fds.size(),     plan.switch_user,
                 plan.uid,          plan.gid,        plan.rlimits.data(), plan.rlimits.size(),
                 ::getpid()};

  const auto start = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) return sysError("fork");
  if (pid == 0) childMain(args);
  out_write.reset();

  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  RunResult result;
  if (pidfd.get() < 0) {
    // Cannot supervise without a pidfd (kernel < 5.3): do not leave the child running.
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return sysError("pidfd_open");
  }
  // Non-blocking reads: poll() may report readiness that another read already consumed.
  ::fcntl(out_read.get(), F_SETFL, ::fcntl(out_read.get(), F_GETFL) | O_NONBLOCK);

  const auto deadline = start + plan.timeout;
  bool killed = false;
  bool exited = false;
  bool eof = false;
  std::size_t dropped = 0;
  std::string& out = result.output;
  char buf[65536];

  // Soft kill: ask the reaper to kill bwrap and collect everything. The hard kill (below) is
  // for a reaper that does not exit in time.
  auto killAll = [&] {
    if (killed) return;
    killed = true;
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0);
  };

  // After the process exits (or is killed), the pipe closes as soon as the sandbox's pid
  // namespace is torn down; bound that wait (and the wait for a killed process) anyway.
  std::optional<Clock::time_point> grace_deadline;
  while (!(eof && exited)) {
    auto now = Clock::now();
    if (!killed && now >= deadline) {
      result.timed_out = true;
      killAll();
    }
    Clock::time_point until = deadline;
    if (killed || exited) {
      if (!grace_deadline) grace_deadline = now + std::chrono::seconds(5);
      until = *grace_deadline;
      if (now >= until) break;
    }
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();

    pollfd pfds[3];
    nfds_t n = 0;
    int out_idx = -1, pid_idx = -1, cancel_idx = -1;
    if (!eof) {
      out_idx = static_cast<int>(n);
      pfds[n++] = {out_read.get(), POLLIN, 0};
    }
    if (!exited) {
      pid_idx = static_cast<int>(n);
      pfds[n++] = {pidfd.get(), POLLIN, 0};
    }
    if (plan.cancel != nullptr && !killed) {
      cancel_idx = static_cast<int>(n);
      pfds[n++] = {plan.cancel->fd(), POLLIN, 0};
    }
    int rc = ::poll(pfds, n, static_cast<int>(wait_ms + 1));
    if (rc < 0 && errno != EINTR) {
      killAll();
      break;
    }
    if (rc <= 0) continue;
    if (cancel_idx >= 0 && (pfds[cancel_idx].revents & POLLIN) != 0) {
      result.cancelled = true;
      killAll();
    }
    if (out_idx >= 0 && (pfds[out_idx].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t got = ::read(out_read.get(), buf, sizeof buf);
      if (got == 0) {
        eof = true;
      } else if (got > 0) {
        std::size_t keep = 0;
        if (out.size() < plan.max_output_bytes) {
          keep = std::min<std::size_t>(static_cast<std::size_t>(got),
                                       plan.max_output_bytes - out.size());
          out.append(buf, keep);
        }
        dropped += static_cast<std::size_t>(got) - keep;
        if (dropped > plan.flood_kill_bytes && !killed) {
          result.flood_killed = true;
          killAll();
        }
      } else if (errno != EAGAIN && errno != EINTR) {
        eof = true;
      }
    }
    if (pid_idx >= 0 && (pfds[pid_idx].revents & POLLIN) != 0) exited = true;
  }

  int status = 0;
  if (!exited) ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  // Whatever is left in the reaper's process group (bwrap, if the reaper died abnormally) goes
  // too. The group id cannot be reused before the reaper is reaped just below; normally the
  // group holds nothing but the reaper's zombie.
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = waitStatusToExitCode(status);
  if (plan.state_read_fd >= 0) {
    ::fcntl(plan.state_read_fd, F_SETFL, ::fcntl(plan.state_read_fd, F_GETFL) | O_NONBLOCK);
    char state[4096];
    ssize_t got = ::read(plan.state_read_fd, state, sizeof state);
    if (got > 0) result.state.assign(state, static_cast<std::size_t>(got));
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (dropped > 0) {
    result.output_truncated = true;
    result.output += "\n[output truncated: " + std::to_string(dropped) + " more bytes dropped";
    if (result.flood_killed) result.output += "; command killed for flooding output";
    result.output += "]";
  }
  return result;
}

}  // namespace basalt::sandbox
