// The egress proxy on real sockets: CONNECT and absolute-form forwarding, allowed and refused,
// and its limits.
#include "basalt/egress/egress_proxy.h"

#include "test_servers.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

namespace basalt::egress {
namespace {

using namespace std::chrono_literals;
using testing::Origin;
using testing::recvUntil;
using testing::sendAll;
using testing::UnixClient;

class EgressProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "basalt-egress-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    socket_ = (dir_ / "egress.sock").string();
  }
  void TearDown() override {
    listener_.reset();
    proxy_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void start(std::vector<std::string> hosts, ProxyLimits limits = {},
             std::function<void(const Decision&, std::function<void(bool)>)> record = {}) {
    proxy_ = EgressProxy::create(limits);
    auto allow = AllowList::parse(hosts);
    ASSERT_TRUE(allow.has_value());
    ListenOptions o;
    o.socket_path = socket_;
    o.session_id = "sesn_test";
    o.allow = *allow;
    o.observer = [this](const Decision& d) {
      std::lock_guard lock(mu_);
      decisions_.push_back(d);
    };
    o.record = std::move(record);
    auto l = proxy_->listen(std::move(o));
    ASSERT_TRUE(l.has_value()) << (l ? "" : l.error().message);
    listener_ = std::move(*l);
  }

  std::vector<Decision> decisions() {
    std::lock_guard lock(mu_);
    return decisions_;
  }

  std::filesystem::path dir_;
  std::string socket_;
  std::shared_ptr<EgressProxy> proxy_;
  std::unique_ptr<Listener> listener_;
  std::mutex mu_;
  std::vector<Decision> decisions_;
};

TEST_F(EgressProxyTest, ConnectToAnAllowedHostOpensATunnel) {
  Origin origin;
  start({"localhost"});
  UnixClient c(socket_);
  ASSERT_GE(c.fd, 0);
  const std::string target = "localhost:" + std::to_string(origin.port());
  ASSERT_TRUE(sendAll(c.fd, "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n"));
  std::string reply = recvUntil(c.fd, "\r\n\r\n");
  EXPECT_EQ(reply, "HTTP/1.1 200 Connection Established\r\n\r\n");
  // Whatever goes through the tunnel reaches the origin unchanged.
  ASSERT_TRUE(sendAll(c.fd, "GET /inside HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string response = recvUntil(c.fd);
  EXPECT_NE(response.find("hello from origin"), std::string::npos) << response;
  ASSERT_EQ(origin.heads().size(), 1u);
  EXPECT_TRUE(origin.heads()[0].starts_with("GET /inside HTTP/1.1\r\n"));
  auto d = decisions();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].allowed);
  EXPECT_EQ(d[0].method, "CONNECT");
  EXPECT_EQ(d[0].host, "localhost");
  EXPECT_EQ(d[0].port, origin.port());
  EXPECT_EQ(d[0].session_id, "sesn_test");
}

TEST_F(EgressProxyTest, ConnectToAnotherHostIsRefusedWith403) {
  Origin origin;
  start({"localhost", "*.example.com"});
  for (std::string target : std::vector<std::string>{
           "127.0.0.1:" + std::to_string(origin.port()), "example.com:443",
           "127.1:" + std::to_string(origin.port()), "[::1]:" + std::to_string(origin.port())}) {
    UnixClient c(socket_);
    ASSERT_GE(c.fd, 0);
    ASSERT_TRUE(sendAll(c.fd, "CONNECT " + target + " HTTP/1.1\r\n\r\n"));
    std::string reply = recvUntil(c.fd);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 403 Forbidden\r\n")) << target << ": " << reply;
    EXPECT_NE(reply.find("is not in this environment's allowed_hosts"), std::string::npos) << reply;
  }
  EXPECT_EQ(origin.accepted(), 0);
  auto d = decisions();
  ASSERT_EQ(d.size(), 4u);
  for (const auto& x : d) {
    EXPECT_FALSE(x.allowed);
    EXPECT_EQ(x.status, 403);
  }
}

TEST_F(EgressProxyTest, AbsoluteFormGetIsForwardedInOriginForm) {
  Origin origin;
  start({"localhost"});
  UnixClient c(socket_);
  ASSERT_GE(c.fd, 0);
  const std::string authority = "LocalHost:" + std::to_string(origin.port());
  ASSERT_TRUE(sendAll(c.fd, "GET http://" + authority +
                                "/path/x?q=1 HTTP/1.1\r\nHost: " + authority +
                                "\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic "
                                "c2VjcmV0\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n"));
  std::string response = recvUntil(c.fd);
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK\r\n")) << response;
  EXPECT_NE(response.find("hello from origin"), std::string::npos) << response;
  ASSERT_EQ(origin.heads().size(), 1u);
  const std::string head = origin.heads()[0];
  EXPECT_TRUE(head.starts_with("GET /path/x?q=1 HTTP/1.1\r\n")) << head;
  EXPECT_NE(head.find("Host: " + authority + "\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Accept: */*\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("Proxy-"), std::string::npos) << head;
  EXPECT_EQ(head.find("keep-alive"), std::string::npos) << head;
  auto d = decisions();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].allowed);
  EXPECT_EQ(d[0].method, "GET");
  EXPECT_EQ(d[0].host, "localhost");
}

TEST_F(EgressProxyTest, AbsoluteFormToAnotherHostIsRefused) {
  Origin origin;
  start({"localhost"});
  UnixClient c(socket_);
  ASSERT_GE(c.fd, 0);
  ASSERT_TRUE(sendAll(c.fd, "GET http://127.0.0.1:" + std::to_string(origin.port()) +
                                "/ HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::string reply = recvUntil(c.fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 403 Forbidden\r\n")) << reply;
  EXPECT_NE(reply.find("host '127.0.0.1' is not in this environment's allowed_hosts"),
            std::string::npos)
      << reply;
  EXPECT_EQ(origin.accepted(), 0);  // the Host header does not matter: the URL's host does
}

TEST_F(EgressProxyTest, MalformedAndNonProxyRequestsAre400) {
  start({"localhost"});
  for (std::string req : {std::string("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                          std::string("GET https://localhost/ HTTP/1.1\r\n\r\n"),
                          std::string("CONNECT localhost HTTP/1.1\r\n\r\n"),
                          std::string("CONNECT user@localhost:443 HTTP/1.1\r\n\r\n"),
                          std::string("GET http://localhost/ HTTP/1.1\r\nBad\x01Header: x\r\n\r\n"),
                          std::string("GET http://localhost/ HTTP/1.1\r\nX: a\r\n folded\r\n\r\n"),
                          std::string("garbage\r\n\r\n")}) {
    UnixClient c(socket_);
    ASSERT_GE(c.fd, 0);
    ASSERT_TRUE(sendAll(c.fd, req));
    std::string reply = recvUntil(c.fd);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 Bad Request\r\n")) << req << " -> " << reply;
  }
}

TEST_F(EgressProxyTest, OversizedHeadIs431) {
  ProxyLimits limits;
  limits.max_header_bytes = 1024;
  start({"localhost"}, limits);
  UnixClient c(socket_);
  ASSERT_GE(c.fd, 0);
  sendAll(c.fd, "GET http://localhost/ HTTP/1.1\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  std::string reply = recvUntil(c.fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 431 ")) << reply;
}

TEST_F(EgressProxyTest, ConcurrentConnectionsPerSessionAreCapped) {
  Origin origin;
  ProxyLimits limits;
  limits.max_connections = 2;
  start({"localhost"}, limits);
  const std::string connect =
      "CONNECT localhost:" + std::to_string(origin.port()) + " HTTP/1.1\r\n\r\n";
  UnixClient a(socket_);
  UnixClient b(socket_);
  ASSERT_TRUE(sendAll(a.fd, connect));
  ASSERT_TRUE(sendAll(b.fd, connect));
  EXPECT_TRUE(recvUntil(a.fd, "\r\n\r\n").starts_with("HTTP/1.1 200"));
  EXPECT_TRUE(recvUntil(b.fd, "\r\n\r\n").starts_with("HTTP/1.1 200"));
  {
    UnixClient c(socket_);
    std::string reply = recvUntil(c.fd);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 429 ")) << reply;
    EXPECT_NE(reply.find("limit 2"), std::string::npos) << reply;
  }
  // Closing one tunnel frees its slot.
  ::shutdown(a.fd, SHUT_RDWR);
  sendAll(b.fd, "GET / HTTP/1.1\r\n\r\n");  // the origin answers and closes b's tunnel too
  recvUntil(b.fd);
  bool admitted = false;
  for (int i = 0; i < 200 && !admitted; ++i) {  // the proxy notices the close asynchronously
    UnixClient d(socket_);
    sendAll(d.fd, connect);
    admitted = recvUntil(d.fd, "\r\n\r\n").starts_with("HTTP/1.1 200");
    if (!admitted) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(admitted);
}

TEST_F(EgressProxyTest, SilentClientsAndIdleTunnelsAreClosed) {
  Origin origin;
  ProxyLimits limits;
  limits.header_timeout = 200ms;
  limits.idle_timeout = 300ms;
  start({"localhost"}, limits);
  auto t0 = std::chrono::steady_clock::now();
  {
    UnixClient silent(socket_);
    EXPECT_EQ(recvUntil(silent.fd), "");  // EOF from the proxy, well before the 10 s bound
  }
  UnixClient tunnel(socket_);
  sendAll(tunnel.fd, "CONNECT localhost:" + std::to_string(origin.port()) + " HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(recvUntil(tunnel.fd, "\r\n\r\n").starts_with("HTTP/1.1 200"));
  EXPECT_EQ(recvUntil(tunnel.fd), "");  // idle: closed by the proxy
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST_F(EgressProxyTest, UnreachableAllowedHostIs502) {
  start({"127.0.0.1"});
  int port = 0;
  {
    Origin gone;  // a port that was just free and is closed again
    port = gone.port();
  }
  UnixClient c(socket_);
  sendAll(c.fd, "CONNECT 127.0.0.1:" + std::to_string(port) + " HTTP/1.1\r\n\r\n");
  std::string reply = recvUntil(c.fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 502 ")) << reply;
  EXPECT_NE(reply.find("cannot connect to 127.0.0.1"), std::string::npos) << reply;
}

TEST_F(EgressProxyTest, ClosingTheListenerEndsTunnelsAndRemovesTheSocket) {
  Origin origin;
  start({"localhost"});
  struct stat st {};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  UnixClient tunnel(socket_);
  sendAll(tunnel.fd, "CONNECT localhost:" + std::to_string(origin.port()) + " HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(recvUntil(tunnel.fd, "\r\n\r\n").starts_with("HTTP/1.1 200"));
  listener_.reset();
  EXPECT_EQ(recvUntil(tunnel.fd), "");
  EXPECT_FALSE(std::filesystem::exists(socket_));
  UnixClient late(socket_);
  EXPECT_LT(late.fd, 0);
}

TEST_F(EgressProxyTest, LongSocketPathsWork) {
  // sun_path holds 108 bytes; sandbox roots plus 128-character session ids do not fit.
  auto deep = dir_ / std::string(100, 'd') / std::string(100, 's');
  std::filesystem::create_directories(deep);
  socket_ = (deep / "egress.sock").string();
  Origin origin;
  start({"localhost"});
  // Connect the same way (through the directory) from this side.
  int dir = ::open(deep.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  UnixClient c("/proc/self/fd/" + std::to_string(dir) + "/egress.sock");
  ::close(dir);
  ASSERT_GE(c.fd, 0);
  sendAll(c.fd, "GET http://localhost:" + std::to_string(origin.port()) + "/ HTTP/1.1\r\n\r\n");
  EXPECT_NE(recvUntil(c.fd).find("hello from origin"), std::string::npos);
}

TEST_F(EgressProxyTest, AllowedConnectionsOpenOnlyOnceRecorded) {
  Origin origin;
  std::mutex mu;
  std::vector<Decision> recorded;
  bool audit_up = true;
  std::vector<std::thread> writers;
  start({"localhost"}, {}, [&](const Decision& d, std::function<void(bool)> done) {
    std::lock_guard lock(mu);
    recorded.push_back(d);
    // Acknowledged later, from another thread, like the audit writer.
    writers.emplace_back([done = std::move(done), ok = audit_up] {
      std::this_thread::sleep_for(20ms);
      done(ok);
    });
  });
  const std::string connect =
      "CONNECT localhost:" + std::to_string(origin.port()) + " HTTP/1.1\r\n\r\n";
  {
    UnixClient c(socket_);
    sendAll(c.fd, connect);
    EXPECT_TRUE(recvUntil(c.fd, "\r\n\r\n").starts_with("HTTP/1.1 200"));
  }
  {
    UnixClient c(socket_);
    sendAll(c.fd, "CONNECT example.com:443 HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(recvUntil(c.fd).starts_with("HTTP/1.1 403"));
  }
  {
    std::lock_guard lock(mu);
    audit_up = false;
  }
  {
    UnixClient c(socket_);
    sendAll(c.fd, connect);
    std::string reply = recvUntil(c.fd);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 503 ")) << reply;
    EXPECT_NE(reply.find("audit log is unavailable"), std::string::npos) << reply;
  }
  EXPECT_EQ(origin.accepted(), 1);  // the third connection was never opened
  std::lock_guard lock(mu);
  for (auto& t : writers) t.join();
  ASSERT_GE(recorded.size(), 3u);
  EXPECT_TRUE(recorded[0].allowed);
  EXPECT_EQ(recorded[0].host, "localhost");
  EXPECT_FALSE(recorded[1].allowed);
  EXPECT_EQ(recorded[1].host, "example.com");
  EXPECT_EQ(recorded[1].status, 403);
  EXPECT_TRUE(recorded[2].allowed);  // what was about to be opened, then refused (503)
}

}  // namespace
}  // namespace basalt::egress
