#pragma once
// One server thread: its own io_context, its own SO_REUSEPORT acceptor, and the registry of the
// connections it owns (so shutdown can close idle ones and drain busy ones). Everything here is
// touched only from the worker's own thread, except `ioc` (posting) and `thread` (joining).

#include "basalt/config/settings.h"
#include "basalt/core/async.h"
#include "basalt/core/exchange.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <thread>

namespace basalt::server {

/// A live connection as the worker sees it during shutdown.
class TrackedConnection : public boost::intrusive::list_base_hook<
                              boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  virtual ~TrackedConnection() = default;
  /// Server is stopping: close now if idle between requests, else after the current response.
  virtual void beginShutdown() = 0;
  /// The grace period is over: close the socket and cancel the handler.
  virtual void forceClose() = 0;
  /// The deadline set with setDeadline() has passed (checked on the worker's tick): close.
  virtual void onDeadline() = 0;

  /// Coarse per-connection timeouts (precision Worker::kTick): one time point per connection
  /// instead of a timer per I/O operation keeps the hot path free of timer-queue work.
  void setDeadline(std::chrono::milliseconds d) {
    deadline_ = std::chrono::steady_clock::now() + d;
  }
  void clearDeadline() { deadline_ = std::chrono::steady_clock::time_point::max(); }
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }

 private:
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

struct DeferredWatchTag;

/// A connection whose handler is running and whose socket should be watched for a client
/// disconnect. Most handlers finish within milliseconds; watching only those still running
/// after kWatchDelay saves a syscall per request on the hot path.
class DeferredWatch : public boost::intrusive::list_base_hook<
                          boost::intrusive::tag<DeferredWatchTag>,
                          boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  /// Called on the worker thread once the handler has run for kWatchDelay.
  virtual void startWatchNow() = 0;

 protected:
  ~DeferredWatch() = default;

 private:
  friend class Worker;
  std::chrono::steady_clock::time_point watch_due_;
};

/// What every connection of the server shares (read-only after start()).
struct ConnectionContext {
  const config::ServerSettings* settings = nullptr;
  Handler* handler = nullptr;
  boost::asio::ssl::context* tls = nullptr;  ///< null: plain TCP
};

class Worker {
 public:
  explicit Worker(ConnectionContext context);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  boost::asio::io_context& ioc() { return *ioc_; }
  const ConnectionContext& context() const { return context_; }

  /// Opens, binds (SO_REUSEPORT) and listens; throws boost::system::system_error on failure
  /// (start() turns it into an Error).
  void listen(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint localEndpoint() const;

  /// Spawns the accept loop and the thread running the io_context.
  void run();
  /// Posts the shutdown sequence onto the worker's thread (thread-safe).
  void requestShutdown(std::chrono::milliseconds grace);
  void join();

  void add(TrackedConnection& c);
  /// Called from a connection's destructor.
  void remove(TrackedConnection& c);
  bool stopping() const { return stopping_; }

  /// How long a handler runs before its socket is watched for a disconnect.
  static constexpr std::chrono::milliseconds kWatchDelay{100};
  /// Period of the tick that enforces deadlines and starts deferred watches (while the worker
  /// has connections).
  static constexpr std::chrono::milliseconds kTick{100};
  /// Schedules w.startWatchNow() in kWatchDelay unless cancelWatch(w) comes first.
  void deferWatch(DeferredWatch& w);
  void cancelWatch(DeferredWatch& w) { w.unlink(); }

 private:
  using ConnectionList =
      boost::intrusive::list<TrackedConnection, boost::intrusive::constant_time_size<false>>;

  Task<void> acceptLoop();
  void beginShutdown(std::chrono::milliseconds grace);
  void finishIfDrained();
  void armTick();
  void onTick();

  ConnectionContext context_;
  std::unique_ptr<boost::asio::io_context> ioc_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::optional<boost::asio::steady_timer> grace_timer_;
  ConnectionList connections_;
  using WatchList =
      boost::intrusive::list<DeferredWatch,
                             boost::intrusive::base_hook<boost::intrusive::list_base_hook<
                                 boost::intrusive::tag<DeferredWatchTag>,
                                 boost::intrusive::link_mode<boost::intrusive::auto_unlink>>>,
                             boost::intrusive::constant_time_size<false>>;
  WatchList deferred_watches_;  // in due order: every entry waits the same kWatchDelay
  std::optional<boost::asio::steady_timer> tick_timer_;
  bool tick_armed_ = false;
  std::size_t live_ = 0;
  bool stopping_ = false;
  bool accepting_ = false;
  bool destroying_ = false;
  std::thread thread_;
};

}  // namespace basalt::server
