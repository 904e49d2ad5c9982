#include "basalt/providers/http/http_client.h"

#include "fakes/fake_upstream.h"
#include "providers/run_task.h"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace basalt::providers::http {
namespace {

namespace asio = boost::asio;
using basalt::testing::FakeReply;
using basalt::testing::FakeRequest;
using basalt::testing::FakeUpstream;
using basalt::testing::runTask;
using namespace std::chrono_literals;

std::unique_ptr<HttpClient> clientFor(const std::string& url, ClientOptions options = {}) {
  Result<BaseUrl> base = parseBaseUrl(url);
  EXPECT_TRUE(base) << url;
  Result<std::unique_ptr<HttpClient>> client = HttpClient::create(*base, std::move(options));
  EXPECT_TRUE(client);
  return std::move(*client);
}

Request post(std::string target, std::string body = "{}") {
  Request r;
  r.target = std::move(target);
  r.headers.push_back({"content-type", "application/json"});
  r.body = std::move(body);
  return r;
}

Deadline in(std::chrono::milliseconds d) { return Clock::now() + d; }

/// Reads a whole stream piece by piece, recording the pieces.
Task<Result<std::vector<std::string>>> readPieces(ResponseStream& stream) {
  std::vector<std::string> pieces;
  while (true) {
    Result<std::string_view> piece = co_await stream.read();
    if (!piece) co_return piece.error();
    if (piece->empty()) co_return pieces;
    pieces.emplace_back(*piece);
  }
}

FakeReply ok(std::string body) {
  FakeReply r;
  r.headers.push_back({"content-type", "application/json"});
  r.body = std::move(body);
  return r;
}

TEST(HttpClient, BufferedCallReturnsStatusHeadersAndBody) {
  FakeUpstream fake([](const FakeRequest& req) {
    FakeReply r = ok("echo:" + req.body);
    r.status = 201;
    r.headers.push_back({"X-Custom", "yes"});
    return r;
  });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  Result<Response> res = runTask(ioc, client->send(post("/v1/things", "hello"), in(5s)));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, "echo:hello");
  ASSERT_NE(res->header("x-custom"), nullptr);
  EXPECT_EQ(*res->header("x-custom"), "yes");

  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/things");
  ASSERT_NE(requests[0].header("host"), nullptr);
  EXPECT_EQ(*requests[0].header("host"), "127.0.0.1:" + std::to_string(fake.port()));
  ASSERT_NE(requests[0].header("content-length"), nullptr);
  EXPECT_EQ(*requests[0].header("content-length"), "5");
}

TEST(HttpClient, HeaderThatCouldSplitTheRequestIsRefused) {
  FakeUpstream fake([](const FakeRequest&) { return ok("{}"); });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  Request req = post("/v1/x");
  req.headers.push_back({"authorization", "Bearer sk-x\r\nx-evil: 1"});
  Result<Response> res = runTask(ioc, client->send(std::move(req), in(5s)));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message.find("sk-x"), std::string::npos);
  EXPECT_TRUE(fake.requests().empty());
}

TEST(HttpClient, KeepAliveReusesOneConnection) {
  FakeUpstream fake([](const FakeRequest&) { return ok("{}"); });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  for (int i = 0; i < 3; ++i) {
    Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
    ASSERT_TRUE(res) << res.error().message;
  }
  EXPECT_EQ(fake.acceptedConnections(), 1);
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 3U);
  EXPECT_EQ(requests[2].connection, 1);
}

TEST(HttpClient, ZeroIdleConnectionsDisablesReuse) {
  FakeUpstream fake([](const FakeRequest&) { return ok("{}"); });
  ClientOptions options;
  options.max_idle_connections = 0;
  auto client = clientFor(fake.url(), options);
  asio::io_context ioc;
  ASSERT_TRUE(runTask(ioc, client->send(post("/v1/x"), in(5s))));
  ASSERT_TRUE(runTask(ioc, client->send(post("/v1/x"), in(5s))));
  EXPECT_EQ(fake.acceptedConnections(), 2);
}

