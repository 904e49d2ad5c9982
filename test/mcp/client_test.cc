#include "basalt/mcp/client.h"

#include "basalt/mcp/credential.h"
#include "fakes/fake_upstream.h"
#include "providers/run_task.h"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <functional>
#include <mutex>

namespace basalt::mcp {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using basalt::testing::FakeReply;
using basalt::testing::FakeRequest;
using basalt::testing::FakeUpstream;
using basalt::testing::runTask;
using namespace std::chrono_literals;

constexpr const char* kToken = "secret-token-123";

FakeReply jsonReply(const json::value& v, int status = 200) {
  FakeReply r;
  r.status = status;
  r.headers.push_back({"content-type", "application/json"});
  r.body = json::serialize(v);
  return r;
}

FakeReply sseReply(const std::vector<json::value>& messages) {
  FakeReply r;
  r.headers.push_back({"content-type", "text/event-stream"});
  // A priming event (id, empty data) as 2025-11-25 servers send, then one event per message,
  // each split across two chunks to exercise the incremental parser.
  r.chunks.push_back("id: prime-1\ndata:\n\n");
  for (const json::value& m : messages) {
    std::string ev = "event: message\ndata: " + json::serialize(m) + "\n\n";
    r.chunks.push_back(ev.substr(0, ev.size() / 2));
    r.chunks.push_back(ev.substr(ev.size() / 2));
  }
  return r;
}

json::value result(const json::value& id, json::value res) {
  return json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(res)}};
}

json::value tool(std::string name, std::string description = "d") {
  return json::object{
      {"name", std::move(name)},
      {"description", std::move(description)},
      {"inputSchema",
       json::object{{"type", "object"},
                    {"properties", json::object{{"city", json::object{{"type", "string"}}}}}}}};
}

/// A scripted MCP server: initialize / notifications / DELETE handled; `on_call` answers every
/// other request (method, message). Records every request.
struct FakeMcp {
  std::mutex mu;
  std::string version = "2025-11-25";
  int session_counter = 0;
  std::string session;  ///< the live session id; requests with another id get 404
  bool require_token = true;
  std::vector<FakeRequest> seen;
  std::vector<json::object> posted;  ///< every JSON body received
  std::function<FakeReply(const std::string&, const json::object&)> on_call;

  FakeReply handle(const FakeRequest& req) {
    std::lock_guard lock(mu);
    seen.push_back(req);
    const std::string* auth = req.header("authorization");
    if (require_token && (auth == nullptr || *auth != std::string("Bearer ") + kToken)) {
      FakeReply r = jsonReply(json::object{{"error", "invalid_token"}}, 401);
      r.headers.push_back({"www-authenticate", "Bearer error=\"invalid_token\""});
      return r;
    }
    const std::string* sid = req.header("mcp-session-id");
    if (req.method == "DELETE") {
      if (sid != nullptr && *sid == session) session.clear();
      FakeReply r;
      r.status = 200;
      return r;
    }
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec || !v.is_object()) return jsonReply(json::object{{"error", "bad json"}}, 400);
    json::object msg = v.as_object();
    posted.push_back(msg);
    const std::string method =
        msg.contains("method") ? std::string(msg.at("method").as_string()) : std::string();
    if (method == "initialize") {
      session = "sess-" + std::to_string(++session_counter);
      FakeReply r = jsonReply(
          result(msg.at("id"),
                 json::object{{"protocolVersion", version},
                              {"capabilities", json::object{{"tools", json::object{}}}},
                              {"serverInfo", json::object{{"name", "fake"}, {"version", "1"}}}}));
      r.headers.push_back({"Mcp-Session-Id", session});
      return r;
    }
    if (sid == nullptr || *sid != session) {
      return jsonReply(json::object{{"jsonrpc", "2.0"}, {"error", "session not found"}}, 404);
    }
    if (!msg.contains("id") || method.empty()) {  // notifications and answers to our requests
      FakeReply r;
      r.status = 202;
      return r;
    }
    return on_call(method, msg);
  }
};

struct Fixture {
  FakeMcp mcp;
  std::unique_ptr<FakeUpstream> server;
  asio::io_context ioc;

