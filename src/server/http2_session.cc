#include "http2_session.h"

#include "basalt/core/assert.h"
#include "basalt/core/exchange.h"
#include "basalt/core/log.h"
#include "wire_util.h"

#include <nghttp2/nghttp2.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace basalt::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using std::chrono::milliseconds;

constexpr std::size_t kReadSize = 16 * 1024;
// nghttp2_session_mem_send output is gathered up to this size into one socket (TLS) write.
constexpr std::size_t kWriteBatch = 64 * 1024;
constexpr std::uint32_t kMaxConcurrentStreams = 128;
// Receive windows: large enough that an upload is not throttled to one round trip per 64 KiB,
// small enough that a connection buffers little more than the configured body limit.
constexpr std::int32_t kStreamWindow = 256 * 1024;
constexpr std::int32_t kConnectionWindow = 1024 * 1024;
// write() suspends while this much of a stream's output is still waiting for the peer's
// flow-control window, and resumes once it has drained below kStreamLowWater.
constexpr std::size_t kStreamHighWater = 64 * 1024;
constexpr std::size_t kStreamLowWater = 16 * 1024;
constexpr milliseconds kTlsShutdownTime{500};
// An idle connection past its timeout gets GOAWAY and this long to read it before the close.
constexpr milliseconds kGoawayLinger{1000};
// Request bodies still arriving on one connection are capped at this multiple of
// max_body_bytes: 128 concurrent streams must not each buffer a maximal body.
constexpr std::size_t kConnectionBodyFactor = 4;

// Plain functions: GCC 12 miscompiles braced string-literal initialisers inside coroutines.
Headers jsonHeaders() {
  return Headers{Header{"content-type", "application/json"}};
}
std::string internalErrorBody() {
  return transportErrorBody("Internal server error.", "internal_error", "server_error");
}

bool equalsLower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Headers a handler must not set on an HTTP/2 response: the transport's own (framing, date,
// server, request id) and the connection-specific ones RFC 9113 §8.2.2 forbids.
bool droppedResponseHeader(std::string_view name) {
  static constexpr std::string_view kDropped[] = {
      "content-length", "transfer-encoding", "connection", "date", "server",
      "x-request-id",   "keep-alive",        "upgrade",    "te",   "proxy-connection"};
  for (const std::string_view d : kDropped) {
    if (equalsLower(name, d)) return true;
  }
  return false;
}

