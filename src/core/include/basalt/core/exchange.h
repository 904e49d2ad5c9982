#pragma once
/// Transport-neutral HTTP exchange: what a handler sees of a request and how it answers.
/// The server implements Responder for HTTP/1.1 (and HTTP/2 beside it) so handlers never see
/// Beast or nghttp2. See docs/adr/0002-transport-neutral-exchange.md.

#include "basalt/core/async.h"

#include <string>
#include <string_view>
#include <vector>

namespace basalt {

struct Header {
  std::string name;  ///< lower-case
  std::string value;
};
using Headers = std::vector<Header>;

/// A fully read request. Header names are lower-case; `target` is the raw request target
/// (path and query, not decoded).
struct HttpRequest {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
  std::string remote_ip;
  bool secure = false;   ///< arrived over TLS
  int http_version = 11; ///< 10, 11 or 20
  std::string request_id;  ///< assigned by the server, echoed as x-request-id

  /// The value of the first header with this (lower-case) name, or nullptr.
  const std::string* header(std::string_view lower_name) const;
  std::string_view path() const;   ///< target up to '?'
  std::string_view query() const;  ///< target after '?', or empty
};

/// How a handler answers. One of: `send` once; or `startStream`, any number of `write`, then
/// `endStream`. The transport adds x-request-id, date and framing headers itself. A handler that
/// returns mid-stream without `endStream` aborts the response (the connection is closed without
/// the terminating chunk, so the client sees a truncated stream).
/// All calls return false once the client is gone; the handler then stops work (the handler's
/// coroutine also receives terminal cancellation when the client disconnects).
class Responder {
 public:
  virtual ~Responder() = default;
  virtual Task<bool> send(int status, Headers headers, std::string body) = 0;
  virtual Task<bool> startStream(int status, Headers headers) = 0;
  virtual Task<bool> write(std::string_view chunk) = 0;
  virtual Task<bool> endStream() = 0;
  /// True once the client has disconnected or a write failed.
  virtual bool clientGone() const = 0;
};

/// Serves requests. One Handler instance is shared by all server threads: it must be
/// thread-safe (immutable state, atomics, or per-thread shards).
class Handler {
 public:
  virtual ~Handler() = default;
  virtual Task<void> handle(HttpRequest& request, Responder& responder) = 0;
};

}  // namespace basalt
