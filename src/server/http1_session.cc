#include "http1_session.h"

#include "basalt/core/assert.h"
#include "basalt/core/exchange.h"
#include "basalt/core/ids.h"
#include "basalt/core/log.h"
#include "wire_util.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>

namespace basalt::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using std::chrono::milliseconds;

constexpr std::size_t kReadSize = 4096;
constexpr std::size_t kBodyReadSize = 64 * 1024;
// TLS writes of up to this many bytes are gathered into one record (asio's ssl::stream writes
// one buffer per record and per syscall).
constexpr std::size_t kTlsCoalesceLimit = 64 * 1024;
// An idle connection's buffer is shrunk back when a large request grew it past this.
constexpr std::size_t kIdleBufferLimit = 16 * 1024;
// How long a rejected connection keeps draining the client's unread body so that closing does
// not reset the connection before the client has read the error response.
constexpr milliseconds kLingerTime{1000};
constexpr std::size_t kLingerBytes = 1U << 20U;
constexpr milliseconds kTlsShutdownTime{500};

void assignLowerCase(std::string& out, std::string_view s) {
  out.assign(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

bool iequalsAscii(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Plain functions: GCC 12 miscompiles braced string-literal initialisers inside coroutines.
Headers jsonHeaders() {
  return Headers{Header{"content-type", "application/json"}};
}
std::string internalErrorBody() {
  return transportErrorBody("Internal server error.", "internal_error", "server_error");
}

template <class Stream>
class Http1Session final : public Responder,
                           public TrackedConnection,
                           public DeferredWatch,
                           public std::enable_shared_from_this<Http1Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, TcpStream>;

  Http1Session(Worker& worker, Stream stream, beast::flat_buffer buffer, std::string remote_ip,
               asio::cancellation_signal& cancel)
      : worker_(worker),
        settings_(*worker.context().settings),
        handler_(*worker.context().handler),
        stream_(std::move(stream)),
        buffer_(std::move(buffer)),
        remote_ip_(std::move(remote_ip)),
        cancel_(cancel) {
    worker_.add(*this);
  }
  ~Http1Session() override {
    worker_.cancelWatch(*this);
    worker_.remove(*this);
  }
  Http1Session(const Http1Session&) = delete;
  Http1Session& operator=(const Http1Session&) = delete;

  Task<void> run();

  // Responder
  Task<bool> send(int status, Headers headers, std::string body) override;
  Task<bool> startStream(int status, Headers headers) override;
  Task<bool> write(std::string_view chunk) override;
  Task<bool> endStream() override;
  bool clientGone() const override { return gone_; }

  // TrackedConnection
  void beginShutdown() override;
  void forceClose() override;

  void onDeadline() override {
    error_code ec;
    lowest().close(ec);  // pending reads and writes fail; the session loop ends
  }

  // DeferredWatch
  void startWatchNow() override {
    if (handler_running_ && !gone_) startWatch();
  }

 private:
  enum class State : unsigned char { kBusy, kIdle };
  enum class Reply : unsigned char { kNone, kSent, kStreaming, kEnded };

  asio::ip::tcp::socket& lowest() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }
  Task<bool> readRequest();
  Task<void> rejectRequest(int status, std::string_view code, std::string_view message);
  Task<void> serveRequest();
  Task<void> closeConnection();
  template <class Buffers>
  Task<bool> writeAll(const Buffers& buffers);
  void prepareHead(int status, const Headers& headers, Framing framing, std::size_t length);

  void startWatch();
  Task<void> stopWatch();
  void onReadable(unsigned generation, error_code ec);
  void startBackgroundTlsRead();
  void markGone();

  Worker& worker_;
  const config::ServerSettings& settings_;
  Handler& handler_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::string remote_ip_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  std::string head_;                   // response head, reused across requests
  std::string tls_scratch_;            // TLS: small multi-buffer writes gathered into one record
  asio::cancellation_signal& cancel_;  // bound to the connection coroutine's slot
  bool cancel_emitted_ = false;

  State state_ = State::kBusy;
  Reply reply_ = Reply::kNone;
  bool stopping_ = false;   // server shutdown: no further requests
  bool closing_ = false;    // this connection ends after the current exchange
  bool linger_ = false;     // drain unread input before closing (after a 4xx)
  bool gone_ = false;       // the client disconnected or a write failed
  bool forced_ = false;     // forceClose(): skip polite shutdowns
  bool keep_alive_ = true;  // what the client asked for
  bool http10_ = false;
  bool head_only_ = false;  // HEAD: headers but no body
  bool chunked_ = false;    // streaming with chunked framing (HTTP/1.1)
  bool handler_running_ = false;
  bool watching_ = false;
  unsigned watch_generation_ = 0;
  char peek_byte_ = 0;
  bool background_read_ = false;  // TLS: a read into buffer_ runs beside the handler
  std::optional<asio::steady_timer> background_read_done_;  // wakes stopWatch()
};

template <class Stream>
Task<void> Http1Session<Stream>::run() {
  const auto self = this->shared_from_this();  // watcher callbacks may outlive the loop
  bool first = true;
  while (!closing_) {
    if (buffer_.size() == 0) {
      if (stopping_) break;
      if (buffer_.capacity() > kIdleBufferLimit) buffer_.shrink_to_fit();
      setDeadline(milliseconds(first ? settings_.header_timeout_ms : settings_.idle_timeout_ms));
      // beginShutdown() cancels this read; nothing may suspend between setting kIdle and
      // starting it.
      state_ = State::kIdle;
      auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadSize),
                                                      asio::as_tuple(asio::use_awaitable));
      state_ = State::kBusy;
      if (ec) break;  // EOF, reset, idle timeout or shutdown
      buffer_.commit(n);
    }
    first = false;
    if (!co_await readRequest()) break;
    co_await serveRequest();
  }
  co_await closeConnection();
}

