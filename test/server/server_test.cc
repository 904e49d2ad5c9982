#include "basalt/server/server.h"

#include "basalt/core/metrics.h"
#include "test_client.h"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

namespace basalt::server {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::request;
using testing::Response;
using testing::TestClient;

// Echo / stream / slow / throwing routes, with flags the tests synchronise on.
class FakeHandler final : public Handler {
 public:
  std::atomic<bool> gate{false};
  std::atomic<bool> slow_started{false};
  std::atomic<bool> slow_cancelled{false};
  std::atomic<bool> stream_finished{false};

  Task<void> handle(HttpRequest& req, Responder& res) override {
    const std::string_view path = req.path();
    if (path == "/echo") {
      Headers headers{{"content-type", "text/plain"},
                      {"x-method", req.method},
                      {"x-secure", req.secure ? "true" : "false"},
                      {"x-version", std::to_string(req.http_version)},
                      {"x-remote", req.remote_ip},
                      {"x-seen-id", req.request_id},
                      {"content-length", "999"},          // the transport owns framing: ignored
                      {"x-evil", "a\r\nset-cookie: b"}};  // response splitting: dropped
      co_await res.send(200, std::move(headers), std::move(req.body));
    } else if (path == "/stream") {
      Headers sse{{"content-type", "text/event-stream"}};  // GCC 12: no braced lists in co_await
      co_await res.startStream(200, std::move(sse));
      co_await res.write("data: one\n\n");
      asio::steady_timer timer(co_await asio::this_coro::executor);
      for (int i = 0; i < 1000 && !gate.load(); ++i) {
        timer.expires_after(5ms);
        co_await timer.async_wait(asio::use_awaitable);
      }
      co_await res.write("data: two\n\n");
      co_await res.endStream();
      stream_finished = true;
    } else if (path == "/slow") {
      slow_started = true;
      asio::steady_timer timer(co_await asio::this_coro::executor, 30s);
      try {
        co_await timer.async_wait(asio::use_awaitable);
      } catch (const boost::system::system_error&) {
        slow_cancelled = true;
        throw;
      }
      co_await res.send(200, Headers(), "late");
    } else if (path == "/throw") {
      throw std::runtime_error("handler failure");
    } else {
      Headers json{{"content-type", "application/json"}};
      co_await res.send(404, std::move(json), R"({"error":"nope"})");
    }
  }
};

config::ServerSettings testSettings() {
  config::ServerSettings s;
  s.listen = "127.0.0.1:0";
  s.threads = 2;
  s.max_body_bytes = 4096;
  s.max_header_bytes = 2048;
  s.header_timeout_ms = 2000;
  s.body_timeout_ms = 2000;
  s.idle_timeout_ms = 5000;
  s.shutdown_grace_ms = 5000;
  return s;
}

std::uint16_t portOf(const Server& server) {
  const std::string address = server.boundAddress();
  return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

class ServerTest : public ::testing::Test {
 protected:
  void startServer(config::ServerSettings settings = testSettings()) {
    server_ = std::make_unique<Server>(std::move(settings), handler_);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
    port_ = portOf(*server_);
  }
  void TearDown() override {
    if (server_) {
      handler_.gate = true;
      server_->stop();
      server_->wait();
    }
  }

  FakeHandler handler_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(ServerTest, BoundAddressResolvesPortZero) {
  startServer();
  EXPECT_NE(port_, 0);
  EXPECT_EQ(server_->boundAddress().rfind("127.0.0.1:", 0), 0U);
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.connected());
  for (const std::string body : {"first", "second", "third"}) {
    ASSERT_TRUE(client.send(request("POST", "/echo", {}, body)));
    auto response = client.readResponse();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, body);
    EXPECT_EQ(response->headers["content-length"], std::to_string(body.size()));
    EXPECT_EQ(response->headers["server"], "basalt");
    EXPECT_FALSE(response->headers["date"].empty());
    EXPECT_EQ(response->headers["x-request-id"].size(), 32U);
    EXPECT_EQ(response->headers["x-request-id"], response->headers["x-seen-id"]);
    EXPECT_EQ(response->headers["x-method"], "POST");
    EXPECT_EQ(response->headers["x-secure"], "false");
    EXPECT_EQ(response->headers["x-remote"], "127.0.0.1");
    EXPECT_EQ(response->headers.count("x-evil"), 0U);
    EXPECT_EQ(response->headers.count("set-cookie"), 0U);
    EXPECT_EQ(response->headers.count("connection"), 0U);
  }
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("POST", "/echo", {}, "one") +
                          request("POST", "/echo", {}, "two") + request("GET", "/missing")));
  auto first = client.readResponse();
  auto second = client.readResponse();
  auto third = client.readResponse();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->body, "one");
  EXPECT_EQ(second->body, "two");
  EXPECT_EQ(third->status, 404);
  EXPECT_NE(first->headers["x-request-id"], second->headers["x-request-id"]);
}

