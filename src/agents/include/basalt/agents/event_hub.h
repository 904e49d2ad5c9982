#pragma once
/// In-process fan-out of "session S has new events up to seq N" to the SSE streams waiting on
/// S. The durable log is the AgentStore; the hub only wakes readers, who then read the store,
/// so a missed or coalesced notification loses nothing.
///
/// publish() is thread-safe and never blocks: each subscriber has a bounded queue, and a
/// subscriber whose queue is full is dropped (its stream ends; the client resumes with
/// Last-Event-ID) rather than slowing the writer. Asio core only (no Beast).

#include "basalt/core/async.h"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace basalt::agents {

class EventHub {
 public:
  class Subscription;

  explicit EventHub(std::size_t queue_capacity = 1024) : capacity_(queue_capacity) {}

  /// Registers a subscriber for `session_id` whose waits run on `executor` (a serial executor:
  /// one io_context thread or a strand). Unsubscribes when the returned object is destroyed.
  std::shared_ptr<Subscription> subscribe(const Executor& executor, const std::string& session_id);

  /// Session `session_id` has events up to `seq`. Thread-safe, non-blocking.
  void publish(const std::string& session_id, std::int64_t seq);

  /// Subscribers currently registered for `session_id` (tests, metrics).
  std::size_t subscriberCount(const std::string& session_id) const;

 private:
  friend class Subscription;
  void remove(const std::string& session_id, Subscription* sub);

  std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<Subscription*>> subs_;
};

class EventHub::Subscription {
 public:
  enum class Wake : std::uint8_t {
    kEvents,   ///< new events were published (`seq` is the newest)
    kTimeout,  ///< nothing within the wait (time for a keep-alive)
    kDropped,  ///< the queue overflowed: the subscriber fell behind and must stop
  };
  struct Next {
    Wake wake = Wake::kTimeout;
    std::int64_t seq = 0;
  };

  Subscription(EventHub& hub, const Executor& executor, std::string session_id,
               std::size_t capacity);
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  /// Waits up to `timeout` for a publication; drains everything queued and returns the newest
  /// seq. Call from the subscription's executor, one waiter at a time.
  Task<Next> next(std::chrono::milliseconds timeout);

  bool dropped() const;

 private:
  friend class EventHub;
  /// Called by publish under the hub's lock.
  void push(std::int64_t seq);

  EventHub& hub_;
  Executor executor_;
  std::string session_id_;
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::deque<std::int64_t> queue_;
  bool dropped_ = false;
  std::shared_ptr<boost::asio::steady_timer> timer_;
};

}  // namespace basalt::agents
