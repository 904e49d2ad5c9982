#pragma once
// A scripted upstream HTTP/1.1 server (optionally TLS) on 127.0.0.1:0, running on its own
// thread, for tests of the upstream client and provider adapters. It counts the connections it
// accepts and the ones the client closes, so tests can observe keep-alive reuse and aborts.

#include "basalt/core/exchange.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace basalt::testing {

struct FakeRequest {
  std::string method;
  std::string target;
  Headers headers;  ///< names lower-case
  std::string body;
  int connection = 0;  ///< 1-based index of the accepted connection it arrived on
  const std::string* header(std::string_view lower_name) const;
};

/// What the fake answers. By default a content-length body on a keep-alive connection.
struct FakeReply {
  int status = 200;
  Headers headers;
  std::string body;
  /// When non-empty the body is sent as these pieces instead of `body`, each written (and
  /// flushed) separately: chunked transfer-coding unless `eof_framed`.
  std::vector<std::string> chunks;
  bool eof_framed = false;  ///< no length, no chunking: the body ends when the fake closes
  std::chrono::milliseconds delay_before_head{0};
  std::chrono::milliseconds delay_between_chunks{0};
  bool truncate = false;          ///< chunked: close without the terminating chunk
  bool close_after = false;       ///< close the connection after this reply (while the reply
                                  ///< itself advertises keep-alive, like an idle timeout)
  bool drop = false;              ///< close the connection without answering at all
  bool hold_after_chunks = false; ///< after the chunks, wait (without ending) for the client
                                  ///< to close
};

/// A self-signed certificate for CN=localhost with the given subjectAltName.
struct SelfSignedCert {
  std::string cert_pem;
  std::string key_pem;
};
SelfSignedCert makeSelfSignedCert(const char* subject_alt_name = "IP:127.0.0.1,DNS:localhost");

class FakeUpstream {
 public:
  using Script = std::function<FakeReply(const FakeRequest&)>;

  /// Starts listening at once. `tls` non-null: TLS with that certificate.
  explicit FakeUpstream(Script script, const SelfSignedCert* tls = nullptr);
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  std::uint16_t port() const;
  /// "http://127.0.0.1:PORT" + path (https when TLS).
  std::string url(std::string_view path = "/v1") const;

  int acceptedConnections() const;
  /// Connections on which the fake saw the client close (EOF or reset).
  int clientClosed() const;
  /// Waits (bounded) until clientClosed() >= n.
  bool waitClientClosed(int n, std::chrono::milliseconds timeout) const;
  /// Connections the fake closed itself (close_after, eof_framed, truncate).
  int serverClosed() const;
  bool waitServerClosed(int n, std::chrono::milliseconds timeout) const;
  std::vector<FakeRequest> requests() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace basalt::testing
