// Network::kProxy end to end: commands in a real bwrap sandbox reach allowed hosts only through
// the egress proxy, are refused for others, and cannot connect directly.
#include "basalt/egress/egress_proxy.h"
#include "basalt/sandbox/sandbox.h"
#include "basalt/sandbox/tools.h"

#include "test_servers.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>

namespace basalt::egress {
namespace {

using namespace std::chrono_literals;
using sandbox::Network;
using sandbox::RunResult;
using sandbox::Sandbox;
using sandbox::SandboxOptions;
using testing::Origin;

class SandboxEgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/curl", X_OK) != 0) GTEST_SKIP() << "curl is not installed";
    std::string tmpl = (std::filesystem::temp_directory_path() / "basalt-sbx-eg-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    SandboxOptions o;
    o.root = root_;
    o.session_id = "sesn_egress";
    o.network = Network::kProxy;
    o.egress.socket = root_ / o.session_id / "egress.sock";
    auto sb = Sandbox::open(std::move(o));
    ASSERT_TRUE(sb.has_value()) << (sb ? "" : sb.error().message);
    sb_ = std::move(*sb);
    if (!sb_->support().commands) {
      GTEST_SKIP() << "sandbox commands unavailable here: " << sb_->support().reason;
    }
    proxy_ = EgressProxy::create();
    std::vector<std::string> hosts = {"localhost"};
    ListenOptions lo;
    lo.socket_path = sb_->options().egress.socket;
    lo.session_id = "sesn_egress";
    lo.allow = *AllowList::parse(hosts);
    if (sb_->fileOwnerUid() != static_cast<uid_t>(-1)) {
      lo.owner = {sb_->fileOwnerUid(), sb_->fileOwnerGid()};
    }
    lo.observer = [this](const Decision& d) {
      std::lock_guard lock(mu_);
      decisions_.push_back(d);
    };
    auto l = proxy_->listen(std::move(lo));
    ASSERT_TRUE(l.has_value()) << (l ? "" : l.error().message);
    listener_ = std::move(*l);
  }
  void TearDown() override {
    listener_.reset();
    proxy_.reset();
    sb_.reset();
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }

  RunResult bash(const std::string& script) {
    sandbox::RunSpec spec;
    spec.argv = {"/bin/bash", "-c", script};
    spec.timeout = 30s;
    auto r = sb_->run(spec);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? *r : RunResult{};
  }
  std::vector<Decision> decisions() {
    std::lock_guard lock(mu_);
    return decisions_;
  }

  std::filesystem::path root_;
  std::unique_ptr<Sandbox> sb_;
  std::shared_ptr<EgressProxy> proxy_;
  std::unique_ptr<Listener> listener_;
  std::mutex mu_;
  std::vector<Decision> decisions_;
};

TEST_F(SandboxEgressTest, CurlReachesAnAllowedHostThroughTheProxy) {
  Origin origin;
  const std::string port = std::to_string(origin.port());
  auto r = bash("curl -sS --max-time 10 http://localhost:" + port + "/plain");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hello from origin");
  // The same through a CONNECT tunnel (what https uses).
  r = bash("curl -sS --max-time 10 --proxytunnel http://localhost:" + port + "/tunnel");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "hello from origin");
  ASSERT_EQ(origin.heads().size(), 2u);
  EXPECT_TRUE(origin.heads()[0].starts_with("GET /plain HTTP/1.1\r\n")) << origin.heads()[0];
  EXPECT_TRUE(origin.heads()[1].starts_with("GET /tunnel HTTP/1.1\r\n")) << origin.heads()[1];
  auto d = decisions();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].method, "GET");
  EXPECT_EQ(d[1].method, "CONNECT");
  EXPECT_TRUE(d[0].allowed && d[1].allowed);
}

TEST_F(SandboxEgressTest, OtherHostsAreRefusedByTheProxy) {
  Origin origin;
  const std::string port = std::to_string(origin.port());
  auto r = bash("curl -sS --max-time 10 -w '\\n%{http_code}' http://127.0.0.1:" + port + "/");
  EXPECT_NE(r.output.find("host '127.0.0.1' is not in this environment's allowed_hosts"),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(r.output.ends_with("\n403")) << r.output;
  r = bash("curl -sS --max-time 10 https://example.com/");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("403"), std::string::npos) << r.output;
  EXPECT_EQ(origin.accepted(), 0);
  auto d = decisions();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_FALSE(d[0].allowed);
  EXPECT_EQ(d[1].host, "example.com");
  EXPECT_FALSE(d[1].allowed);
}

