#include "basalt/core/metrics.h"

#include "basalt/core/assert.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace basalt::metrics {
namespace {

// Upper bounds of the duration histogram, in seconds, with their rendered `le` labels.
constexpr std::array<double, 16> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
constexpr std::array<std::string_view, 16> kBucketLabels{
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25",   "0.5",   "1",      "2.5",   "5",    "10",    "30",   "60"};

struct RequestKey {
  std::string door;
  std::string model;
  int status = 0;
};
struct RequestKeyView {
  std::string_view door;
  std::string_view model;
  int status = 0;
};
using RequestTuple = std::tuple<std::string_view, std::string_view, int>;
RequestTuple asTuple(const RequestKey& k) {
  return {k.door, k.model, k.status};
}
RequestTuple asTuple(const RequestKeyView& k) {
  return {k.door, k.model, k.status};
}
// Transparent ordering so that recording looks keys up without building strings.
struct RequestKeyLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return asTuple(a) < asTuple(b);
  }
};

struct PairKey {
  std::string a;
  std::string b;
};
struct PairKeyView {
  std::string_view a;
  std::string_view b;
};
struct PairKeyLess {
  using is_transparent = void;
  template <class X, class Y>
  bool operator()(const X& x, const Y& y) const {
    return std::tuple<std::string_view, std::string_view>(x.a, x.b) <
           std::tuple<std::string_view, std::string_view>(y.a, y.b);
  }
};

struct Histogram {
  std::array<std::uint64_t, kBuckets.size()> counts{};  // non-cumulative
  std::uint64_t count = 0;
  double sum = 0;

  void observe(double seconds) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      if (seconds <= kBuckets[i]) {
        ++counts[i];
        break;
      }
    }
    ++count;
    sum += seconds;
  }
  void merge(const Histogram& other) {
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
    count += other.count;
    sum += other.sum;
  }
};

// One thread's metrics. Only that thread records into it, so its mutex is contended only by
// a scrape merging all shards.
struct Shard {
  std::mutex mutex;
  std::map<RequestKey, std::uint64_t, RequestKeyLess> requests;
  std::map<std::string, Histogram, std::less<>> durations;
  std::map<PairKey, std::uint64_t, PairKeyLess> upstream_errors;
  std::map<PairKey, std::uint64_t, PairKeyLess> agent_events;  // (agent, event)
  std::map<std::string, std::uint64_t, std::less<>> agent_tokens;
  std::int64_t open_streams = 0;  // deltas: opened on one thread, closed on another is fine
  std::int64_t open_connections = 0;
};

// Shards live for the whole process: a thread's counts must survive the thread.
struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<Shard>> shards;
};

Registry& registry() {
  static Registry* instance = new Registry;  // never destroyed: threads may record at exit
  return *instance;
}

Shard& localShard() {
  thread_local Shard* shard = [] {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    r.shards.push_back(std::make_unique<Shard>());
    return r.shards.back().get();
  }();
  return *shard;
}

void appendEscaped(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
}

void appendLabel(std::string& out, std::string_view name, std::string_view value, bool first) {
  if (!first) out.push_back(',');
  out += name;
  out += "=\"";
  appendEscaped(out, value);
  out.push_back('"');
}

template <class T>
void appendNumber(std::string& out, T value) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
}

}  // namespace

void recordRequest(std::string_view door, std::string_view model, int status, double seconds) {
  Shard& shard = localShard();
  std::lock_guard lock(shard.mutex);
  const RequestKeyView key{door, model, status};
  if (auto it = shard.requests.find(key); it != shard.requests.end()) {
    ++it->second;
  } else {
    shard.requests.emplace(RequestKey{std::string(door), std::string(model), status}, 1);
  }
  auto it = shard.durations.find(door);
  if (it == shard.durations.end())
    it = shard.durations.emplace(std::string(door), Histogram{}).first;
  it->second.observe(seconds < 0 ? 0 : seconds);
}

void recordUpstreamError(std::string_view provider, std::string_view kind) {
  Shard& shard = localShard();
  std::lock_guard lock(shard.mutex);
  const PairKeyView key{provider, kind};
  if (auto it = shard.upstream_errors.find(key); it != shard.upstream_errors.end()) {
    ++it->second;
  } else {
    shard.upstream_errors.emplace(PairKey{std::string(provider), std::string(kind)}, 1);
  }
}

/// The label an agent id is counted under: itself for the first kMaxAgentLabels distinct ids
/// seen by the process, "other" after that (bounded cardinality for client-created ids).
std::string_view agentLabel(std::string_view agent_id) {
  static std::mutex mu;
  static std::set<std::string, std::less<>> seen;
  std::lock_guard lock(mu);
  if (auto it = seen.find(agent_id); it != seen.end()) return *it;
  if (seen.size() >= kMaxAgentLabels) return "other";
  return *seen.emplace(agent_id).first;
}

void recordAgentEvent(std::string_view agent_id, std::string_view event, std::int64_t tokens) {
  const std::string_view agent = agentLabel(agent_id);  // stable storage: set nodes never move
  Shard& shard = localShard();
  std::lock_guard lock(shard.mutex);
  const PairKeyView key{agent, event};
  if (auto it = shard.agent_events.find(key); it != shard.agent_events.end()) {
    ++it->second;
  } else {
    shard.agent_events.emplace(PairKey{std::string(agent), std::string(event)}, 1);
  }
  if (tokens > 0) {
    if (auto it = shard.agent_tokens.find(agent); it != shard.agent_tokens.end()) {
      it->second += static_cast<std::uint64_t>(tokens);
    } else {
      shard.agent_tokens.emplace(std::string(agent), static_cast<std::uint64_t>(tokens));
    }
  }
}

