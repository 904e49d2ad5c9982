// Commands in the bwrap sandbox: isolation, limits, timeouts, output cap, cancellation.
#include "basalt/sandbox/sandbox.h"

#include "basalt/sandbox/tools.h"
#include "sandbox_fixture.h"

#include <gmock/gmock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace basalt::sandbox {
namespace {

using namespace std::chrono_literals;
using testing::SandboxTest;

RunResult runBash(const Sandbox& sb, const std::string& script,
                  std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
  RunSpec spec;
  spec.argv = {"/bin/bash", "-c", script};
  spec.timeout = timeout;
  auto r = sb.run(spec);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? *r : RunResult{};
}

// A listening TCP socket on 127.0.0.1, port chosen by the kernel.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd); }
  bool accepted() const {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return false;
    ::close(c);
    return true;
  }
};

TEST_F(SandboxTest, CommandWritesFileVisibleInWorkspace) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  auto r = runBash(*sb, "pwd; echo hello > out.txt; mkdir -p d && echo x > d/y");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "/workspace\n");
  EXPECT_EQ(slurp(sb->workspaceDir() / "out.txt"), "hello\n");
  EXPECT_EQ(slurp(sb->workspaceDir() / "d" / "y"), "x\n");
  // And the other way round: a host-side file is visible inside.
  spit(sb->workspaceDir() / "in.txt", "from host\n");
  r = runBash(*sb, "cat /workspace/in.txt");
  EXPECT_EQ(r.output, "from host\n");
}

TEST_F(SandboxTest, WritingOutsideTheWorkspaceFails) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  const std::string marker = "basalt-sbx-escape-" + std::to_string(::getpid());
  auto r = runBash(*sb, "for p in /usr/" + marker + " /etc/" + marker + " /" + marker + " /bin/" +
                            marker +
                            "; do if echo x > $p; then echo WROTE $p; fi; "
                            "done 2>/dev/null; echo x > /tmp/" +
                            marker + " && echo TMP_OK");
  EXPECT_EQ(r.output.find("WROTE"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("TMP_OK"), std::string::npos) << r.output;  // private tmpfs works
  EXPECT_FALSE(std::filesystem::exists("/usr/" + marker));
  EXPECT_FALSE(std::filesystem::exists("/etc/" + marker));
  EXPECT_FALSE(std::filesystem::exists("/" + marker));
  EXPECT_FALSE(std::filesystem::exists("/tmp/" + marker));  // not the host's /tmp
  // The sandbox root and other sessions are invisible.
  r = runBash(*sb, "ls / ; ls " + root_.string() + " 2>&1");
  EXPECT_EQ(r.output.find("sess_"), std::string::npos) << r.output;
}

TEST_F(SandboxTest, NoNetworkWhenNetworkIsOff) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  Listener listener;
  const std::string port = std::to_string(listener.port);
  auto r = runBash(*sb, "exec 3<>/dev/tcp/127.0.0.1/" + port + " && echo CONNECTED");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.output.find("CONNECTED"), std::string::npos) << r.output;
  if (std::filesystem::exists("/usr/bin/curl")) {
    r = runBash(*sb, "curl -sS --max-time 5 http://127.0.0.1:" + port + "/ && echo CONNECTED");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.output.find("CONNECTED"), std::string::npos) << r.output;
  }
  r = runBash(*sb, "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '");
  EXPECT_EQ(r.output, "lo\n");  // only the namespace's own loopback
  EXPECT_FALSE(listener.accepted());
}