bool invalidFieldText(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

nghttp2_nv makeNv(std::string_view name, std::string_view value) {
  // NO_COPY_NAME is not used: nghttp2 lower-cases nothing, but it copies into its own buffers
  // when the HEADERS frame is packed, so the strings only need to live through the submit call.
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

class Http2Session;

// One request/response exchange. Owned by the session's stream map while nghttp2 knows the
// stream, and by its handler coroutine while that runs.
class Http2Stream final : public Responder {
 public:
  Http2Stream(std::shared_ptr<Http2Session> session, std::int32_t id, const Executor& executor)
      : session_(std::move(session)), id_(id), drained_(executor) {}

  Task<bool> send(int status, Headers headers, std::string body) override;
  Task<bool> startStream(int status, Headers headers) override;
  Task<bool> write(std::string_view chunk) override;
  Task<bool> endStream() override;
  bool clientGone() const override { return gone_; }

  enum class Reply : unsigned char { kNone, kSent, kStreaming, kEnded };

  std::shared_ptr<Http2Session> session_;  // reset when the connection is over
  std::int32_t id_;
  HttpRequest request_;
  std::string authority_;
  std::size_t header_bytes_ = 0;
  bool headers_too_large_ = false;
  bool request_done_ = false;  // END_STREAM received
  bool body_counted_ = false;  // no longer in the connection's receiving_bytes_
  bool rejected_ = false;      // answered by the transport (413, 431)
  bool handler_running_ = false;
  bool response_done_ = false;  // END_STREAM sent
  bool gone_ = false;           // reset, closed early or connection lost
  bool head_only_ = false;
  bool no_body_ = false;  // HEAD or a status without a body: writes are dropped
  Reply reply_ = Reply::kNone;

  // Response body bytes not yet taken by nghttp2 (the data provider reads from out_pos_).
  std::string out_;
  std::size_t out_pos_ = 0;
  bool eof_ = false;       // nothing follows out_
  bool deferred_ = false;  // the data provider returned NGHTTP2_ERR_DEFERRED
  bool waiting_ = false;   // write() waits on drained_
  asio::steady_timer drained_;
  asio::cancellation_signal cancel_;  // bound to the handler coroutine

  std::size_t pending() const { return out_.size() - out_pos_; }
  void wakeDrainWaiter() {
    if (waiting_) {
      waiting_ = false;
      drained_.cancel();
    }
  }
  void markGone() {
    if (gone_) return;
    gone_ = true;
    wakeDrainWaiter();
    if (handler_running_) cancel_.emit(asio::cancellation_type::terminal);
  }
};

// The nghttp2 side of a connection: callbacks, streams, the write loop's wake-ups. The I/O is
// behind two virtual coroutines so that one copy of this logic serves TCP and TLS.
class Http2Session : public TrackedConnection, public std::enable_shared_from_this<Http2Session> {
 public:
  Http2Session(Worker& worker, beast::flat_buffer buffer, std::string remote_ip, bool secure)
      : worker_(worker),
        settings_(*worker.context().settings),
        handler_(*worker.context().handler),
        in_(std::move(buffer)),
        remote_ip_(std::move(remote_ip)),
        secure_(secure) {
    worker_.add(*this);
  }
  ~Http2Session() override {
    if (ng_ != nullptr) nghttp2_session_del(ng_);
    worker_.remove(*this);
  }
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  Task<void> run();

  // TrackedConnection
  void beginShutdown() override {
    if (stopping_ || ng_ == nullptr) return;
    stopping_ = true;
    // Streams the client already opened are served; nghttp2 refuses newer ones and stops
    // wanting to read once the last active stream is closed.
    nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    kick();
  }
  void forceClose() override {
    forced_ = true;
    markDead();
    closeSocket();
  }
  void onDeadline() override {
    if (!idle_goaway_ && !stopping_ && ng_ != nullptr && streams_.empty() && !writing_) {
      // Idle past the timeout: say so (GOAWAY, so the client retries elsewhere instead of
      // seeing a reset), then close when it is flushed or after kGoawayLinger.
      idle_goaway_ = true;
      nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng_),
                            NGHTTP2_NO_ERROR, nullptr, 0);
      setDeadline(kGoawayLinger);
      kick();
      return;
    }
    closeSocket();
  }

  // Called by Http2Stream.
  bool submitResponse(Http2Stream& s, int status, const Headers& headers, bool with_body,
                      const std::size_t* content_length);
  void resume(Http2Stream& s);
  void abortStream(Http2Stream& s) {
    if (dead_ || s.response_done_ || s.gone_) return;
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id_, NGHTTP2_INTERNAL_ERROR);
    s.gone_ = true;
    kick();
  }
  bool dead() const { return dead_; }
  int idleTimeoutMs() const { return settings_.idle_timeout_ms; }

 protected:
  virtual Task<std::pair<error_code, std::size_t>> readSome(asio::mutable_buffer b) = 0;
  virtual Task<error_code> writeAll(asio::const_buffer b) = 0;
  virtual Task<void> politeShutdown() = 0;
  virtual asio::ip::tcp::socket& lowest() = 0;
  virtual Executor executor() = 0;

  void closeSocket() {
    error_code ec;
    lowest().close(ec);
  }

 private:
  bool init();
  Task<void> writerLoop(std::shared_ptr<Http2Session> self);
  Task<void> runHandler(std::shared_ptr<Http2Stream> s);
  Task<void> waitRun();
  void wakeRun() {
    if (run_waiting_) {
      run_waiting_ = false;
      run_wake_->cancel();
    }
  }
  void kick() {
    if (writer_waiting_) {
      writer_waiting_ = false;
      write_wake_->cancel();
    }
  }
  void markDead();
  void refreshDeadline();
  Http2Stream* streamOf(std::int32_t id) {
    return static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(ng_, id));
  }
  void headersDone(Http2Stream& s);
  // The body leaves the connection's count of unfinished uploads (and, rejected, memory).
  void countBodyDone(Http2Stream& s) {
    if (s.body_counted_) return;
    s.body_counted_ = true;
    receiving_bytes_ -= std::min(receiving_bytes_, s.request_.body.size());
  }
  void dropBody(Http2Stream& s) {
    countBodyDone(s);
    std::string().swap(s.request_.body);
  }
  void requestDone(Http2Stream& s);
  void reject(Http2Stream& s, int status, std::string_view code, std::string message);

  // nghttp2 callbacks (user_data is the session)
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                      std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                      std::uint8_t flags, void* user);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onDataChunk(nghttp2_session*, std::uint8_t flags, std::int32_t stream_id,
                         const std::uint8_t* data, std::size_t len, void* user);
  static int onFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onStreamClose(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                           void* user);
  static ssize_t readData(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf,
                          std::size_t length, std::uint32_t* data_flags,
                          nghttp2_data_source* source, void* user);

  Worker& worker_;
  const config::ServerSettings& settings_;
  Handler& handler_;
  beast::flat_buffer in_;
  std::string remote_ip_;
  bool secure_;
  nghttp2_session* ng_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<Http2Stream>> streams_;
  std::string out_;                      // the connection's one write buffer
  std::vector<nghttp2_nv> nv_;           // response header scratch, reused
  std::vector<std::string> nv_storage_;  // lower-cased names and numbers behind nv_
  std::optional<asio::steady_timer> write_wake_;
  std::optional<asio::steady_timer> run_wake_;
  std::size_t running_handlers_ = 0;
  bool writer_waiting_ = false;
  bool run_waiting_ = false;
  bool writing_ = false;
  bool reading_done_ = false;
  bool writer_done_ = false;
  bool dead_ = false;
  bool stopping_ = false;
  bool forced_ = false;
  bool first_read_ = true;
  bool idle_goaway_ = false;
  std::size_t receiving_bytes_ = 0;  // bodies of streams whose request has not ended
};

