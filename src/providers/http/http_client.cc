// The one translation unit of the providers module that sees Beast, Asio sockets and OpenSSL.
#include "basalt/providers/http/http_client.h"

#include "basalt/providers/http/upstream_error.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace basalt::providers::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable_t<Executor>{});
constexpr std::size_t kHeaderLimit = 64U << 10U;
/// Per-stream read sizes. A streamed response holds one socket buffer and one body buffer, so
/// these bound the memory of 10,000 concurrent streams; buffered calls read in larger pieces.
constexpr std::size_t kStreamReadSize = 2U << 10U;
/// A stream's socket buffer once the head is parsed: SSE events are small, and 10,000 open
/// streams each holding a 4 KiB page here cost 40 MB. Reads then take at most this much.
constexpr std::size_t kStreamBodyBufferSize = 2U << 10U;
constexpr std::size_t kBufferedReadSize = 16U << 10U;
/// Initial capacity of the header buffer; it grows only for unusually large heads.
constexpr std::size_t kHeadBufferSize = 4U << 10U;
constexpr auto kDrainGrace = std::chrono::milliseconds(250);
/// `drain` gives up (and closes) past this much unread body.
constexpr std::size_t kMaxDrainBytes = 64U << 10U;

/// One upstream connection, plain or TLS, presented as a single AsyncStream so the HTTP code is
/// written once. Timeouts come from the beast::tcp_stream underneath (also under TLS).
class Connection {
 public:
  using executor_type = Executor;

  Connection(const Executor& ex, ssl::context* tls) {
    if (tls != nullptr) {
      tls_.emplace(ex, *tls);
    } else {
      plain_.emplace(ex);
    }
  }

  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
  ssl::stream<beast::tcp_stream>* tls() { return tls_ ? &*tls_ : nullptr; }
  executor_type get_executor() { return tcp().get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            plain_->async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            plain_->async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  /// False when the peer closed (or wrote to) an idle connection. One non-blocking peek per
  /// reuse (MSG_DONTWAIT: no ioctl to flip the socket's mode first).
  bool looksAlive() {
    tcp::socket& socket = tcp().socket();
    if (!socket.is_open()) return false;
    char byte = 0;
    const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  bool reused = false;
  Clock::time_point idle_since;

 private:
  std::optional<beast::tcp_stream> plain_;
  std::optional<ssl::stream<beast::tcp_stream>> tls_;
};

/// Idle keep-alive connections of one io_context, keyed by origin. An io_context service rather
/// than a thread_local: its lifetime is exactly that of the sockets' io_context, so a pooled
/// socket can never outlive (or be used from) another context. See ADR 0004.
class ConnectionPool final : public asio::execution_context::service {
 public:
  using key_type = ConnectionPool;
  static inline asio::execution_context::id id;

  explicit ConnectionPool(asio::execution_context& ctx) : service(ctx) {}

  static ConnectionPool& of(const Executor& ex) {
    return asio::use_service<ConnectionPool>(
        asio::query(ex, asio::execution::context_as<asio::execution_context&>));
  }

  /// A live idle connection for `key`, most recently used first, or nullptr.
  std::unique_ptr<Connection> take(const std::string& key, std::chrono::milliseconds max_idle) {
    const Clock::time_point now = Clock::now();
    sweep(now, max_idle);
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    std::vector<std::unique_ptr<Connection>>& list = it->second;
    while (!list.empty()) {
      std::unique_ptr<Connection> conn = std::move(list.back());
      list.pop_back();
      if (now - conn->idle_since < max_idle && conn->looksAlive()) return conn;
    }
    return nullptr;
  }

  void put(const std::string& key, std::unique_ptr<Connection> conn, int max_idle_count,
           std::chrono::milliseconds max_idle) {
    if (shut_down_ || max_idle_count <= 0) return;
    const Clock::time_point now = Clock::now();
    conn->tcp().expires_never();
    conn->reused = true;
    conn->idle_since = now;
    std::vector<std::unique_ptr<Connection>>& list = idle_[key];
    if (static_cast<int>(list.size()) >= max_idle_count) list.erase(list.begin());  // oldest
    list.push_back(std::move(conn));
    sweep(now, max_idle);
  }

 private:
  void shutdown() override {
    shut_down_ = true;
    idle_.clear();
  }

  /// Closes connections idle for longer than `max_idle`. Runs on pool activity (at most once a
  /// second) instead of on a timer, so an idle pool keeps no pending work on the io_context.
  void sweep(Clock::time_point now, std::chrono::milliseconds max_idle) {
    if (now - last_sweep_ < std::chrono::seconds(1)) return;
    last_sweep_ = now;
    for (auto it = idle_.begin(); it != idle_.end();) {
      std::erase_if(it->second, [&](const std::unique_ptr<Connection>& c) {
        return now - c->idle_since >= max_idle;
      });
      it = it->second.empty() ? idle_.erase(it) : std::next(it);
    }
  }

  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
  Clock::time_point last_sweep_{};
  bool shut_down_ = false;
};

Result<std::shared_ptr<ssl::context>> makeTlsContext(const std::string& extra_ca_pem) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) return Error::internal("cannot load the system CA store: " + ec.message());
  ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec) return Error::internal("cannot enable TLS peer verification: " + ec.message());
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  if (!extra_ca_pem.empty()) {
    ctx->add_certificate_authority(asio::buffer(extra_ca_pem), ec);
    if (ec) return Error::invalid("extra CA certificates are not valid PEM: " + ec.message());
  }
  return ctx;
}

