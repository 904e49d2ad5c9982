// Which network a session's sandbox gets from its environment (and agent) documents.
#include "basalt/agent_runtime/session_network.h"

#include <gtest/gtest.h>

namespace basalt::agent_runtime {
namespace {

using sandbox::Network;

std::string env(const std::string& networking) {
  return R"({"name":"e","config":{"type":"cloud","networking":)" + networking + "}}";
}

TEST(SessionNetwork, UnrestrictedIsTheHostNetworkAndAnythingUnknownIsNone) {
  EXPECT_EQ(sessionNetwork(env(R"({"type":"unrestricted"})"), "{}").mode, Network::kAll);
  EXPECT_EQ(sessionNetwork(R"({"config":{"type":"cloud"}})", "{}").mode, Network::kNone);
  EXPECT_EQ(sessionNetwork(env(R"({"type":"open"})"), "{}").mode, Network::kNone);
  EXPECT_EQ(sessionNetwork(env("null"), "{}").mode, Network::kNone);
  EXPECT_EQ(sessionNetwork("not json", "{}").mode, Network::kNone);
}

TEST(SessionNetwork, LimitedAllowsExactlyTheListedHosts) {
  auto n =
      sessionNetwork(env(R"({"type":"limited","allowed_hosts":["localhost","*.example.com"],
                                  "allow_mcp_servers":false,"allow_package_managers":false})"),
                     R"({"mcp_servers":[{"name":"m","type":"url","url":"https://mcp.io/x"}]})");
  EXPECT_EQ(n.mode, Network::kProxy);
  EXPECT_TRUE(n.allow.allows("localhost"));
  EXPECT_TRUE(n.allow.allows("a.example.com"));
  EXPECT_FALSE(n.allow.allows("example.com"));
  EXPECT_FALSE(n.allow.allows("mcp.io"));
  EXPECT_FALSE(n.allow.allows("pypi.org"));
}

TEST(SessionNetwork, LimitedWithoutHostsHasNoNetworkAtAll) {
  EXPECT_EQ(sessionNetwork(env(R"({"type":"limited"})"), "{}").mode, Network::kNone);
  EXPECT_EQ(sessionNetwork(env(R"({"type":"limited","allowed_hosts":["*"]})"), "{}").mode,
            Network::kNone);
  // allow_mcp_servers without MCP servers adds nothing either.
  EXPECT_EQ(sessionNetwork(env(R"({"type":"limited","allow_mcp_servers":true})"), "{}").mode,
            Network::kNone);
}

TEST(SessionNetwork, McpServersAndPackageRegistriesWhenAllowed) {
  auto n = sessionNetwork(
      env(R"({"type":"limited","allowed_hosts":[],"allow_mcp_servers":true,
              "allow_package_managers":true})"),
      R"({"mcp_servers":[{"name":"a","type":"url","url":"https://MCP.Example.org:8443/mcp"},
                         {"name":"b","type":"url","url":"http://user@10.0.0.7/sse"}]})");
  EXPECT_EQ(n.mode, Network::kProxy);
  EXPECT_TRUE(n.allow.allows("mcp.example.org"));
  EXPECT_TRUE(n.allow.allows("10.0.0.7"));
  EXPECT_TRUE(n.allow.allows("pypi.org"));
  EXPECT_TRUE(n.allow.allows("files.pythonhosted.org"));
  EXPECT_TRUE(n.allow.allows("registry.npmjs.org"));
  EXPECT_TRUE(n.allow.allows("deb.debian.org"));
  EXPECT_FALSE(n.allow.allows("example.org"));
}

TEST(SessionNetwork, InvalidStoredEntriesAreSkippedNotWidened) {
  auto n = sessionNetwork(env(R"({"type":"limited","allowed_hosts":["ok.io","*","http://x.io",
                                  "0x7f.1"]})"),
                          "{}");
  EXPECT_EQ(n.mode, Network::kProxy);
  EXPECT_TRUE(n.allow.allows("ok.io"));
  EXPECT_FALSE(n.allow.allows("x.io"));
  EXPECT_FALSE(n.allow.allows("127.0.0.1"));
  EXPECT_EQ(n.skipped, (std::vector<std::string>{"*", "http://x.io", "0x7f.1"}));
}

TEST(SessionNetwork, UrlHost) {
  EXPECT_EQ(urlHost("https://Example.com/x?y"), "example.com");
  EXPECT_EQ(urlHost("http://localhost:8080"), "localhost");
  EXPECT_EQ(urlHost("http://u:p@h.io:1/"), "h.io");
  EXPECT_EQ(urlHost("http://[::1]:80/"), "::1");
  EXPECT_EQ(urlHost("http://h.io#frag"), "h.io");
  EXPECT_EQ(urlHost("nonsense"), "");
}

}  // namespace
}  // namespace basalt::agent_runtime