template <class Stream>
Task<bool> Http1Session<Stream>::readRequest() {
  parser_.emplace();
  parser_->header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(settings_.max_header_bytes, UINT32_MAX)));
  parser_->body_limit(settings_.max_body_bytes);
  parser_->eager(true);

  // The parser is fed from buffer_ directly (no Beast composed read ops: they allocate per
  // operation); reads go straight to the socket or TLS stream.
  setDeadline(milliseconds(settings_.header_timeout_ms));
  bool header_seen = false;
  error_code ec;
  for (;;) {
    if (buffer_.size() > 0) {
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) ec = {};
      if (ec) break;
      if (!header_seen && parser_->is_header_done()) {
        header_seen = true;
        if (!parser_->is_done()) {
          const auto& fields = parser_->get();
          if (const auto expect = fields.find(http::field::expect);
              expect != fields.end() && iequalsAscii(expect->value(), "100-continue")) {
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            if (!co_await writeAll(asio::buffer(kContinue.data(), kContinue.size()))) {
              co_return false;
            }
          }
          setDeadline(milliseconds(settings_.body_timeout_ms));
        }
      }
      if (parser_->is_done()) break;
      if (used > 0 && buffer_.size() > 0) continue;  // more complete pieces (chunks) to parse
    }
    const std::size_t want = header_seen ? kBodyReadSize : kReadSize;
    auto [rec, n] = co_await stream_.async_read_some(buffer_.prepare(want),
                                                     asio::as_tuple(asio::use_awaitable));
    if (rec) {
      ec = rec;  // EOF, reset, or closed by the deadline tick or shutdown
      break;
    }
    buffer_.commit(n);
  }
  clearDeadline();
  if (ec) {
    if (ec == http::error::body_limit) {
      co_await rejectRequest(413, "request_too_large",
                             "Request body exceeds the limit of " +
                                 std::to_string(settings_.max_body_bytes) + " bytes.");
    } else if (ec == http::error::header_limit) {
      co_await rejectRequest(431, "request_header_fields_too_large",
                             "Request header block exceeds the limit of " +
                                 std::to_string(settings_.max_header_bytes) + " bytes.");
    } else if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
      co_await rejectRequest(400, "bad_request", "Malformed HTTP request: " + ec.message());
    }
    // Otherwise EOF, reset or timeout: there is nobody to answer, just close.
    co_return false;
  }

  auto& message = parser_->get();
  request_.method.assign(message.method_string());
  request_.target.assign(message.target());
  // Assign into the previous request's strings: their capacity is reused when it suffices.
  std::size_t count = 0;
  for (const auto& field : message) {
    if (count == request_.headers.size()) request_.headers.emplace_back();
    Header& h = request_.headers[count++];
    assignLowerCase(h.name, field.name_string());
    h.value.assign(field.value());
  }
  request_.headers.resize(count);
  request_.body = std::move(message.body());
  request_.remote_ip = remote_ip_;
  request_.secure = kTls;
  request_.http_version = message.version() == 10 ? 10 : 11;
  request_.request_id = chooseRequestId(request_.header("x-request-id"));

  keep_alive_ = message.keep_alive();
  http10_ = message.version() == 10;
  head_only_ = message.method() == http::verb::head;
  parser_.reset();
  co_return true;
}

