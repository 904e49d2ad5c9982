#include "basalt/egress/allow_list.h"

#include <arpa/inet.h>

#include <algorithm>

namespace basalt::egress {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// inet_aton() (and so getaddrinfo()) reads "127.1", "0x7f.0.0.1", "017700000001" and
// "2130706433" as 127.0.0.1. Only the canonical dotted quad counts as an address; every other
// string inet_aton accepts is refused, so no allow-list text can smuggle in another address.
enum class Ipv4 { kNo, kCanonical, kAmbiguous };

Ipv4 classifyIpv4(const std::string& s) {
  in_addr addr{};
  if (::inet_aton(s.c_str(), &addr) == 0) return Ipv4::kNo;
  char buf[INET_ADDRSTRLEN];
  if (::inet_ntop(AF_INET, &addr, buf, sizeof buf) != nullptr && s == buf) return Ipv4::kCanonical;
  return Ipv4::kAmbiguous;
}

// A DNS name: labels of 1-63 [a-z0-9_-] not starting or ending with '-', at most 253 in all,
// and a top label with a letter (numeric "names" are addresses to the resolver).
bool validHostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  std::string_view last;
  while (start <= s.size()) {
    std::size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) dot = s.size();
    std::string_view label = s.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        return false;
      }
    }
    last = label;
    start = dot + 1;
  }
  return std::any_of(last.begin(), last.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

std::string normalizeHost(std::string_view host) {
  if (host.empty() || host.size() > 254) return {};
  std::string h = lowered(host);
  switch (classifyIpv4(h)) {
    case Ipv4::kCanonical:
      return h;
    case Ipv4::kAmbiguous:
      return {};
    case Ipv4::kNo:
      break;
  }
  return validHostname(h) ? h : std::string();
}

std::string checkAllowEntry(std::string_view entry) {
  if (entry.empty()) return "empty host";
  if (entry.size() > 255) return "longer than 255 characters";
  std::string_view name = entry;
  const bool wildcard = entry.starts_with("*.");
  if (wildcard) name.remove_prefix(2);
  if (name.find_first_of("*/:@[] ") != std::string_view::npos) {
    return "must be a hostname, an IPv4 address or *.domain (no scheme, port, path or other "
           "wildcard)";
  }
  std::string h = lowered(name);
  const Ipv4 ip = classifyIpv4(h);
  if (ip == Ipv4::kAmbiguous) return "not a canonical IPv4 address (write a.b.c.d)";
  if (ip == Ipv4::kCanonical) {
    return wildcard ? "a wildcard needs a domain name, not an address" : std::string();
  }
  if (!validHostname(h)) return "not a valid hostname";
  return {};
}

Result<AllowList> AllowList::parse(std::span<const std::string> entries) {
  if (entries.size() > kMaxAllowListEntries) {
    return Error::invalid("allowed_hosts: at most " + std::to_string(kMaxAllowListEntries) +
                          " entries");
  }
  AllowList list;
  for (const std::string& e : entries) {
    if (std::string why = checkAllowEntry(e); !why.empty()) {
      return Error::invalid("allowed_hosts: '" + e + "': " + why);
    }
    if (e.starts_with("*.")) {
      std::string suffix = "." + lowered(std::string_view(e).substr(2));
      if (std::find(list.suffixes_.begin(), list.suffixes_.end(), suffix) == list.suffixes_.end()) {
        list.suffixes_.push_back(std::move(suffix));
      }
    } else {
      std::string host = lowered(e);
      if (std::find(list.exact_.begin(), list.exact_.end(), host) == list.exact_.end()) {
        list.exact_.push_back(std::move(host));
      }
    }
  }
  return list;
}

bool AllowList::allows(std::string_view host) const {
  const std::string h = normalizeHost(host);
  if (h.empty()) return false;
  if (std::find(exact_.begin(), exact_.end(), h) != exact_.end()) return true;
  if (classifyIpv4(h) == Ipv4::kCanonical) return false;  // addresses match exactly or not at all
  return std::any_of(suffixes_.begin(), suffixes_.end(), [&](const std::string& s) {
    return h.size() > s.size() && h.compare(h.size() - s.size(), s.size(), s) == 0;
  });
}

std::vector<std::string> AllowList::entries() const {
  std::vector<std::string> out = exact_;
  for (const std::string& s : suffixes_) out.push_back("*" + s);
  return out;
}

}  // namespace basalt::egress
