#include "basalt/agents/event_hub.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <tuple>

namespace basalt::agents {

std::shared_ptr<EventHub::Subscription> EventHub::subscribe(const Executor& executor,
                                                            const std::string& session_id) {
  auto sub = std::make_shared<Subscription>(*this, executor, session_id, capacity_);
  std::lock_guard lock(mu_);
  subs_[session_id].push_back(sub.get());
  return sub;
}

void EventHub::publish(const std::string& session_id, std::int64_t seq) {
  std::lock_guard lock(mu_);
  auto it = subs_.find(session_id);
  if (it == subs_.end()) return;
  for (Subscription* sub : it->second) sub->push(seq);
}

std::size_t EventHub::subscriberCount(const std::string& session_id) const {
  std::lock_guard lock(mu_);
  auto it = subs_.find(session_id);
  return it == subs_.end() ? 0 : it->second.size();
}

void EventHub::remove(const std::string& session_id, Subscription* sub) {
  std::lock_guard lock(mu_);
  auto it = subs_.find(session_id);
  if (it == subs_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), sub), v.end());
  if (v.empty()) subs_.erase(it);
}

EventHub::Subscription::Subscription(EventHub& hub, const Executor& executor,
                                     std::string session_id, std::size_t capacity)
    : hub_(hub),
      executor_(executor),
      session_id_(std::move(session_id)),
      capacity_(capacity),
      timer_(std::make_shared<boost::asio::steady_timer>(executor)) {}

EventHub::Subscription::~Subscription() {
  hub_.remove(session_id_, this);
}

void EventHub::Subscription::push(std::int64_t seq) {
  {
    std::lock_guard lock(mu_);
    if (dropped_) return;
    if (queue_.size() >= capacity_) {
      dropped_ = true;
      queue_.clear();
    } else {
      queue_.push_back(seq);
    }
  }
  // Wake the waiter on its own executor (timers are not thread-safe). The timer is shared so
  // a wake-up posted just before the subscription dies touches a live object.
  boost::asio::post(executor_, [timer = timer_] { timer->cancel(); });
}

bool EventHub::Subscription::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

Task<EventHub::Subscription::Next> EventHub::Subscription::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (dropped_) co_return Next{Wake::kDropped, 0};
      if (!queue_.empty()) {
        const std::int64_t seq = *std::max_element(queue_.begin(), queue_.end());
        queue_.clear();
        co_return Next{Wake::kEvents, seq};
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return Next{Wake::kTimeout, 0};
    // A cancel posted by push() before this wait starts runs after we suspend (serial
    // executor), so it cannot be lost; the loop re-checks the queue either way.
    timer_->expires_at(deadline);
    auto [ec] = co_await timer_->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    std::ignore = ec;
  }
}

}  // namespace basalt::agents
