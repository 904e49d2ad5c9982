#include "seccomp_filter.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace basalt::sandbox {
namespace {

// Denied outright. The namespaces already confine most of these; seccomp closes the kernel
// surface behind them (a kernel bug in mount or bpf is a host escape, not a sandbox one).
constexpr const char* kDenied[] = {
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "fanotify_init",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "syslog",
    "acct",
    "quotactl",
    "quotactl_fd",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "vhangup",
    "nfsservctl",
    "uselib",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
};

struct CtxDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

Error seccompError(const char* what, int rc) {
  return Error::internal(std::string("seccomp: ") + what + ": " + std::strerror(-rc));
}

}  // namespace

Result<int> buildSeccompFilterFd() {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return Error::internal("seccomp: seccomp_init failed");
  // A 32-bit or x32 syscall would bypass the rules written for the native ABI.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
      rc < 0) {
    return seccompError("badarch", rc);
  }
  for (const char* name : kDenied) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), nr, 0); rc < 0) {
      return seccompError(name, rc);
    }
  }
  // clone3 passes its flags in memory, out of seccomp's reach: ENOSYS makes glibc use clone.
  if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc < 0) {
    return seccompError("clone3", rc);
  }
  constexpr scmp_datum_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID |
                                           CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                                           CLONE_NEWCGROUP | CLONE_NEWTIME;
  for (scmp_datum_t flag = 1; flag != 0; flag <<= 1) {
    if ((kNamespaceFlags & flag) == 0) continue;
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
        rc < 0) {
      return seccompError("clone flags", rc);
    }
  }
  // Socket families: only AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK. The others are either
  // not namespaced at all (AF_VSOCK reaches the hypervisor host of a VM whatever the network
  // namespace says) or rarely used kernel surface (AF_ALG, AF_KEY, AF_PACKET, AF_XDP ...).
  for (scmp_datum_t family = 0; family < AF_PACKET; ++family) {
    if (family == AF_UNIX || family == AF_INET || family == AF_INET6 || family == AF_NETLINK) {
      continue;
    }
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                                  SCMP_A0(SCMP_CMP_EQ, family));
        rc < 0) {
      return seccompError("socket family", rc);
    }
  }
  if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                                SCMP_A0(SCMP_CMP_GE, AF_PACKET));
      rc < 0) {
    return seccompError("socket family", rc);
  }
  // Pushing bytes into another terminal's input queue; --new-session already detaches, belt
  // and braces.
  for (scmp_datum_t req : {scmp_datum_t{TIOCSTI}, scmp_datum_t{TIOCLINUX}}) {
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, req));
        rc < 0) {
      return seccompError("ioctl", rc);
    }
  }

  int fd = memfd_create("basalt-seccomp", MFD_CLOEXEC);
  if (fd < 0) return Error::internal(std::string("memfd_create: ") + std::strerror(errno));
  if (int rc = seccomp_export_bpf(ctx.get(), fd); rc < 0) {
    ::close(fd);
    return seccompError("export", rc);
  }
  if (::lseek(fd, 0, SEEK_SET) != 0) {
    ::close(fd);
    return Error::internal("seccomp: lseek failed");
  }
  return fd;
}

}  // namespace basalt::sandbox
