#include "worker.h"

#include "basalt/core/assert.h"
#include "basalt/core/log.h"
#include "connection.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>

namespace basalt::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// After forceClose, handlers that ignore cancellation get this long before the thread stops.
constexpr std::chrono::seconds kHardStopDelay{1};
// Back-off after accept errors such as EMFILE, so a full fd table does not spin the thread.
constexpr std::chrono::milliseconds kAcceptBackoff{50};

void logEscaped(const std::exception_ptr& ep, const char* what) {
  if (!ep) return;
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    log::error("{} ended with an exception: {}", what, e.what());
  } catch (...) {
    log::error("{} ended with an unknown exception", what);
  }
  BASALT_BUG("exception escaped a server coroutine");
}

}  // namespace

Worker::Worker(ConnectionContext context)
    : context_(context), ioc_(std::make_unique<asio::io_context>(1)) {
  grace_timer_.emplace(*ioc_);
  tick_timer_.emplace(*ioc_);
}

Worker::~Worker() {
  destroying_ = true;
  if (thread_.joinable()) {
    ioc_->stop();
    thread_.join();
  }
  acceptor_.reset();
  grace_timer_.reset();
  tick_timer_.reset();
  // Destroys any coroutine frame still pending while connections_ is alive to unlink from.
  ioc_.reset();
}

void Worker::listen(const tcp::endpoint& endpoint) {
  acceptor_.emplace(*ioc_);
  acceptor_->open(endpoint.protocol());
  acceptor_->set_option(tcp::acceptor::reuse_address(true));
  acceptor_->set_option(ReusePort(true));
  acceptor_->bind(endpoint);
  acceptor_->listen(asio::socket_base::max_listen_connections);
}

tcp::endpoint Worker::localEndpoint() const {
  return acceptor_->local_endpoint();
}

Task<void> Worker::acceptLoop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(asio::as_tuple(asio::use_awaitable));
    if (stopping_) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      log::warn("accept failed: {}", ec.message());
      asio::steady_timer backoff(*ioc_, kAcceptBackoff);
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    // The signal lets the session cancel its running handler (see runHttp1Session); the
    // completion handler owns it so it outlives the coroutine.
    auto cancel = std::make_shared<asio::cancellation_signal>();
    asio::cancellation_signal& signal = *cancel;
    asio::co_spawn(*ioc_, serveConnection(*this, std::move(socket), signal),
                   asio::bind_cancellation_slot(
                       signal.slot(), [cancel = std::move(cancel)](const std::exception_ptr& ep) {
                         logEscaped(ep, "connection");
                       }));
  }
}

void Worker::run() {
  asio::co_spawn(*ioc_, acceptLoop(),
                 [](const std::exception_ptr& ep) { logEscaped(ep, "accept loop"); });
  thread_ = std::thread([this] {
    for (;;) {
      try {
        ioc_->run();
        return;
      } catch (const std::exception& e) {
        // A completion handler threw: log it and keep serving the other connections.
        log::error("server thread caught: {}", e.what());
        BASALT_BUG("exception escaped io_context::run");
      }
    }
  });
}

void Worker::requestShutdown(std::chrono::milliseconds grace) {
  asio::post(*ioc_, [this, grace] { beginShutdown(grace); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::add(TrackedConnection& c) {
  connections_.push_back(c);
  ++live_;
  if (!tick_armed_) armTick();
}

void Worker::remove(TrackedConnection& c) {
  c.unlink();
  BASALT_DCHECK(live_ > 0);
  --live_;
  // Deferred: a connection being handed from the acceptor to a session unregisters one
  // object just before registering the next.
  if (stopping_ && !destroying_) asio::post(*ioc_, [this] { finishIfDrained(); });
}

void Worker::beginShutdown(std::chrono::milliseconds grace) {
  if (stopping_) return;
  stopping_ = true;
  if (acceptor_) {
    boost::system::error_code ec;
    acceptor_->close(ec);
  }
  for (auto it = connections_.begin(); it != connections_.end();) {
    TrackedConnection& c = *it++;
    c.beginShutdown();
  }
  grace_timer_->expires_after(grace);
  grace_timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    log::warn("shutdown grace period over: closing {} connection(s)", live_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      TrackedConnection& c = *it++;
      c.forceClose();
    }
    grace_timer_->expires_after(kHardStopDelay);
    grace_timer_->async_wait([this](boost::system::error_code ec2) {
      if (ec2) return;
      if (live_ > 0) log::warn("{} handler(s) ignored cancellation; stopping anyway", live_);
      ioc_->stop();
    });
  });
  finishIfDrained();
}

void Worker::finishIfDrained() {
  if (!stopping_ || live_ > 0 || destroying_) return;
  grace_timer_->cancel();
  tick_timer_->cancel();
  ioc_->stop();
}

void Worker::deferWatch(DeferredWatch& w) {
  w.unlink();
  w.watch_due_ = std::chrono::steady_clock::now() + kWatchDelay;
  deferred_watches_.push_back(w);
  if (!tick_armed_) armTick();
}

void Worker::armTick() {
  tick_armed_ = true;
  tick_timer_->expires_after(kTick);
  tick_timer_->async_wait([this](boost::system::error_code ec) {
    tick_armed_ = false;
    if (!ec) onTick();
  });
}

void Worker::onTick() {
  const auto now = std::chrono::steady_clock::now();
  while (!deferred_watches_.empty() && deferred_watches_.front().watch_due_ <= now) {
    DeferredWatch& w = deferred_watches_.front();
    w.unlink();
    w.startWatchNow();
  }
  // onDeadline() only closes sockets; connections unlink later, from their own coroutines.
  for (auto it = connections_.begin(); it != connections_.end();) {
    TrackedConnection& c = *it++;
    if (c.deadline() <= now) {
      c.clearDeadline();
      c.onDeadline();
    }
  }
  if (!connections_.empty() || !deferred_watches_.empty()) armTick();
}

}  // namespace basalt::server