bool Http2Session::init() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, &onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &onDataChunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &onFrameSend);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &onStreamClose);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cb);
    return false;
  }
  // Header blocks beyond the limit are answered 431 by us; nghttp2's own HPACK limits stay.
  nghttp2_option_set_max_send_header_block_length(opt, 64 * 1024);
  const int rv = nghttp2_session_server_new2(&ng_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) {
    ng_ = nullptr;
    return false;
  }
  const nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(std::min<std::size_t>(settings_.max_header_bytes, UINT32_MAX))},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  if (nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, entries, std::size(entries)) != 0) {
    return false;
  }
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  return true;
}

Task<void> Http2Session::run() {
  const auto self = shared_from_this();
  const Executor ex = executor();
  write_wake_.emplace(ex);
  run_wake_.emplace(ex);
  if (!init()) {
    log::error("HTTP/2 session setup failed for {}", remote_ip_);
    co_return;
  }
  asio::co_spawn(ex, writerLoop(self), asio::detached);
  if (worker_.stopping()) beginShutdown();  // arrived as the server began stopping

  // The reader: everything the client sends goes through nghttp2_session_mem_recv, whose
  // callbacks create streams and start handlers; the writer loop sends what results.
  while (!dead_) {
    if (in_.size() == 0) {
      refreshDeadline();
      auto [ec, n] = co_await readSome(in_.prepare(kReadSize));
      if (ec) {
        // EOF, reset, deadline or the writer ending the session. Unfinished streams are lost.
        if (!writer_done_) markDead();
        break;
      }
      first_read_ = false;
      in_.commit(n);
    }
    const auto data = in_.cdata();
    const ssize_t rv =
        nghttp2_session_mem_recv(ng_, static_cast<const std::uint8_t*>(data.data()), data.size());
    in_.consume(in_.size());
    if (rv < 0) {
      log::debug("HTTP/2 connection from {}: {}", remote_ip_,
                 nghttp2_strerror(static_cast<int>(rv)));
      // RFC 9113 §5.4.1: a connection error ends with GOAWAY; the writer flushes it.
      nghttp2_session_terminate_session(
          ng_, rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
      kick();
      break;
    }
    kick();
    if (nghttp2_session_want_read(ng_) == 0) break;  // GOAWAY and no active stream left
  }
  reading_done_ = true;
  kick();
  while (!writer_done_) co_await waitRun();

  if (!dead_ && !forced_) co_await politeShutdown();
  clearDeadline();
  {
    error_code ec;
    lowest().shutdown(asio::socket_base::shutdown_both, ec);
  }
  closeSocket();
  markDead();
  // Handlers whose response is complete may still be doing their own bookkeeping; cancelled
  // ones are finishing. The worker's hard stop bounds handlers that ignore cancellation.
  while (running_handlers_ > 0) co_await waitRun();
  for (auto& [id, s] : streams_) s->session_.reset();
  streams_.clear();
}

Task<void> Http2Session::waitRun() {
  run_waiting_ = true;
  run_wake_->expires_at(asio::steady_timer::time_point::max());
  co_await run_wake_->async_wait(asio::as_tuple(asio::use_awaitable));
  run_waiting_ = false;
}

Task<void> Http2Session::writerLoop(std::shared_ptr<Http2Session> self) {
  for (;;) {
    if (dead_) break;
    // Gather what nghttp2 has queued (frames, DATA within the flow-control windows).
    bool failed = false;
    while (out_.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(ng_, &data);
      if (n < 0) {
        log::debug("HTTP/2 send to {} failed: {}", remote_ip_,
                   nghttp2_strerror(static_cast<int>(n)));
        failed = true;
        break;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (failed) {
      markDead();
      break;
    }
    if (!out_.empty()) {
      // A client that reads nothing for an idle period is treated as gone.
      setDeadline(milliseconds(settings_.idle_timeout_ms));
      writing_ = true;
      const error_code ec = co_await writeAll(asio::buffer(out_));
      writing_ = false;
      out_.clear();
      if (out_.capacity() > 4 * kWriteBatch) out_.shrink_to_fit();
      if (ec) {
        markDead();
        break;
      }
      refreshDeadline();
      continue;
    }
    if (reading_done_) break;
    if (nghttp2_session_want_read(ng_) == 0 && nghttp2_session_want_write(ng_) == 0) break;
    writer_waiting_ = true;
    write_wake_->expires_at(asio::steady_timer::time_point::max());
    co_await write_wake_->async_wait(asio::as_tuple(asio::use_awaitable));
    writer_waiting_ = false;
  }
  writer_done_ = true;
  if (!reading_done_) {
    // The session is over (GOAWAY exchanged, or a write failed): end the pending read.
    error_code ec;
    lowest().cancel(ec);
  }
  wakeRun();
}

void Http2Session::markDead() {
  if (dead_) return;
  dead_ = true;
  // Snapshot: a cancellation handler may run code that touches the map.
  std::vector<std::shared_ptr<Http2Stream>> streams;
  streams.reserve(streams_.size());
  for (auto& [id, s] : streams_) streams.push_back(s);
  for (auto& s : streams) {
    if (!s->response_done_) s->markGone();
  }
  kick();
}

void Http2Session::refreshDeadline() {
  if (writing_) return;  // the write's own deadline stands
  if (running_handlers_ > 0) {
    clearDeadline();  // a handler may legitimately think for a long time
  } else if (!streams_.empty()) {
    setDeadline(milliseconds(settings_.body_timeout_ms));  // a request still arriving
  } else {
    setDeadline(
        milliseconds(first_read_ ? settings_.header_timeout_ms : settings_.idle_timeout_ms));
  }
}

int Http2Session::onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Http2Session*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto s = std::make_shared<Http2Stream>(self->shared_from_this(), frame->hd.stream_id,
                                         self->executor());
  s->request_.remote_ip = self->remote_ip_;
  s->request_.secure = self->secure_;
  s->request_.http_version = 20;
  nghttp2_session_set_stream_user_data(self->ng_, frame->hd.stream_id, s.get());
  self->streams_.emplace(frame->hd.stream_id, std::move(s));
  return 0;
}

int Http2Session::onHeader(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                           std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                           std::uint8_t, void* user) {
  auto* self = static_cast<Http2Session*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // trailers are not part of the exchange
  }
  Http2Stream* s = self->streamOf(frame->hd.stream_id);
  if (s == nullptr) return 0;
  // RFC 9113 §6.5.2 header list size: name + value + 32 per field.
  s->header_bytes_ += namelen + valuelen + 32;
  if (s->header_bytes_ > self->settings_.max_header_bytes) {
    s->headers_too_large_ = true;  // keep decoding (HPACK state), answer 431 at the end
    return 0;
  }
  // nghttp2's HTTP messaging checks have already rejected upper-case and malformed names.
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (!n.empty() && n.front() == ':') {
    if (n == ":method") {
      s->request_.method.assign(v);
    } else if (n == ":path") {
      s->request_.target.assign(v);
    } else if (n == ":authority") {
      s->authority_.assign(v);
    }
    return 0;  // :scheme, :protocol
  }
  s->request_.headers.push_back(Header{std::string(n), std::string(v)});
  return 0;
}

void Http2Session::headersDone(Http2Stream& s) {
  if (s.headers_too_large_) {
    reject(s, 431, "request_header_fields_too_large",
           "Request header block exceeds the limit of " +
               std::to_string(settings_.max_header_bytes) + " bytes.");
    return;
  }
  // Handlers (and SigV4, which maps host <-> :authority) look for a host header.
  if (!s.authority_.empty() && s.request_.header("host") == nullptr) {
    s.request_.headers.push_back(Header{"host", s.authority_});
  }
  if (const std::string* cl = s.request_.header("content-length")) {
    std::size_t length = 0;
    const auto r = std::from_chars(cl->data(), cl->data() + cl->size(), length);
    if (r.ec == std::errc::result_out_of_range ||
        (r.ec == std::errc() && length > settings_.max_body_bytes)) {
      reject(s, 413, "request_too_large",
             "Request body exceeds the limit of " + std::to_string(settings_.max_body_bytes) +
                 " bytes.");
    }
  }
}

int Http2Session::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Http2Session*>(user);
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      Http2Stream* s = self->streamOf(frame->hd.stream_id);
      if (s == nullptr) break;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) self->headersDone(*s);
      if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) self->requestDone(*s);
      break;
    }
    case NGHTTP2_DATA: {
      if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) break;
      if (Http2Stream* s = self->streamOf(frame->hd.stream_id)) self->requestDone(*s);
      break;
    }
    default:
      break;
  }
  return 0;
}