void streamOpened() {
  Shard& shard = localShard();
  std::lock_guard lock(shard.mutex);
  ++shard.open_streams;
}

void streamClosed() {
  Shard& shard = localShard();
  std::lock_guard lock(shard.mutex);
  --shard.open_streams;
}

void connectionOpened() {
  Shard& shard = localShard();
  std::lock_guard lock(shard.mutex);
  ++shard.open_connections;
}

void connectionClosed() {
  Shard& shard = localShard();
  std::lock_guard lock(shard.mutex);
  --shard.open_connections;
}

std::string renderPrometheus() {
  std::map<RequestKey, std::uint64_t, RequestKeyLess> requests;
  std::map<std::string, Histogram, std::less<>> durations;
  std::map<PairKey, std::uint64_t, PairKeyLess> upstream_errors;
  std::map<PairKey, std::uint64_t, PairKeyLess> agent_events;
  std::map<std::string, std::uint64_t, std::less<>> agent_tokens;
  std::int64_t open_streams = 0;
  std::int64_t open_connections = 0;
  {
    Registry& r = registry();
    std::lock_guard registry_lock(r.mutex);
    for (const auto& shard : r.shards) {
      std::lock_guard lock(shard->mutex);
      for (const auto& [key, n] : shard->requests) requests[key] += n;
      for (const auto& [door, h] : shard->durations) durations[door].merge(h);
      for (const auto& [key, n] : shard->upstream_errors) upstream_errors[key] += n;
      for (const auto& [key, n] : shard->agent_events) agent_events[key] += n;
      for (const auto& [agent, n] : shard->agent_tokens) agent_tokens[agent] += n;
      open_streams += shard->open_streams;
      open_connections += shard->open_connections;
    }
  }

  std::string out;
  out.reserve(1024 + requests.size() * 96 + durations.size() * 1200);
  out += "# HELP basalt_requests_total Requests served, by front door, model and status.\n";
  out += "# TYPE basalt_requests_total counter\n";
  for (const auto& [key, n] : requests) {
    out += "basalt_requests_total{";
    appendLabel(out, "door", key.door, true);
    appendLabel(out, "model", key.model, false);
    out += ",status=\"";
    appendNumber(out, key.status);
    out += "\"} ";
    appendNumber(out, n);
    out.push_back('\n');
  }

  out += "# HELP basalt_request_duration_seconds Request latency until the response ended.\n";
  out += "# TYPE basalt_request_duration_seconds histogram\n";
  for (const auto& [door, h] : durations) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.counts[i];
      out += "basalt_request_duration_seconds_bucket{";
      appendLabel(out, "door", door, true);
      appendLabel(out, "le", kBucketLabels[i], false);
      out += "} ";
      appendNumber(out, cumulative);
      out.push_back('\n');
    }
    out += "basalt_request_duration_seconds_bucket{";
    appendLabel(out, "door", door, true);
    out += ",le=\"+Inf\"} ";
    appendNumber(out, h.count);
    out += "\nbasalt_request_duration_seconds_sum{";
    appendLabel(out, "door", door, true);
    out += "} ";
    appendNumber(out, h.sum);
    out += "\nbasalt_request_duration_seconds_count{";
    appendLabel(out, "door", door, true);
    out += "} ";
    appendNumber(out, h.count);
    out.push_back('\n');
  }

  out += "# HELP basalt_upstream_errors_total Failed upstream calls, by provider and kind.\n";
  out += "# TYPE basalt_upstream_errors_total counter\n";
  for (const auto& [key, n] : upstream_errors) {
    out += "basalt_upstream_errors_total{";
    appendLabel(out, "provider", key.a, true);
    appendLabel(out, "kind", key.b, false);
    out += "} ";
    appendNumber(out, n);
    out.push_back('\n');
  }

  out += "# HELP basalt_agent_events_total Managed-agent activity, by agent and event.\n";
  out += "# TYPE basalt_agent_events_total counter\n";
  for (const auto& [key, n] : agent_events) {
    out += "basalt_agent_events_total{";
    appendLabel(out, "agent", key.a, true);
    appendLabel(out, "event", key.b, false);
    out += "} ";
    appendNumber(out, n);
    out.push_back('\n');
  }
  out += "# HELP basalt_agent_tokens_total Model tokens (input + output) used by each agent.\n";
  out += "# TYPE basalt_agent_tokens_total counter\n";
  for (const auto& [agent, n] : agent_tokens) {
    out += "basalt_agent_tokens_total{";
    appendLabel(out, "agent", agent, true);
    out += "} ";
    appendNumber(out, n);
    out.push_back('\n');
  }

  out += "# HELP basalt_open_streams Streaming responses currently open.\n";
  out += "# TYPE basalt_open_streams gauge\nbasalt_open_streams ";
  appendNumber(out, open_streams);
  out += "\n# HELP basalt_open_connections Client connections currently open.\n";
  out += "# TYPE basalt_open_connections gauge\nbasalt_open_connections ";
  appendNumber(out, open_connections);
  out += "\n# HELP basalt_bugs_total Internal inconsistencies survived (BASALT_BUG).\n";
  out += "# TYPE basalt_bugs_total counter\nbasalt_bugs_total ";
  appendNumber(out, bugCount());
  out.push_back('\n');
  return out;
}

}  // namespace basalt::metrics