  Fixture() {
    server = std::make_unique<FakeUpstream>([this](const FakeRequest& r) { return mcp.handle(r); });
  }
  std::unique_ptr<McpClient> client(ClientOptions o = {}, std::string token = kToken) {
    Result<std::unique_ptr<McpClient>> c = McpClient::create(server->url("/mcp"), o, token);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return std::move(*c);
  }
  template <class T>
  T run(Task<T> t) {
    return runTask(ioc, std::move(t), std::chrono::seconds(10));
  }
};

TEST(McpClient, JsonResponsesSessionAndHeaders) {
  Fixture f;
  f.mcp.on_call = [](const std::string& method, const json::object& msg) {
    if (method == "tools/list") {
      return jsonReply(result(msg.at("id"), json::object{{"tools", json::array{tool("weather")}}}));
    }
    EXPECT_EQ(method, "tools/call");
    const json::object& params = msg.at("params").as_object();
    EXPECT_EQ(params.at("name"), "weather");
    EXPECT_EQ(params.at("arguments").as_object().at("city"), "Oslo");
    return jsonReply(result(
        msg.at("id"),
        json::object{{"content", json::array{json::object{{"type", "text"}, {"text", "Sunny"}}}},
                     {"isError", false}}));
  };
  auto c = f.client();
  Result<void> connected = f.run(c->connect());
  ASSERT_TRUE(connected) << connected.error().message;
  EXPECT_EQ(c->protocolVersion(), "2025-11-25");
  EXPECT_EQ(c->sessionId(), "sess-1");
  EXPECT_EQ(c->serverName(), "fake");
  EXPECT_EQ(c->generation(), 1);

  Result<std::vector<Tool>> tools = f.run(c->listTools());
  ASSERT_TRUE(tools) << tools.error().message;
  ASSERT_EQ(tools->size(), 1U);
  EXPECT_EQ((*tools)[0].name, "weather");
  EXPECT_NE((*tools)[0].input_schema_json.find("\"city\""), std::string::npos);

  Result<ToolResult> r = f.run(c->callTool("weather", R"({"city":"Oslo"})"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->is_error);
  ASSERT_EQ(r->content.size(), 1U);
  EXPECT_EQ(r->content[0].text, "Sunny");

  f.run(c->close());
  std::lock_guard lock(f.mcp.mu);
  const auto& seen = f.mcp.seen;
  ASSERT_EQ(seen.size(), 5U);  // initialize, initialized, list, call, DELETE
  // initialize: our version, no session id or protocol header yet.
  EXPECT_EQ(f.mcp.posted[0].at("params").as_object().at("protocolVersion"), "2025-11-25");
  EXPECT_EQ(seen[0].header("mcp-session-id"), nullptr);
  EXPECT_EQ(seen[0].header("mcp-protocol-version"), nullptr);
  ASSERT_NE(seen[0].header("accept"), nullptr);
  EXPECT_EQ(*seen[0].header("accept"), "application/json, text/event-stream");
  EXPECT_EQ(f.mcp.posted[1].at("method"), "notifications/initialized");
  EXPECT_FALSE(f.mcp.posted[1].contains("id"));
  for (std::size_t i = 1; i < seen.size(); ++i) {
    ASSERT_NE(seen[i].header("mcp-session-id"), nullptr) << i;
    EXPECT_EQ(*seen[i].header("mcp-session-id"), "sess-1");
    ASSERT_NE(seen[i].header("mcp-protocol-version"), nullptr) << i;
    EXPECT_EQ(*seen[i].header("mcp-protocol-version"), "2025-11-25");
  }
  EXPECT_EQ(seen[4].method, "DELETE");
  EXPECT_TRUE(f.mcp.session.empty());
}

TEST(McpClient, SseResponseSkipsNotificationsAndAnswersServerRequests) {
  Fixture f;
  f.mcp.on_call = [](const std::string& method, const json::object& msg) {
    EXPECT_EQ(method, "tools/call");
    return sseReply({
        json::object{{"jsonrpc", "2.0"},
                     {"method", "notifications/progress"},
                     {"params", json::object{{"progress", 1}}}},
        json::object{{"jsonrpc", "2.0"}, {"id", "srv-ping"}, {"method", "ping"}},
        json::object{{"jsonrpc", "2.0"},
                     {"id", 77},
                     {"method", "sampling/createMessage"},
                     {"params", json::object{}}},
        // A response to some other id is not ours.
        result(99999, json::object{{"content", json::array{}}}),
        result(msg.at("id"),
               json::object{
                   {"content", json::array{json::object{{"type", "text"}, {"text", "from SSE"}}}}}),
    });
  };
  auto c = f.client();
  ASSERT_TRUE(f.run(c->connect()));
  Result<ToolResult> r = f.run(c->callTool("x", "{}"));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->content.size(), 1U);
  EXPECT_EQ(r->content[0].text, "from SSE");
  std::lock_guard lock(f.mcp.mu);
  bool pong = false;
  bool refused = false;
  for (const json::object& m : f.mcp.posted) {
    const json::value* id = m.if_contains("id");
    if (id == nullptr || m.contains("method")) continue;
    if (*id == "srv-ping") pong = m.contains("result") && m.at("result").as_object().empty();
    if (*id == 77) {
      refused = m.contains("error") && m.at("error").as_object().at("code") == -32601;
    }
  }
  EXPECT_TRUE(pong) << "the ping was not answered";
  EXPECT_TRUE(refused) << "sampling was not refused with a JSON-RPC error";
}

