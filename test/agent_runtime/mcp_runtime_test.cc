// The agent loop with MCP toolsets: a scripted model calls tools of a scripted MCP server (a
// real HTTP server on 127.0.0.1:0), credentials come from the session's vault.
#include "basalt/agent_runtime/mcp_tools.h"

#include "basalt/agent_runtime/conversation.h"
#include "basalt/agent_runtime/runtime.h"
#include "basalt/agents/agent_store.h"
#include "basalt/audit/rfc3339.h"
#include "fakes/fake_upstream.h"
#include "storage/temp_dir.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

namespace basalt::agent_runtime {
namespace {

namespace json = boost::json;
using agents::Access;
using agents::AgentStore;
using agents::NewEvent;
using agents::SessionEvent;
using agents::SessionStatus;
using basalt::testing::FakeReply;
using basalt::testing::FakeRequest;
using basalt::testing::FakeUpstream;

// ---- pure parts ---------------------------------------------------------------------------

TEST(McpToolName, PlainNamesArePrefixedOthersSanitizedAndDisambiguated) {
  EXPECT_EQ(mcpToolName("weather", "get_weather"), "mcp__weather__get_weather");
  const std::string dotted = mcpToolName("my.server", "read.file");
  const std::string underscored = mcpToolName("my_server", "read_file");
  EXPECT_NE(dotted, underscored);
  EXPECT_TRUE(dotted.starts_with("mcp__my_server__read_file_")) << dotted;
  const std::string long_name = mcpToolName("s", std::string(120, 'a'));
  EXPECT_EQ(long_name.size(), 64U);
  EXPECT_NE(long_name, mcpToolName("s", std::string(121, 'a')));
  for (const std::string& n : {dotted, long_name, mcpToolName("ü", "a b/c")}) {
    for (char c : n)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') << n;
  }
  EXPECT_EQ(mcpToolName("ü", "x"), mcpToolName("ü", "x"));  // deterministic
}

TEST(McpConfig, ToolsetsJoinTheirServersAndResolvePolicies) {
  Result<AgentConfig> c = parseAgentConfig(R"({"model":"m",
    "mcp_servers":[{"name":"a","type":"url","url":"http://a/mcp"},
                   {"name":"b","type":"url","url":"http://b/mcp"}],
    "tools":[{"type":"mcp_toolset","mcp_server_name":"a",
              "default_config":{"enabled":true,"permission_policy":{"type":"always_ask"}},
              "configs":[{"name":"x","enabled":false,"permission_policy":{"type":"always_ask"}},
                         {"name":"y","enabled":true,"permission_policy":{"type":"always_allow"}}]},
             {"type":"mcp_toolset","mcp_server_name":"b",
              "default_config":{"enabled":true,"permission_policy":{"type":"always_allow"}},
              "configs":[]},
             {"type":"mcp_toolset","mcp_server_name":"undeclared"}]})");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->mcp.size(), 2U);
  const McpToolset& a = c->mcp[0];
  EXPECT_EQ(a.url, "http://a/mcp");
  EXPECT_FALSE(a.enabled("x"));
  EXPECT_TRUE(a.enabled("z"));
  EXPECT_FALSE(a.ask("y"));
  EXPECT_TRUE(a.ask("z"));
  EXPECT_FALSE(c->mcp[1].ask("anything"));
}

TEST(McpConversation, McpUsesPairWithTheirResultsAndWaitForConfirmation) {
  auto ev = [](std::int64_t seq, std::string id, std::string type, std::string payload,
               std::string ref = {}) {
    SessionEvent e;
    e.seq = seq;
    e.id = std::move(id);
    e.type = std::move(type);
    e.payload = std::move(payload);
    e.ref_id = std::move(ref);
    e.processed_at_ms = 1;
    return e;
  };
  std::vector<SessionEvent> log{
      ev(1, "e1", "user.message", R"({"content":[{"type":"text","text":"hi"}]})"),
      ev(2, "e2", "span.model_request_start", "{}"),
      ev(3, "u1", "agent.mcp_tool_use",
         R"({"name":"get","mcp_server_name":"w","input":{"q":1},"evaluated_permission":"allow"})"),
      ev(4, "u2", "agent.mcp_tool_use",
         R"({"name":"put","mcp_server_name":"w","input":{},"evaluated_permission":"ask"})"),
      ev(5, "e5", "span.model_request_end", "{}"),
      ev(6, "r1", "agent.mcp_tool_result",
         R"({"mcp_tool_use_id":"u1","content":[{"type":"text","text":"got"}],"is_error":false})",
         "u1"),
  };
  LogView view = readLog(log);
  PendingTools pending = pendingTools(view, log);
  EXPECT_TRUE(pending.runnable.empty());
  ASSERT_EQ(pending.waiting.size(), 1U);
  EXPECT_EQ(pending.waiting[0], "u2");

  log.push_back(ev(7, "c1", "user.tool_confirmation", R"({"result":"allow"})", "u2"));
  view = readLog(log);
  pending = pendingTools(view, log);
  ASSERT_EQ(pending.runnable.size(), 1U);
  EXPECT_EQ(pending.runnable[0]->id, "u2");

  AgentConfig config;
  config.model = "m";
  BuiltRequest built = buildRequest(config, view, log, {});
  ASSERT_EQ(built.request.messages.size(), 3U);  // user, assistant uses, user results
  const auto& uses = built.request.messages[1].content;
  ASSERT_EQ(uses.size(), 2U);
  const auto& use = std::get<canonical::ToolUseBlock>(uses[0]);
  EXPECT_EQ(use.id, "u1");
  EXPECT_EQ(use.name, "mcp__w__get");
  const auto& res = std::get<canonical::ToolResultBlock>(built.request.messages[2].content[0]);
  EXPECT_EQ(res.tool_use_id, "u1");
  EXPECT_FALSE(res.is_error);
}

// ---- the loop with a scripted MCP server ------------------------------------------------------

constexpr const char* kToken = "vault-bearer-9d1";

FakeReply jsonReply(const json::value& v, int status = 200) {
  FakeReply r;
  r.status = status;
  r.headers.push_back({"content-type", "application/json"});
  r.body = json::serialize(v);
  return r;
}

/// A minimal MCP server: tools `echo` and `fail` (a JSON-RPC error), bearer `token` required.
struct McpServerScript {
  std::mutex mu;
  std::string token = kToken;
  std::vector<std::string> authorizations;
  std::vector<std::string> calls;
  int deletes = 0;