int Http2Session::onDataChunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id,
                              const std::uint8_t* data, std::size_t len, void* user) {
  auto* self = static_cast<Http2Session*>(user);
  Http2Stream* s = self->streamOf(stream_id);
  if (s == nullptr || s->rejected_) return 0;  // discarded; nghttp2 still replenishes windows
  if (self->receiving_bytes_ + len >
      kConnectionBodyFactor * std::max<std::size_t>(self->settings_.max_body_bytes, 1U << 20U)) {
    // Too much unfinished upload on one connection: refuse this stream, keep the others.
    log::debug("HTTP/2 connection from {}: refusing stream {} (buffered uploads too large)",
               self->remote_ip_, stream_id);
    nghttp2_submit_rst_stream(self->ng_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_REFUSED_STREAM);
    self->dropBody(*s);
    s->rejected_ = true;
    return 0;
  }
  if (s->request_.body.size() + len > self->settings_.max_body_bytes) {
    self->reject(*s, 413, "request_too_large",
                 "Request body exceeds the limit of " +
                     std::to_string(self->settings_.max_body_bytes) + " bytes.");
    self->dropBody(*s);
    return 0;
  }
  s->request_.body.append(reinterpret_cast<const char*>(data), len);
  self->receiving_bytes_ += len;
  return 0;
}

