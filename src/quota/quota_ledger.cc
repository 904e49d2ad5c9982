#include "basalt/quota/quota_ledger.h"

#include <algorithm>
#include <string>
#include <utility>

namespace basalt::quota {

std::string_view limitName(LimitKind kind) {
  switch (kind) {
    case LimitKind::kRequests:
      return "requests";
    case LimitKind::kTokens:
      return "tokens";
    case LimitKind::kConcurrency:
      return "concurrency";
  }
  return "requests";
}

Error toError(const Rejection& rejection) {
  Error e;
  e.kind = ErrorKind::kRateLimited;
  e.code = "rate_limit_exceeded";
  e.retry_after_s = rejection.retry_after_s < 1 ? 1 : rejection.retry_after_s;
  switch (rejection.limit) {
    case LimitKind::kRequests:
      e.message = "Too many requests, please wait before trying again.";
      break;
    case LimitKind::kTokens:
      e.message = rejection.exceeds_limit
                      ? "The request needs more tokens than the tokens-per-minute quota allows "
                        "(" +
                            std::to_string(rejection.limit_value) + "); lower max_tokens."
                      : std::string("Too many tokens, please wait before trying again.");
      break;
    case LimitKind::kConcurrency:
      e.message = "Too many concurrent requests, please wait before trying again.";
      break;
  }
  return e;
}

namespace {

std::string duration(std::int64_t ms) {
  if (ms < 1000) return std::to_string(ms < 0 ? 0 : ms) + "ms";
  const std::int64_t s = (ms + 999) / 1000;
  if (s < 60) return std::to_string(s) + "s";
  return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> rateLimitHeaders(const RateInfo& rate) {
  std::vector<std::pair<std::string, std::string>> h;
  if (rate.limit_requests >= 0) {
    h.emplace_back("x-ratelimit-limit-requests", std::to_string(rate.limit_requests));
    h.emplace_back("x-ratelimit-remaining-requests",
                   std::to_string(std::max<std::int64_t>(rate.remaining_requests, 0)));
    h.emplace_back("x-ratelimit-reset-requests", duration(rate.reset_requests_ms));
  }
  if (rate.limit_tokens >= 0) {
    h.emplace_back("x-ratelimit-limit-tokens", std::to_string(rate.limit_tokens));
    h.emplace_back("x-ratelimit-remaining-tokens",
                   std::to_string(std::max<std::int64_t>(rate.remaining_tokens, 0)));
    h.emplace_back("x-ratelimit-reset-tokens", duration(rate.reset_tokens_ms));
  }
  return h;
}

Ticket& Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::move(other.state_);
    rate_ = other.rate_;
    settled_ = other.settled_;
    released_ = other.released_;
  }
  return *this;
}

void Ticket::settle(std::int64_t actual_tokens, TimePoint now) {
  if (settled_ || !state_) return;
  settled_ = true;
  state_->settle(actual_tokens < 0 ? 0 : actual_tokens, now);
}

void Ticket::release() noexcept {
  if (released_ || !state_) return;
  released_ = true;
  state_->release();
}

}  // namespace basalt::quota