TEST(HttpClient, IdleConnectionsExpire) {
  FakeUpstream fake([](const FakeRequest&) { return ok("{}"); });
  ClientOptions options;
  options.idle_timeout = 50ms;
  auto client = clientFor(fake.url(), options);
  asio::io_context ioc;
  ASSERT_TRUE(runTask(ioc, client->send(post("/v1/x"), in(5s))));
  std::this_thread::sleep_for(120ms);  // the behaviour under test is the passing of time
  ASSERT_TRUE(runTask(ioc, client->send(post("/v1/x"), in(5s))));
  EXPECT_EQ(fake.acceptedConnections(), 2);
  EXPECT_TRUE(fake.waitClientClosed(1, 5s));  // the expired one was closed, not leaked
}

TEST(HttpClient, PoolKeepsAtMostMaxIdleConnections) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r = ok("{}");
    r.delay_before_head = 50ms;  // keeps the two calls in flight together
    return r;
  });
  ClientOptions options;
  options.max_idle_connections = 1;
  auto client = clientFor(fake.url(), options);
  asio::io_context ioc;
  auto a = asio::co_spawn(ioc, client->send(post("/v1/a"), in(5s)), asio::use_future);
  auto b = asio::co_spawn(ioc, client->send(post("/v1/b"), in(5s)), asio::use_future);
  ioc.run_for(10s);
  ASSERT_TRUE(a.get());
  ASSERT_TRUE(b.get());
  EXPECT_EQ(fake.acceptedConnections(), 2);
  EXPECT_TRUE(fake.waitClientClosed(1, 5s));  // the second one did not fit in the pool
  ASSERT_TRUE(runTask(ioc, client->send(post("/v1/c"), in(5s))));
  EXPECT_EQ(fake.acceptedConnections(), 2);  // the pooled one was reused
}

TEST(HttpClient, PoolIsPerIoContext) {
  FakeUpstream fake([](const FakeRequest&) { return ok("{}"); });
  auto client = clientFor(fake.url());
  {
    asio::io_context first;
    ASSERT_TRUE(runTask(first, client->send(post("/v1/x"), in(5s))));
  }  // its pooled connection dies with it
  asio::io_context second;
  ASSERT_TRUE(runTask(second, client->send(post("/v1/x"), in(5s))));
  EXPECT_EQ(fake.acceptedConnections(), 2);
  EXPECT_TRUE(fake.waitClientClosed(1, 5s));
}

TEST(HttpClient, StalePooledConnectionIsReplacedTransparently) {
  int calls = 0;
  FakeUpstream fake([&calls](const FakeRequest&) {
    FakeReply r = ok("{}");
    r.close_after = ++calls == 1;  // advertises keep-alive, then closes anyway
    return r;
  });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  ASSERT_TRUE(runTask(ioc, client->send(post("/v1/x"), in(5s))));
  ASSERT_TRUE(fake.waitServerClosed(1, 5s));
  Result<Response> second = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(fake.acceptedConnections(), 2);
}

TEST(HttpClient, ReusedConnectionClosedBeforeAnsweringIsRetriedOnce) {
  int calls = 0;
  FakeUpstream fake([&calls](const FakeRequest&) {
    FakeReply r = ok("{}");
    r.drop = ++calls == 2;  // the second request hits a connection the server is closing
    return r;
  });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  ASSERT_TRUE(runTask(ioc, client->send(post("/v1/x"), in(5s))));
  Result<Response> second = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_TRUE(second) << second.error().message;
  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 3U);
  EXPECT_EQ(requests[1].connection, 1);
  EXPECT_EQ(requests[2].connection, 2);
}

TEST(HttpClient, FreshConnectionClosedBeforeAnsweringIsNotRetried) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r;
    r.drop = true;
    return r;
  });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(fake.requests().size(), 1U);
}