TEST(McpClient, AcceptsThe20250618RevisionAndRefusesOthers) {
  Fixture f;
  f.mcp.version = "2025-06-18";
  auto c = f.client();
  Result<void> ok = f.run(c->connect());
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(c->protocolVersion(), "2025-06-18");

  f.mcp.version = "2024-11-05";
  auto old = f.client();
  Result<void> refused = f.run(old->connect());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("2024-11-05"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("2025-11-25"), std::string::npos);
  EXPECT_EQ(refused.error().code, kConnectFailedCode);
}

TEST(McpClient, AServerWithoutInitializeIsExplained) {
  FakeUpstream stateless([](const FakeRequest& req) {
    json::object msg = json::parse(req.body).as_object();
    return jsonReply(
        json::object{{"jsonrpc", "2.0"},
                     {"id", msg.at("id")},
                     {"error", json::object{{"code", -32601}, {"message", "Method not found"}}}},
        404);
  });
  Result<std::unique_ptr<McpClient>> c = McpClient::create(stateless.url("/mcp"), {});
  ASSERT_TRUE(c);
  asio::io_context ioc;
  Result<void> r = runTask(ioc, (*c)->connect());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("2026-07-28"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().code, kConnectFailedCode);
}

TEST(McpClient, ReinitializesOnceWhenTheServerForgetsTheSession) {
  Fixture f;
  f.mcp.on_call = [](const std::string&, const json::object& msg) {
    return jsonReply(result(msg.at("id"), json::object{{"tools", json::array{tool("a")}}}));
  };
  auto c = f.client();
  ASSERT_TRUE(f.run(c->connect()));
  {
    std::lock_guard lock(f.mcp.mu);
    f.mcp.session = "server-restarted";  // sess-1 is now unknown: 404
  }
  Result<std::vector<Tool>> tools = f.run(c->listTools());
  ASSERT_TRUE(tools) << tools.error().message;
  EXPECT_EQ(tools->size(), 1U);
  EXPECT_EQ(c->generation(), 2);
  EXPECT_EQ(c->sessionId(), "sess-2");
}

