#include "basalt/agents/agents_api.h"

#include "api_fixture.h"
#include "basalt/audit/audit_sink.h"

namespace basalt::agents::testing {
namespace {

using AgentsApiTest = AgentsApiFixture;

TEST_F(AgentsApiTest, EnvironmentWireShapeAndCrud) {
  Answer a = call("POST", "/v1/environments",
                  R"({"name":"dev","config":{"type":"cloud","networking":{"type":"limited",
                      "allowed_hosts":["pypi.org"]}},"metadata":{"team":"x"}})");
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(a.str("type"), "environment");
  EXPECT_EQ(a.str("id").rfind("env_", 0), 0U);
  EXPECT_TRUE(a.obj().at("archived_at").is_null());
  EXPECT_TRUE(a.obj().at("description").is_null());
  EXPECT_EQ(a.str("created_at").back(), 'Z');
  const json::object& net = a.obj().at("config").at("networking").as_object();
  EXPECT_EQ(net.at("type"), "limited");
  EXPECT_EQ(net.at("allow_mcp_servers"), false);
  EXPECT_EQ(a.obj().at("config").at("packages").at("pip").as_array().size(), 0U);
  const std::string id = a.str("id");
  EXPECT_EQ(authz_.back().first, "agents:CreateEnvironment");
  EXPECT_EQ(authz_.back().second, "arn:basalt:agents:us-east-1:alice:environment/*");

  Answer up = call("POST", "/v1/environments/" + id,
                   R"({"description":"d","metadata":{"team":null,"k":"v"}})");
  ASSERT_EQ(up.status, 200) << up.raw;
  EXPECT_EQ(up.str("description"), "d");
  EXPECT_FALSE(up.obj().at("metadata").as_object().contains("team"));
  EXPECT_EQ(authz_.back().second, "arn:basalt:agents:us-east-1:alice:environment/" + id);

  Answer list = call("GET", "/v1/environments?limit=10");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.obj().at("data").as_array().size(), 1U);
  EXPECT_TRUE(list.obj().at("next_page").is_null());

  Answer arch = call("POST", "/v1/environments/" + id + "/archive");
  EXPECT_FALSE(arch.obj().at("archived_at").is_null());
  Answer del = call("DELETE", "/v1/environments/" + id);
  EXPECT_EQ(del.str("type"), "environment_deleted");
  EXPECT_EQ(call("GET", "/v1/environments/" + id).status, 404);
}

TEST_F(AgentsApiTest, AnotherPrincipalGetsNotFound) {
  const std::string session = createSession("alice");
  const std::string env = createEnvironment("alice");
  for (const std::string& path : {"/v1/sessions/" + session, "/v1/environments/" + env,
                                  "/v1/sessions/" + session + "/events"}) {
    Answer a = call("GET", path, {}, "bob");
    EXPECT_EQ(a.status, 404) << path;
    EXPECT_EQ(a.str("type"), "error");
    EXPECT_EQ(a.errorType(), "not_found_error");
  }
  Answer send = call("POST", "/v1/sessions/" + session + "/events",
                     R"({"events":[{"type":"user.interrupt"}]})", "bob");
  EXPECT_EQ(send.status, 404);
  EXPECT_EQ(call("GET", "/v1/sessions", {}, "bob").obj().at("data").as_array().size(), 0U);
  // Root sees it.
  EXPECT_EQ(call("GET", "/v1/sessions/" + session, {}, "root").status, 200);
  // Denied by policy: 403 (only once the resource is visible).
  EXPECT_EQ(call("GET", "/v1/environments", {}, "denied").status, 403);
  EXPECT_EQ(call("GET", "/v1/environments", {}, "").status, 401);
}