template <class Stream>
Task<void> Http1Session<Stream>::rejectRequest(int status, std::string_view code,
                                               std::string_view message) {
  closing_ = true;
  linger_ = true;
  request_.request_id = newRequestId();  // the request never got one of its own
  const std::string body = transportErrorBody(message, code);
  head_.clear();
  appendResponseHead(head_, status, jsonHeaders(), Framing::kContentLength, body.size(), true,
                     false, request_.request_id);
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body)};
  co_await writeAll(buffers);
}

template <class Stream>
Task<void> Http1Session<Stream>::serveRequest() {
  reply_ = Reply::kNone;
  chunked_ = false;
  handler_running_ = true;
  worker_.deferWatch(*this);
  // Awaited in this coroutine rather than co_spawned (which allocates per request): the
  // connection coroutine was spawned with cancel_'s slot bound, so emitting it cancels
  // whatever the handler is waiting on.
  std::exception_ptr ep;
  try {
    co_await handler_.handle(request_, *this);
  } catch (...) {
    ep = std::current_exception();
  }
  handler_running_ = false;
  worker_.cancelWatch(*this);
  if (cancel_emitted_) {
    // Our own remaining I/O on this connection must not inherit the handler's cancellation.
    co_await asio::this_coro::reset_cancellation_state();
  }
  co_await stopWatch();

  if (ep) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    if (!gone_) {
      // A cancelled handler throwing operation_aborted is expected; anything else is a bug.
      log::error("handler threw on {} {} (request {}): {}", request_.method, request_.path(),
                 request_.request_id, what);
      BASALT_BUG("handler threw an exception");
    }
    if (reply_ == Reply::kNone && !gone_) {
      co_await send(500, jsonHeaders(), internalErrorBody());
    }
    // A stream cut short must not look complete: close without the terminating chunk.
    if (reply_ == Reply::kStreaming) closing_ = true;
  } else if (reply_ == Reply::kNone && !gone_) {
    BASALT_BUG("handler returned without answering");
    co_await send(500, jsonHeaders(), internalErrorBody());
  } else if (reply_ == Reply::kStreaming) {
    // Returning mid-stream without endStream() is an abort: close without the terminating
    // chunk so the client sees a truncated response, not a complete one.
    closing_ = true;
  }
  if (reply_ == Reply::kStreaming) reply_ = Reply::kEnded;
  if (gone_) closing_ = true;
}

template <class Stream>
void Http1Session<Stream>::prepareHead(int status, const Headers& headers, Framing framing,
                                       std::size_t length) {
  if (!keep_alive_ || stopping_) closing_ = true;
  head_.clear();
  appendResponseHead(head_, status, headers, framing, length, closing_, http10_ && !closing_,
                     request_.request_id);
}

template <class Stream>
template <class Buffers>
Task<bool> Http1Session<Stream>::writeAll(const Buffers& buffers) {
  if (gone_) co_return false;
  // A client that reads nothing for an idle period is treated as gone.
  setDeadline(milliseconds(settings_.idle_timeout_ms));
  error_code ec;
  if constexpr (kTls) {
    const auto first = asio::buffer_sequence_begin(buffers);
    const auto last = asio::buffer_sequence_end(buffers);
    if (std::next(first) != last && asio::buffer_size(buffers) <= kTlsCoalesceLimit) {
      tls_scratch_.clear();
      for (auto it = first; it != last; ++it) {
        const asio::const_buffer b(*it);
        tls_scratch_.append(static_cast<const char*>(b.data()), b.size());
      }
      std::tie(ec, std::ignore) = co_await asio::async_write(stream_, asio::buffer(tls_scratch_),
                                                             asio::as_tuple(asio::use_awaitable));
    } else {
      std::tie(ec, std::ignore) =
          co_await asio::async_write(stream_, buffers, asio::as_tuple(asio::use_awaitable));
    }
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(stream_, buffers, asio::as_tuple(asio::use_awaitable));
  }
  clearDeadline();
  if (ec) {
    markGone();
    co_return false;
  }
  co_return true;
}