/// The process-wide client TLS context (system CA store). SSL_CTX is safe to share between
/// threads once configured.
Result<std::shared_ptr<ssl::context>> defaultTlsContext() {
  static const Result<std::shared_ptr<ssl::context>> ctx = makeTlsContext({});
  return ctx;
}

bool isIpLiteral(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

/// True for the errors a reused connection shows when the peer had already closed it.
bool isStaleConnectionError(const error_code& ec) {
  return ec == asio::error::broken_pipe || ec == asio::error::connection_reset ||
         ec == asio::error::eof || ec == asio::error::not_connected ||
         ec == bhttp::error::end_of_stream;
}

void toLower(std::string& s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// Whether the calling coroutine received cancellation. A macro rather than a Task: after
// cancellation, co_awaiting any awaitable throws (Asio's throw_if_cancelled default), while
// reading this_coro::cancellation_state never does.
#define BASALT_CORO_CANCELLED() \
  ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)

}  // namespace

struct HttpClient::Impl {
  BaseUrl base;
  ClientOptions options;
  std::shared_ptr<ssl::context> tls;  ///< null for http
  std::string pool_key;
  std::string host_header;
  std::string port_text;
  bool ip_literal = false;

  /// The error for a failed transport step; `what` reads like "connecting to".
  Error transportError(std::string_view what, const error_code& ec, bool was_cancelled) const {
    if (was_cancelled || ec == asio::error::operation_aborted) {
      return Error{ErrorKind::kCancelled, "upstream call to " + base.hostPort() + " cancelled"};
    }
    if (ec == beast::error::timeout) {
      return Error{ErrorKind::kUpstreamTimeout,
                   std::string(what) + " " + base.hostPort() + " timed out"};
    }
    return Error{ErrorKind::kUpstreamError,
                 std::string(what) + " " + base.hostPort() + " failed: " + ec.message()};
  }
};

struct ResponseStream::Impl {
  Impl(std::unique_ptr<Connection> c, ConnectionPool& p, std::shared_ptr<const HttpClient::Impl> cl,
       Deadline d, std::size_t read_size)
      : conn(std::move(c)),
        pool(&p),
        client(std::move(cl)),
        deadline(d),
        // Uninitialised: zeroing a read buffer on every request showed up in profiles.
        chunk(std::make_unique_for_overwrite<char[]>(read_size)),
        chunk_size(read_size) {
    buffer.reserve(kHeadBufferSize);
    parser.header_limit(kHeaderLimit);
    parser.body_limit(boost::none);  // streams are bounded by the deadline; readAll caps
  }

  /// After the last body byte: back to the pool when the upstream allows it, else closed.
  void release() {
    done = true;
    if (!conn) return;
    if (parser.keep_alive() && buffer.size() == 0) {
      pool->put(client->pool_key, std::move(conn), client->options.max_idle_connections,
                client->options.idle_timeout);
    }
    conn.reset();
  }