TEST_F(AgentsApiTest, AgentVersionsAndOptimisticConcurrency) {
  const std::string id = createAgent();
  Answer a = call("GET", "/v1/agents/" + id);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.str("type"), "agent");
  EXPECT_EQ(a.obj().at("version"), 1);
  EXPECT_EQ(a.obj().at("model").at("id"), "claude-sonnet-5-5");
  const json::object& toolset = a.obj().at("tools").at(0).as_object();
  EXPECT_EQ(toolset.at("default_config").at("permission_policy").at("type"), "always_allow");
  EXPECT_EQ(a.obj().at("execution_identity").at("type"), "service_account");
  EXPECT_TRUE(a.obj().at("multiagent").is_null());

  Answer up = call("POST", "/v1/agents/" + id, R"({"version":1,"system":"Be thorough."})");
  ASSERT_EQ(up.status, 200) << up.raw;
  EXPECT_EQ(up.obj().at("version"), 2);
  Answer stale = call("POST", "/v1/agents/" + id, R"({"version":1,"system":"x"})");
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(stale.errorType(), "conflict_error");
  Answer v1 = call("GET", "/v1/agents/" + id + "?version=1");
  EXPECT_EQ(v1.str("system"), "Be brief.");
  Answer versions = call("GET", "/v1/agents/" + id + "/versions");
  EXPECT_EQ(versions.obj().at("data").as_array().size(), 2U);
}

TEST_F(AgentsApiTest, ValidationNamesTheFieldOrFeature) {
  Answer multi =
      call("POST", "/v1/agents",
           R"({"name":"a","model":"m","multiagent":{"type":"coordinator","agents":[]}})");
  EXPECT_EQ(multi.status, 400);
  EXPECT_NE(multi.errorMessage().find("multiagent"), std::string::npos) << multi.raw;
  Answer skills =
      call("POST", "/v1/agents",
           R"({"name":"a","model":"m","skills":[{"type":"anthropic","skill_id":"x"}]})");
  EXPECT_EQ(skills.status, 400);
  EXPECT_NE(skills.errorMessage().find("skills"), std::string::npos);
  Answer extra = call("POST", "/v1/agents", R"({"name":"a","model":"m","outcomes":{}})");
  EXPECT_EQ(extra.status, 400);
  EXPECT_NE(extra.errorMessage().find("outcomes"), std::string::npos);
  Answer tool = call("POST", "/v1/agents",
                     R"({"name":"a","model":"m","tools":[{"type":"agent_toolset_20260401",
                         "configs":[{"name":"teleport"}]}]})");
  EXPECT_EQ(tool.status, 400);
  EXPECT_NE(tool.errorMessage().find("tools[0].configs[0].name"), std::string::npos);
  Answer no_model = call("POST", "/v1/agents", R"({"name":"a"})");
  EXPECT_EQ(no_model.status, 400);
  EXPECT_NE(no_model.errorMessage().find("model"), std::string::npos);

  const std::string session = createSession();
  Answer unknown =
      call("POST", "/v1/sessions/" + session + "/events",
           R"({"events":[{"type":"user.message","content":[{"type":"text","text":"hi"}]},
                                      {"type":"user.teleport"}]})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.errorMessage().find("user.teleport"), std::string::npos);
  EXPECT_NE(unknown.errorMessage().find("events[1]"), std::string::npos);
  Answer outcome = call("POST", "/v1/sessions/" + session + "/events",
                        R"({"events":[{"type":"user.define_outcome","description":"d",
                                       "rubric":{"type":"text","content":"c"}}]})");
  EXPECT_EQ(outcome.status, 400);
  EXPECT_NE(outcome.errorMessage().find("outcomes"), std::string::npos);
  // Nothing was appended by the refused sends.
  EXPECT_EQ(call("GET", "/v1/sessions/" + session + "/events").obj().at("data").as_array().size(),
            0U);
}

