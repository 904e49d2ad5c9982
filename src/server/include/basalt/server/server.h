#pragma once
/// The HTTP transport: N threads, each with its own io_context and SO_REUSEPORT listener,
/// HTTP/1.1 and HTTP/2 (ALPN h2, h2c prior knowledge) over TCP or TLS, feeding a
/// transport-neutral Handler. No Beast or nghttp2 type appears in this header.

#include "basalt/config/settings.h"
#include "basalt/core/error.h"
#include "basalt/core/exchange.h"

#include <memory>
#include <string>

namespace basalt::server {

class Server {
 public:
  /// `handler` must outlive the server and be safe to call from every server thread.
  Server(config::ServerSettings settings, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds the listeners (failing with a clear message if the address is taken or the TLS
  /// files are bad) and starts the threads.
  Result<void> start();
  /// "HOST:PORT" actually bound (resolves port 0).
  std::string boundAddress() const;
  /// Graceful stop, callable from any thread: stop accepting, let in-flight requests and
  /// streams finish up to shutdown_grace_ms, then close everything.
  void stop();
  /// Blocks until the threads have exited (after stop()).
  void wait();
  /// start() already done: blocks until SIGINT/SIGTERM, then stop() and wait().
  void runUntilSignal();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::server