  Task<Result<std::string_view>> read() {
    while (true) {
      if (parser.is_done()) {
        release();
        co_return std::string_view{};
      }
      if (!conn) co_return Error{ErrorKind::kUpstreamError, "upstream response already closed"};
      auto& body = parser.get().body();
      body.data = chunk.get();
      body.size = chunk_size;
      auto [ec, n] = co_await bhttp::async_read_some(*conn, buffer, parser, kUseTuple);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        conn.reset();
        const bool was_cancelled = BASALT_CORO_CANCELLED();
        co_return client->transportError("reading the response from", ec, was_cancelled);
      }
      const std::size_t produced = chunk_size - parser.get().body().size;
      if (produced > 0) co_return std::string_view(chunk.get(), produced);
    }
  }

  std::unique_ptr<Connection> conn;
  ConnectionPool* pool;
  std::shared_ptr<const HttpClient::Impl> client;
  Deadline deadline;
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  std::unique_ptr<char[]> chunk;  ///< the body buffer `read` returns views into
  std::size_t chunk_size;
  int status = 0;
  Headers headers;
  bool done = false;
};

namespace {

/// Resolves `host` with a deadline. getaddrinfo runs on Asio's resolver thread and cannot be
/// interrupted, so the wait is on a timer the resolve handler cancels; a late answer is dropped.
Task<Result<tcp::resolver::results_type>> resolve(const HttpClient::Impl& c, Deadline deadline) {
  const Executor ex = co_await asio::this_coro::executor;
  struct State {
    explicit State(const Executor& e) : resolver(e), signal(e) {}
    tcp::resolver resolver;
    asio::steady_timer signal;
    error_code ec;
    tcp::resolver::results_type results;
    bool done = false;
  };
  auto state = std::make_shared<State>(ex);
  state->signal.expires_at(deadline);
  state->resolver.async_resolve(c.base.host, c.port_text,
                                [state](error_code ec, tcp::resolver::results_type results) {
                                  state->ec = ec;
                                  state->results = std::move(results);
                                  state->done = true;
                                  state->signal.cancel();
                                });
  auto [wait_ec] = co_await state->signal.async_wait(kUseTuple);
  if (state->done) {
    if (state->ec) {
      co_return Error{ErrorKind::kUpstreamError,
                      "could not resolve " + c.base.hostPort() + ": " + state->ec.message()};
    }
    co_return std::move(state->results);
  }
  state->resolver.cancel();
  if (wait_ec) co_return c.transportError("resolving", asio::error::operation_aborted, true);
  co_return Error{ErrorKind::kUpstreamTimeout, "resolving " + c.base.hostPort() + " timed out"};
}

Task<Result<std::unique_ptr<Connection>>> connect(const HttpClient::Impl& c, Deadline deadline) {
  const Executor ex = co_await asio::this_coro::executor;
  auto conn = std::make_unique<Connection>(ex, c.tls.get());
  const Deadline connect_deadline = std::min(deadline, Clock::now() + c.options.connect_timeout);

  error_code ec;
  conn->tcp().expires_at(connect_deadline);
  if (c.ip_literal) {
    const tcp::endpoint endpoint(asio::ip::make_address(c.base.host), c.base.port);
    std::tie(ec) = co_await conn->tcp().async_connect(endpoint, kUseTuple);
  } else {
    Result<tcp::resolver::results_type> endpoints = co_await resolve(c, connect_deadline);
    if (!endpoints) co_return std::move(endpoints).error();
    tcp::endpoint ignored;
    std::tie(ec, ignored) = co_await conn->tcp().async_connect(*endpoints, kUseTuple);
  }
  if (ec) co_return c.transportError("connecting to", ec, BASALT_CORO_CANCELLED());
  error_code ignored_ec;
  conn->tcp().socket().set_option(tcp::no_delay(true), ignored_ec);

  if (ssl::stream<beast::tcp_stream>* tls = conn->tls()) {
    if (!c.ip_literal && SSL_set_tlsext_host_name(tls->native_handle(), c.base.host.c_str()) != 1) {
      co_return Error{ErrorKind::kUpstreamError, "cannot set TLS SNI for " + c.base.hostPort()};
    }
    tls->set_verify_callback(ssl::host_name_verification(c.base.host));
    std::tie(ec) = co_await tls->async_handshake(ssl::stream_base::client, kUseTuple);
    if (ec) co_return c.transportError("TLS handshake with", ec, BASALT_CORO_CANCELLED());
  }
  co_return conn;
}

/// The request head, serialized by hand (the Beast serializer's buffer machinery was ~15% of a
/// proxied request's CPU). Fails on a header that could split the request (CR/LF/NUL).
Result<std::string> buildRequestHead(const HttpClient::Impl& c, const Request& request) {
  constexpr std::string_view kBadInName("\r\n\0: \t", 6);
  constexpr std::string_view kBadInValue("\r\n\0", 3);
  constexpr std::string_view kBadInTarget("\r\n\0 \t", 5);
  if (request.method.empty() || request.method.find_first_of(kBadInTarget) != std::string::npos ||
      request.target.empty() || request.target.find_first_of(kBadInTarget) != std::string::npos) {
    return Error{ErrorKind::kUpstreamError, "upstream request line is malformed"};
  }
  std::size_t size = request.method.size() + request.target.size() + c.host_header.size() + 96;
  for (const Header& h : request.headers) size += h.name.size() + h.value.size() + 4;
  std::string head;
  head.reserve(size);
  head.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  head.append("Host: ").append(c.host_header).append("\r\nUser-Agent: basalt/0.1\r\n");
  for (const Header& h : request.headers) {
    if (h.name.empty() || h.name.find_first_of(kBadInName) != std::string::npos ||
        h.value.find_first_of(kBadInValue) != std::string::npos) {
      // The value may be a credential: name the header only.
      return Error{ErrorKind::kUpstreamError,
                   "upstream request header '" + h.name.substr(0, 64) + "' is malformed"};
    }
    head.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  // A body, or a method that carries one, is framed by Content-Length (as Beast's
  // prepare_payload did); GET/HEAD/DELETE without a body send none.
  const bool body_method =
      request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (!request.body.empty() || body_method) {
    head.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
  }
  head.append("\r\n");
  return head;
}

/// Sends the request and reads the response head. A pooled connection the peer closed is
/// detected before use (and replaced). If the peer closes a reused connection in the race
/// window — the write fails, or the connection ends before any response byte — the call is
/// retried once on a fresh connection: the upstream closed an idle connection and never
/// started on the request.
Task<Result<std::unique_ptr<ResponseStream::Impl>>> start(std::shared_ptr<const HttpClient::Impl> c,
                                                          Request request, Deadline deadline,
                                                          std::size_t read_size) {
  const Executor ex = co_await asio::this_coro::executor;
  ConnectionPool& pool = ConnectionPool::of(ex);
  const bool head_request = request.method == "HEAD";
  Result<std::string> head = buildRequestHead(*c, request);
  if (!head) co_return std::move(head).error();
  const std::array<asio::const_buffer, 2> message{asio::buffer(*head), asio::buffer(request.body)};

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> conn =
        attempt == 0 ? pool.take(c->pool_key, c->options.idle_timeout) : nullptr;
    if (!conn) {
      Result<std::unique_ptr<Connection>> fresh = co_await connect(*c, deadline);
      if (!fresh) co_return std::move(fresh).error();
      conn = std::move(*fresh);
    }
    conn->tcp().expires_at(deadline);
    auto [write_ec, written] = co_await asio::async_write(*conn, message, kUseTuple);
    if (write_ec) {
      const bool was_cancelled = BASALT_CORO_CANCELLED();
      if (!was_cancelled && conn->reused && attempt == 0 && isStaleConnectionError(write_ec)) {
        continue;
      }
      co_return c->transportError("sending the request to", write_ec, was_cancelled);
    }

    auto impl =
        std::make_unique<ResponseStream::Impl>(std::move(conn), pool, c, deadline, read_size);
    impl->parser.skip(head_request);  // a HEAD answer announces a body it does not send
    auto [read_ec, n] =
        co_await bhttp::async_read_header(*impl->conn, impl->buffer, impl->parser, kUseTuple);
    if (read_ec) {
      const bool reused = impl->conn->reused;
      impl->conn.reset();
      const bool was_cancelled = BASALT_CORO_CANCELLED();
      // The peer closed a reused connection before answering a single byte: it closed an
      // idle connection as our request arrived, and never processed it (what curl and browsers
      // also assume). Anything else, including a partial answer, is not retried.
      if (!was_cancelled && reused && attempt == 0 &&
          (read_ec == bhttp::error::end_of_stream || read_ec == asio::error::connection_reset)) {
        continue;
      }
      co_return c->transportError("reading the response from", read_ec, was_cancelled);
    }
    const auto& head = impl->parser.get();
    impl->status = static_cast<int>(head.result_int());
    impl->headers.reserve(std::distance(head.begin(), head.end()));
    for (const auto& field : head) {
      Header h{std::string(field.name_string()), std::string(field.value())};
      toLower(h.name);
      impl->headers.push_back(std::move(h));
    }
    if (impl->parser.is_done()) {
      impl->release();  // no body (content-length: 0, 204 ...)
    } else if (read_size == kStreamReadSize && impl->buffer.size() == 0 &&
               impl->buffer.capacity() > kStreamBodyBufferSize) {
      impl->buffer = beast::flat_buffer();
      impl->buffer.reserve(kStreamBodyBufferSize);
    }
    co_return impl;
  }
}

}  // namespace