int Http2Session::onFrameSend(nghttp2_session* ng, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Http2Session*>(user);
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
    return 0;
  }
  Http2Stream* s = self->streamOf(frame->hd.stream_id);
  if (s == nullptr) return 0;
  s->response_done_ = true;
  if (!s->request_done_) {
    // Answered before the request ended (413, or a handler not reading the body): RFC 9113
    // §8.1 asks for RST_STREAM(NO_ERROR) so the client stops sending.
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, s->id_, NGHTTP2_NO_ERROR);
  }
  return 0;
}

int Http2Session::onStreamClose(nghttp2_session*, std::int32_t stream_id, std::uint32_t,
                                void* user) {
  auto* self = static_cast<Http2Session*>(user);
  const auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  const std::shared_ptr<Http2Stream> s = std::move(it->second);
  self->streams_.erase(it);
  self->countBodyDone(*s);
  // Closed before the whole response went out: RST_STREAM from the client (or a stream error)
  // — the handler's work is wasted, cancel it like an HTTP/1.1 disconnect.
  if (!s->response_done_) s->markGone();
  if (!s->handler_running_) s->session_.reset();
  return 0;
}

void Http2Session::reject(Http2Stream& s, int status, std::string_view code, std::string message) {
  if (s.rejected_ || s.reply_ != Http2Stream::Reply::kNone) return;
  s.rejected_ = true;
  s.reply_ = Http2Stream::Reply::kSent;
  s.request_.request_id = chooseRequestId(s.request_.header("x-request-id"));
  s.out_ = transportErrorBody(message, code);
  s.out_pos_ = 0;
  s.eof_ = true;
  const std::size_t length = s.out_.size();
  submitResponse(s, status, jsonHeaders(), true, &length);
}

