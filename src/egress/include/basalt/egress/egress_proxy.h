#pragma once
/// The host side of "limited" sandbox networking: an HTTP/1.1 forward proxy on a unix socket
/// per session. The sandbox has no network of its own (only loopback); a forwarder inside it
/// relays TCP connections to this socket (docs/adr/0011-sandbox-egress.md).
///
/// Per connection the proxy reads one request head and then
/// - `CONNECT host:port` -> a byte tunnel (https and anything else over TLS/TCP),
/// - `GET http://host[:port]/path ...` (absolute form, any method) -> the request is sent to the
///   origin in origin form with `Connection: close`, then bytes are relayed both ways,
/// - anything else -> 400.
/// The host must be allowed by the session's AllowList, else 403 with a plain-text body that
/// says so. Names are resolved here (the sandbox has no DNS). Limits: head size, concurrent
/// connections per session (429), head-read timeout, connect timeout (504) and idle timeout.
/// Every decision is logged (method, host, port; never paths, queries or headers) and, with
/// ListenOptions::record, recorded before an allowed connection is opened.
///
/// Threading: the proxy owns one thread running its own io_context. `listen()` and Listener's
/// destructor may be called from any thread except the proxy's own.

#include "basalt/core/error.h"
#include "basalt/egress/allow_list.h"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace basalt::egress {

struct ProxyLimits {
  std::size_t max_header_bytes = 16 * 1024;           ///< request line + headers (else 431)
  std::size_t max_connections = 32;                   ///< concurrent, per listener (else 429)
  std::chrono::milliseconds header_timeout{10'000};   ///< to receive the request head
  std::chrono::milliseconds connect_timeout{10'000};  ///< resolve + TCP connect (else 504)
  std::chrono::milliseconds idle_timeout{300'000};    ///< no byte either way: connection closed
};

/// One allow/deny decision, for logs and audit hooks.
struct Decision {
  std::string session_id;
  std::string method;  ///< "CONNECT", "GET", ...
  std::string host;    ///< as requested (lower-cased)
  std::uint16_t port = 0;
  bool allowed = false;
  int status = 0;      ///< the status the proxy answered with (200 for an open tunnel)
  std::string reason;  ///< why it was refused or failed; empty when allowed
};

struct ListenOptions {
  /// Where the unix socket is created (an existing stale socket there is replaced). Any length:
  /// the socket is bound through its directory's descriptor (sun_path holds only 108 bytes).
  std::filesystem::path socket_path;
  std::string session_id;  ///< for logs and Decision
  AllowList allow;
  /// Owner given to the socket file when set (the sandbox uid must be able to connect: it needs
  /// write permission on the socket). The mode is 0600 either way.
  std::optional<std::pair<uid_t, gid_t>> owner;
  /// Called on the proxy thread for every decision (optional; must not block).
  std::function<void(const Decision&)> observer;
  /// Records every decision durably (optional; the audit log). An allowed connection is opened
  /// only after `done(true)`; `done(false)` refuses it with 503 (fail closed). Called on the
  /// proxy thread, must not block; `done` may be called once from any thread.
  std::function<void(const Decision&, std::function<void(bool)> done)> record;
};

class EgressProxy;

/// One session's socket. Destroying it stops accepting, closes the session's open connections
/// and removes the socket file.
class Listener {
 public:
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  const std::filesystem::path& socketPath() const { return path_; }

  struct State;  ///< opaque: lives on the proxy's thread

 private:
  friend class EgressProxy;
  Listener(std::shared_ptr<EgressProxy> proxy, std::shared_ptr<State> state,
           std::filesystem::path path);

  std::shared_ptr<EgressProxy> proxy_;  ///< keeps the proxy's thread alive while listening
  std::shared_ptr<State> state_;
  std::filesystem::path path_;
};

class EgressProxy : public std::enable_shared_from_this<EgressProxy> {
 public:
  /// Starts the proxy's thread.
  static std::shared_ptr<EgressProxy> create(ProxyLimits limits = {});
  ~EgressProxy();  ///< closes everything and joins the thread
  EgressProxy(const EgressProxy&) = delete;
  EgressProxy& operator=(const EgressProxy&) = delete;

  /// Creates the session's socket and starts accepting on it.
  Result<std::unique_ptr<Listener>> listen(ListenOptions options);

  const ProxyLimits& limits() const { return limits_; }

  struct Impl;

 private:
  friend class Listener;
  explicit EgressProxy(ProxyLimits limits);
  ProxyLimits limits_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::egress
