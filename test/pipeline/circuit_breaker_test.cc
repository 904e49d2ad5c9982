#include "basalt/pipeline/circuit_breaker.h"

#include <gtest/gtest.h>

namespace basalt::pipeline {
namespace {

using namespace std::chrono_literals;
using Clock = CircuitBreaker::Clock;

TEST(CircuitBreaker, OpensAfterConsecutiveFailures) {
  CircuitBreaker b(3, 1000ms);
  const auto t0 = Clock::now();
  b.onFailure(t0);
  b.onFailure(t0);
  EXPECT_TRUE(b.allow(t0));
  b.onFailure(t0);
  EXPECT_EQ(b.state(t0), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.allow(t0 + 999ms));
  EXPECT_GT(b.remainingCooldown(t0 + 500ms).count(), 0);
}

TEST(CircuitBreaker, SuccessResetsTheCount) {
  CircuitBreaker b(2, 1000ms);
  const auto t0 = Clock::now();
  b.onFailure(t0);
  b.onSuccess();
  b.onFailure(t0);
  EXPECT_EQ(b.state(t0), CircuitBreaker::State::kClosed);
}

TEST(CircuitBreaker, HalfOpenLetsExactlyOneTrialThrough) {
  CircuitBreaker b(1, 100ms);
  const auto t0 = Clock::now();
  b.onFailure(t0);
  const auto later = t0 + 150ms;
  EXPECT_EQ(b.state(later), CircuitBreaker::State::kHalfOpen);
  EXPECT_TRUE(b.allow(later));
  EXPECT_FALSE(b.allow(later));
  b.onSuccess();
  EXPECT_EQ(b.state(later), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.allow(later));
}

TEST(CircuitBreaker, FailedTrialReopens) {
  CircuitBreaker b(5, 100ms);
  const auto t0 = Clock::now();
  for (int i = 0; i < 5; ++i) b.onFailure(t0);
  const auto later = t0 + 150ms;
  ASSERT_TRUE(b.allow(later));
  b.onFailure(later);
  EXPECT_EQ(b.state(later + 50ms), CircuitBreaker::State::kOpen);
  EXPECT_TRUE(b.allow(later + 150ms));
}

}  // namespace
}  // namespace basalt::pipeline