TEST_F(AgentsApiTest, SessionsPinTheAgentVersionAndPersistEventsBeforeAnswering) {
  const std::string agent = createAgent();
  const std::string env = createEnvironment();
  Answer s = call("POST", "/v1/sessions",
                  R"({"agent":{"type":"agent","id":")" + agent + R"(","version":1},
                      "environment_id":")" +
                      env + R"(","title":"t","metadata":{"k":"v"},
                      "initial_events":[{"type":"user.message","content":[{"type":"text","text":"hi"}]}]})");
  ASSERT_EQ(s.status, 200) << s.raw;
  const std::string id = s.str("id");
  EXPECT_EQ(s.str("type"), "session");
  EXPECT_EQ(s.str("status"), "idle");
  EXPECT_EQ(s.obj().at("agent").at("version"), 1);
  EXPECT_EQ(s.obj().at("agent").at("id").as_string(), agent);
  EXPECT_EQ(s.str("title"), "t");
  EXPECT_EQ(driver_.calls, std::vector<std::string>{id});
  ASSERT_EQ(call("POST", "/v1/agents/" + agent, R"({"system":"changed"})").status, 200);
  EXPECT_EQ(call("GET", "/v1/sessions/" + id).obj().at("agent").at("system"), "Be brief.");

  Answer sent =
      call("POST", "/v1/sessions/" + id + "/events",
           R"({"events":[{"type":"user.message","content":[{"type":"text","text":"more"}]}]})");
  ASSERT_EQ(sent.status, 200) << sent.raw;
  const json::object& ev = sent.obj().at("data").at(0).as_object();
  EXPECT_EQ(ev.at("type"), "user.message");
  EXPECT_TRUE(ev.at("processed_at").is_null());
  EXPECT_EQ(ev.at("id").as_string().subview().substr(0, 5), "sevt_");
  EXPECT_EQ(driver_.calls.size(), 2U);

  Answer events = call("GET", "/v1/sessions/" + id + "/events?limit=1");
  ASSERT_EQ(events.status, 200);
  ASSERT_EQ(events.obj().at("data").as_array().size(), 1U);
  EXPECT_EQ(events.obj().at("data").at(0).at("content").at(0).at("text"), "hi");
  const std::string next(events.obj().at("next_page").as_string());
  Answer second = call("GET", "/v1/sessions/" + id + "/events?limit=1&page=" + next);
  EXPECT_EQ(second.obj().at("data").at(0).at("content").at(0).at("text"), "more");
  Answer desc = call("GET", "/v1/sessions/" + id + "/events?order=desc&types%5B%5D=user.message");
  EXPECT_EQ(desc.obj().at("data").at(0).at("content").at(0).at("text"), "more");

  Answer list = call("GET", "/v1/sessions?statuses%5B%5D=idle&agent_id=" + agent);
  EXPECT_EQ(list.obj().at("data").as_array().size(), 1U);
  EXPECT_TRUE(list.obj().contains("prev_page"));
  Answer del = call("DELETE", "/v1/sessions/" + id);
  EXPECT_EQ(del.str("type"), "session_deleted");
  EXPECT_EQ(call("GET", "/v1/sessions/" + id).status, 404);
}

TEST_F(AgentsApiTest, ToolResultsAndConfirmationsNeedSomethingPending) {
  const std::string id = createSession();
  Answer unknown =
      call("POST", "/v1/sessions/" + id + "/events",
           R"({"events":[{"type":"user.custom_tool_result","custom_tool_use_id":"sevt_x",
                                       "content":[{"type":"text","text":"r"}]}]})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.errorMessage().find("custom_tool_use_id"), std::string::npos);
  Answer nothing = call("POST", "/v1/sessions/" + id + "/events",
                        R"({"events":[{"type":"user.tool_confirmation","tool_use_id":"sevt_y",
                                       "result":"allow"}]})");
  EXPECT_EQ(nothing.status, 400);
  EXPECT_NE(nothing.errorMessage().find("awaiting confirmation"), std::string::npos);

  auto uses = store_->appendEvents(
      id, {NewEvent{"agent.custom_tool_use", R"({"name":"lookup","input":{}})", "", true}});
  ASSERT_TRUE(uses);
  const std::string body =
      R"({"events":[{"type":"user.custom_tool_result","custom_tool_use_id":")" + (*uses)[0].id +
      R"(","content":[{"type":"text","text":"r"}]}]})";
  EXPECT_EQ(call("POST", "/v1/sessions/" + id + "/events", body).status, 200);
  Answer twice = call("POST", "/v1/sessions/" + id + "/events", body);
  EXPECT_EQ(twice.status, 400);
  EXPECT_NE(twice.errorMessage().find("already answered"), std::string::npos);
}

