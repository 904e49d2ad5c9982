#pragma once
// A deliberately dumb HTTP/1.1 client over a raw loopback socket (optionally TLS through
// OpenSSL directly) so tests control every byte and every timeout.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace basalt::server::testing {

using std::chrono::milliseconds;

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::vector<std::string> chunks;  // chunked bodies, one entry per chunk
};

class TestClient {
 public:
  /// Connects to 127.0.0.1:port; `tls` wraps the socket in a TLS client (no verification,
  /// ALPN "http/1.1").
  explicit TestClient(std::uint16_t port, bool tls = false, const std::string& client_cert = {},
                      const std::string& client_key = {});
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return fd_ >= 0 && (!tls_ || ssl_ != nullptr); }
  std::string alpn() const;  ///< the negotiated ALPN protocol (TLS only)
  bool send(std::string_view data);
  /// Makes a send that cannot progress for `timeout` fail instead of blocking (a server that
  /// stopped reading).
  void setSendTimeout(milliseconds timeout);
  /// Reads until `predicate(received)` or the deadline; false on timeout or EOF before that.
  template <class Predicate>
  bool readUntil(Predicate predicate, milliseconds timeout);
  /// Reads one complete response (content-length, chunked, or until EOF when neither).
  std::optional<Response> readResponse(milliseconds timeout = milliseconds(5000));
  /// True once the server closed the connection (EOF or reset) within the timeout.
  bool waitClosed(milliseconds timeout);
  void close();
  /// TLS: sends close_notify (as a polite client does) and then closes the socket.
  void closeTlsPolitely();

  std::string& received() { return buffer_; }

 private:
  /// Reads what is available into buffer_ waiting at most until `deadline`. 1 data, 0 EOF,
  /// -1 timeout or error.
  int fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool tls_ = false;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
  bool eof_ = false;
};

template <class Predicate>
bool TestClient::readUntil(Predicate predicate, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate(buffer_)) {
    if (fill(deadline) <= 0) return predicate(buffer_);
  }
  return true;
}

/// A raw request with the given method, target, extra header lines and body.
std::string request(std::string_view method, std::string_view target,
                    std::string_view extra_headers = {}, std::string_view body = {});

}  // namespace basalt::server::testing
