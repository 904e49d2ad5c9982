#pragma once
/// The per-session host allow-list of the egress proxy (managed agents, `limited` networking).
///
/// Entries: an exact hostname (case-insensitive, a trailing dot ignored), a canonical IPv4
/// address ("10.0.0.1"), or "*.example.com", which matches every subdomain of example.com but
/// not example.com itself. IPv6 literals are not supported (never allowed). A request host is
/// allowed iff it matches an entry textually; the proxy resolves allowed names itself, so what
/// a name resolves to is the name owner's (and the operator's) business, not the sandbox's.

#include "basalt/core/error.h"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::egress {

/// Most `allowed_hosts` entries an environment may list (the agents API refuses more).
inline constexpr std::size_t kMaxAllowedHosts = 256;
/// Most entries an AllowList holds: allowed_hosts plus MCP server hosts and package registries.
inline constexpr std::size_t kMaxAllowListEntries = 1024;

/// Package registries added to a session's allow-list when its environment sets
/// `allow_package_managers` (pip, npm/yarn, apt on Debian/Ubuntu, cargo, go, gem).
inline constexpr std::string_view kPackageRegistryHosts[] = {
    "pypi.org",           "files.pythonhosted.org",
    "registry.npmjs.org", "registry.yarnpkg.com",
    "deb.debian.org",     "security.debian.org",
    "archive.ubuntu.com", "security.ubuntu.com",
    "ports.ubuntu.com",   "crates.io",
    "index.crates.io",    "static.crates.io",
    "proxy.golang.org",   "sum.golang.org",
    "rubygems.org",       "index.rubygems.org"};

/// Why `entry` is not a valid allow-list entry, or empty when it is.
std::string checkAllowEntry(std::string_view entry);

/// The lower-cased, trailing-dot-free form of a request host; empty when the host is not a
/// hostname or canonical IPv4 address (IPv6, control characters, inet_aton tricks such as
/// "0x7f.1" or "2130706433"): such hosts are never allowed.
std::string normalizeHost(std::string_view host);

class AllowList {
 public:
  AllowList() = default;  ///< allows nothing

  /// Validates every entry (checkAllowEntry) and at most kMaxAllowListEntries of them; duplicates
  /// are merged. The error names the first bad entry.
  static Result<AllowList> parse(std::span<const std::string> entries);

  /// Whether a request for `host` (as written in CONNECT or an absolute URL) may go out.
  bool allows(std::string_view host) const;

  bool empty() const { return exact_.empty() && suffixes_.empty(); }
  /// The normalized entries, exact ones first ("*.x" for wildcards).
  std::vector<std::string> entries() const;

 private:
  std::vector<std::string> exact_;     ///< hostnames and IPv4 addresses
  std::vector<std::string> suffixes_;  ///< ".example.com" for "*.example.com"
};

}  // namespace basalt::egress