TEST_F(AgentsApiTest, VaultSecretsAreWriteOnly) {
  Answer v = call("POST", "/v1/vaults", R"({"display_name":"alice's tools"})");
  ASSERT_EQ(v.status, 200) << v.raw;
  EXPECT_EQ(v.str("type"), "vault");
  const std::string vault = v.str("id");
  const std::string secret = "sk-live-0123456789abcdef";
  Answer c = call(
      "POST", "/v1/vaults/" + vault + "/credentials",
      R"({"display_name":"gh","auth":{"type":"mcp_oauth","mcp_server_url":"https://mcp.example/x",
                      "access_token":")" +
          secret + R"(","refresh":{"client_id":"c","refresh_token":"r-)" + secret +
          R"(","token_endpoint":"https://auth.example/token",
                      "token_endpoint_auth":{"type":"client_secret_post","client_secret":"cs-)" +
          secret + R"("}}}})");
  ASSERT_EQ(c.status, 200) << c.raw;
  EXPECT_EQ(c.str("type"), "vault_credential");
  EXPECT_EQ(c.raw.find(secret), std::string::npos) << c.raw;
  EXPECT_EQ(c.obj().at("auth").at("refresh").at("token_endpoint_auth").at("type"),
            "client_secret_post");
  const std::string cred = c.str("id");
  Answer got = call("GET", "/v1/vaults/" + vault + "/credentials/" + cred);
  EXPECT_EQ(got.raw.find(secret), std::string::npos);
  Answer list = call("GET", "/v1/vaults/" + vault + "/credentials");
  EXPECT_EQ(list.raw.find(secret), std::string::npos);
  EXPECT_EQ(list.obj().at("data").as_array().size(), 1U);

  Answer dup = call(
      "POST", "/v1/vaults/" + vault + "/credentials",
      R"({"auth":{"type":"static_bearer","mcp_server_url":"https://mcp.example/x","token":"t"}})");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.errorType(), "conflict_error");

  // A partial update keeps the other secrets.
  Answer up = call("POST", "/v1/vaults/" + vault + "/credentials/" + cred,
                   R"({"auth":{"type":"mcp_oauth","access_token":"new-token"}})");
  ASSERT_EQ(up.status, 200) << up.raw;
  EXPECT_EQ(up.raw.find("new-token"), std::string::npos);
  auto stored = store_->credentialSecret(Access{"alice", false}, vault, cred);
  ASSERT_TRUE(stored);
  EXPECT_NE(stored->find("new-token"), std::string::npos);
  EXPECT_NE(stored->find("r-" + secret), std::string::npos);

  EXPECT_EQ(call("GET", "/v1/vaults/" + vault + "/credentials/" + cred, {}, "bob").status, 404);
  Answer del = call("DELETE", "/v1/vaults/" + vault + "/credentials/" + cred);
  EXPECT_EQ(del.str("type"), "vault_credential_deleted");
}