TEST_F(ServerTest, ClientRequestIdIsKeptWhenSaneAndReplacedOtherwise) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("GET", "/echo", "x-request-id: abc-DEF_1.2\r\n")));
  auto kept = client.readResponse();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->headers["x-request-id"], "abc-DEF_1.2");
  ASSERT_TRUE(client.send(request("GET", "/echo", "x-request-id: bad id!\r\n")));
  auto replaced = client.readResponse();
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->headers["x-request-id"].size(), 32U);
  ASSERT_TRUE(
      client.send(request("GET", "/echo", "x-request-id: " + std::string(129, 'a') + "\r\n")));
  auto too_long = client.readResponse();
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->headers["x-request-id"].size(), 32U);
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("GET", "/echo", "connection: close\r\n")));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_TRUE(client.waitClosed(2s));
}

TEST_F(ServerTest, Http10WorksAndClosesByDefault) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send("GET /echo HTTP/1.0\r\n\r\n"));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers["x-version"], "10");
  EXPECT_TRUE(client.waitClosed(2s));
}

TEST_F(ServerTest, Http10KeepAliveAndStreamUntilClose) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send("GET /echo HTTP/1.0\r\nconnection: keep-alive\r\n\r\n"));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->headers["connection"], "keep-alive");
  handler_.gate = true;
  ASSERT_TRUE(client.send("GET /stream HTTP/1.0\r\nconnection: keep-alive\r\n\r\n"));
  auto stream = client.readResponse();  // no chunking in 1.0: the body runs until EOF
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->headers.count("transfer-encoding"), 0U);
  EXPECT_EQ(stream->body, "data: one\n\ndata: two\n\n");
}

TEST_F(ServerTest, HeadRequestGetsHeadersWithoutBody) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("HEAD", "/echo") + request("POST", "/echo", {}, "after")));
  ASSERT_TRUE(client.readUntil(
      [](const std::string& r) { return r.find("\r\n\r\n") != std::string::npos; }, 2s));
  const std::string head = client.received().substr(0, client.received().find("\r\n\r\n") + 4);
  client.received().erase(0, head.size());
  EXPECT_NE(head.find("content-length: 0"), std::string::npos);
  auto next = client.readResponse();  // proves no body bytes were sent for HEAD
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "after");
}

TEST_F(ServerTest, ChunkedRequestBodyIsAccepted) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(
      client.send("POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "hello world");
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponse) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(
      "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 4\r\nexpect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(client.readUntil(
      [](const std::string& r) { return r.find("100 Continue\r\n\r\n") != std::string::npos; },
      2s));
  ASSERT_TRUE(client.send("body"));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "body");
}

TEST_F(ServerTest, OversizedContentLengthBodyGets413) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("POST", "/echo", {}, std::string(10000, 'x'))));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_NE(response->body.find(R"("code":"request_too_large")"), std::string::npos);
  EXPECT_NE(response->body.find(R"("type":"invalid_request_error")"), std::string::npos);
  EXPECT_NE(response->body.find(R"("param":null)"), std::string::npos);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_EQ(response->headers["x-request-id"].size(), 32U);
  EXPECT_TRUE(client.waitClosed(3s));
}

TEST_F(ServerTest, OversizedExpectContinueGets413BeforeTheBody) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(
      client.send("POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 100000\r\n"
                  "expect: 100-continue\r\n\r\n"));
  auto response = client.readResponse();  // no body was sent: the answer cannot wait for it
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
}

TEST_F(ServerTest, OversizedChunkedBodyGets413) {
  startServer();
  TestClient client(port_);
  std::string message = "POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) message += "400\r\n" + std::string(1024, 'y') + "\r\n";
  message += "0\r\n\r\n";
  ASSERT_TRUE(client.send(message));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(client.waitClosed(3s));
}

TEST_F(ServerTest, HugeHeaderBlockGets431) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("GET", "/echo", "x-big: " + std::string(4000, 'h') + "\r\n")));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 431);
  EXPECT_TRUE(client.waitClosed(3s));
}