  FakeReply handle(const FakeRequest& req) {
    std::lock_guard lock(mu);
    const std::string* auth = req.header("authorization");
    authorizations.push_back(auth != nullptr ? *auth : "");
    if (auth == nullptr || *auth != "Bearer " + token) return jsonReply(json::object{}, 401);
    if (req.method == "DELETE") {
      ++deletes;
      return jsonReply(json::object{});
    }
    json::object msg = json::parse(req.body).as_object();
    if (!msg.contains("id")) {
      FakeReply r;
      r.status = 202;
      return r;
    }
    const std::string method(msg.at("method").as_string());
    json::value result;
    if (method == "initialize") {
      FakeReply r = jsonReply(
          json::object{{"jsonrpc", "2.0"},
                       {"id", msg.at("id")},
                       {"result", json::object{{"protocolVersion", "2025-06-18"},
                                               {"capabilities", json::object{}},
                                               {"serverInfo", json::object{{"name", "s"}}}}}});
      r.headers.push_back({"mcp-session-id", "S1"});
      return r;
    }
    if (method == "tools/list") {
      auto t = [](const char* name) {
        return json::object{{"name", name},
                            {"description", std::string("the ") + name + " tool"},
                            {"inputSchema", json::object{{"type", "object"}}}};
      };
      result = json::object{{"tools", json::array{t("echo"), t("fail"), t("slow"), t("off")}}};
    } else if (method == "tools/call") {
      const json::object& params = msg.at("params").as_object();
      const std::string name(params.at("name").as_string());
      calls.push_back(name + " " + json::serialize(params.at("arguments")));
      if (name == "slow") {
        FakeReply r = jsonReply(json::object{{"jsonrpc", "2.0"},
                                             {"id", msg.at("id")},
                                             {"result", json::object{{"content", json::array{}}}}});
        r.delay_before_head = std::chrono::seconds(30);
        return r;
      }
      if (name == "fail") {
        return jsonReply(
            json::object{{"jsonrpc", "2.0"},
                         {"id", msg.at("id")},
                         {"error", json::object{{"code", -32603}, {"message", "backend down"}}}});
      }
      result = json::object{
          {"content",
           json::array{json::object{{"type", "text"},
                                    {"text", "echo: " + json::serialize(params.at("arguments"))}}}},
          {"isError", false}};
    }
    return jsonReply(json::object{{"jsonrpc", "2.0"}, {"id", msg.at("id")}, {"result", result}});
  }
};

struct Turn {
  canonical::ChatResponse response;
};

class ScriptedModel final : public ModelCaller {
 public:
  Task<Result<canonical::ChatResponse>> call(const CallIdentity&,
                                             canonical::ChatRequest request) override {
    Result<canonical::ChatResponse> out = Error{ErrorKind::kInternal, "script exhausted"};
    std::lock_guard lock(mu);
    requests.push_back(request);
    if (!script.empty()) {
      out = script.front();
      script.pop_front();
    }
    co_return out;
  }
  std::mutex mu;
  std::deque<canonical::ChatResponse> script;
  std::vector<canonical::ChatRequest> requests;
};

canonical::ChatResponse say(std::string text) {
  canonical::ChatResponse r;
  r.content.emplace_back(canonical::TextBlock{std::move(text)});
  r.stop_reason = canonical::StopReason::kEndTurn;
  return r;
}

canonical::ChatResponse use(std::string name, std::string input) {
  canonical::ChatResponse r;
  r.content.emplace_back(canonical::ToolUseBlock{"toolu_1", std::move(name), std::move(input)});
  r.stop_reason = canonical::StopReason::kToolUse;
  return r;
}

class McpRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = AgentStore::open(dir_.file("basalt.db"), dir_.file("vault.key"));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    store_->setAppendListener([this](const std::string&, std::int64_t) {
      std::lock_guard lock(mu_);
      ++appends_;
      cv_.notify_all();
    });
    auto env = store_->createDocument(agents::DocKind::kEnvironment, "alice",
                                      R"({"name":"e","config":{"type":"cloud"}})");
    ASSERT_TRUE(env);
    env_id_ = env->id;
    options_.sandbox_root = dir_.path() / "sandboxes";
    options_.mcp.request_timeout = std::chrono::seconds(5);
    options_.mcp.connect_timeout = std::chrono::seconds(2);
  }
  void TearDown() override {
    if (runtime_) runtime_->stop();
  }

  void start() {
    RuntimePorts ports;
    ports.store = store_.get();
    ports.models = &model_;
    ports.authorize_tool = [this](const perimeter::Caller&, std::string_view action,
                                  std::string_view resource) {
      std::lock_guard lock(mu_);
      authorized_.emplace_back(std::string(action) + " " + std::string(resource));
      return perimeter::AuthzResult{true, "Allow", {}, -1};
    };
    runtime_ = std::make_unique<Runtime>(ports, options_);
    runtime_->start();
  }

  /// An agent whose toolset `policy_json` (a default_config) points at `url`, a vault with
  /// `auth_json` for that URL, and a session with `message` queued.
  std::string session(const std::string& url, const std::string& policy, const std::string& auth,
                      const std::string& message) {
    const std::string agent_body =
        R"({"name":"a","model":{"id":"m"},"mcp_servers":[{"name":"srv","type":"url","url":")" +
        url +
        R"("}],"tools":[{"type":"mcp_toolset","mcp_server_name":"srv","default_config":)"
        R"({"enabled":true,"permission_policy":{"type":")" +
        policy +
        R"("}},"configs":[{"name":"off","enabled":false,)"
        R"("permission_policy":{"type":"always_ask"}}]}]})";
    auto agent = store_->createAgent("alice", agent_body);
    EXPECT_TRUE(agent) << agent.error().message;
    auto vault =
        store_->createDocument(agents::DocKind::kVault, "alice", R"({"display_name":"v"})");
    EXPECT_TRUE(vault);
    vault_id_ = vault->id;
    json::object full = json::parse(auth).as_object();
    json::object secret;
    for (const char* k : {"token", "access_token"}) {
      if (full.contains(k)) {
        secret[k] = full.at(k);
        full.erase(k);
      }
    }
    if (full.contains("refresh")) {
      json::object& r = full["refresh"].as_object();
      secret["refresh"] = json::object{{"refresh_token", r.at("refresh_token")}};
      r.erase("refresh_token");
    }
    auto cred = store_->createCredential(alice_, vault_id_, url,
                                         json::serialize(json::object{{"auth", full}}),
                                         json::serialize(secret));
    EXPECT_TRUE(cred) << cred.error().message;
    credential_id_ = cred->id;
    NewEvent m;
    m.type = "user.message";
    m.payload = json::serialize(
        json::object{{"content", json::array{json::object{{"type", "text"}, {"text", message}}}}});
    AgentStore::NewSession ns{"alice", "alice", agent->id,
                              1,       env_id_, R"({"vault_ids":[")" + vault_id_ + R"("]})"};
    auto s = store_->createSession(ns, {m});
    EXPECT_TRUE(s) << s.error().message;
    runtime_->eventsAppended(s->id);
    return s->id;
  }

  std::vector<SessionEvent> events(const std::string& id) {
    auto e = store_->eventsAfter(id, 0, 10'000);
    return e ? *e : std::vector<SessionEvent>{};
  }
  const SessionEvent* find(const std::vector<SessionEvent>& evs, const std::string& type) {
    for (const SessionEvent& e : evs) {
      if (e.type == type) return &e;
    }
    return nullptr;
  }
  bool waitIdle(const std::string& id, const std::string& stop) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::unique_lock lock(mu_);
    for (;;) {
      lock.unlock();
      auto s = store_->getSession(Access::rootAccess(), id);
      if (s && s->status == SessionStatus::kIdle && s->lease_holder.empty() &&
          s->stop_reason.find("\"" + stop + "\"") != std::string::npos) {
        return true;
      }
      lock.lock();
      if (std::chrono::steady_clock::now() >= deadline) {
        std::string log;
        for (const SessionEvent& e : events(id)) log += e.type + " " + e.payload + "\n";
        ADD_FAILURE() << "not idle(" << stop << "):\n" << log;
        return false;
      }
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
  }
  /// Waits (bounded) until the log has an event of `type`.
  bool waitEvent(const std::string& id, const std::string& type) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<SessionEvent> evs = events(id);
      if (find(evs, type) != nullptr) return true;
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    return false;
  }
  static json::object payload(const SessionEvent* e) { return json::parse(e->payload).as_object(); }

  basalt::testing::TempDir dir_;
  std::unique_ptr<AgentStore> store_;
  std::string env_id_;
  std::string vault_id_;
  std::string credential_id_;
  ScriptedModel model_;
  RuntimeOptions options_;
  std::unique_ptr<Runtime> runtime_;
  Access alice_{"alice", false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t appends_ = 0;
  std::vector<std::string> authorized_;
};