TEST_F(AgentsApiTest, MemoriesWithVersionsAndRestore) {
  Answer ms = call("POST", "/v1/memory_stores", R"({"name":"notes"})");
  ASSERT_EQ(ms.status, 200) << ms.raw;
  EXPECT_EQ(ms.str("type"), "memory_store");
  EXPECT_EQ(ms.str("description"), "");
  const std::string store = ms.str("id");
  const std::string base = "/v1/memory_stores/" + store;

  Answer m = call("POST", base + "/memories", R"({"path":"/prefs.md","content":"tabs"})");
  ASSERT_EQ(m.status, 200) << m.raw;
  EXPECT_EQ(m.str("type"), "memory");
  EXPECT_FALSE(m.obj().contains("content"));  // basic view on create
  EXPECT_EQ(m.obj().at("content_size_bytes"), 4);
  const std::string mem = m.str("id");
  Answer got = call("GET", base + "/memories/" + mem);
  EXPECT_EQ(got.str("content"), "tabs");  // full view on retrieve
  Answer taken = call("POST", base + "/memories", R"({"path":"/prefs.md","content":"x"})");
  EXPECT_EQ(taken.status, 409);
  Answer by_path = call("GET", base + "/memories?path=%2Fprefs.md&view=full");
  EXPECT_EQ(by_path.obj().at("data").at(0).at("content"), "tabs");

  Answer up =
      call("POST", base + "/memories/" + mem,
           R"({"content":"spaces","precondition":{"type":"content_sha256","content_sha256":")" +
               got.str("content_sha256") + R"("}})");
  ASSERT_EQ(up.status, 200) << up.raw;
  Answer versions = call("GET", base + "/memory_versions?view=full");
  ASSERT_EQ(versions.status, 200) << versions.raw;
  ASSERT_EQ(versions.obj().at("data").as_array().size(), 2U);
  const json::object& first = versions.obj().at("data").at(1).as_object();
  EXPECT_EQ(first.at("operation"), "created");
  EXPECT_EQ(first.at("content"), "tabs");
  EXPECT_EQ(first.at("created_by").at("type"), "api_actor");
  const std::string first_id(first.at("id").as_string());
  EXPECT_EQ(call("GET", base + "/memory_versions/" + first_id).str("content"), "tabs");

  Answer restored = call("POST", base + "/memory_versions/" + first_id + "/restore");
  ASSERT_EQ(restored.status, 200) << restored.raw;
  EXPECT_EQ(restored.str("content"), "tabs");
  EXPECT_EQ(call("GET", base + "/memory_versions").obj().at("data").as_array().size(), 3U);

  Answer del = call("DELETE", base + "/memories/" + mem);
  EXPECT_EQ(del.str("type"), "memory_deleted");
  EXPECT_EQ(call("GET", base + "/memories/" + mem).status, 404);
  EXPECT_EQ(call("GET", base + "/memory_versions", {}, "bob").status, 404);
  // Bob's 404 came before any authorization; alice's calls were authorized on the store's ARN.
  bool listed = false;
  for (const auto& [action, resource] : authz_) {
    listed = listed || (action == "agents:ListMemoryVersions" &&
                        resource == "arn:basalt:agents:us-east-1:alice:memory_store/" + store);
  }
  EXPECT_TRUE(listed);
}

TEST_F(AgentsApiTest, UnknownPathsAndMethods) {
  EXPECT_EQ(call("GET", "/v1/agents/agent_x/nothing").status, 404);
  const int routed = call("DELETE", "/v1/agents").status;  // the router's fallback
  EXPECT_TRUE(routed == 404 || routed == 405) << routed;
  const std::string env = createEnvironment();
  EXPECT_EQ(call("DELETE", "/v1/environments/" + env + "/archive").status, 405);
  Answer bad = call("POST", "/v1/environments", "not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.errorType(), "invalid_request_error");
}

}  // namespace
}  // namespace basalt::agents::testing