TEST_F(ServerTest, MalformedRequestGets400AndClose) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send("GET /echo HTTP/1.1\r\nbroken header line\r\n\r\n"));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_TRUE(client.waitClosed(3s));

  TestClient garbage(port_);
  ASSERT_TRUE(garbage.send("\x16\x03\x01 not http at all\r\n\r\n"));
  auto garbage_response = garbage.readResponse();
  ASSERT_TRUE(garbage_response);
  EXPECT_EQ(garbage_response->status, 400);
}

// Request smuggling defences: ambiguous framing is refused, not guessed.
TEST_F(ServerTest, AmbiguousFramingGets400) {
  startServer();
  for (const char* message :
       {"POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\n"
        "transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n"
        "hello!",
        "POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: -5\r\n\r\nhello"}) {
    TestClient client(port_);
    ASSERT_TRUE(client.send(message));
    auto response = client.readResponse();
    ASSERT_TRUE(response) << message;
    EXPECT_EQ(response->status, 400) << message;
    EXPECT_TRUE(client.waitClosed(3s));
  }
}

TEST_F(ServerTest, HeadersReachTheHandlerLowerCased) {
  startServer();
  TestClient client(port_);
  // Two requests on one connection: the second must not see the first one's headers.
  ASSERT_TRUE(client.send(request("GET", "/echo", "X-Request-ID: first-id\r\nX-Extra: 1\r\n")));
  auto first = client.readResponse();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->headers["x-request-id"], "first-id");
  ASSERT_TRUE(client.send(request("GET", "/echo")));
  auto second = client.readResponse();
  ASSERT_TRUE(second);
  EXPECT_NE(second->headers["x-request-id"], "first-id");
}

TEST_F(ServerTest, SlowlorisHeadersAreCutOffAtTheHeaderTimeout) {
  auto settings = testSettings();
  settings.header_timeout_ms = 300;
  startServer(settings);
  TestClient client(port_);
  const std::string message = request("GET", "/echo", "x-a: 1\r\nx-b: 2\r\nx-c: 3\r\n");
  const auto started = std::chrono::steady_clock::now();
  bool closed = false;
  for (std::size_t i = 0; i < message.size() - 2 && !closed; ++i) {
    if (!client.send(message.substr(i, 1))) break;
    closed = client.waitClosed(100ms);
  }
  if (!closed) closed = client.waitClosed(1s);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  auto settings = testSettings();
  settings.idle_timeout_ms = 200;
  startServer(settings);
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("GET", "/echo")));
  ASSERT_TRUE(client.readResponse());
  EXPECT_TRUE(client.waitClosed(2s));
}

TEST_F(ServerTest, StreamArrivesChunkByChunk) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("GET", "/stream")));
  // The first event must arrive while the handler is still holding the second one back.
  ASSERT_TRUE(client.readUntil(
      [](const std::string& r) { return r.find("data: one\n\n\r\n") != std::string::npos; }, 2s));
  EXPECT_EQ(client.received().find("data: two"), std::string::npos);
  EXPECT_NE(client.received().find("transfer-encoding: chunked"), std::string::npos);
  EXPECT_NE(client.received().find("content-type: text/event-stream"), std::string::npos);
  handler_.gate = true;
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  ASSERT_EQ(response->chunks.size(), 2U);
  EXPECT_EQ(response->chunks[0], "data: one\n\n");
  EXPECT_EQ(response->chunks[1], "data: two\n\n");
  // The connection stays usable after the stream.
  ASSERT_TRUE(client.send(request("POST", "/echo", {}, "again")));
  auto again = client.readResponse();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "again");
}

TEST_F(ServerTest, ClientDisconnectCancelsTheHandler) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("GET", "/slow")));
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!handler_.slow_started && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(handler_.slow_started);
  client.close();
  const auto cancel_deadline = std::chrono::steady_clock::now() + 1500ms;
  while (!handler_.slow_cancelled && std::chrono::steady_clock::now() < cancel_deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(handler_.slow_cancelled);
}

TEST_F(ServerTest, HandlerExceptionIsAnswered500) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("GET", "/throw")));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_NE(response->body.find("internal_error"), std::string::npos);
}

