#pragma once
/// The QuotaLedger port: admission control by requests/minute, tokens/minute and concurrent
/// requests, per subject (a principal or group id) and optionally per model. Pure decisions: no
/// I/O here; an in-memory adapter lives next to it (in_memory_quota_ledger.h) and a Redis adapter
/// can implement the same port to make quotas cluster-wide.
///
/// Lifecycle of one request:
///   auto adm = ledger.admit(keys, input_tokens + max_output_tokens, Clock::now());
///   if (!adm.admitted) -> 429 with toError(adm.rejection) (retry-after, door's native shape)
///   ... call the provider (the ticket holds the concurrency slots) ...
///   adm.ticket.settle(actual_total_tokens, Clock::now());   // refund or charge the difference
///   // the ticket's destructor (or release()) frees the concurrency slots

#include "basalt/core/error.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace basalt::quota {

/// Quotas run on a monotonic clock; callers pass `now` so tests can inject time.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

/// The limits of one quota. 0 means "no limit of this kind".
struct QuotaLimits {
  std::int64_t requests_per_minute = 0;
  std::int64_t tokens_per_minute = 0;
  std::int64_t concurrent_requests = 0;
};

/// The largest accepted value of any limit (keeps the fixed-point arithmetic in range).
inline constexpr std::int64_t kMaxLimit = 100'000'000'000;

/// One configured quota: `subject` is a principal or group id; `model` empty applies to all
/// models (counted together), otherwise only to requests for that model name.
struct QuotaRule {
  std::string subject;
  std::string model;
  QuotaLimits limits;
};

/// Which quotas apply to one request: every rule of the principal and of each of its groups,
/// both the model-independent ones and those for `model`. Views only; nothing is copied.
struct QuotaKeys {
  std::string_view principal;
  std::span<const std::string> groups;
  std::string_view model;
};

enum class LimitKind : std::uint8_t { kRequests, kTokens, kConcurrency };

/// "requests", "tokens", "concurrency".
std::string_view limitName(LimitKind kind);

/// Why a request was refused; the first limit (in check order) that did not fit.
struct Rejection {
  LimitKind limit = LimitKind::kRequests;
  std::string subject;
  std::string model;             ///< empty for a model-independent quota
  std::int64_t limit_value = 0;  ///< the configured limit that was hit
  int retry_after_s = 1;         ///< >= 1: when the request would fit (if nothing else runs)
  bool exceeds_limit = false;    ///< the reservation alone is larger than the limit: never fits
};

/// The 429 error for a rejection (ErrorKind::kRateLimited, retry_after_s set, code
/// "rate_limit_exceeded"). The message names the kind of limit but not the subject.
Error toError(const Rejection& rejection);

/// The tightest remaining allowance over all quotas that applied, for the OpenAI doors'
/// x-ratelimit-* headers. -1 = no such limit applies.
struct RateInfo {
  std::int64_t limit_requests = -1;
  std::int64_t remaining_requests = -1;
  std::int64_t reset_requests_ms = 0;  ///< until the requests bucket is full again
  std::int64_t limit_tokens = -1;
  std::int64_t remaining_tokens = -1;
  std::int64_t reset_tokens_ms = 0;
};

/// The OpenAI doors' rate-limit headers for `rate` (x-ratelimit-limit-requests,
/// x-ratelimit-remaining-requests, x-ratelimit-reset-requests and the -tokens trio; resets as
/// OpenAI writes durations: "20ms", "1s", "6m0s"). Only kinds with a limit are included.
std::vector<std::pair<std::string, std::string>> rateLimitHeaders(const RateInfo& rate);

/// Adapter-side state of an admitted request. Implementations must make settle() and release()
/// safe to call from any thread; Ticket guarantees each is called at most once.
class TicketState {
 public:
  virtual ~TicketState() = default;
  /// Charges (actual > reserved) or refunds (actual < reserved) the token quotas.
  virtual void settle(std::int64_t actual_tokens, TimePoint now) = 0;
  /// Frees the concurrency slots.
  virtual void release() noexcept = 0;
};

/// An admitted request's hold on its quotas. Move-only; destroying it releases the concurrency
/// slots (RAII). An empty ticket (no quota applied) is valid and all operations are no-ops.
class Ticket {
 public:
  Ticket() = default;
  Ticket(std::unique_ptr<TicketState> state, RateInfo rate)
      : state_(std::move(state)), rate_(rate) {}
  Ticket(Ticket&& other) noexcept = default;
  Ticket& operator=(Ticket&& other) noexcept;
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;
  ~Ticket() { release(); }

  /// Settles the token reservation with the actual usage (input + output tokens). The first call
  /// counts; later calls are ignored.
  void settle(std::int64_t actual_tokens, TimePoint now);
  /// Frees the concurrency slots now (e.g. when a stream ends before the ticket is destroyed).
  void release() noexcept;

  const RateInfo& rate() const { return rate_; }
  bool settled() const { return settled_; }

 private:
  std::unique_ptr<TicketState> state_;
  RateInfo rate_;
  bool settled_ = false;
  bool released_ = false;
};

/// The outcome of admit(): a ticket when admitted, otherwise the rejection.
struct Admission {
  bool admitted = true;
  Ticket ticket;        ///< meaningful when admitted
  Rejection rejection;  ///< meaningful when !admitted
};

/// The port. admit() checks every applicable quota and takes from all of them, or from none: a
/// rejection rolls back what was already taken.
class QuotaLedger {
 public:
  virtual ~QuotaLedger() = default;
  /// `reserve_tokens` is what the request may use at most (input + max output); negative counts
  /// as 0. Thread-safe.
  virtual Admission admit(const QuotaKeys& keys, std::int64_t reserve_tokens, TimePoint now) = 0;
};

}  // namespace basalt::quota