TEST_F(SandboxTest, NetworkAllSharesTheHostNetwork) {
  // The positive control for the test above: same probe, network allowed, it connects.
  SandboxOptions opts;
  opts.network = Network::kAll;
  auto sb = make(std::move(opts));
  BASALT_REQUIRE_COMMANDS(sb);
  Listener listener;
  auto r = runBash(
      *sb, "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(listener.port) + " && echo CONNECTED");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("CONNECTED"), std::string::npos) << r.output;
  EXPECT_TRUE(listener.accepted());
}

TEST_F(SandboxTest, ForkBombIsContained) {
  SandboxOptions opts;
  opts.limits.max_processes = 32;
  auto sb = make(std::move(opts));
  BASALT_REQUIRE_COMMANDS(sb);
  auto start = std::chrono::steady_clock::now();
  auto r = runBash(*sb, ":(){ :|:& };:", 3s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 20s);
  // The test process is unharmed and can still start processes, sandboxed or not.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(7);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(WEXITSTATUS(status), 7);
  auto again = runBash(*sb, "echo alive");
  EXPECT_EQ(again.output, "alive\n");
  // The process limit is what stopped it.
  auto limit = runBash(*sb, "ulimit -u");
  EXPECT_EQ(limit.output, "32\n");
}

TEST_F(SandboxTest, CpuTimeLimitKills) {
  SandboxOptions opts;
  opts.limits.cpu_seconds = 1;
  auto sb = make(std::move(opts));
  BASALT_REQUIRE_COMMANDS(sb);
  // One CPU-second arrives long before the wall clock, even on a loaded machine.
  auto r = runBash(*sb, "while :; do :; done", 90s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(r.elapsed, 60s);
}

TEST_F(SandboxTest, WallClockTimeoutKillsTheWholeTree) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  auto r = runBash(*sb, "sleep 60 & (sleep 60; echo late) & sleep 60", 500ms);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(r.elapsed, 8s);
  EXPECT_EQ(r.output.find("late"), std::string::npos);
  // A timeout longer than the policy maximum is clamped.
  SandboxOptions opts;
  opts.limits.max_wall_timeout = 300ms;
  auto capped = make(std::move(opts));
  r = runBash(*capped, "sleep 60", 600s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(r.elapsed, 8s);
}

TEST_F(SandboxTest, TenMegabytesOfOutputAreCapped) {
  SandboxOptions opts;
  opts.limits.max_output_bytes = 64 * 1024;
  opts.limits.flood_kill_bytes = 64ull << 20;
  auto sb = make(std::move(opts));
  BASALT_REQUIRE_COMMANDS(sb);
  auto r = runBash(*sb, "head -c 10000000 /dev/zero | tr '\\0' a; echo; echo done >&2", 60s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.output_truncated);
  EXPECT_FALSE(r.flood_killed);
  EXPECT_LT(r.output.size(), 64u * 1024 + 200);
  EXPECT_EQ(r.output.substr(0, 10), std::string(10, 'a'));
  EXPECT_NE(r.output.find("output truncated"), std::string::npos);
}

TEST_F(SandboxTest, EndlessOutputIsKilled) {
  SandboxOptions opts;
  opts.limits.max_output_bytes = 4096;
  opts.limits.flood_kill_bytes = 1 << 20;
  auto sb = make(std::move(opts));
  BASALT_REQUIRE_COMMANDS(sb);
  auto r = runBash(*sb, "yes", 60s);
  EXPECT_TRUE(r.flood_killed);
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(r.elapsed, 30s);
  EXPECT_LT(r.output.size(), 4096u + 200);
}

TEST_F(SandboxTest, EnvironmentIsScrubbed) {
  ::setenv("BASALT_SANDBOX_TEST_SECRET", "do-not-leak", 1);
  SandboxOptions opts;
  opts.env = {{"GIVEN_VAR", "given"}, {"LANG", "en_US.UTF-8"}};
  auto sb = make(std::move(opts));
  BASALT_REQUIRE_COMMANDS(sb);
  auto r = runBash(*sb, "env | sort");
  EXPECT_EQ(r.output.find("do-not-leak"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("HOME=/workspace\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("GIVEN_VAR=given\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("PATH="), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("LANG=en_US.UTF-8\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("LANG=C.UTF-8"), std::string::npos) << r.output;
  ::unsetenv("BASALT_SANDBOX_TEST_SECRET");
}

TEST_F(SandboxTest, SeccompAndNamespacesAreInForce) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  auto r = runBash(*sb,
                   "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; "
                   "unshare -U true && echo UNSHARED; echo $$; hostname");
  EXPECT_NE(r.output.find("Seccomp:\t2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("NoNewPrivs:\t1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CapEff:\t0000000000000000"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("UNSHARED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sandbox"), std::string::npos) << r.output;  // own uts namespace
  // Every namespace differs from ours (the test process is on the host side).
  for (const char* ns : {"user", "pid", "ipc", "uts", "net", "mnt"}) {
    auto inside = runBash(*sb, std::string("readlink /proc/self/ns/") + ns);
    auto outside = std::filesystem::read_symlink(std::string("/proc/self/ns/") + ns).string();
    EXPECT_EQ(inside.exit_code, 0) << inside.output;
    EXPECT_NE(inside.output, outside + "\n") << ns;
    EXPECT_EQ(inside.output.substr(0, std::string(ns).size() + 1), std::string(ns) + ":") << ns;
  }
  if (::geteuid() == 0) {
    r = runBash(*sb, "id -u; stat -c %u /workspace");
    EXPECT_EQ(r.output, "65534\n65534\n");  // never host root
  }
}

TEST_F(SandboxTest, NoHostDescriptorReachesTheCommand) {
  // A leaked directory fd of the host (the workspace's O_PATH handle, say) would let `..` climb
  // out of the sandbox. Only stdin, stdout and stderr may arrive.
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  RunSpec spec;
  spec.argv = {"/bin/ls", "-l", "/proc/self/fd"};  // exec'd directly: inherits exactly
  auto r = sb->run(spec);
  ASSERT_TRUE(r.has_value());
  std::vector<std::string> fds;
  std::istringstream lines(r->output);
  for (std::string line; std::getline(lines, line);) {
    auto arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    auto name_end = arrow;
    auto name_start = line.rfind(' ', name_end - 1) + 1;
    fds.push_back(line.substr(name_start, name_end - name_start) + " " + line.substr(arrow + 4));
  }
  ASSERT_EQ(fds.size(), 4u) << r->output;
  EXPECT_EQ(fds[0], "0 /dev/null");
  EXPECT_EQ(fds[1].substr(0, 7), "1 pipe:");
  EXPECT_EQ(fds[2].substr(0, 7), "2 pipe:");
  EXPECT_EQ(fds[3].substr(0, 8), "3 /proc/") << fds[3];  // ls's own handle on the directory
}

TEST_F(SandboxTest, CancellationStopsARunningCommand) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  auto cancel = std::make_shared<Cancellation>();
  RunSpec spec;
  spec.argv = {"/bin/bash", "-c", "touch started; sleep 60"};
  spec.timeout = 60s;
  spec.cancel = cancel;
  auto fut = sb->runAsync(spec);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!std::filesystem::exists(sb->workspaceDir() / "started") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // polling a real side effect, bounded
  }
  ASSERT_TRUE(std::filesystem::exists(sb->workspaceDir() / "started"));
  cancel->cancel();
  ASSERT_EQ(fut.wait_for(15s), std::future_status::ready);
  auto r = fut.get();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->cancelled);
  EXPECT_FALSE(r->timed_out);
}

TEST_F(SandboxTest, MountsAreVisibleWithTheirMode) {
  auto rw = root_ / "memstore";
  auto ro = root_ / "readonly";
  std::filesystem::create_directories(rw);
  std::filesystem::create_directories(ro);
  spit(ro / "fact.txt", "sky is blue\n");
  SandboxOptions opts;
  opts.mounts = {{rw, "/mnt/memory/notes", false}, {ro, "/mnt/ro", true}};
  auto sb = make(std::move(opts));
  BASALT_REQUIRE_COMMANDS(sb);
  auto r = runBash(*sb,
                   "echo remembered > /mnt/memory/notes/m.txt; cat /mnt/ro/fact.txt; "
                   "echo x > /mnt/ro/new.txt 2>/dev/null && echo RO_WRITTEN");
  EXPECT_EQ(slurp(rw / "m.txt"), "remembered\n");
  EXPECT_NE(r.output.find("sky is blue"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("RO_WRITTEN"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(ro / "new.txt"));
}

TEST_F(SandboxTest, BadOptionsAreRejected) {
  SandboxOptions opts;
  opts.root = root_;
  opts.session_id = "../evil";
  EXPECT_FALSE(Sandbox::open(opts).has_value());
  opts.session_id = "ok";
  opts.mounts = {{root_, "/usr/local", false}};
  EXPECT_FALSE(Sandbox::open(opts).has_value());
  opts.mounts = {{root_, "/mnt/../etc", false}};
  EXPECT_FALSE(Sandbox::open(opts).has_value());
  opts.mounts = {{root_ / "missing", "/mnt/x", false}};
  EXPECT_FALSE(Sandbox::open(opts).has_value());
  opts.mounts = {};
  opts.env = {{"BAD=NAME", "x"}};
  EXPECT_FALSE(Sandbox::open(opts).has_value());
}

TEST_F(SandboxTest, WithoutBubblewrapCommandsFailClosedAndFileToolsStillWork) {
  SandboxOptions opts;
  opts.bwrap_path = "/nonexistent/bwrap";
  auto sb = make(std::move(opts));
  ASSERT_NE(sb, nullptr);
  EXPECT_FALSE(sb->support().commands);
  EXPECT_NE(sb->support().reason.find("bubblewrap"), std::string::npos);
  RunSpec spec;
  spec.argv = {"/bin/true"};
  auto r = sb->run(spec);
  ASSERT_FALSE(r.has_value());  // never runs unconfined
  EXPECT_EQ(r.error().code, "sandbox_unavailable");
  auto bash = bashTool(*sb, R"({"command":"echo hi"})");
  EXPECT_TRUE(bash.is_error);
  EXPECT_NE(bash.content.find("sandbox unavailable"), std::string::npos) << bash.content;
  auto w = writeTool(*sb, R"({"file_path":"a.txt","content":"x"})");
  EXPECT_FALSE(w.is_error) << w.content;
  EXPECT_EQ(slurp(sb->workspaceDir() / "a.txt"), "x");
}

TEST_F(SandboxTest, ConcurrentRunsAreIndependent) {
  auto a = make();
  auto b = make();
  BASALT_REQUIRE_COMMANDS(a);
  std::vector<std::future<Result<RunResult>>> runs;
  for (int i = 0; i < 4; ++i) {
    RunSpec spec;
    spec.argv = {"/bin/bash", "-c",
                 "echo " + std::to_string(i) + " > f" + std::to_string(i) + "; ls"};
    spec.timeout = 30s;
    runs.push_back((i % 2 == 0 ? a : b)->runAsync(spec));
  }
  for (int i = 0; i < 4; ++i) {
    auto r = runs[i].get();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->exit_code, 0) << r->output;
  }
  // Each session sees only its own workspace.
  EXPECT_TRUE(std::filesystem::exists(a->workspaceDir() / "f0"));
  EXPECT_TRUE(std::filesystem::exists(a->workspaceDir() / "f2"));
  EXPECT_FALSE(std::filesystem::exists(a->workspaceDir() / "f1"));
  EXPECT_TRUE(std::filesystem::exists(b->workspaceDir() / "f1"));
  EXPECT_FALSE(std::filesystem::exists(b->workspaceDir() / "f2"));
}

TEST_F(SandboxTest, DangerousSyscallsAreDenied) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  // mount(2) and ptrace(2) through real binaries; each must fail.
  auto r = runBash(*sb,
                   "mount -t tmpfs none /tmp 2>/dev/null && echo MOUNTED; "
                   "python3 -c 'import ctypes; "
                   "print(\"ptrace\", ctypes.CDLL(None, use_errno=True).ptrace(0,0,0,0), "
                   "ctypes.get_errno())'");
  EXPECT_EQ(r.output.find("MOUNTED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ptrace -1 1\n"), std::string::npos) << r.output;  // EPERM
  // vsock is not covered by the network namespace (it reaches a VM's host): no such sockets.
  r = runBash(*sb,
              "python3 -c 'import socket\n"
              "for f in (socket.AF_VSOCK, socket.AF_ALG, socket.AF_PACKET):\n"
              "  try:\n"
              "    socket.socket(f, socket.SOCK_DGRAM if f == socket.AF_PACKET else "
              "socket.SOCK_STREAM if f == socket.AF_VSOCK else socket.SOCK_SEQPACKET)\n"
              "    print(\"OPENED\", f)\n"
              "  except OSError as e:\n"
              "    print(\"denied\", e.errno)\n"
              "import socket as s; s.socket(s.AF_UNIX); s.socket(s.AF_INET6); print(\"ok\")'");
  EXPECT_EQ(r.output, "denied 97\ndenied 97\ndenied 97\nok\n");
}

TEST_F(SandboxTest, LinksMadeInsideTheSandboxDoNotFoolTheFileTools) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  // Inside the sandbox /etc/passwd is a generated file; on the host the same absolute link would
  // reach the host's. The in-process tools must refuse it.
  auto r = runBash(*sb, "ln -s /etc/passwd pw; ln -s / rootlink; ln -s ../.. up");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* p : {"pw", "rootlink/etc/passwd", "up/etc/passwd"}) {
    auto out = readTool(*sb, std::string("{\"file_path\":\"") + p + "\"}");
    EXPECT_TRUE(out.is_error) << p << ": " << out.content;
    EXPECT_EQ(out.content.find("root:"), std::string::npos) << p;
  }
}

// Processes whose comm or argv[0] is `comm` (orphaned zombies only, or all), on the host.
std::vector<std::string> findProcesses(const std::string& comm, bool zombies_only) {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    auto open = stat.find('(');
    auto close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) {
      continue;
    }
    std::ifstream cmd(e.path() / "cmdline");
    std::string argv0;
    std::getline(cmd, argv0, '\0');
    if (stat.substr(open + 1, close - open - 1) != comm && argv0 != comm) continue;
    char state = stat[close + 2];
    // Zombies count only once orphaned to init: a zombie whose parent is a live reaper (another
    // run in progress) is about to be collected.
    int ppid = std::atoi(stat.c_str() + close + 4);
    if (!zombies_only || (state == 'Z' && ppid == 1)) found.push_back(name + " " + state);
  }
  return found;
}

