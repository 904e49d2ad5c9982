#pragma once
// Starts one process (bwrap) and supervises it: merged stdout/stderr with a cap, wall-clock
// deadline, cancellation, flood kill. Private to the module; knows nothing about bwrap flags.

#include "basalt/core/error.h"
#include "basalt/sandbox/sandbox.h"

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace basalt::sandbox {

struct SpawnPlan {
  std::string path;  ///< executable (absolute)
  std::vector<std::string> argv;
  std::vector<std::string> envp;  ///< "NAME=value", the whole environment
  /// Descriptors the child gets at fixed numbers: {source fd in this process, target fd}.
  /// Targets must be 3, 4, 5 ... in order; everything else above 2 is closed in the child.
  std::vector<std::pair<int, int>> fds;
  bool switch_user = false;  ///< setgroups({}) + setresgid/setresuid before exec
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<std::pair<int, rlimit>> rlimits;  ///< applied in the child before exec
  std::chrono::milliseconds timeout{0};
  std::size_t max_output_bytes = 0;
  std::size_t flood_kill_bytes = 0;
  const Cancellation* cancel = nullptr;
  int state_read_fd = -1;  ///< read (non-blocking, up to 4 KiB) into RunResult::state at the end
};

/// Spawns and waits. Errors only when the process could not be started.
Result<RunResult> spawnAndWait(const SpawnPlan& plan);

/// The first fd number SpawnPlan::fds sources should be moved to (F_DUPFD_CLOEXEC) so that the
/// child's dup2() onto 3, 4, ... never overwrites a source still to be moved.
inline constexpr int kHighFd = 512;

}  // namespace basalt::sandbox