TEST_F(ServerTest, GracefulStopLetsAStreamFinishAndClosesIdleConnections) {
  startServer();
  TestClient idle(port_);
  ASSERT_TRUE(idle.send(request("GET", "/echo")));
  ASSERT_TRUE(idle.readResponse());

  TestClient streaming(port_);
  ASSERT_TRUE(streaming.send(request("GET", "/stream")));
  ASSERT_TRUE(streaming.readUntil(
      [](const std::string& r) { return r.find("data: one") != std::string::npos; }, 2s));

  server_->stop();
  EXPECT_TRUE(idle.waitClosed(1s));  // idle keep-alive connections go at once
  // Every thread closes its listener soon (stop() only posts the request to each thread).
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    refused = !TestClient(port_).connected();
    if (!refused) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(refused);
  EXPECT_FALSE(handler_.stream_finished);

  auto waited = std::async(std::launch::async, [this] { server_->wait(); });
  EXPECT_EQ(waited.wait_for(100ms), std::future_status::timeout);  // the stream holds it
  handler_.gate = true;
  auto response = streaming.readResponse();
  ASSERT_TRUE(response);
  ASSERT_EQ(response->chunks.size(), 2U);
  EXPECT_EQ(response->chunks[1], "data: two\n\n");
  EXPECT_EQ(waited.wait_for(3s), std::future_status::ready);
  EXPECT_TRUE(handler_.stream_finished);
}

TEST_F(ServerTest, StopAfterGraceCancelsStuckHandlers) {
  auto settings = testSettings();
  settings.shutdown_grace_ms = 200;
  startServer(settings);
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("GET", "/slow")));
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!handler_.slow_started && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(handler_.slow_started);
  const auto started = std::chrono::steady_clock::now();
  server_->stop();
  server_->wait();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_TRUE(handler_.slow_cancelled);
  EXPECT_TRUE(client.waitClosed(1s));
}

TEST_F(ServerTest, InvalidListenAddressFailsClearly) {
  auto settings = testSettings();
  settings.listen = "256.0.0.1:80";
  Server bad(settings, handler_);
  auto started = bad.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("256.0.0.1"), std::string::npos);

  settings.listen = "127.0.0.1:notaport";
  Server worse(settings, handler_);
  ASSERT_FALSE(worse.start());
}

TEST_F(ServerTest, MetricsCountOpenConnections) {
  startServer();
  TestClient client(port_);
  ASSERT_TRUE(client.send(request("GET", "/echo")));
  ASSERT_TRUE(client.readResponse());
  EXPECT_NE(metrics::renderPrometheus().find("basalt_open_connections "), std::string::npos);
  // The gauge is at least 1 while our connection is open.
  const std::string text = metrics::renderPrometheus();
  const auto pos = text.find("\nbasalt_open_connections ");
  ASSERT_NE(pos, std::string::npos);
  EXPECT_GE(std::stoi(text.substr(pos + 25)), 1);
}

// ---- TLS ----

struct TlsFiles {
  std::filesystem::path dir;
  std::string cert;
  std::string key;
};

TlsFiles makeSelfSignedCert() {
  TlsFiles files;
  files.dir =
      std::filesystem::temp_directory_path() / ("basalt-server-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(files.dir);
  files.cert = (files.dir / "cert.pem").string();
  files.key = (files.dir / "key.pem").string();
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=localhost -keyout '" +
      files.key + "' -out '" + files.cert + "' >/dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0);
  return files;
}

TEST_F(ServerTest, TlsRoundTrip) {
  const TlsFiles files = makeSelfSignedCert();
  auto settings = testSettings();
  settings.tls_cert = files.cert;
  settings.tls_key = files.key;
  startServer(settings);
  TestClient client(port_, /*tls=*/true);
  ASSERT_TRUE(client.connected());
  EXPECT_EQ(client.alpn(), "http/1.1");
  ASSERT_TRUE(client.send(request("POST", "/echo", {}, "over tls")));
  auto response = client.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "over tls");
  EXPECT_EQ(response->headers["x-secure"], "true");

  handler_.gate = true;
  ASSERT_TRUE(client.send(request("GET", "/stream")));
  auto stream = client.readResponse();
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->chunks.size(), 2U);

  TestClient plain(port_);  // plain HTTP on a TLS port does not get through
  ASSERT_TRUE(plain.send(request("GET", "/echo")));
  EXPECT_FALSE(plain.readResponse(1s));
  std::filesystem::remove_all(files.dir);
}

bool run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

void waitFor(const std::atomic<bool>& flag, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!flag && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
}

