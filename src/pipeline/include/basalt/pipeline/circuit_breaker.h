#pragma once
/// A per-route circuit breaker shared by all server threads (lock-free atomics).
///
///   closed --(breaker_failures consecutive failures)--> open
///   open --(cool-down elapsed)--> half-open: exactly one trial call is let through
///   half-open --success--> closed;  --failure--> open again for another cool-down

#include <atomic>
#include <chrono>
#include <cstdint>

namespace basalt::pipeline {

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;

  CircuitBreaker(int failure_threshold, std::chrono::milliseconds cooldown);

  /// Whether a call may go to this route now. In half-open state only the first caller after
  /// the cool-down gets true until that trial reports back.
  bool allow(Clock::time_point now = Clock::now());
  void onSuccess();
  void onFailure(Clock::time_point now = Clock::now());

  enum class State : std::uint8_t { kClosed, kOpen, kHalfOpen };
  State state(Clock::time_point now = Clock::now()) const;
  /// Time until an open breaker half-opens (zero when not open).
  std::chrono::milliseconds remainingCooldown(Clock::time_point now = Clock::now()) const;

 private:
  static std::int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }

  const int failure_threshold_;
  const Clock::duration cooldown_;
  std::atomic<int> consecutive_failures_{0};
  std::atomic<std::int64_t> open_until_{0};   ///< 0 = closed
  std::atomic<bool> trial_in_flight_{false};
};

}  // namespace basalt::pipeline