TEST(HttpClient, ConnectionRefusedIsUpstreamErrorNamingHostPort) {
  std::uint16_t port = 0;
  {
    asio::io_context tmp;
    asio::ip::tcp::acceptor a(tmp, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  auto client = clientFor("http://127.0.0.1:" + std::to_string(port) + "/v1");
  asio::io_context ioc;
  Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_NE(res.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << res.error().message;
}

TEST(HttpClient, UnresolvableHostIsUpstreamError) {
  auto client = clientFor("http://basalt-test.invalid/v1");
  asio::io_context ioc;
  Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_FALSE(res);
  EXPECT_TRUE(res.error().kind == ErrorKind::kUpstreamError ||
              res.error().kind == ErrorKind::kUpstreamTimeout);
  EXPECT_NE(res.error().message.find("basalt-test.invalid"), std::string::npos);
}

TEST(HttpClient, SlowUpstreamHitsTheDeadline) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r = ok("{}");
    r.delay_before_head = 3s;
    return r;
  });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  const auto started = Clock::now();
  Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(200ms)));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamTimeout);
  EXPECT_LT(Clock::now() - started, 2s);
}

TEST(HttpClient, StreamDeliversChunksAsTheyArriveThenReusesTheConnection) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r;
    r.headers.push_back({"content-type", "text/event-stream"});
    r.chunks = {"one ", "two ", "three"};
    r.delay_between_chunks = 20ms;
    return r;
  });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  auto run = [&]() -> Task<Result<std::vector<std::string>>> {
    Result<ResponseStream> stream = co_await client->open(post("/v1/s"), in(5s));
    if (!stream) co_return stream.error();
    EXPECT_EQ(stream->status(), 200);
    EXPECT_NE(stream->header("content-type"), nullptr);
    co_return co_await readPieces(*stream);
  };
  Result<std::vector<std::string>> pieces = runTask(ioc, run());
  ASSERT_TRUE(pieces) << pieces.error().message;
  ASSERT_EQ(pieces->size(), 3U);  // the delays keep the chunks apart
  EXPECT_EQ((*pieces)[0], "one ");
  EXPECT_EQ((*pieces)[2], "three");
  ASSERT_TRUE(runTask(ioc, run()));
  EXPECT_EQ(fake.acceptedConnections(), 1);
}

TEST(HttpClient, EofFramedBodyEndsWhenTheUpstreamCloses) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r;
    r.chunks = {"abc", "def"};
    r.eof_framed = true;
    return r;
  });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->body, "abcdef");
}

TEST(HttpClient, TruncatedChunkedBodyIsUpstreamError) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r;
    r.chunks = {"abc"};
    r.truncate = true;
    return r;
  });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
}

TEST(HttpClient, BodyOverTheCapFails) {
  FakeUpstream fake([](const FakeRequest&) { return ok(std::string(1000, 'x')); });
  ClientOptions options;
  options.max_response_body = 100;
  auto client = clientFor(fake.url(), options);
  asio::io_context ioc;
  Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_NE(res.error().message.find("larger than 100"), std::string::npos);
}

TEST(HttpClient, AbandonedStreamClosesTheConnection) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r;
    r.chunks = {"first"};
    r.hold_after_chunks = true;
    return r;
  });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  auto run = [&]() -> Task<Result<std::string>> {
    Result<ResponseStream> stream = co_await client->open(post("/v1/s"), in(5s));
    if (!stream) co_return stream.error();
    Result<std::string_view> piece = co_await stream->read();
    if (!piece) co_return piece.error();
    co_return std::string(*piece);
  };  // the stream is destroyed mid-body
  Result<std::string> first = runTask(ioc, run());
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, "first");
  EXPECT_TRUE(fake.waitClientClosed(1, 5s));
  // Not pooled: the next call needs a new connection.
  ASSERT_TRUE(runTask(ioc, run()));
  EXPECT_EQ(fake.acceptedConnections(), 2);
}