void Http2Session::requestDone(Http2Stream& s) {
  s.request_done_ = true;
  countBodyDone(s);
  if (s.rejected_ || s.handler_running_ || dead_) return;
  s.request_.request_id = chooseRequestId(s.request_.header("x-request-id"));
  s.head_only_ = s.request_.method == "HEAD";
  s.handler_running_ = true;
  ++running_handlers_;
  refreshDeadline();
  const auto it = streams_.find(s.id_);
  BASALT_CHECK(it != streams_.end());
  // Its own coroutine (streams are concurrent) on this connection's executor, i.e. the
  // worker thread; co_spawn posts the start, so nghttp2 is never re-entered from here.
  // The completion handler owns the stream so that its signal outlives the coroutine.
  asio::co_spawn(executor(), runHandler(it->second),
                 asio::bind_cancellation_slot(s.cancel_.slot(),
                                              [keep = it->second](const std::exception_ptr&) {}));
}

Task<void> Http2Session::runHandler(std::shared_ptr<Http2Stream> s) {
  const std::shared_ptr<Http2Session> keep = s->session_;
  std::exception_ptr ep;
  try {
    co_await handler_.handle(s->request_, *s);
  } catch (...) {
    ep = std::current_exception();
  }
  if (ep) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    if (!s->gone_) {
      // A cancelled handler throwing operation_aborted is expected; anything else is a bug.
      log::error("handler threw on {} {} (request {}): {}", s->request_.method, s->request_.path(),
                 s->request_.request_id, what);
      BASALT_BUG("handler threw an exception");
    }
  }
  if (s->reply_ == Http2Stream::Reply::kNone && !s->gone_ && !dead_) {
    if (!ep) BASALT_BUG("handler returned without answering");
    std::string body = internalErrorBody();
    s->reply_ = Http2Stream::Reply::kSent;
    s->out_ = std::move(body);
    s->eof_ = true;
    const std::size_t length = s->out_.size();
    submitResponse(*s, 500, jsonHeaders(), !s->head_only_, &length);
  } else if (s->reply_ == Http2Stream::Reply::kStreaming) {
    // Returning mid-stream without endStream() is an abort: the client must not take the
    // truncated body for a complete one.
    abortStream(*s);
  }
  s->handler_running_ = false;
  --running_handlers_;
  if (!streams_.contains(s->id_)) s->session_.reset();  // closed already: break the cycle
  refreshDeadline();
  wakeRun();
}