TEST_F(McpRuntimeTest, AModelCallsAnMcpToolWithTheVaultToken) {
  McpServerScript mcp;
  FakeUpstream server([&mcp](const FakeRequest& r) { return mcp.handle(r); });
  model_.script = {use("mcp__srv__echo", R"({"x":1})"), say("done")};
  start();
  const std::string auth = R"({"type":"static_bearer","mcp_server_url":")" + server.url("/mcp") +
                           R"(","token":")" + kToken + R"("})";
  const std::string id = session(server.url("/mcp"), "always_allow", auth, "go");
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  std::vector<SessionEvent> evs = events(id);
  const SessionEvent* u = find(evs, "agent.mcp_tool_use");
  ASSERT_NE(u, nullptr);
  json::object up = payload(u);
  EXPECT_EQ(up.at("name"), "echo");
  EXPECT_EQ(up.at("mcp_server_name"), "srv");
  EXPECT_EQ(up.at("evaluated_permission"), "allow");
  EXPECT_EQ(up.at("input").as_object().at("x"), 1);
  const SessionEvent* r = find(evs, "agent.mcp_tool_result");
  ASSERT_NE(r, nullptr);
  json::object rp = payload(r);
  EXPECT_EQ(rp.at("mcp_tool_use_id").as_string(), u->id);
  EXPECT_EQ(rp.at("is_error"), false);
  EXPECT_EQ(rp.at("content").as_array()[0].as_object().at("text"), R"(echo: {"x":1})");
  EXPECT_EQ(find(evs, "session.error"), nullptr);

  std::lock_guard lock(model_.mu);
  ASSERT_EQ(model_.requests.size(), 2U);
  std::set<std::string> offered;
  for (const canonical::ToolSpec& t : model_.requests[0].tools) offered.insert(t.name);
  EXPECT_EQ(offered, (std::set<std::string>{"mcp__srv__echo", "mcp__srv__fail", "mcp__srv__slow"}));
  // The second call carries the result, paired with the use's event id.
  const canonical::Message& last = model_.requests[1].messages.back();
  const auto& res = std::get<canonical::ToolResultBlock>(last.content.at(0));
  EXPECT_EQ(res.tool_use_id, u->id);
  {
    std::lock_guard mlock(mcp.mu);
    EXPECT_EQ(mcp.calls, std::vector<std::string>{R"(echo {"x":1})"});
    for (const std::string& a : mcp.authorizations) EXPECT_EQ(a, std::string("Bearer ") + kToken);
  }
  std::lock_guard alock(mu_);
  ASSERT_EQ(authorized_.size(), 1U);
  EXPECT_EQ(authorized_[0],
            "agents:ExecuteTool arn:basalt:agents:us-east-1:alice:tool/mcp/srv/echo");
}