// ---- Response ----

const std::string* Response::header(std::string_view lower_name) const {
  return findHeader(headers, lower_name);
}

// ---- ResponseStream ----

ResponseStream::ResponseStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResponseStream::ResponseStream(ResponseStream&&) noexcept = default;
ResponseStream& ResponseStream::operator=(ResponseStream&&) noexcept = default;
ResponseStream::~ResponseStream() = default;

int ResponseStream::status() const {
  return impl_->status;
}
const Headers& ResponseStream::headers() const {
  return impl_->headers;
}

const std::string* ResponseStream::header(std::string_view lower_name) const {
  return findHeader(impl_->headers, lower_name);
}

Task<Result<std::string_view>> ResponseStream::read() {
  return impl_->read();
}

Task<Result<std::string>> ResponseStream::readAll(std::size_t cap) {
  std::string out;
  if (auto length = impl_->parser.content_length()) {
    out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, cap)));
  }
  while (true) {
    Result<std::string_view> piece = co_await impl_->read();
    if (!piece) co_return std::move(piece).error();
    if (piece->empty()) co_return out;
    if (out.size() + piece->size() > cap) {
      close();
      co_return Error{ErrorKind::kUpstreamError,
                      "upstream response from " + impl_->client->base.hostPort() +
                          " is larger than " + std::to_string(cap) + " bytes"};
    }
    out.append(*piece);
  }
}

