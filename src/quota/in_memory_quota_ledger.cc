#include "basalt/quota/in_memory_quota_ledger.h"

#include <algorithm>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>

namespace basalt::quota {
namespace {

constexpr std::int64_t kUsPerMinute = 60'000'000;
// A bucket starts full: any TAT at or before "now" means full.
constexpr std::int64_t kFullTat = std::numeric_limits<std::int64_t>::min() / 4;

// Time in units of 1/limit minute (at microsecond resolution): one unit refills exactly one
// token (or request). Split into whole minutes and a remainder so every step fits in 64 bits for
// limits up to kMaxLimit and divides by constants only (no 128-bit division on the hot path).
std::int64_t toUnits(TimePoint now, std::int64_t limit) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  if (us < 0) us = 0;
  const std::int64_t minutes = us / kUsPerMinute;
  const std::int64_t rest = us % kUsPerMinute;
  return minutes * limit + rest * limit / kUsPerMinute;
}

// Only called with 0 <= units <= limit, so the product fits in 64 bits.
std::int64_t unitsToMs(std::int64_t units, std::int64_t limit) {
  return (units * 60'000 + limit - 1) / limit;
}

int unitsToRetrySeconds(std::int64_t units, std::int64_t limit) {
  auto s = (static_cast<__int128>(units) * 60 + limit - 1) / limit;
  if (s < 1) s = 1;
  if (s > 3600) s = 3600;
  return static_cast<int>(s);
}

// One GCRA token bucket (see the header): `tat` in units of 1/limit minute.
struct Gcra {
  std::atomic<std::int64_t> tat{kFullTat};

  // Takes n units; on success returns the units left, otherwise sets `wait_units`.
  bool take(std::int64_t n, std::int64_t limit, TimePoint now, std::int64_t& left,
            std::int64_t& wait_units, std::int64_t& reset_units) {
    const std::int64_t t = toUnits(now, limit);
    std::int64_t cur = tat.load(std::memory_order_relaxed);
    for (;;) {
      const std::int64_t next = std::max(cur, t) + n;
      if (next - t > limit) {
        wait_units = next - t - limit;
        return false;
      }
      if (tat.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
        left = limit - (next - t);
        reset_units = next - t;
        return true;
      }
    }
  }

  void give(std::int64_t n) { tat.fetch_sub(n, std::memory_order_acq_rel); }

  void charge(std::int64_t n, std::int64_t limit, TimePoint now) {
    const std::int64_t t = toUnits(now, limit);
    std::int64_t cur = tat.load(std::memory_order_relaxed);
    while (!tat.compare_exchange_weak(cur, std::max(cur, t) + n, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
    }
  }

  std::int64_t available(std::int64_t limit, TimePoint now) const {
    const std::int64_t t = toUnits(now, limit);
    return limit - (std::max(tat.load(std::memory_order_acquire), t) - t);
  }
};

// One quota's live state. Aligned so two hot quotas never share a cache line.
struct alignas(64) Bucket {
  Bucket(std::string s, std::string m, QuotaLimits l)
      : subject(std::move(s)), model(std::move(m)), limits(l) {}
  const std::string subject;
  const std::string model;
  const QuotaLimits limits;
  Gcra requests;
  Gcra tokens;
  std::atomic<std::int64_t> in_flight{0};
};

struct KeyView {
  std::string_view subject;
  std::string_view model;
};

struct Key {
  std::string subject;
  std::string model;
};

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(const KeyView& k) const {
    const std::size_t h = std::hash<std::string_view>{}(k.subject);
    return h ^
           (std::hash<std::string_view>{}(k.model) + 0x9e3779b97f4a7c15ULL + (h << 6U) + (h >> 2U));
  }
  std::size_t operator()(const Key& k) const { return (*this)(KeyView{k.subject, k.model}); }
};

struct KeyEq {
  using is_transparent = void;
  static KeyView view(const Key& k) { return {k.subject, k.model}; }
  static KeyView view(const KeyView& k) { return k; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return view(a).subject == view(b).subject && view(a).model == view(b).model;
  }
};

std::atomic<std::uint64_t> g_next_generation{1};

// What one admission took from one bucket, so it can be settled, released or rolled back.
struct Taken {
  std::shared_ptr<Bucket> bucket;
  bool slot = false;
  bool request = false;
  std::int64_t tokens = 0;  // reserved units in bucket->tokens
};

void rollback(const Taken& t) {
  if (t.slot) t.bucket->in_flight.fetch_sub(1, std::memory_order_acq_rel);
  if (t.request) t.bucket->requests.give(1);
  if (t.tokens > 0) t.bucket->tokens.give(t.tokens);
}

class MemoryTicketState final : public TicketState {
 public:
  MemoryTicketState(std::vector<Taken> taken, std::int64_t reserved)
      : taken_(std::move(taken)), reserved_(reserved) {}

  void settle(std::int64_t actual_tokens, TimePoint now) override {
    const std::int64_t delta = actual_tokens - reserved_;
    if (delta == 0) return;
    for (const Taken& t : taken_) {
      const std::int64_t limit = t.bucket->limits.tokens_per_minute;
      if (limit <= 0) continue;
      if (delta < 0) {
        t.bucket->tokens.give(-delta);
      } else {
        t.bucket->tokens.charge(delta, limit, now);
      }
    }
  }

  void release() noexcept override {
    for (const Taken& t : taken_) {
      if (t.slot) t.bucket->in_flight.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

 private:
  std::vector<Taken> taken_;
  std::int64_t reserved_;
};

}  // namespace

struct InMemoryQuotaLedger::Table {
  std::uint64_t generation = 0;
  std::unordered_map<Key, std::shared_ptr<Bucket>, KeyHash, KeyEq> buckets;

  const std::shared_ptr<Bucket>* find(std::string_view subject, std::string_view model) const {
    auto it = buckets.find(KeyView{subject, model});
    return it == buckets.end() ? nullptr : &it->second;
  }
};

namespace {

// The calling thread's view of the last table it used; valid while the generation matches
// (generations are unique across all ledgers, so one slot serves every ledger).
struct ThreadCache {
  std::uint64_t generation = 0;
  std::shared_ptr<const InMemoryQuotaLedger::Table> table;
};
thread_local ThreadCache t_cache;

}  // namespace

InMemoryQuotaLedger::InMemoryQuotaLedger() {
  auto t = std::make_shared<Table>();
  t->generation = g_next_generation.fetch_add(1);
  generation_.store(t->generation);
  table_.store(std::move(t));
}

InMemoryQuotaLedger::~InMemoryQuotaLedger() = default;

Result<void> InMemoryQuotaLedger::validate(const std::vector<QuotaRule>& rules) {
  std::unordered_map<Key, std::size_t, KeyHash, KeyEq> seen;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const QuotaRule& r = rules[i];
    const std::string where = "quotas[" + std::to_string(i) + "]";
    if (r.subject.empty()) return Error::invalid(where + ": subject is empty", where + ".subject");
    const std::pair<const char*, std::int64_t> fields[] = {
        {"requests_per_minute", r.limits.requests_per_minute},
        {"tokens_per_minute", r.limits.tokens_per_minute},
        {"concurrent_requests", r.limits.concurrent_requests}};
    for (const auto& [name, value] : fields) {
      if (value < 0 || value > kMaxLimit) {
        return Error::invalid(where + "." + name + " = " + std::to_string(value) +
                                  " is out of range [0, " + std::to_string(kMaxLimit) + "]",
                              where + "." + name);
      }
    }
    auto [it, inserted] = seen.emplace(Key{r.subject, r.model}, i);
    if (!inserted) {
      return Error::invalid(
          where + " duplicates quotas[" + std::to_string(it->second) + "] (same subject and model)",
          where);
    }
  }
  return {};
}

Result<void> InMemoryQuotaLedger::configure(const std::vector<QuotaRule>& rules) {
  if (auto v = validate(rules); !v) return v.error();
  auto old = snapshot();
  auto next = std::make_shared<Table>();
  for (const QuotaRule& r : rules) {
    const QuotaLimits& l = r.limits;
    if (l.requests_per_minute == 0 && l.tokens_per_minute == 0 && l.concurrent_requests == 0) {
      continue;  // nothing to enforce
    }
    std::shared_ptr<Bucket> bucket;
    if (const auto* prev = old->find(r.subject, r.model)) {
      const QuotaLimits& p = (*prev)->limits;
      if (p.requests_per_minute == l.requests_per_minute &&
          p.tokens_per_minute == l.tokens_per_minute &&
          p.concurrent_requests == l.concurrent_requests) {
        bucket = *prev;
      }
    }
    if (!bucket) bucket = std::make_shared<Bucket>(r.subject, r.model, l);
    next->buckets.emplace(Key{r.subject, r.model}, std::move(bucket));
  }
  next->generation = g_next_generation.fetch_add(1);
  const std::uint64_t gen = next->generation;
  table_.store(std::move(next));
  generation_.store(gen, std::memory_order_release);
  return {};
}

std::shared_ptr<const InMemoryQuotaLedger::Table> InMemoryQuotaLedger::snapshot() const {
  return table_.load();
}

Admission InMemoryQuotaLedger::admit(const QuotaKeys& keys, std::int64_t reserve_tokens,
                                     TimePoint now) {
  if (reserve_tokens < 0) reserve_tokens = 0;
  const std::uint64_t gen = generation_.load(std::memory_order_acquire);
  if (t_cache.generation != gen || !t_cache.table) {
    t_cache.table = table_.load();
    t_cache.generation = t_cache.table->generation;
  }
  const Table& table = *t_cache.table;

  Admission out;
  if (table.buckets.empty()) return out;

  std::vector<Taken> taken;
  taken.reserve(2 * (1 + keys.groups.size()));
  RateInfo rate;

  // Returns false (and fills out.rejection) when this bucket does not fit.
  auto take = [&](const std::shared_ptr<Bucket>& b) -> bool {
    const QuotaLimits& l = b->limits;
    Taken t{b};
    auto reject = [&](LimitKind kind, std::int64_t limit, int retry, bool never) {
      rollback(t);
      out.admitted = false;
      out.rejection = Rejection{kind, b->subject, b->model, limit, retry, never};
      return false;
    };
    if (l.concurrent_requests > 0) {
      const auto n = b->in_flight.fetch_add(1, std::memory_order_acq_rel) + 1;
      t.slot = true;
      if (n > l.concurrent_requests)
        return reject(LimitKind::kConcurrency, l.concurrent_requests, 1, false);
    }
    if (l.requests_per_minute > 0) {
      std::int64_t left = 0, wait = 0, reset = 0;
      if (!b->requests.take(1, l.requests_per_minute, now, left, wait, reset)) {
        return reject(LimitKind::kRequests, l.requests_per_minute,
                      unitsToRetrySeconds(wait, l.requests_per_minute), false);
      }
      t.request = true;
      if (rate.remaining_requests < 0 || left < rate.remaining_requests) {
        rate.remaining_requests = left;
        rate.limit_requests = l.requests_per_minute;
        rate.reset_requests_ms = unitsToMs(reset, l.requests_per_minute);
      }
    }
    if (l.tokens_per_minute > 0) {
      if (reserve_tokens > l.tokens_per_minute) {
        return reject(LimitKind::kTokens, l.tokens_per_minute, 60, true);
      }
      std::int64_t left = 0, wait = 0, reset = 0;
      if (!b->tokens.take(reserve_tokens, l.tokens_per_minute, now, left, wait, reset)) {
        return reject(LimitKind::kTokens, l.tokens_per_minute,
                      unitsToRetrySeconds(wait, l.tokens_per_minute), false);
      }
      t.tokens = reserve_tokens;
      if (rate.remaining_tokens < 0 || left < rate.remaining_tokens) {
        rate.remaining_tokens = left;
        rate.limit_tokens = l.tokens_per_minute;
        rate.reset_tokens_ms = unitsToMs(reset, l.tokens_per_minute);
      }
    }
    taken.push_back(std::move(t));
    return true;
  };

  auto visit = [&](std::string_view subject) -> bool {
    if (subject.empty()) return true;
    if (const auto* b = table.find(subject, {}); b && !take(*b)) return false;
    if (!keys.model.empty()) {
      if (const auto* b = table.find(subject, keys.model); b && !take(*b)) return false;
    }
    return true;
  };

  bool ok = visit(keys.principal);
  for (std::size_t i = 0; ok && i < keys.groups.size(); ++i) {
    // A subject listed twice must not be charged twice.
    bool dup = keys.groups[i] == keys.principal;
    for (std::size_t j = 0; !dup && j < i; ++j) dup = keys.groups[j] == keys.groups[i];
    if (!dup) ok = visit(keys.groups[i]);
  }
  if (!ok) {
    for (const Taken& t : taken) rollback(t);
    return out;
  }
  if (!taken.empty()) {
    out.ticket =
        Ticket(std::make_unique<MemoryTicketState>(std::move(taken), reserve_tokens), rate);
  }
  return out;
}

std::optional<InMemoryQuotaLedger::Usage> InMemoryQuotaLedger::usage(std::string_view subject,
                                                                     std::string_view model,
                                                                     TimePoint now) const {
  auto table = snapshot();
  const auto* b = table->find(subject, model);
  if (!b) return std::nullopt;
  const Bucket& bucket = **b;
  Usage u;
  u.in_flight = bucket.in_flight.load(std::memory_order_acquire);
  if (bucket.limits.requests_per_minute > 0) {
    u.requests_available = bucket.requests.available(bucket.limits.requests_per_minute, now);
  }
  if (bucket.limits.tokens_per_minute > 0) {
    u.tokens_available = bucket.tokens.available(bucket.limits.tokens_per_minute, now);
  }
  return u;
}

}  // namespace basalt::quota