TEST_F(McpRuntimeTest, FailuresBecomeSessionErrorsOrErrorResultsAndTheTurnGoesOn) {
  McpServerScript mcp;
  FakeUpstream server([&mcp](const FakeRequest& r) { return mcp.handle(r); });
  start();
  // A wrong token: mcp_authentication_failed_error; the model runs without the server's tools.
  model_.script = {say("no tools")};
  std::string auth = R"({"type":"static_bearer","mcp_server_url":")" + server.url("/mcp") +
                     R"(","token":"wrong"})";
  std::string id = session(server.url("/mcp"), "always_allow", auth, "go");
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  std::vector<SessionEvent> evs = events(id);
  const SessionEvent* err = find(evs, "session.error");
  ASSERT_NE(err, nullptr);
  json::object e = payload(err).at("error").as_object();
  EXPECT_EQ(e.at("type"), "mcp_authentication_failed_error");
  EXPECT_EQ(e.at("mcp_server_name"), "srv");
  EXPECT_EQ(std::string(e.at("message").as_string()).find("wrong"), std::string::npos);
  {
    std::lock_guard lock(model_.mu);
    ASSERT_EQ(model_.requests.size(), 1U);
    EXPECT_TRUE(model_.requests[0].tools.empty());
  }

  // Nothing listening: mcp_connection_failed_error.
  std::string dead;
  {
    FakeUpstream gone([](const FakeRequest&) { return FakeReply{}; });
    dead = gone.url("/mcp");
  }
  model_.script = {say("still here")};
  auth = R"({"type":"static_bearer","mcp_server_url":")" + dead + R"(","token":"t"})";
  id = session(dead, "always_allow", auth, "go");
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  evs = events(id);
  err = find(evs, "session.error");
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(payload(err).at("error").as_object().at("type"), "mcp_connection_failed_error");

  // A failing tools/call: an is_error result, then the model goes on.
  model_.script = {use("mcp__srv__fail", "{}"), say("handled")};
  auth = R"({"type":"static_bearer","mcp_server_url":")" + server.url("/mcp") + R"(","token":")" +
         kToken + R"("})";
  id = session(server.url("/mcp"), "always_allow", auth, "go");
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  evs = events(id);
  const SessionEvent* r = find(evs, "agent.mcp_tool_result");
  ASSERT_NE(r, nullptr);
  json::object rp = payload(r);
  EXPECT_EQ(rp.at("is_error"), true);
  EXPECT_NE(std::string(rp.at("content").as_array()[0].as_object().at("text").as_string())
                .find("backend down"),
            std::string::npos);
}

