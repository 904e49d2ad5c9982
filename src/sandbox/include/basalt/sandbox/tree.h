#pragma once
/// Safe copying of a directory tree between the sandbox and Basalt, for memory stores mounted
/// into a sandbox: materialize the store's memories into the mount directory before a run, read
/// back what the sandbox left there after it (and turn changes into memory versions).
///
/// The directory is writable by sandboxed code, which may plant symlinks (to /etc/shadow, to
/// another session's workspace ...), FIFOs or hard links in it. Reading it naively as Basalt
/// would import host files into the store. These functions never follow a symlink, never open
/// anything but regular files, never block on a FIFO, and never write outside the directory.

#include "basalt/core/error.h"

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace basalt::sandbox {

struct TreeFile {
  std::string path;  ///< relative, '/'-separated, no "." or ".." segments ("notes/a.md")
  std::string content;
};

struct TreeLimits {
  std::size_t max_files = 10'000;
  std::size_t max_file_bytes = 4u << 20;
  std::size_t max_total_bytes = 64u << 20;
  int max_depth = 32;
};

struct TreeSnapshot {
  std::vector<TreeFile> files;       ///< sorted by path
  std::vector<std::string> skipped;  ///< "path: reason" for symlinks, specials, oversize ...
};

/// Reads every regular file under `dir` (not following symlinks anywhere). Entries that are not
/// regular files, or exceed the limits, are listed in `skipped`, not read.
Result<TreeSnapshot> readTree(const std::filesystem::path& dir, const TreeLimits& limits = {});

/// Makes the regular files under `dir` exactly `files`: writes new and changed ones (replacing
/// any symlink or special file planted at their path), deletes files and symlinks not listed.
/// Directories are created as needed and left in place. New files and directories get
/// owner_uid/owner_gid when given (Sandbox::fileOwnerUid/Gid), so the sandbox can edit them.
Result<void> writeTree(const std::filesystem::path& dir, const std::vector<TreeFile>& files,
                       uid_t owner_uid = static_cast<uid_t>(-1),
                       gid_t owner_gid = static_cast<gid_t>(-1));

}  // namespace basalt::sandbox