Task<bool> ResponseStream::drain() {
  if (impl_->done) co_return true;
  if (!impl_->conn) co_return false;
  impl_->conn->tcp().expires_at(std::min(impl_->deadline, Clock::now() + kDrainGrace));
  std::size_t drained = 0;
  while (true) {
    Result<std::string_view> piece = co_await impl_->read();
    if (!piece) co_return false;
    if (piece->empty()) co_return true;
    drained += piece->size();
    if (drained > kMaxDrainBytes) {
      close();
      co_return false;
    }
  }
}

void ResponseStream::close() {
  impl_->conn.reset();
}

// ---- HttpClient ----

HttpClient::HttpClient(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(BaseUrl base, ClientOptions options) {
  auto impl = std::make_shared<Impl>();
  if (base.tls) {
    Result<std::shared_ptr<ssl::context>> tls =
        options.extra_ca_pem.empty() ? defaultTlsContext() : makeTlsContext(options.extra_ca_pem);
    if (!tls) return tls.error();
    impl->tls = *tls;
  }
  impl->pool_key = base.origin();
  if (!options.extra_ca_pem.empty()) {
    // Connections verified against other trust anchors must not be shared with this client.
    impl->pool_key += "#ca=" + std::to_string(reinterpret_cast<std::uintptr_t>(impl->tls.get()));
  }
  impl->host_header = base.hostHeader();
  impl->port_text = std::to_string(base.port);
  impl->ip_literal = isIpLiteral(base.host);
  impl->base = std::move(base);
  impl->options = std::move(options);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

const BaseUrl& HttpClient::base() const {
  return impl_->base;
}

Task<Result<ResponseStream>> HttpClient::open(Request request, Deadline deadline) const {
  Result<std::unique_ptr<ResponseStream::Impl>> impl =
      co_await start(impl_, std::move(request), deadline, kStreamReadSize);
  if (!impl) co_return std::move(impl).error();
  co_return ResponseStream(std::move(*impl));
}

Task<Result<Response>> HttpClient::send(Request request, Deadline deadline) const {
  Result<std::unique_ptr<ResponseStream::Impl>> impl =
      co_await start(impl_, std::move(request), deadline, kBufferedReadSize);
  if (!impl) co_return std::move(impl).error();
  ResponseStream stream(std::move(*impl));
  Response out;
  out.status = stream.status();
  out.headers = stream.headers();
  Result<std::string> body = co_await stream.readAll(impl_->options.max_response_body);
  if (!body) co_return std::move(body).error();
  out.body = std::move(*body);
  co_return out;
}

}  // namespace basalt::providers::http
