#pragma once
// Builds the seccomp-bpf program handed to bwrap (--seccomp FD). Private to the module.

#include "basalt/core/error.h"

namespace basalt::sandbox {

/// Returns a memfd (close-on-exec, offset 0) holding the compiled BPF program: allow by default,
/// EPERM for syscalls a sandboxed tool never needs and that widen the kernel attack surface or
/// could escape the namespaces (ptrace, mount, unshare/setns, keyctl, bpf, perf_event_open,
/// kexec, module loading, namespace-creating clone flags ...), EAFNOSUPPORT for socket families
/// other than unix/inet/inet6/netlink (AF_VSOCK is not namespaced), ENOSYS for clone3 (so libc
/// falls back to clone, whose flags can be checked). Non-native syscall ABIs kill the process.
Result<int> buildSeccompFilterFd();

}  // namespace basalt::sandbox
