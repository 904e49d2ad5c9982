#include "basalt/policy/request_context.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace basalt::policy {
namespace {

constexpr char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

/// Three-way compare of a stored (lower-case) key against a probe of any case.
int compareFolded(std::string_view stored, std::string_view probe) {
  const std::size_t n = std::min(stored.size(), probe.size());
  for (std::size_t i = 0; i < n; ++i) {
    const char a = stored[i];
    const char b = lowerAscii(probe[i]);
    if (a != b) return static_cast<unsigned char>(a) < static_cast<unsigned char>(b) ? -1 : 1;
  }
  if (stored.size() == probe.size()) return 0;
  return stored.size() < probe.size() ? -1 : 1;
}

}  // namespace

std::vector<RequestContext::Entry>::iterator RequestContext::slot(std::string_view key) {
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), key,
      [](const Entry& e, std::string_view k) { return compareFolded(e.key, k) < 0; });
  if (it == entries_.end() || compareFolded(it->key, key) != 0) {
    std::string lowered(key);
    for (char& c : lowered) c = lowerAscii(c);
    it = entries_.insert(it, Entry{std::move(lowered), {}});
  }
  return it;
}

void RequestContext::set(std::string_view key, std::string value) {
  auto it = slot(key);
  it->values.clear();
  it->values.push_back(std::move(value));
}

void RequestContext::add(std::string_view key, std::string value) {
  slot(key)->values.push_back(std::move(value));
}

void RequestContext::setValues(std::string_view key, std::vector<std::string> values) {
  slot(key)->values = std::move(values);
}

bool RequestContext::erase(std::string_view key) {
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), key,
      [](const Entry& e, std::string_view k) { return compareFolded(e.key, k) < 0; });
  if (it == entries_.end() || compareFolded(it->key, key) != 0) return false;
  entries_.erase(it);
  return true;
}

void RequestContext::setCurrentTime(std::chrono::system_clock::time_point now) {
  // Every authorized request sets these; the text only changes once a second, so each thread
  // formats it once per second (gmtime_r + snprintf were a visible share of authorization).
  struct Formatted {
    std::time_t secs = -1;
    std::string current_time;
    std::string epoch_time;
  };
  thread_local Formatted cache;
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  if (secs != cache.secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cache.secs = secs;
    cache.current_time = buf;
    cache.epoch_time = std::to_string(static_cast<long long>(secs));
  }
  set("aws:CurrentTime", cache.current_time);
  set("aws:EpochTime", cache.epoch_time);
}

const std::vector<std::string>* RequestContext::find(std::string_view key) const {
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), key,
      [](const Entry& e, std::string_view k) { return compareFolded(e.key, k) < 0; });
  if (it == entries_.end() || compareFolded(it->key, key) != 0) return nullptr;
  return &it->values;
}

const std::vector<std::string>* RequestContext::findLowercase(std::string_view lower_key) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), lower_key,
                             [](const Entry& e, std::string_view k) { return e.key < k; });
  if (it == entries_.end() || it->key != lower_key) return nullptr;
  return &it->values;
}

}  // namespace basalt::policy