TEST_F(ServerTest, TlsClientDisconnectCancelsTheHandler) {
  const TlsFiles files = makeSelfSignedCert();
  auto settings = testSettings();
  settings.tls_cert = files.cert;
  settings.tls_key = files.key;
  startServer(settings);
  for (const bool polite : {false, true}) {
    handler_.slow_started = false;
    handler_.slow_cancelled = false;
    TestClient client(port_, /*tls=*/true);
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send(request("GET", "/slow")));
    waitFor(handler_.slow_started, 2s);
    ASSERT_TRUE(handler_.slow_started);
    if (polite) {
      client.closeTlsPolitely();  // close_notify, then FIN
    } else {
      client.close();
    }
    waitFor(handler_.slow_cancelled, 1500ms);
    EXPECT_TRUE(handler_.slow_cancelled) << (polite ? "after close_notify" : "after FIN");
  }
  std::filesystem::remove_all(files.dir);
}

// A request pipelined while the handler runs is read by the disconnect watcher (TLS: decrypted
// into the session buffer) and must be served next, intact and in order.
TEST_F(ServerTest, RequestPipelinedDuringAHandlerIsServedNext) {
  const TlsFiles files = makeSelfSignedCert();
  for (const bool tls : {false, true}) {
    auto settings = testSettings();
    if (tls) {
      settings.tls_cert = files.cert;
      settings.tls_key = files.key;
    }
    handler_.gate = false;
    startServer(settings);
    TestClient client(port_, tls);
    ASSERT_TRUE(client.send(request("GET", "/stream")));
    ASSERT_TRUE(client.readUntil(
        [](const std::string& r) { return r.find("data: one") != std::string::npos; }, 2s));
    ASSERT_TRUE(client.send(request("POST", "/echo", {}, "pipelined")));
    // Let the disconnect watcher (started after Worker::kWatchDelay) see it first.
    std::this_thread::sleep_for(300ms);
    handler_.gate = true;
    auto stream = client.readResponse();
    ASSERT_TRUE(stream);
    EXPECT_EQ(stream->chunks.size(), 2U);
    auto echo = client.readResponse();
    ASSERT_TRUE(echo) << (tls ? "tls" : "tcp");
    EXPECT_EQ(echo->body, "pipelined");
    server_->stop();
    server_->wait();
    server_.reset();
  }
  std::filesystem::remove_all(files.dir);
}

TEST_F(ServerTest, MutualTlsRequiresAClientCertificateFromTheCa) {
  const TlsFiles files = makeSelfSignedCert();
  const std::string d = files.dir.string() + "/";
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  ASSERT_TRUE(run("openssl req -x509" + ec + " -days 1 -subj /CN=test-ca -keyout " + d +
                  "ca.key -out " + d + "ca.pem"));
  ASSERT_TRUE(run("openssl req" + ec + " -subj /CN=client -keyout " + d + "client.key -out " + d +
                  "client.csr"));
  ASSERT_TRUE(run("openssl x509 -req -days 1 -in " + d + "client.csr -CA " + d + "ca.pem -CAkey " +
                  d + "ca.key -CAcreateserial -out " + d + "client.pem"));
  auto settings = testSettings();
  settings.tls_cert = files.cert;
  settings.tls_key = files.key;
  settings.client_ca = d + "ca.pem";
  startServer(settings);

  TestClient with_cert(port_, true, d + "client.pem", d + "client.key");
  ASSERT_TRUE(with_cert.connected());
  ASSERT_TRUE(with_cert.send(request("GET", "/echo")));
  auto response = with_cert.readResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);

  // TLS 1.3 clients finish the handshake before the server rejects them: either step fails.
  TestClient without_cert(port_, true);
  const bool served = without_cert.connected() && without_cert.send(request("GET", "/echo")) &&
                      without_cert.readResponse(2s).has_value();
  EXPECT_FALSE(served);

  // A certificate from another CA (the server's own self-signed one) is refused as well.
  TestClient wrong_ca(port_, true, files.cert, files.key);
  const bool wrong_served = wrong_ca.connected() && wrong_ca.send(request("GET", "/echo")) &&
                            wrong_ca.readResponse(2s).has_value();
  EXPECT_FALSE(wrong_served);
  std::filesystem::remove_all(files.dir);
}

TEST_F(ServerTest, BadTlsFilesFailStart) {
  auto settings = testSettings();
  settings.tls_cert = "/nonexistent/cert.pem";
  settings.tls_key = "/nonexistent/key.pem";
  Server server(settings, handler_);
  auto started = server.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("tls_cert"), std::string::npos);
  EXPECT_NE(started.error().message.find("/nonexistent/cert.pem"), std::string::npos);

  settings.tls_key.clear();
  Server half(settings, handler_);
  auto half_started = half.start();
  ASSERT_FALSE(half_started);
  EXPECT_NE(half_started.error().message.find("together"), std::string::npos);
}

}  // namespace
}  // namespace basalt::server
