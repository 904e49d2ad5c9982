#include "basalt/quota/quota_ledger.h"

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
                        "(" + std::to_string(rejection.limit_value) + "); lower max_tokens."
                      : std::string("Too many tokens, please wait before trying again.");
      break;
    case LimitKind::kConcurrency:
      e.message = "Too many concurrent requests, please wait before trying again.";
      break;
  }
  return e;
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
