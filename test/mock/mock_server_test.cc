// The mock behind the real HTTP/1.1 server on 127.0.0.1:0, and the mock-upstream command.

#include "basalt/mock/mock_upstream.h"

#include "basalt/mock/event_stream.h"
#include "basalt/mock/script.h"
#include "basalt/server/server.h"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <string>
#include <thread>

namespace basalt::mock {
namespace {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
};

int connectTo(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};  // every read is bounded
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// One request on a fresh connection with `connection: close`; reads to EOF.
HttpResponse request(std::uint16_t port, const std::string& method, const std::string& target,
                     const std::string& body = {}) {
  HttpResponse out;
  int fd = connectTo(port);
  if (fd < 0) return out;
  std::string req = method + " " + target + " HTTP/1.1\r\nhost: 127.0.0.1\r\n" +
                    "content-type: application/json\r\nconnection: close\r\n" +
                    "content-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string raw;
  char buf[16384];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, n);
  ::close(fd);
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.size() < 12) return out;
  out.status = std::stoi(raw.substr(9, 3));
  std::string head = raw.substr(0, head_end);
  for (std::size_t pos = head.find("\r\n"); pos != std::string::npos;) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string line =
        head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    if (auto colon = line.find(':'); colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    pos = next;
  }
  std::string rest = raw.substr(head_end + 4);
  if (out.headers["transfer-encoding"] == "chunked") {
    std::size_t i = 0;
    while (i < rest.size()) {
      std::size_t eol = rest.find("\r\n", i);
      if (eol == std::string::npos) break;
      std::size_t len = std::stoul(rest.substr(i, eol - i), nullptr, 16);
      if (len == 0) break;
      out.body += rest.substr(eol + 2, len);
      i = eol + 2 + len + 2;
    }
  } else {
    out.body = rest;
  }
  return out;
}

std::uint16_t portOf(const std::string& address) {
  return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

class MockServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config::ServerSettings settings;
    settings.listen = "127.0.0.1:0";
    settings.threads = 1;
    settings.shutdown_grace_ms = 500;
    server_ = std::make_unique<server::Server>(settings, mock_);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
    port_ = portOf(server_->boundAddress());
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      server_->wait();
    }
  }

  MockUpstream mock_;
  std::unique_ptr<server::Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(MockServerTest, ChatOverTheWire) {
  auto r = request(port_, "POST", "/v1/chat/completions",
                   R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("content":"You said: hi")"), std::string::npos) << r.body;
  EXPECT_EQ(request(port_, "GET", "/healthz").status, 200);
}

TEST_F(MockServerTest, StreamsOverTheWire) {
  auto r =
      request(port_, "POST", "/v1/messages",
              R"({"model":"c","max_tokens":5,"stream":true,)"
              R"("messages":[{"role":"user","content":"a b\n#mock error_after=1 status=429"}]})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/event-stream");
  EXPECT_NE(r.body.find("event: message_start\n"), std::string::npos);
  EXPECT_TRUE(r.body.ends_with("\n\n"));
  EXPECT_NE(r.body.find(
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\""),
            std::string::npos)
      << r.body;

  auto b = request(port_, "POST", "/model/us.anthropic.claude%3A0/converse-stream",
                   R"({"messages":[{"role":"user","content":[{"text":"one two"}]}]})");
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(b.headers["content-type"], "application/vnd.amazon.eventstream");
  auto frames = decodeEventStream(b.body);
  ASSERT_TRUE(frames) << frames.error().message;
  ASSERT_GE(frames->size(), 5U);
  EXPECT_EQ(frames->front().header(":event-type"), "messageStart");
  EXPECT_EQ(frames->back().header(":event-type"), "metadata");

  auto s = request(port_, "GET", "/mock/stats");
  EXPECT_NE(s.body.find(R"("requests":2)"), std::string::npos) << s.body;
}

TEST_F(MockServerTest, InjectedStatus) {
  auto r = request(port_, "POST", "/v1/responses", R"({"model":"m","input":"#mock status=429"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["retry-after"], "1");
}

TEST_F(MockServerTest, ClientLeavingMidStreamClosesItsStream) {
  int fd = connectTo(port_);
  ASSERT_GE(fd, 0);
  const std::string body =
      R"({"model":"m","stream":true,"messages":[{"role":"user","content":)"
      R"("#mock tokens_per_s=20 reply=\"w w w w w w w w w w w w w w w w w w w w w w w w\""}]})";
  const std::string req =
      "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
      "content-length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char buf[4096];
  ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);  // the stream has started
  auto open = [&] {
    auto s = request(port_, "GET", "/mock/stats");
    return s.body.find(R"("open_streams":0)") == std::string::npos;
  };
  EXPECT_TRUE(open());
  ::close(fd);
  // The full stream would last more than a second; the mock must notice well before.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(900);
  while (open() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(open());
}

// ---------------------------------------------------------------- the command

TEST(MockUpstreamCommand, HelpDocumentsTheScriptLanguage) {
  CLI::App app("basalt");
  registerMockUpstreamCommand(app);
  CLI::App* sub = app.get_subcommand("mock-upstream");
  std::string help = sub->help();
  for (const char* s : {"--listen", "--reply", "--latency-ms", "--tokens-per-s", "--status",
                        "--threads", "--count-file", "--chunk", "--models", "SCRIPT LANGUAGE",
                        "#mock key=value", "error_after=N", "/mock/stats"}) {
    EXPECT_NE(help.find(s), std::string::npos) << s;
  }
}

TEST(MockUpstreamCommand, RejectsBadFlags) {
  CLI::App app("basalt");
  registerMockUpstreamCommand(app);
  EXPECT_THROW(app.parse(std::vector<std::string>{"42", "--status", "mock-upstream"}),
               CLI::ValidationError);  // (CLI11 parses vectors back to front)
}

TEST(MockUpstreamCommand, FailsCleanlyWhenThePortIsTaken) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string listen = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  CLI::App app("basalt");
  registerMockUpstreamCommand(app);
  EXPECT_THROW(app.parse(std::vector<std::string>{listen, "--listen", "mock-upstream"}),
               CLI::RuntimeError);
  ::close(fd);
}

TEST(MockUpstreamCommand, ServesUntilSignalled) {
  // A free port: bind port 0, note it, release it.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::uint16_t port = ntohs(addr.sin_port);
  ::close(probe);

  // Until the server's signal_set is installed, a SIGTERM must not kill the test process.
  struct sigaction ignore {};
  ignore.sa_handler = [](int) {};
  struct sigaction previous {};
  ::sigaction(SIGTERM, &ignore, &previous);

  std::atomic<bool> done{false};
  std::thread runner([&] {
    CLI::App app("basalt");
    registerMockUpstreamCommand(app);
    app.parse(std::vector<std::string>{"mock upstream reply", "--reply",
                                       "127.0.0.1:" + std::to_string(port), "--listen",
                                       "mock-upstream"});
    done = true;
  });
  HttpResponse r;
  for (int i = 0; i < 100 && r.status == 0; ++i) {
    r = request(port, "POST", "/v1/chat/completions",
                R"({"model":"m","messages":[{"role":"user","content":"x"}]})");
    if (r.status == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("mock upstream reply"), std::string::npos) << r.body;
  for (int i = 0; i < 100 && !done; ++i) {
    ::kill(::getpid(), SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(done);
  if (done) {
    runner.join();
  } else {
    runner.detach();  // the test already failed; do not hang the suite
  }
  ::sigaction(SIGTERM, &previous, nullptr);
}

}  // namespace
}  // namespace basalt::mock