TEST(HttpClient, TerminalCancellationClosesTheUpstreamConnection) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r;
    r.chunks = {"first"};
    r.hold_after_chunks = true;
    return r;
  });
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  asio::cancellation_signal signal;
  auto run = [&]() -> Task<Result<std::string_view>> {
    Result<ResponseStream> stream = co_await client->open(post("/v1/s"), in(5s));
    if (!stream) co_return stream.error();
    Result<std::string_view> piece = co_await stream->read();
    if (!piece) co_return piece.error();
    // The "client disconnects" while we wait for the next piece.
    asio::post(ioc, [&] { signal.emit(asio::cancellation_type::terminal); });
    co_return co_await stream->read();
  };
  std::future<Result<std::string_view>> done = asio::co_spawn(
      ioc, run(), asio::bind_cancellation_slot(signal.slot(), asio::use_future));
  ioc.run_for(10s);
  ASSERT_EQ(done.wait_for(0s), std::future_status::ready);
  Result<std::string_view> res = done.get();
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kCancelled);
  EXPECT_TRUE(fake.waitClientClosed(1, 5s));
}

TEST(HttpClientTls, SelfSignedUpstreamFailsVerificationByDefault) {
  const auto cert = basalt::testing::makeSelfSignedCert();
  FakeUpstream fake([](const FakeRequest&) { return ok("{}"); }, &cert);
  auto client = clientFor(fake.url());
  asio::io_context ioc;
  Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_NE(res.error().message.find("TLS handshake"), std::string::npos) << res.error().message;
  EXPECT_TRUE(fake.requests().empty());
}

TEST(HttpClientTls, TrustedCaSucceedsAndReusesTheConnection) {
  const auto cert = basalt::testing::makeSelfSignedCert();
  FakeUpstream fake([](const FakeRequest&) { return ok("secure"); }, &cert);
  ClientOptions options;
  options.extra_ca_pem = cert.cert_pem;
  auto client = clientFor(fake.url(), options);
  asio::io_context ioc;
  for (int i = 0; i < 2; ++i) {
    Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->body, "secure");
  }
  EXPECT_EQ(fake.acceptedConnections(), 1);
}

TEST(HttpClientTls, HostNameMustMatchTheCertificate) {
  // Trusted, but issued for another name than the one we connect to (127.0.0.1).
  const auto cert = basalt::testing::makeSelfSignedCert("DNS:upstream.example");
  FakeUpstream fake([](const FakeRequest&) { return ok("{}"); }, &cert);
  ClientOptions options;
  options.extra_ca_pem = cert.cert_pem;
  auto client = clientFor(fake.url(), options);
  asio::io_context ioc;
  Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
}

TEST(HttpClientTls, HostNameWithSniAndDnsSan) {
  const auto cert = basalt::testing::makeSelfSignedCert("DNS:localhost");
  FakeUpstream fake([](const FakeRequest&) { return ok("by name"); }, &cert);
  ClientOptions options;
  options.extra_ca_pem = cert.cert_pem;
  // Goes through the resolver ("localhost" may give ::1 first: the fake only listens on
  // 127.0.0.1, so connecting must try every address).
  auto client = clientFor("https://localhost:" + std::to_string(fake.port()) + "/v1", options);
  asio::io_context ioc;
  Result<Response> res = runTask(ioc, client->send(post("/v1/x"), in(5s)));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->body, "by name");
  ASSERT_EQ(fake.requests().size(), 1U);
  EXPECT_EQ(*fake.requests()[0].header("host"), "localhost:" + std::to_string(fake.port()));
}

TEST(HttpClientTls, InvalidExtraCaPemIsRejectedAtCreation) {
  ClientOptions options;
  options.extra_ca_pem = "not pem";
  Result<std::unique_ptr<HttpClient>> client =
      HttpClient::create(*parseBaseUrl("https://127.0.0.1:1/v1"), options);
  EXPECT_FALSE(client);
}

}  // namespace
}  // namespace basalt::providers::http