namespace basalt::agents::testing {
namespace {

class RecordingSink final : public audit::AuditSink {
 public:
  void append(audit::AuditEvent event, audit::AppendCallback done) override {
    events.push_back(std::move(event));
    if (fail) {
      done(Error{ErrorKind::kUpstreamUnavailable, "disk full", {}, "storage_full"});
    } else {
      done(static_cast<std::uint64_t>(events.size()));
    }
  }
  bool healthy() const override { return !fail; }
  std::vector<audit::AuditEvent> events;
  bool fail = false;
};

TEST_F(AgentsApiTest, CallsAreAuditedAndFailClosed) {
  RecordingSink sink;
  ctx_->audit_sink = &sink;
  const std::string env = createEnvironment();
  ASSERT_EQ(sink.events.size(), 1U);
  const audit::AuditEvent& ev = sink.events[0];
  EXPECT_EQ(ev.event_name, "CreateEnvironment");
  EXPECT_EQ(ev.user_identity.principal_id, "alice");
  EXPECT_EQ(ev.user_identity.access_key_id, "key-alice");
  EXPECT_EQ(ev.response_elements.status, 200);
  EXPECT_EQ(ev.policy_decision.effect, "Allow");
  ASSERT_EQ(ev.request_parameters.extra.size(), 1U);
  EXPECT_EQ(ev.request_parameters.extra[0].second,
            "arn:basalt:agents:us-east-1:alice:environment/*");

  // A denied call is recorded with the decision and the error.
  EXPECT_EQ(call("GET", "/v1/environments", {}, "denied").status, 403);
  ASSERT_EQ(sink.events.size(), 2U);
  EXPECT_EQ(sink.events[1].policy_decision.effect, "ImplicitDeny");
  EXPECT_EQ(sink.events[1].error_code, "access_denied");

  // The record cannot be written: the answer is a 503, not the result.
  sink.fail = true;
  Answer a = call("GET", "/v1/environments/" + env);
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.errorType(), "overloaded_error");
}

}  // namespace
}  // namespace basalt::agents::testing

namespace basalt::agents::testing {
namespace {

// Wrong types everywhere: always a 4xx answer, never an exception or a 5xx.
TEST_F(AgentsApiTest, MalformedInputIsAlwaysA4xx) {
  const std::string session = createSession();
  const std::string agent = createAgent();
  Answer v = call("POST", "/v1/vaults", R"({"display_name":"v"})");
  Answer ms = call("POST", "/v1/memory_stores", R"({"name":"m"})");
  const std::vector<std::string> targets = {
      "/v1/agents",
      "/v1/agents/" + agent,
      "/v1/environments",
      "/v1/sessions",
      "/v1/sessions/" + session,
      "/v1/sessions/" + session + "/events",
      "/v1/vaults",
      "/v1/vaults/" + v.str("id") + "/credentials",
      "/v1/memory_stores",
      "/v1/memory_stores/" + ms.str("id") + "/memories",
  };
  const std::vector<std::string> bodies = {
      "[]",
      "17",
      R"({"name":5})",
      R"({"name":"n","model":{},"tools":"x"})",
      R"({"name":"n","model":"m","tools":[1,{"type":7},{"type":"custom"}]})",
      R"({"name":"n","model":"m","tools":[{"type":"mcp_toolset","mcp_server_name":"x"}]})",
      R"({"name":"n","model":"m","mcp_servers":[{"name":"a","type":"url","url":"ftp://x"}]})",
      R"({"name":"n","model":"m","version":18446744073709551615})",
      R"({"agent":{"type":"agent","id":5},"environment_id":[]})",
      R"({"agent":"nope","environment_id":"nope"})",
      R"({"events":[1,"x",{"type":"user.message","content":"hi"}]})",
      R"({"events":[{"type":"user.message","content":[{"type":"text"}]}]})",
      R"({"events":[]})",
      R"({"metadata":{"k":7}})",
      R"({"metadata":[1]})",
      R"({"config":{"type":"cloud","networking":{"type":"limited","allowed_hosts":[3]}}})",
      R"({"auth":{"type":"mcp_oauth","access_token":"t","mcp_server_url":"u","refresh":{}}})",
      R"({"auth":"x"})",
      R"({"path":"/a","content":7})",
      R"({"path":"relative","content":"x"})",
      R"({"display_name":null})",
      R"({"title":{}})",
  };
  for (const std::string& target : targets) {
    for (const std::string& body : bodies) {
      Answer a = call("POST", target, body);
      EXPECT_TRUE(a.status == 200 || (a.status >= 400 && a.status < 500))
          << target << " " << body << " -> " << a.status << " " << a.raw;
    }
  }
  for (const std::string& query :
       {"?limit=0", "?limit=abc", "?page=page_x", "?order=sideways", "?include_archived=maybe",
        "?created_at%5Bgte%5D=yesterday", "?statuses%5B%5D=bogus", "?view=odd", "?depth=x"}) {
    for (const std::string& target : targets) {
      Answer a = call("GET", target + query);
      EXPECT_TRUE(a.status == 200 || (a.status >= 400 && a.status < 500))
          << target << query << " -> " << a.status << " " << a.raw;
    }
  }
}

}  // namespace
}  // namespace basalt::agents::testing

