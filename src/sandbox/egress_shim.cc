// basalt-egress-shim: runs inside a sandbox with Network::kProxy (docs/adr/0011-sandbox-egress.md).
//
//   basalt-egress-shim PORT SOCKET COMMAND [ARG...]
//
// Listens on 127.0.0.1:PORT of the sandbox's own (loopback-only) network namespace, then forks:
// the child relays every accepted TCP connection to the unix socket SOCKET (the host's egress
// proxy, bind-mounted in), and the parent execs COMMAND. The command is what the sandbox waits
// for; when it exits, bwrap's pid namespace ends and takes the relay with it (the relay also
// has PR_SET_PDEATHSIG). The listening socket exists before COMMAND starts, so no retry loop is
// needed anywhere.
//
// Deliberately tiny and dependency-free (libc only): it runs with the command's rlimits and
// seccomp filter and is the only Basalt code executed inside the sandbox.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool writeAll(int fd, const char* data, ssize_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, static_cast<size_t>(n));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= w;
  }
  return true;
}

// Copies both ways until both directions reached end of file (or either side fails).
void relay(int a, int b) {
  bool open_ab = true;  // a -> b still flowing
  bool open_ba = true;
  char buf[16384];
  while (open_ab || open_ba) {
    pollfd fds[2] = {{a, static_cast<short>(open_ab ? POLLIN : 0), 0},
                     {b, static_cast<short>(open_ba ? POLLIN : 0), 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      bool& open = i == 0 ? open_ab : open_ba;
      const int from = i == 0 ? a : b;
      const int to = i == 0 ? b : a;
      if (!open || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = ::read(from, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;
      if (n == 0) {
        ::shutdown(to, SHUT_WR);
        open = false;
        continue;
      }
      if (!writeAll(to, buf, n)) return;
    }
  }
}

int connectProxy(const char* path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (std::strlen(path) >= sizeof addr.sun_path) return -1;
  std::strcpy(addr.sun_path, path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

[[noreturn]] void serve(int listener, const char* socket_path, pid_t command) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != command) _exit(0);  // the command is already gone
  ::signal(SIGCHLD, SIG_IGN);            // relays are reaped by the kernel
  // Keep nothing of the command's: not its output pipe (the sandbox's output would stay open),
  // not the bash tool's state channel.
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; ++fd) {
    if (null >= 0) ::dup2(null, fd);
  }
  // Whatever RLIMIT_NOFILE is: everything above stderr except the listening socket.
  const auto l = static_cast<unsigned>(listener);
  if (l > 3) ::syscall(SYS_close_range, 3u, l - 1, 0u);
  ::syscall(SYS_close_range, l + 1, ~0u, 0u);
  for (;;) {
    int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        ::usleep(50'000);
        continue;
      }
      _exit(1);
    }
    pid_t child = ::fork();
    if (child == 0) {
      ::close(listener);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int upstream = connectProxy(socket_path);
      if (upstream < 0) {
        static const char kBad[] =
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 50\r\n"
            "Connection: close\r\n\r\nbasalt egress shim: the egress proxy is not there\n";
        writeAll(client, kBad, sizeof kBad - 1);
        _exit(1);
      }
      relay(client, upstream);
      _exit(0);
    }
    ::close(client);  // the relay has it (or fork failed: the client sees a reset)
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: basalt-egress-shim PORT SOCKET COMMAND [ARG...]\n");
    return 126;
  }
  char* end = nullptr;
  long port = std::strtol(argv[1], &end, 10);
  if (end == argv[1] || *end != '\0' || port <= 0 || port > 65535) {
    std::fprintf(stderr, "basalt-egress-shim: bad port %s\n", argv[1]);
    return 126;
  }
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  if (listener < 0 || ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 128) != 0) {
    std::fprintf(stderr, "basalt-egress-shim: cannot listen on 127.0.0.1:%ld: %s\n", port,
                 std::strerror(errno));
    return 126;
  }
  const pid_t command = ::getpid();
  pid_t relay_pid = ::fork();
  if (relay_pid < 0) {
    std::fprintf(stderr, "basalt-egress-shim: fork: %s\n", std::strerror(errno));
    return 126;
  }
  if (relay_pid == 0) serve(listener, argv[2], command);
  ::close(listener);
  ::execvp(argv[3], argv + 3);
  std::fprintf(stderr, "basalt-egress-shim: cannot run %s: %s\n", argv[3], std::strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