bool Http2Session::submitResponse(Http2Stream& s, int status, const Headers& headers,
                                  bool with_body, const std::size_t* content_length) {
  if (dead_ || s.gone_) return false;
  if (status < 200 || status > 999) status = 500;  // no interim responses through this API
  nv_.clear();
  // Every string nv_ points into must stay put while nv_ is built: size the storage first.
  nv_storage_.resize(headers.size() + 3);
  std::size_t used = 0;
  auto store = [&](std::string_view text) -> std::string_view {
    std::string& slot = nv_storage_[used++];
    slot.assign(text);
    return slot;
  };
  char status_text[4];
  std::to_chars(status_text, status_text + 3, status);
  nv_.push_back(makeNv(":status", std::string_view(status_text, 3)));
  for (const Header& h : headers) {
    if (h.name.empty() || droppedResponseHeader(h.name) || invalidFieldText(h.name) ||
        invalidFieldText(h.value)) {
      continue;
    }
    std::string& name = nv_storage_[used++];
    name.assign(h.name);
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');  // RFC 9113 §8.2.1
    }
    nv_.push_back(makeNv(name, h.value));
  }
  if (content_length != nullptr) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, *content_length);
    nv_.push_back(makeNv("content-length", store(std::string_view(digits, r.ptr))));
  }
  nv_.push_back(makeNv("date", store(httpDate())));
  nv_.push_back(makeNv("server", "basalt"));
  nv_.push_back(makeNv("x-request-id", s.request_.request_id));

  const bool body = with_body && !s.no_body_ && !s.head_only_ && !(status == 204 || status == 304);
  nghttp2_data_provider provider{};
  provider.source.ptr = &s;
  provider.read_callback = &readData;
  if (!body) {
    s.no_body_ = true;
    s.out_.clear();
    s.out_pos_ = 0;
  }
  const int rv =
      nghttp2_submit_response(ng_, s.id_, nv_.data(), nv_.size(), body ? &provider : nullptr);
  if (rv != 0) {
    log::debug("HTTP/2 response on stream {} not submitted: {}", s.id_, nghttp2_strerror(rv));
    s.markGone();
    return false;
  }
  kick();
  return true;
}

void Http2Session::resume(Http2Stream& s) {
  if (dead_ || s.gone_ || !s.deferred_) {
    kick();
    return;
  }
  s.deferred_ = false;
  nghttp2_session_resume_data(ng_, s.id_);
  kick();
}

ssize_t Http2Session::readData(nghttp2_session*, std::int32_t, std::uint8_t* buf,
                               std::size_t length, std::uint32_t* data_flags,
                               nghttp2_data_source* source, void*) {
  auto* s = static_cast<Http2Stream*>(source->ptr);
  const std::size_t n = std::min(length, s->pending());
  if (n > 0) std::memcpy(buf, s->out_.data() + s->out_pos_, n);
  s->out_pos_ += n;
  if (s->out_pos_ == s->out_.size()) {
    s->out_.clear();
    s->out_pos_ = 0;
  }
  if (s->pending() == 0 && s->eof_) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  } else if (n == 0) {
    s->deferred_ = true;  // write() or endStream() resumes it
    return NGHTTP2_ERR_DEFERRED;
  }
  if (s->pending() < kStreamLowWater) s->wakeDrainWaiter();
  return static_cast<ssize_t>(n);
}

// --- Responder -------------------------------------------------------------------------

Task<bool> Http2Stream::send(int status, Headers headers, std::string body) {
  if (reply_ != Reply::kNone) {
    BASALT_BUG("Responder::send after the response was started");
    co_return false;
  }
  reply_ = Reply::kSent;
  if (gone_ || !session_) co_return false;
  const std::size_t length = body.size();
  out_ = std::move(body);
  out_pos_ = 0;
  eof_ = true;
  const bool ok = session_->submitResponse(*this, status, headers, length > 0, &length);
  co_return ok;
}