namespace basalt::agents::testing {
namespace {

TEST_F(AgentsApiTest, MemoryStoreResourcesAttachToSessions) {
  const std::string agent = createAgent();
  const std::string env = createEnvironment();
  Answer ms = call("POST", "/v1/memory_stores", R"({"name":"notes","description":"d"})");
  Answer bob_ms = call("POST", "/v1/memory_stores", R"({"name":"b"})", "bob");
  const std::string base = R"({"agent":")" + agent + R"(","environment_id":")" + env + R"(",)";
  Answer other = call("POST", "/v1/sessions",
                      base + R"("resources":[{"type":"memory_store","memory_store_id":")" +
                          bob_ms.str("id") + R"("}]})");
  EXPECT_EQ(other.status, 400);  // bob's store does not exist for alice
  Answer repo = call("POST", "/v1/sessions",
                     base + R"("resources":[{"type":"github_repository","url":"https://x"}]})");
  EXPECT_EQ(repo.status, 400);
  EXPECT_NE(repo.errorMessage().find("github_repository"), std::string::npos);
  Answer s = call("POST", "/v1/sessions",
                  base + R"("resources":[{"type":"memory_store","memory_store_id":")" +
                      ms.str("id") + R"(","access":"read_only"}]})");
  ASSERT_EQ(s.status, 200) << s.raw;
  Answer res = call("GET", "/v1/sessions/" + s.str("id") + "/resources");
  ASSERT_EQ(res.status, 200) << res.raw;
  const json::object& r = res.obj().at("data").at(0).as_object();
  EXPECT_EQ(r.at("type"), "memory_store");
  EXPECT_EQ(r.at("access"), "read_only");
  EXPECT_EQ(r.at("name"), "notes");
  EXPECT_EQ(r.at("mount_path"), "/mnt/memory/notes");
}

TEST_F(AgentsApiTest, LimitedNetworkingAllowsOnlyHostsTheEgressProxyCanEnforce) {
  const std::string ok = R"({"name":"e","config":{"type":"cloud","networking":{"type":"limited",)"
                         R"("allowed_hosts":["pypi.org","*.github.com","10.0.0.1","localhost"]}}})";
  Answer a = call("POST", "/v1/environments", ok);
  EXPECT_EQ(a.status, 200) << a.raw;
  for (const char* bad : {"https://pypi.org", "pypi.org:443", "*", "*.*.x.io", "0x7f.1", "[::1]"}) {
    const std::string body =
        R"({"name":"e","config":{"type":"cloud","networking":{"type":"limited",)"
        R"("allowed_hosts":["ok.io",")" +
        std::string(bad) + R"("]}}})";
    Answer r = call("POST", "/v1/environments", body);
    EXPECT_EQ(r.status, 400) << bad << " " << r.raw;
    EXPECT_NE(r.errorMessage().find("allowed_hosts[1]"), std::string::npos) << r.raw;
  }
}

}  // namespace
}  // namespace basalt::agents::testing