TEST_F(McpRuntimeTest, AlwaysAskWaitsForTheConfirmation) {
  McpServerScript mcp;
  FakeUpstream server([&mcp](const FakeRequest& r) { return mcp.handle(r); });
  model_.script = {use("mcp__srv__echo", R"({"y":2})"), say("ok")};
  start();
  const std::string auth = R"({"type":"static_bearer","mcp_server_url":")" + server.url("/mcp") +
                           R"(","token":")" + kToken + R"("})";
  const std::string id = session(server.url("/mcp"), "always_ask", auth, "go");
  ASSERT_TRUE(waitIdle(id, "requires_action"));
  std::vector<SessionEvent> evs = events(id);
  const SessionEvent* u = find(evs, "agent.mcp_tool_use");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(payload(u).at("evaluated_permission"), "ask");
  EXPECT_EQ(find(evs, "agent.mcp_tool_result"), nullptr);
  {
    std::lock_guard lock(mcp.mu);
    EXPECT_TRUE(mcp.calls.empty());
  }
  NewEvent c;
  c.type = "user.tool_confirmation";
  c.payload = json::serialize(json::object{{"tool_use_id", u->id}, {"result", "allow"}});
  c.ref_id = u->id;
  auto sent = store_->sendUserEvents(alice_, id, {c});
  ASSERT_TRUE(sent) << sent.error().message;
  runtime_->eventsAppended(id);
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  evs = events(id);
  const SessionEvent* r = find(evs, "agent.mcp_tool_result");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(payload(r).at("is_error"), false);
  std::lock_guard lock(mcp.mu);
  EXPECT_EQ(mcp.calls, std::vector<std::string>{R"(echo {"y":2})"});
}

