#pragma once
/// The upstream HTTP/1.1 client every provider adapter shares (TCP or TLS). Beast and OpenSSL
/// stay in http_client.cc: this header only speaks core types, so adapters compile fast.
///
/// Threading: calls run on the calling coroutine's executor and never hop threads. Idle
/// keep-alive connections live in a pool attached to that executor's io_context (one pool per
/// server thread; see docs/adr/0004-upstream-client.md), so an io_context must be run by one
/// thread at a time. One HttpClient may be shared by all threads: its methods are const.
///
/// Errors are values: resolve/connect/TLS/read failures -> kUpstreamError (the message names
/// host:port, never a header value); a passed deadline -> kUpstreamTimeout; terminal
/// cancellation of the calling coroutine -> kCancelled (the connection is closed, not pooled).

#include "basalt/core/async.h"
#include "basalt/core/error.h"
#include "basalt/core/exchange.h"
#include "basalt/providers/http/base_url.h"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace basalt::providers::http {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10000};  ///< resolve + connect + TLS handshake
  int max_idle_connections = 64;                     ///< per io_context (thread), per origin
  std::chrono::milliseconds idle_timeout{30000};     ///< idle pooled connections older are closed
  std::size_t max_response_body = 64U << 20U;        ///< cap for `send` and `readAll`
  /// Extra trusted CA certificates (PEM), added to the system store. For private upstreams and
  /// tests; peer verification itself cannot be turned off.
  std::string extra_ca_pem;
};

struct Request {
  std::string method = "POST";
  std::string target;  ///< origin-form: path and query
  Headers headers;     ///< never host, content-length or user-agent: the client adds those
  std::string body;
};

struct Response {
  int status = 0;
  Headers headers;  ///< names lower-case
  std::string body;
  const std::string* header(std::string_view lower_name) const;
};

/// A response whose body is read incrementally (SSE). Move-only. Destroying it before the end
/// of the body closes the connection; reading to the end returns it to the pool when the
/// upstream allows keep-alive.
class ResponseStream {
 public:
  struct Impl;
  explicit ResponseStream(std::unique_ptr<Impl> impl);
  ResponseStream(ResponseStream&&) noexcept;
  ResponseStream& operator=(ResponseStream&&) noexcept;
  ~ResponseStream();

  int status() const;
  const Headers& headers() const;  ///< names lower-case
  const std::string* header(std::string_view lower_name) const;

  /// The next piece of the body (chunked, content-length or until-EOF framing removed), valid
  /// until the next call. An empty view means the body is complete.
  Task<Result<std::string_view>> read();
  /// The rest of the body, failing beyond `cap` bytes (for error bodies).
  Task<Result<std::string>> readAll(std::size_t cap);
  /// After the caller saw the end of its protocol (e.g. SSE `[DONE]`): reads what is left of
  /// the body for a short grace period so the connection can go back to the pool. Returns
  /// false (and closes the connection) when the body did not end in time.
  Task<bool> drain();
  /// Abandons the response: the connection is closed now and never reused.
  void close();

 private:
  std::unique_ptr<Impl> impl_;
};

class HttpClient {
 public:
  /// Fails when `options.extra_ca_pem` is not valid PEM.
  static Result<std::unique_ptr<HttpClient>> create(BaseUrl base, ClientOptions options);
  ~HttpClient();

  const BaseUrl& base() const;

  /// A buffered call: the whole body, capped at max_response_body.
  Task<Result<Response>> send(Request request, Deadline deadline) const;
  /// A streamed call: returns once the status line and headers arrived.
  Task<Result<ResponseStream>> open(Request request, Deadline deadline) const;

  struct Impl;

 private:
  explicit HttpClient(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace basalt::providers::http
