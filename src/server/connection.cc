#include "connection.h"

#include "basalt/core/log.h"
#include "basalt/core/metrics.h"
#include "http1_session.h"
#include "http2_session.h"
#include "wire_util.h"

#include <openssl/ssl.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstring>
#include <optional>

namespace basalt::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

constexpr std::size_t kFirstRead = 4096;

// Tracks a connection before its session exists (TLS handshake, sniffing) so shutdown can
// close it.
class PendingConnection final : public TrackedConnection {
 public:
  PendingConnection(Worker& worker, tcp::socket& socket) : worker_(worker), socket_(socket) {
    worker_.add(*this);
  }
  ~PendingConnection() override { worker_.remove(*this); }
  PendingConnection(const PendingConnection&) = delete;
  PendingConnection& operator=(const PendingConnection&) = delete;

  void beginShutdown() override { close(); }  // no request yet: nothing to finish
  void forceClose() override { close(); }
  void onDeadline() override { close(); }

 private:
  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

  Worker& worker_;
  tcp::socket& socket_;
};

struct ConnectionGauge {
  ConnectionGauge() { metrics::connectionOpened(); }
  ~ConnectionGauge() { metrics::connectionClosed(); }
  ConnectionGauge(const ConnectionGauge&) = delete;
  ConnectionGauge& operator=(const ConnectionGauge&) = delete;
};

bool alpnIsH2(const TlsStream& stream) {
  const unsigned char* proto = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(const_cast<TlsStream&>(stream).native_handle(), &proto, &length);
  return length == 2 && std::memcmp(proto, "h2", 2) == 0;
}

}  // namespace

// Separate from serveConnection so that a plain-TCP connection's coroutine frame (GCC keeps
// every local of a coroutine in its frame) does not carry a TLS stream it never uses.
Task<void> serveTlsConnection(Worker& worker, tcp::socket socket, asio::ssl::context& tls_context,
                              std::string remote_ip, asio::cancellation_signal& cancel) {
  const auto header_timeout =
      std::chrono::milliseconds(worker.context().settings->header_timeout_ms);
  beast::flat_buffer buffer;
  TlsStream stream(std::move(socket), tls_context);
  {
    PendingConnection pending(worker, stream.next_layer());
    if (worker.stopping()) co_return;
    pending.setDeadline(header_timeout);
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                 asio::as_tuple(asio::use_awaitable));
    if (hec) {
      log::debug("TLS handshake with {} failed: {}", remote_ip, hec.message());
      co_return;
    }
  }
  if (alpnIsH2(stream)) {
    co_await runHttp2Session(worker, std::move(stream), std::move(buffer), std::move(remote_ip));
    co_return;
  }
  co_await runHttp1Session(worker, std::move(stream), std::move(buffer), std::move(remote_ip),
                           cancel);
}

Task<void> serveConnection(Worker& worker, tcp::socket socket, asio::cancellation_signal& cancel) {
  const ConnectionGauge gauge;
  const config::ServerSettings& settings = *worker.context().settings;
  const auto header_timeout = std::chrono::milliseconds(settings.header_timeout_ms);

  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);  // SSE latency: every write goes out now
  std::string remote_ip;
  if (const tcp::endpoint peer = socket.remote_endpoint(ec); !ec) {
    remote_ip = peer.address().to_string();
  }
  if (asio::ssl::context* tls_context = worker.context().tls) {
    co_await serveTlsConnection(worker, std::move(socket), *tls_context, std::move(remote_ip),
                                cancel);
    co_return;
  }
  beast::flat_buffer buffer;
  bool h2c = false;
  {
    PendingConnection pending(worker, socket);
    pending.setDeadline(header_timeout);
    for (;;) {
      if (worker.stopping()) co_return;
      auto [rec, n] = co_await socket.async_read_some(buffer.prepare(kFirstRead),
                                                      asio::as_tuple(asio::use_awaitable));
      if (rec) co_return;  // closed, reset or silent past the header timeout
      buffer.commit(n);
      const auto data = buffer.cdata();
      const Protocol protocol = sniffProtocol({static_cast<const char*>(data.data()), data.size()});
      if (protocol == Protocol::kUndecided) continue;
      if (protocol == Protocol::kHttp2) {
        h2c = true;  // prior knowledge: the preface stays in `buffer` for nghttp2
      }
      break;
    }
  }
  if (h2c) {
    co_await runHttp2Session(worker, std::move(socket), std::move(buffer), std::move(remote_ip));
    co_return;
  }
  co_await runHttp1Session(worker, std::move(socket), std::move(buffer), std::move(remote_ip),
                           cancel);
}

}  // namespace basalt::server