TEST_F(McpRuntimeTest, AnExpiredOAuthTokenIsRefreshedAndStored) {
  McpServerScript mcp;
  mcp.token = "fresh-access";
  FakeUpstream server([&mcp](const FakeRequest& r) { return mcp.handle(r); });
  std::mutex idp_mu;
  std::vector<std::string> idp_bodies;
  FakeUpstream idp([&](const FakeRequest& r) {
    std::lock_guard lock(idp_mu);
    idp_bodies.push_back(r.body);
    return jsonReply(json::object{
        {"access_token", "fresh-access"}, {"expires_in", 3600}, {"token_type", "Bearer"}});
  });
  model_.script = {use("mcp__srv__echo", "{}"), say("ok")};
  start();
  const std::string expired =
      audit::formatRfc3339Ms(std::chrono::system_clock::now() - std::chrono::hours(1));
  const std::string auth = R"({"type":"mcp_oauth","mcp_server_url":")" + server.url("/mcp") +
                           R"(","access_token":"stale","expires_at":")" + expired +
                           R"(","refresh":{"token_endpoint":")" + idp.url("/token") +
                           R"(","client_id":"cid","refresh_token":"rt-1",)"
                           R"("token_endpoint_auth":{"type":"none"}}})";
  const std::string id = session(server.url("/mcp"), "always_allow", auth, "go");
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  std::vector<SessionEvent> evs = events(id);
  const SessionEvent* r = find(evs, "agent.mcp_tool_result");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(payload(r).at("is_error"), false);
  {
    std::lock_guard lock(idp_mu);
    ASSERT_EQ(idp_bodies.size(), 1U);
    EXPECT_EQ(idp_bodies[0], "grant_type=refresh_token&refresh_token=rt-1&client_id=cid");
  }
  auto secret = store_->credentialSecret(alice_, vault_id_, credential_id_);
  ASSERT_TRUE(secret);
  EXPECT_EQ(json::parse(*secret).as_object().at("access_token"), "fresh-access");
  auto cred = store_->getCredential(alice_, vault_id_, credential_id_);
  ASSERT_TRUE(cred);
  EXPECT_EQ(cred->body.find("fresh-access"), std::string::npos);  // the secret stays sealed
  EXPECT_EQ(cred->body.find(expired), std::string::npos);         // a new expiry
}