TEST_F(SandboxTest, LeavesNoProcessesOrZombiesBehind) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  auto r = runBash(*sb, "exec -a basalt-sbx-sleeper sleep 60 & echo started", 10s);
  EXPECT_EQ(r.exit_code, 0);
  r = runBash(*sb, "exec -a basalt-sbx-sleeper sleep 60", 300ms);
  EXPECT_TRUE(r.timed_out);
  // Everything was reaped by run() itself: not left to the host's init.
  EXPECT_THAT(findProcesses("bwrap", true), ::testing::IsEmpty());
  EXPECT_THAT(findProcesses("basalt-sbx-sleeper", false), ::testing::IsEmpty());
  int status = 0;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);  // no child of ours is left either
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(SandboxTest, BashToolKeepsTheWorkingDirectory) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  EXPECT_FALSE(bashTool(*sb, R"({"command":"mkdir -p proj/src && cd proj"})").is_error);
  auto r = bashTool(*sb, R"({"command":"pwd; X=1"})");
  EXPECT_EQ(r.content, "/workspace/proj\n");
  r = bashTool(*sb, R"({"command":"cd src; echo ${X:-unset}"})");
  EXPECT_EQ(r.content, "unset\n");  // variables do not persist
  r = bashTool(*sb, R"({"command":"pwd"})");
  EXPECT_EQ(r.content, "/workspace/proj/src\n");
  // A failing command still reports where it ended.
  r = bashTool(*sb, R"({"command":"cd /tmp; false"})");
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(bashTool(*sb, R"({"command":"pwd"})").content, "/tmp\n");
  // A directory that disappeared falls back to /workspace.
  EXPECT_FALSE(bashTool(*sb, R"({"command":"cd /workspace/proj/src"})").is_error);
  std::filesystem::remove_all(sb->workspaceDir() / "proj");
  EXPECT_EQ(bashTool(*sb, R"({"command":"pwd"})").content, "/workspace\n");
  EXPECT_FALSE(bashTool(*sb, R"({"command":"cd /usr"})").is_error);
  r = bashTool(*sb, R"({"restart":true})");
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(bashTool(*sb, R"({"command":"pwd"})").content, "/workspace\n");
  // Quoting survives the wrapper.
  r = bashTool(*sb, R"({"command":"printf '%s|' \"a b\" '$HOME' \"$HOME\""})");
  EXPECT_EQ(r.content, "a b|$HOME|/workspace|");
}