Task<bool> Http2Stream::startStream(int status, Headers headers) {
  if (reply_ != Reply::kNone) {
    BASALT_BUG("Responder::startStream after the response was started");
    co_return false;
  }
  reply_ = Reply::kStreaming;
  if (gone_ || !session_) co_return false;
  const bool ok = session_->submitResponse(*this, status, headers, true, nullptr);
  co_return ok;
}

Task<bool> Http2Stream::write(std::string_view chunk) {
  if (reply_ != Reply::kStreaming) {
    BASALT_BUG("Responder::write outside a stream");
    co_return false;
  }
  if (gone_ || !session_) co_return false;
  if (chunk.empty() || no_body_) co_return true;
  if (out_pos_ > 0 && out_pos_ >= out_.size() / 2) {
    out_.erase(0, out_pos_);
    out_pos_ = 0;
  }
  out_.append(chunk);
  session_->resume(*this);
  // Flow control: the peer's window is exhausted and output piles up — wait for it to drain
  // (the data provider wakes us) instead of buffering without bound.
  // A peer that keeps the window shut for a whole idle timeout is treated as gone (window
  // abuse would otherwise pin the handler and its buffers forever).
  const auto give_up = std::chrono::steady_clock::now() + milliseconds(session_->idleTimeoutMs());
  while (!gone_ && pending() >= kStreamHighWater) {
    if (std::chrono::steady_clock::now() >= give_up) {
      session_->abortStream(*this);
      markGone();
      break;
    }
    waiting_ = true;
    drained_.expires_at(give_up);
    co_await drained_.async_wait(asio::as_tuple(asio::use_awaitable));
    waiting_ = false;
  }
  co_return !gone_;
}

Task<bool> Http2Stream::endStream() {
  if (reply_ != Reply::kStreaming) {
    BASALT_BUG("Responder::endStream outside a stream");
    co_return false;
  }
  reply_ = Reply::kEnded;
  if (gone_ || !session_) co_return false;
  if (no_body_) co_return true;  // HEADERS already carried END_STREAM
  eof_ = true;
  session_->resume(*this);
  co_return true;
}

// --- transports ----------------------------------------------------------------------------

template <class Stream>
class Http2SessionOn final : public Http2Session {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, TcpStream>;

  Http2SessionOn(Worker& worker, Stream stream, beast::flat_buffer buffer, std::string remote_ip)
      : Http2Session(worker, std::move(buffer), std::move(remote_ip), kTls),
        stream_(std::move(stream)) {}

 protected:
  Task<std::pair<error_code, std::size_t>> readSome(asio::mutable_buffer b) override {
    auto [ec, n] = co_await stream_.async_read_some(b, asio::as_tuple(asio::use_awaitable));
    co_return std::pair(ec, n);
  }
  Task<error_code> writeAll(asio::const_buffer b) override {
    auto [ec, n] = co_await asio::async_write(stream_, b, asio::as_tuple(asio::use_awaitable));
    co_return ec;
  }
  Task<void> politeShutdown() override {
    if constexpr (kTls) {
      // close_notify; bounded because a client may never answer it.
      setDeadline(kTlsShutdownTime);
      co_await stream_.async_shutdown(asio::as_tuple(asio::use_awaitable));
    }
    co_return;
  }
  asio::ip::tcp::socket& lowest() override {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }
  Executor executor() override { return stream_.get_executor(); }

 private:
  Stream stream_;
};

template <class Stream>
Task<void> runSession(Worker& worker, Stream stream, beast::flat_buffer buffer,
                      std::string remote_ip) {
  const auto session = std::make_shared<Http2SessionOn<Stream>>(
      worker, std::move(stream), std::move(buffer), std::move(remote_ip));
  co_await session->run();
}

}  // namespace

Task<void> runHttp2Session(Worker& worker, TcpStream stream, beast::flat_buffer buffer,
                           std::string remote_ip) {
  return runSession(worker, std::move(stream), std::move(buffer), std::move(remote_ip));
}

Task<void> runHttp2Session(Worker& worker, TlsStream stream, beast::flat_buffer buffer,
                           std::string remote_ip) {
  return runSession(worker, std::move(stream), std::move(buffer), std::move(remote_ip));
}

}  // namespace basalt::server