TEST_F(McpRuntimeTest, DeniedConfirmationAndInterruptEndTheCallWithAnErrorResult) {
  McpServerScript mcp;
  FakeUpstream server([&mcp](const FakeRequest& r) { return mcp.handle(r); });
  model_.script = {use("mcp__srv__echo", "{}"), say("understood"), use("mcp__srv__slow", "{}")};
  start();
  const std::string auth = R"({"type":"static_bearer","mcp_server_url":")" + server.url("/mcp") +
                           R"(","token":")" + kToken + R"("})";
  // always_ask, then deny: an is_error agent.mcp_tool_result with the user's message.
  const std::string id = session(server.url("/mcp"), "always_ask", auth, "go");
  ASSERT_TRUE(waitIdle(id, "requires_action"));
  std::vector<SessionEvent> evs = events(id);
  const SessionEvent* u = find(evs, "agent.mcp_tool_use");
  ASSERT_NE(u, nullptr);
  const std::string use_id = u->id;  // evs is re-read below
  NewEvent c;
  c.type = "user.tool_confirmation";
  c.payload = json::serialize(
      json::object{{"tool_use_id", use_id}, {"result", "deny"}, {"deny_message", "not now"}});
  c.ref_id = use_id;
  ASSERT_TRUE(store_->sendUserEvents(alice_, id, {c}));
  runtime_->eventsAppended(id);
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  evs = events(id);
  const SessionEvent* r = find(evs, "agent.mcp_tool_result");
  ASSERT_NE(r, nullptr);
  json::object rp = payload(r);
  EXPECT_EQ(rp.at("mcp_tool_use_id").as_string(), use_id);
  EXPECT_EQ(rp.at("is_error"), true);
  EXPECT_NE(json::serialize(rp.at("content")).find("not now"), std::string::npos);
  {
    std::lock_guard lock(mcp.mu);
    EXPECT_TRUE(mcp.calls.empty());
  }

  // A call that hangs is cut by user.interrupt: an is_error result, then idle(end_turn).
  const std::string slow = session(server.url("/mcp"), "always_allow", auth, "go");
  ASSERT_TRUE(waitEvent(slow, "agent.mcp_tool_use"));
  {
    // The call is in flight once the server has seen it.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      {
        std::lock_guard lock(mcp.mu);
        if (!mcp.calls.empty()) break;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  NewEvent stop;
  stop.type = "user.interrupt";
  ASSERT_TRUE(store_->sendUserEvents(alice_, slow, {stop}));
  runtime_->eventsAppended(slow);
  ASSERT_TRUE(waitIdle(slow, "end_turn"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  evs = events(slow);
  r = find(evs, "agent.mcp_tool_result");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(payload(r).at("is_error"), true);
  EXPECT_NE(json::serialize(payload(r).at("content")).find("interrupted"), std::string::npos);
}

}  // namespace
}  // namespace basalt::agent_runtime