TEST(McpClient, PaginationIsFollowedAndBounded) {
  Fixture f;
  f.mcp.on_call = [](const std::string&, const json::object& msg) {
    const json::object& params = msg.at("params").as_object();
    const std::string cursor =
        params.contains("cursor") ? std::string(params.at("cursor").as_string()) : "";
    const int page = cursor.empty() ? 0 : std::stoi(cursor);
    json::array tools;
    for (int i = 0; i < 3; ++i) tools.push_back(tool("t" + std::to_string(page * 3 + i)));
    if (page == 0) {
      tools.push_back(tool("bad name with spaces"));
      tools.push_back(tool(std::string(200, 'x')));
      json::object huge = tool("huge").as_object();
      huge["inputSchema"].as_object()["description"] = std::string(100'000, 'y');
      tools.push_back(huge);
      tools.push_back(tool("t0"));  // a duplicate
    }
    return jsonReply(result(msg.at("id"), json::object{{"tools", std::move(tools)},
                                                       {"nextCursor", std::to_string(page + 1)}}));
  };
  ClientOptions o;
  o.max_list_pages = 3;
  auto c = f.client(o);
  ASSERT_TRUE(f.run(c->connect()));
  Result<std::vector<Tool>> tools = f.run(c->listTools());
  ASSERT_TRUE(tools) << tools.error().message;
  ASSERT_EQ(tools->size(), 9U);  // three pages of three; the invalid ones skipped
  EXPECT_EQ((*tools)[8].name, "t8");

  ClientOptions few;
  few.max_tools = 4;
  auto c2 = f.client(few);
  ASSERT_TRUE(f.run(c2->connect()));
  tools = f.run(c2->listTools());
  ASSERT_TRUE(tools);
  EXPECT_EQ(tools->size(), 4U);
}

TEST(McpClient, UnauthorizedIsAnAuthFailureWithoutTheToken) {
  Fixture f;
  auto c = f.client({}, "wrong-token-456");
  Result<void> r = f.run(c->connect());
  ASSERT_FALSE(r);
  EXPECT_TRUE(isAuthFailure(r.error()));
  EXPECT_EQ(r.error().kind, ErrorKind::kUnauthenticated);
  EXPECT_EQ(r.error().upstream_status, 401);
  EXPECT_EQ(r.error().message.find("wrong-token-456"), std::string::npos) << r.error().message;
}

TEST(McpClient, RpcErrorsHttpErrorsLimitsAndTimeouts) {
  Fixture f;
  std::string mode;
  f.mcp.on_call = [&mode](const std::string&, const json::object& msg) {
    if (mode == "rpc") {
      return jsonReply(json::object{
          {"jsonrpc", "2.0"},
          {"id", msg.at("id")},
          {"error", json::object{{"code", -32602}, {"message", "Unknown tool: nope"}}}});
    }
    if (mode == "500") return jsonReply(json::object{{"oops", true}}, 500);
    if (mode == "big") {
      return jsonReply(result(msg.at("id"), json::object{{"pad", std::string(5000, 'z')}}));
    }
    if (mode == "bigsse") {
      return sseReply({json::object{{"jsonrpc", "2.0"},
                                    {"method", "notifications/message"},
                                    {"params", std::string(5000, 'z')}}});
    }
    if (mode == "html") {
      FakeReply r;
      r.headers.push_back({"content-type", "text/html"});
      r.body = "<html/>";
      return r;
    }
    if (mode == "slow") {
      FakeReply r = jsonReply(result(msg.at("id"), json::object{}));
      r.delay_before_head = 2s;
      return r;
    }
    return sseReply({});  // ends without a response
  };
  ClientOptions o;
  o.max_response_bytes = 2000;
  o.request_timeout = 500ms;
  auto c = f.client(o);
  ASSERT_TRUE(f.run(c->connect()));

  mode = "rpc";
  Result<ToolResult> r = f.run(c->callTool("nope", "{}"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("Unknown tool: nope"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("-32602"), std::string::npos);
  EXPECT_FALSE(isAuthFailure(r.error()));

  mode = "500";
  r = f.run(c->callTool("x", "{}"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("HTTP 500"), std::string::npos) << r.error().message;

  for (const char* m : {"big", "bigsse"}) {
    mode = m;
    r = f.run(c->callTool("x", "{}"));
    ASSERT_FALSE(r) << m;
    EXPECT_NE(r.error().message.find("exceeds 2000 bytes"), std::string::npos) << r.error().message;
  }

  mode = "html";
  r = f.run(c->callTool("x", "{}"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("content-type"), std::string::npos) << r.error().message;

  mode = "empty";
  r = f.run(c->callTool("x", "{}"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("without a response"), std::string::npos) << r.error().message;

  mode = "slow";
  const auto t0 = std::chrono::steady_clock::now();
  r = f.run(c->callTool("x", "{}"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUpstreamTimeout) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1900ms);

  r = f.run(c->callTool("x", "[1,2]"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
}

TEST(McpClient, ContentBlocksBecomeResultBlocks) {
  Fixture f;
  f.mcp.on_call = [](const std::string&, const json::object& msg) {
    json::array content{
        json::object{{"type", "text"}, {"text", "hello"}},
        json::object{{"type", "image"}, {"mimeType", "image/png"}, {"data", "iVBORw0KGgo="}},
        json::object{{"type", "resource"},
                     {"resource", json::object{{"uri", "file:///a.txt"}, {"text", "A body"}}}},
        json::object{{"type", "resource_link"}, {"uri", "file:///b"}, {"name", "b"}},
        json::object{{"type", "audio"}, {"mimeType", "audio/wav"}, {"data", "AAAA"}},
    };
    return jsonReply(
        result(msg.at("id"), json::object{{"content", std::move(content)}, {"isError", true}}));
  };
  auto c = f.client();
  ASSERT_TRUE(f.run(c->connect()));
  Result<ToolResult> r = f.run(c->callTool("x", ""));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->is_error);
  ASSERT_EQ(r->content.size(), 5U);
  EXPECT_EQ(r->content[1].kind, ResultBlock::Kind::kImage);
  EXPECT_EQ(r->content[1].media_type, "image/png");
  EXPECT_NE(r->content[2].text.find("A body"), std::string::npos);
  EXPECT_NE(r->content[3].text.find("file:///b"), std::string::npos);
  EXPECT_NE(r->content[4].text.find("audio"), std::string::npos);

  f.mcp.on_call = [](const std::string&, const json::object& msg) {
    return jsonReply(
        result(msg.at("id"), json::object{{"content", json::array{}},
                                          {"structuredContent", json::object{{"temp", 21}}}}));
  };
  r = f.run(c->callTool("x", ""));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->content.size(), 1U);
  EXPECT_EQ(r->content[0].text, R"({"temp":21})");
}

TEST(McpCredential, ParsesVaultCredentials) {
  Result<Credential> bearer =
      parseCredential(R"({"type":"static_bearer","mcp_server_url":"http://x","token":"t1"})");
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->token, "t1");
  EXPECT_FALSE(bearer->refresh);

  const auto exp = std::chrono::system_clock::now() - 1h;
  Result<Credential> oauth = parseCredential(
      R"({"type":"mcp_oauth","access_token":"a1","refresh":{"token_endpoint":"http://t/tok",)"
      R"("client_id":"c","refresh_token":"r1","token_endpoint_auth":{"type":"client_secret_post",)"
      R"("client_secret":"s"}}})",
      exp);
  ASSERT_TRUE(oauth);
  EXPECT_EQ(oauth->type, Credential::Type::kOAuth);
  EXPECT_TRUE(expired(*oauth, std::chrono::system_clock::now()));
  ASSERT_TRUE(oauth->refresh);
  EXPECT_EQ(oauth->refresh->auth_method, "client_secret_post");
  EXPECT_FALSE(parseCredential(R"({"type":"static_bearer"})"));
  EXPECT_FALSE(parseCredential(R"({"type":"environment_variable","secret_value":"x"})"));
}

TEST(McpCredential, RefreshUsesTheRefreshTokenGrant) {
  std::mutex mu;
  std::vector<FakeRequest> seen;
  bool refuse = false;
  FakeUpstream idp([&](const FakeRequest& r) {
    std::lock_guard lock(mu);
    seen.push_back(r);
    if (refuse) return jsonReply(json::object{{"error", "invalid_grant"}}, 400);
    return jsonReply(json::object{
        {"access_token", "new-access"}, {"expires_in", 3600}, {"refresh_token", "r2"}});
  });
  OAuthRefresh refresh;
  refresh.token_endpoint = idp.url("/oauth/token");
  refresh.client_id = "client one";
  refresh.client_secret = "shh";
  refresh.refresh_token = "r1";
  refresh.auth_method = "client_secret_basic";
  asio::io_context ioc;
  Result<RefreshedToken> t = runTask(ioc, refreshAccessToken(refresh, ClientOptions{}));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->access_token, "new-access");
  EXPECT_EQ(t->refresh_token, "r2");
  ASSERT_TRUE(t->expires_in);
  EXPECT_EQ(t->expires_in->count(), 3600);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), 1U);
    EXPECT_EQ(seen[0].target, "/oauth/token");
    EXPECT_EQ(seen[0].body, "grant_type=refresh_token&refresh_token=r1");
    ASSERT_NE(seen[0].header("authorization"), nullptr);
    // base64("client%20one:shh")
    EXPECT_EQ(*seen[0].header("authorization"), "Basic Y2xpZW50JTIwb25lOnNoaA==");
  }
  {
    std::lock_guard lock(mu);
    refuse = true;
  }
  t = runTask(ioc, refreshAccessToken(refresh, ClientOptions{}));
  ASSERT_FALSE(t);
  EXPECT_TRUE(isAuthFailure(t.error()));
  EXPECT_NE(t.error().message.find("invalid_grant"), std::string::npos);
  EXPECT_EQ(t.error().message.find("r1"), std::string::npos);
}

}  // namespace
}  // namespace basalt::mcp
