#include "basalt/pipeline/circuit_breaker.h"

namespace basalt::pipeline {

CircuitBreaker::CircuitBreaker(int failure_threshold, std::chrono::milliseconds cooldown)
    : failure_threshold_(failure_threshold < 1 ? 1 : failure_threshold), cooldown_(cooldown) {}

bool CircuitBreaker::allow(Clock::time_point now) {
  const std::int64_t open_until = open_until_.load(std::memory_order_acquire);
  if (open_until == 0) return true;
  if (ticks(now) < open_until) return false;
  // Half-open: let one trial through.
  bool expected = false;
  return trial_in_flight_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
}

void CircuitBreaker::onSuccess() {
  consecutive_failures_.store(0, std::memory_order_relaxed);
  open_until_.store(0, std::memory_order_release);
  trial_in_flight_.store(false, std::memory_order_release);
}

void CircuitBreaker::onFailure(Clock::time_point now) {
  const int failures = consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  const bool was_trial = trial_in_flight_.exchange(false, std::memory_order_acq_rel);
  if (was_trial || failures >= failure_threshold_) {
    open_until_.store(ticks(now + cooldown_), std::memory_order_release);
  }
}

CircuitBreaker::State CircuitBreaker::state(Clock::time_point now) const {
  const std::int64_t open_until = open_until_.load(std::memory_order_acquire);
  if (open_until == 0) return State::kClosed;
  return ticks(now) < open_until ? State::kOpen : State::kHalfOpen;
}

std::chrono::milliseconds CircuitBreaker::remainingCooldown(Clock::time_point now) const {
  const std::int64_t open_until = open_until_.load(std::memory_order_acquire);
  if (open_until == 0 || ticks(now) >= open_until) return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      Clock::duration{open_until - ticks(now)});
}

}  // namespace basalt::pipeline