template <class Stream>
Task<bool> Http1Session<Stream>::send(int status, Headers headers, std::string body) {
  if (reply_ != Reply::kNone) {
    BASALT_BUG("Responder::send after the response was started");
    co_return false;
  }
  reply_ = Reply::kSent;
  if (gone_) co_return false;
  const bool no_body = status < 200 || status == 204 || status == 304;
  prepareHead(status, headers, no_body ? Framing::kNoBody : Framing::kContentLength, body.size());
  if (no_body || head_only_ || body.empty()) co_return co_await writeAll(asio::buffer(head_));
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body)};
  co_return co_await writeAll(buffers);
}

template <class Stream>
Task<bool> Http1Session<Stream>::startStream(int status, Headers headers) {
  if (reply_ != Reply::kNone) {
    BASALT_BUG("Responder::startStream after the response was started");
    co_return false;
  }
  reply_ = Reply::kStreaming;
  if (gone_) co_return false;
  // A stream can stay open for minutes with nothing to read: give the read buffer back until
  // the next request (RSS per open stream is a target). Not while a TLS read is filling it.
  if (buffer_.size() == 0 && !background_read_) buffer_ = beast::flat_buffer{};
  chunked_ = !http10_;
  if (!chunked_) closing_ = true;  // HTTP/1.0: the end of the body is the end of the connection
  prepareHead(status, headers, chunked_ ? Framing::kChunked : Framing::kUntilClose, 0);
  co_return co_await writeAll(asio::buffer(head_));
}

template <class Stream>
Task<bool> Http1Session<Stream>::write(std::string_view chunk) {
  if (reply_ != Reply::kStreaming) {
    BASALT_BUG("Responder::write outside a stream");
    co_return false;
  }
  if (gone_) co_return false;
  if (chunk.empty() || head_only_) co_return true;  // an empty chunk would end the body
  if (!chunked_) co_return co_await writeAll(asio::buffer(chunk.data(), chunk.size()));
  char size_line[20];
  const std::size_t size_length = chunkHeader(size_line, chunk.size());
  const std::array<asio::const_buffer, 3> buffers{asio::buffer(size_line, size_length),
                                                  asio::buffer(chunk.data(), chunk.size()),
                                                  asio::buffer("\r\n", 2)};
  co_return co_await writeAll(buffers);
}

template <class Stream>
Task<bool> Http1Session<Stream>::endStream() {
  if (reply_ != Reply::kStreaming) {
    BASALT_BUG("Responder::endStream outside a stream");
    co_return false;
  }
  reply_ = Reply::kEnded;
  if (gone_) co_return false;
  if (!chunked_ || head_only_) co_return true;
  co_return co_await writeAll(asio::buffer("0\r\n\r\n", 5));
}

template <class Stream>
Task<void> Http1Session<Stream>::closeConnection() {
  error_code ec;
  if (!forced_ && !gone_ && lowest().is_open()) {
    if constexpr (kTls) {
      // close_notify so the client can tell a complete response from a truncated one.
      setDeadline(kTlsShutdownTime);
      co_await stream_.async_shutdown(asio::as_tuple(asio::use_awaitable));
    } else if (linger_) {
      // Half-close, then drain what the client is still sending (e.g. the body of a request
      // answered 413), so the kernel does not reset the connection under the response.
      lowest().shutdown(asio::socket_base::shutdown_send, ec);
      std::size_t drained = 0;
      setDeadline(kLingerTime);
      while (drained < kLingerBytes) {
        buffer_.clear();
        auto [rec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadSize),
                                                         asio::as_tuple(asio::use_awaitable));
        if (rec) break;
        drained += n;
      }
    }
  }
  clearDeadline();
  lowest().shutdown(asio::socket_base::shutdown_both, ec);
  lowest().close(ec);
}