TEST_F(SandboxTest, WhenNamespacesAreRefusedCommandsFailClosedWithTheReason) {
  // A stand-in for bwrap on a host where unprivileged user namespaces are disabled.
  std::string dir = (std::filesystem::temp_directory_path() / "basalt-fakebwrap-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  ::chmod(dir.c_str(), 0755);
  const std::string fake = dir + "/bwrap";
  spit(fake, "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n");
  ::chmod(fake.c_str(), 0755);
  SandboxOptions opts;
  opts.bwrap_path = fake;
  auto sb = make(std::move(opts));
  ASSERT_NE(sb, nullptr);
  EXPECT_FALSE(sb->support().commands);
  EXPECT_NE(sb->support().reason.find("No permissions to create new namespace"), std::string::npos)
      << sb->support().reason;
  auto bash = bashTool(*sb, R"({"command":"echo hi"})");
  EXPECT_TRUE(bash.is_error);
  EXPECT_NE(bash.content.find("No permissions to create new namespace"), std::string::npos)
      << bash.content;
  std::filesystem::remove_all(dir);
}

TEST_F(SandboxTest, BashToolReportsExitCodesAndTimeouts) {
  auto sb = make();
  BASALT_REQUIRE_COMMANDS(sb);
  auto ok = bashTool(*sb, R"({"command":"echo out; echo err >&2"})");
  EXPECT_FALSE(ok.is_error);
  EXPECT_EQ(ok.content, "out\nerr\n");
  auto failed = bashTool(*sb, R"({"command":"echo nope; exit 3"})");
  EXPECT_TRUE(failed.is_error);
  EXPECT_EQ(failed.content, "nope\nExit code: 3");
  auto slow = bashTool(*sb, R"({"command":"sleep 30","timeout":300})");
  EXPECT_TRUE(slow.is_error);
  EXPECT_NE(slow.content.find("timed out after 300 ms"), std::string::npos) << slow.content;
  auto restart = bashTool(*sb, R"({"restart":true})");
  EXPECT_FALSE(restart.is_error);
  auto binary = bashTool(*sb, R"({"command":"printf 'a\\377b'"})");
  EXPECT_EQ(binary.content,
            "a\xEF\xBF\xBD"
            "b");  // invalid UTF-8 replaced
  auto huge = bashTool(*sb, R"({"command":")" + std::string(200 * 1024, 'x') + R"("})");
  EXPECT_TRUE(huge.is_error);
  EXPECT_NE(huge.content.find("too long"), std::string::npos);
  for (const char* bad : {R"({})", R"({"command":5})", R"({"command":"x","timeout":"1"})",
                          R"({"command":"x","timeout":-1})", "not json", "[1]"}) {
    auto r = bashTool(*sb, bad);
    EXPECT_TRUE(r.is_error) << bad;
  }
}

}  // namespace
}  // namespace basalt::sandbox
