#include "basalt/sandbox/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <set>

namespace basalt::sandbox {
namespace {

class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Error sysError(const std::string& what) {
  return Error::internal(what + ": " + std::strerror(errno));
}

// Calls visit(dir_fd, relative path, name, lstat) for every entry below dir_fd, depth first,
// entering directories only through O_NOFOLLOW. Directories are visited before their content.
using Visit =
    std::function<void(int, const std::string&, const std::string&, const struct stat&, int depth)>;
void walk(int dir_fd, const std::string& rel, int depth, int max_depth, const Visit& visit) {
  int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return;
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    ::close(dup);
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string child = rel.empty() ? name : rel + "/" + name;
    visit(dir_fd, child, name, st, depth);
    if (S_ISDIR(st.st_mode) && depth < max_depth) {
      int sub = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) continue;
      walk(sub, child, depth + 1, max_depth, visit);
      ::close(sub);
    }
  }
}

bool validTreePath(std::string_view path) {
  if (path.empty() || path.size() > 1024 || path.front() == '/' ||
      path.find('\0') != std::string_view::npos) {
    return false;
  }
  std::size_t i = 0;
  while (i <= path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    auto seg = path.substr(i, j - i);
    if (seg.empty() || seg == "." || seg == "..") return false;
    i = j + 1;
  }
  return true;
}

void chownIf(int fd, uid_t uid, gid_t gid) {
  if (uid != static_cast<uid_t>(-1)) [[maybe_unused]]
    int rc = ::fchown(fd, uid, gid);
}