template <class Stream>
void Http1Session<Stream>::startWatch() {
  watching_ = true;
  const unsigned generation = ++watch_generation_;
  // A 1-byte MSG_PEEK receive rather than async_wait(wait_read): Asio queues a receive on an
  // exhausted socket without any syscall, while every async_wait costs an epoll_ctl.
  lowest().async_receive(asio::buffer(&peek_byte_, 1), asio::socket_base::message_peek,
                         [self = this->shared_from_this(), generation](error_code ec, std::size_t) {
                           self->onReadable(generation, ec);
                         });
}

template <class Stream>
Task<void> Http1Session<Stream>::stopWatch() {
  if (watching_) {
    watching_ = false;
    ++watch_generation_;
    error_code ec;
    lowest().cancel(ec);
  }
  if constexpr (kTls) {
    if (background_read_) {
      // It writes into buffer_: the next request may only be parsed once it has finished.
      error_code ec;
      lowest().cancel(ec);
      background_read_done_->expires_at(asio::steady_timer::time_point::max());
      co_await background_read_done_->async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

template <class Stream>
void Http1Session<Stream>::onReadable(unsigned generation, error_code ec) {
  if (generation != watch_generation_ || !watching_) return;
  watching_ = false;
  if (ec == asio::error::operation_aborted) return;  // stopWatch() or forceClose()
  if (ec) {
    markGone();  // EOF (a peek of 0 bytes) or reset
    return;
  }
  if constexpr (kTls) {
    // Encrypted bytes: a close_notify (TLS 1.3 hides alerts as application data) or a
    // pipelined request. Only decrypting tells, so read them into buffer_ where the next
    // request parse will find them.
    startBackgroundTlsRead();
  }
  // Plain TCP: a pipelined request stays queued in the socket until this exchange is over;
  // we stop watching (the next read will see a disconnect).
}

template <class Stream>
void Http1Session<Stream>::startBackgroundTlsRead() {
  if (!background_read_done_) background_read_done_.emplace(stream_.get_executor());
  background_read_ = true;
  stream_.async_read_some(buffer_.prepare(kReadSize),
                          [self = this->shared_from_this()](error_code ec, std::size_t n) {
                            self->buffer_.commit(n);
                            self->background_read_ = false;
                            self->background_read_done_->cancel();
                            if (ec && ec != asio::error::operation_aborted) self->markGone();
                          });
}

template <class Stream>
void Http1Session<Stream>::markGone() {
  if (gone_) return;
  gone_ = true;
  closing_ = true;
  if (handler_running_) {
    cancel_emitted_ = true;
    cancel_.emit(asio::cancellation_type::terminal);
  }
}

template <class Stream>
void Http1Session<Stream>::beginShutdown() {
  stopping_ = true;
  if (state_ == State::kIdle) {
    error_code ec;
    lowest().cancel(ec);  // aborts the read waiting for a request
  }
}

template <class Stream>
void Http1Session<Stream>::forceClose() {
  forced_ = true;
  markGone();
  error_code ec;
  lowest().close(ec);
}

template <class Stream>
Task<void> runSession(Worker& worker, Stream stream, beast::flat_buffer buffer,
                      std::string remote_ip, asio::cancellation_signal& cancel) {
  const auto session = std::make_shared<Http1Session<Stream>>(
      worker, std::move(stream), std::move(buffer), std::move(remote_ip), cancel);
  co_await session->run();
}

}  // namespace

Task<void> runHttp1Session(Worker& worker, TcpStream stream, beast::flat_buffer buffer,
                           std::string remote_ip, asio::cancellation_signal& cancel) {
  return runSession(worker, std::move(stream), std::move(buffer), std::move(remote_ip), cancel);
}

Task<void> runHttp1Session(Worker& worker, TlsStream stream, beast::flat_buffer buffer,
                           std::string remote_ip, asio::cancellation_signal& cancel) {
  return runSession(worker, std::move(stream), std::move(buffer), std::move(remote_ip), cancel);
}

}  // namespace basalt::server