TEST_F(SandboxEgressTest, DirectConnectionsStillFail) {
  Origin origin;
  const std::string port = std::to_string(origin.port());
  auto r = bash("curl -sS --max-time 5 --noproxy '*' http://127.0.0.1:" + port +
                "/ && echo CONNECTED; exec 3<>/dev/tcp/127.0.0.1/" + port + " && echo CONNECTED");
  EXPECT_EQ(r.output.find("CONNECTED"), std::string::npos) << r.output;
  // Only loopback, no resolver configuration, and the proxy variables point at the forwarder.
  r = bash(
      "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; test -e /etc/resolv.conf || "
      "echo no-resolv; echo $HTTPS_PROXY $http_proxy; echo \"[$NO_PROXY]\"");
  EXPECT_EQ(r.output, "lo\nno-resolv\nhttp://127.0.0.1:3128 http://127.0.0.1:3128\n[]\n");
  EXPECT_EQ(origin.accepted(), 0);
  EXPECT_TRUE(decisions().empty());
}

TEST_F(SandboxEgressTest, TheForwarderEndsWithTheCommandAndKeepsItsExitCode) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = bash("exit 7");
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  // The forwarder is not a child the command's shell waits for, and holds none of its output.
  r = bash("echo out; echo err >&2");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "out\nerr\n");
}

TEST_F(SandboxEgressTest, BashToolWorksWithTheForwarderInFront) {
  Origin origin;
  auto out = sandbox::runTool(*sb_, "bash", R"({"command":"mkdir -p d && cd d"})", nullptr);
  EXPECT_FALSE(out.is_error) << out.content;
  out = sandbox::runTool(*sb_, "bash",
                         R"({"command":"pwd; curl -sS --max-time 10 http://localhost:)" +
                             std::to_string(origin.port()) + R"(/"})",
                         nullptr);
  EXPECT_FALSE(out.is_error) << out.content;
  EXPECT_NE(out.content.find("/workspace/d"), std::string::npos) << out.content;
  EXPECT_NE(out.content.find("hello from origin"), std::string::npos) << out.content;
}

TEST_F(SandboxEgressTest, TheSeccompFilterStillDeniesWhatItDenied) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "python3 is not installed";
  // The forwarder needed nothing new (AF_UNIX, AF_INET on loopback); vsock & co stay closed,
  // and raw sockets have no interface but loopback to use.
  auto r = bash(
      "python3 -c 'import socket, ctypes\n"
      "for f in (socket.AF_VSOCK, socket.AF_ALG, socket.AF_PACKET):\n"
      "  try:\n"
      "    socket.socket(f, socket.SOCK_DGRAM if f == socket.AF_PACKET else "
      "socket.SOCK_STREAM if f == socket.AF_VSOCK else socket.SOCK_SEQPACKET)\n"
      "    print(\"OPENED\", f)\n"
      "  except OSError as e:\n"
      "    print(\"denied\", e.errno)\n"
      "print(\"ptrace\", ctypes.CDLL(None, use_errno=True).ptrace(0,0,0,0), ctypes.get_errno())'");
  EXPECT_EQ(r.output, "denied 97\ndenied 97\ndenied 97\nptrace -1 1\n");
}

TEST(SandboxEgressOptions, ProxyNetworkingNeedsASocketAndTheForwarder) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "basalt-sbx-eg-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  SandboxOptions o;
  o.root = tmpl;
  o.session_id = "s1";
  o.network = Network::kProxy;
  EXPECT_FALSE(Sandbox::open(o).has_value());  // no socket path
  o.egress.socket = std::filesystem::path(tmpl) / "s1" / "egress.sock";
  o.egress.shim = "/nonexistent/basalt-egress-shim";
  auto sb = Sandbox::open(o);
  ASSERT_TRUE(sb.has_value());
  EXPECT_FALSE((*sb)->support().commands);  // fails closed, with the reason
  if (Sandbox::probe(o.bwrap_path, o.run_as_uid, o.run_as_gid).commands) {
    EXPECT_NE((*sb)->support().reason.find("basalt-egress-shim"), std::string::npos);
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace basalt::egress