// Opens (creating as needed) the directory `rel` under root one segment at a time, never
// following a symlink; whatever non-directory sits in the way is removed.
Result<int> openParents(int root, const std::string& rel, uid_t uid, gid_t gid) {
  int cur = ::fcntl(root, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) return sysError("fcntl");
  std::size_t i = 0;
  while (true) {
    auto j = rel.find('/', i);
    if (j == std::string::npos) return cur;  // the last segment is the file itself
    const std::string seg = rel.substr(i, j - i);
    i = j + 1;
    struct stat st {};
    if (::fstatat(cur, seg.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
      ::unlinkat(cur, seg.c_str(), 0);
    }
    if (::mkdirat(cur, seg.c_str(), 0755) == 0) {
      int made = ::openat(cur, seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (made >= 0) {
        chownIf(made, uid, gid);
        ::close(made);
      }
    }
    int next = ::openat(cur, seg.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(cur);
    if (next < 0) return sysError("cannot open directory " + rel.substr(0, j));
    cur = next;
  }
}

// Opens the existing directory `rel` under root one segment at a time with O_NOFOLLOW (so a
// symlink planted anywhere on the path is refused); -1 on failure. "" is root itself.
int openDirNoFollow(int root, const std::string& rel) {
  int cur = ::fcntl(root, F_DUPFD_CLOEXEC, 0);
  std::size_t i = 0;
  while (cur >= 0 && i < rel.size()) {
    auto j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    const std::string seg = rel.substr(i, j - i);
    i = j + 1;
    int next = ::openat(cur, seg.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(cur);
    cur = next;
  }
  return cur;
}

}  // namespace

Result<TreeSnapshot> readTree(const std::filesystem::path& dir, const TreeLimits& limits) {
  ScopedFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (root.get() < 0) return sysError("cannot open " + dir.string());
  TreeSnapshot snap;
  std::size_t total = 0;
  walk(root.get(), "", 0, limits.max_depth,
       [&](int dir_fd, const std::string& rel, const std::string& name, const struct stat& st,
           int depth) {
         if (S_ISDIR(st.st_mode)) {
           if (depth >= limits.max_depth) snap.skipped.push_back(rel + ": too deep");
           return;
         }
         if (S_ISLNK(st.st_mode)) {
           snap.skipped.push_back(rel + ": symbolic link (not followed)");
           return;
         }
         if (!S_ISREG(st.st_mode)) {
           snap.skipped.push_back(rel + ": not a regular file");
           return;
         }
         if (static_cast<std::size_t>(st.st_size) > limits.max_file_bytes) {
           snap.skipped.push_back(rel + ": larger than " + std::to_string(limits.max_file_bytes) +
                                  " bytes");
           return;
         }
         if (snap.files.size() >= limits.max_files) {
           snap.skipped.push_back(rel + ": too many files");
           return;
         }
         if (total + static_cast<std::size_t>(st.st_size) > limits.max_total_bytes) {
           snap.skipped.push_back(rel + ": total size limit reached");
           return;
         }
         int fd = ::openat(dir_fd, name.c_str(),
                           O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
         if (fd < 0) {
           snap.skipped.push_back(rel + ": " + std::strerror(errno));
           return;
         }
         ScopedFd file(fd);
         struct stat now {};
         if (::fstat(fd, &now) != 0 || !S_ISREG(now.st_mode)) {
           snap.skipped.push_back(rel + ": changed while reading");
           return;
         }
         std::string content;
         char buf[65536];
         bool too_big = false;
         for (;;) {
           ssize_t n = ::read(fd, buf, sizeof buf);
           if (n < 0 && errno == EINTR) continue;
           if (n <= 0) break;
           if (content.size() + static_cast<std::size_t>(n) > limits.max_file_bytes) {
             too_big = true;
             break;
           }
           content.append(buf, static_cast<std::size_t>(n));
         }
         if (too_big) {
           snap.skipped.push_back(rel + ": grew past the size limit while reading");
           return;
         }
         total += content.size();
         snap.files.push_back(TreeFile{rel, std::move(content)});
       });
  std::sort(snap.files.begin(), snap.files.end(),
            [](const TreeFile& a, const TreeFile& b) { return a.path < b.path; });
  return snap;
}

Result<void> writeTree(const std::filesystem::path& dir, const std::vector<TreeFile>& files,
                       uid_t owner_uid, gid_t owner_gid) {
  std::set<std::string> wanted;
  for (const auto& f : files) {
    if (!validTreePath(f.path)) return Error::invalid("invalid tree path: " + f.path);
    if (!wanted.insert(f.path).second) return Error::invalid("duplicate tree path: " + f.path);
  }
  // A file "a" and a file "a/b" cannot both exist.
  for (const auto& p : wanted) {
    for (auto slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1)) {
      if (wanted.count(p.substr(0, slash)) != 0) {
        return Error::invalid("tree path is both a file and a directory: " + p.substr(0, slash));
      }
    }
  }
  ScopedFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (root.get() < 0) return sysError("cannot open " + dir.string());

  for (const auto& f : files) {
    auto parent = openParents(root.get(), f.path, owner_uid, owner_gid);
    if (!parent) return parent.error();
    ScopedFd parent_fd(*parent);
    const std::string name = f.path.substr(f.path.rfind('/') + 1);
    struct stat st {};
    bool exists = ::fstatat(parent_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
      return Error::invalid("a directory is in the way of " + f.path);
    }
    if (exists && (!S_ISREG(st.st_mode) || st.st_nlink > 1)) {
      // Planted symlink, FIFO or hard link: replace it, never write through it.
      if (::unlinkat(parent_fd.get(), name.c_str(), 0) != 0) return sysError("unlink " + f.path);
      exists = false;
    }
    int fd = ::openat(parent_fd.get(), name.c_str(),
                      O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
    if (fd < 0) return sysError("cannot write " + f.path);
    ScopedFd file(fd);
    struct stat opened {};
    if (::fstat(fd, &opened) != 0 || !S_ISREG(opened.st_mode) || opened.st_nlink > 1) {
      return Error::invalid("not a plain file (changed concurrently): " + f.path);
    }
    if (!exists) chownIf(fd, owner_uid, owner_gid);
    if (exists && static_cast<std::size_t>(st.st_size) == f.content.size()) {
      // Unchanged files keep their mtime (so readTree-based change detection stays quiet).
      std::string current(f.content.size(), '\0');
      ssize_t n = ::pread(fd, current.data(), current.size(), 0);
      if (n == static_cast<ssize_t>(current.size()) && current == f.content) continue;
    }
    if (::ftruncate(fd, 0) != 0) return sysError("truncate " + f.path);
    std::size_t off = 0;
    while (off < f.content.size()) {
      ssize_t n =
          ::pwrite(fd, f.content.data() + off, f.content.size() - off, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sysError("write " + f.path);
      off += static_cast<std::size_t>(n);
    }
  }

  // Delete what is not wanted (files, links, specials; directories stay).
  std::vector<std::pair<std::string, std::string>> doomed;  // {parent rel, name}
  walk(root.get(), "", 0, 64,
       [&](int, const std::string& rel, const std::string& name, const struct stat& st, int) {
         if (!S_ISDIR(st.st_mode) && wanted.count(rel) == 0) {
           doomed.emplace_back(rel.size() > name.size()
                                   ? rel.substr(0, rel.size() - name.size() - 1)
                                   : std::string(),
                               name);
         }
       });
  for (const auto& [parent_rel, name] : doomed) {
    ScopedFd parent(openDirNoFollow(root.get(), parent_rel));
    if (parent.get() >= 0) ::unlinkat(parent.get(), name.c_str(), 0);
  }
  return {};
}

}  // namespace basalt::sandbox
