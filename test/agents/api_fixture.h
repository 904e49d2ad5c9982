#pragma once
// Drives the agents API through pipeline::Router with a recording Responder: real SQLite in a
// temp dir, a stub authenticator ("Authorization: Bearer <principal id>", "root" is root) and
// an authorizer that records every (action, resource) and denies principal "denied".

#include "basalt/agents/agent_store.h"
#include "basalt/agents/agents_api.h"
#include "basalt/agents/event_hub.h"
#include "basalt/agents/session_driver.h"
#include "basalt/pipeline/router.h"
#include "fakes/fake_responder.h"
#include "storage/temp_dir.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace basalt::agents::testing {

namespace json = boost::json;

class RecordingDriver final : public SessionDriver {
 public:
  void eventsAppended(const std::string& session_id) override { calls.push_back(session_id); }
  std::vector<std::string> calls;
};

struct Answer {
  int status = 0;
  json::value body;
  std::string raw;

  const json::object& obj() const { return body.as_object(); }
  std::string str(std::string_view key) const {
    const json::value* v = body.is_object() ? body.as_object().if_contains(key) : nullptr;
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  }
  std::string errorType() const { return std::string(body.at("error").at("type").as_string()); }
  std::string errorMessage() const {
    return std::string(body.at("error").at("message").as_string());
  }
};

class AgentsApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = AgentStore::open(dir_.file("basalt.db"), dir_.file("agents-vault.key"));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    store_->setAppendListener(
        [this](const std::string& id, std::int64_t seq) { hub_.publish(id, seq); });
    ctx_ = std::make_unique<AgentsContext>(AgentsContext{*store_, hub_, &driver_, {}, {}});
    ctx_->region = "us-east-1";
    ctx_->authenticate = [](const HttpRequest& req) -> Result<perimeter::Caller> {
      const std::string* auth = req.header("authorization");
      if (auth == nullptr || auth->rfind("Bearer ", 0) != 0) {
        return Error{ErrorKind::kUnauthenticated, "no key", {}, "invalid_api_key"};
      }
      perimeter::Caller c;
      c.principal_id = auth->substr(7);
      c.name = c.principal_id;
      c.kind = "user";
      c.key_id = "key-" + c.principal_id;
      c.root = c.principal_id == "root";
      return c;
    };
    ctx_->authorize = [this](const perimeter::Caller& c, std::string_view action,
                             std::string_view resource, const HttpRequest&) {
      authz_.emplace_back(std::string(action), std::string(resource));
      perimeter::AuthzResult r;
      r.allowed = c.principal_id != "denied";
      r.effect = r.allowed ? "Allow" : "ImplicitDeny";
      return r;
    };
    registerAgentRoutes(router_, *ctx_);
  }

  Answer call(std::string method, std::string target, std::string body = {},
              std::string principal = "alice") {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.remote_ip = "127.0.0.1";
    req.request_id = "req-1";
    if (!principal.empty()) req.headers.push_back({"authorization", "Bearer " + principal});
    req.headers.push_back({"anthropic-beta", "managed-agents-2026-04-01"});
    basalt::testing::FakeResponder resp;
    boost::asio::io_context io;
    boost::asio::co_spawn(io, router_.handle(req, resp), boost::asio::detached);
    io.run();
    Answer a;
    a.status = resp.status;
    a.raw = resp.body;
    boost::system::error_code ec;
    a.body = json::parse(resp.body, ec);  // null when not JSON (the router's own fallback)
    return a;
  }

  std::string createEnvironment(const std::string& principal = "alice") {
    Answer a = call("POST", "/v1/environments", R"({"name":"dev"})", principal);
    EXPECT_EQ(a.status, 200) << a.raw;
    return a.str("id");
  }

  std::string createAgent(const std::string& principal = "alice") {
    Answer a = call("POST", "/v1/agents",
                    R"({"name":"helper","model":"claude-sonnet-5-5","system":"Be brief.",
                        "tools":[{"type":"agent_toolset_20260401"},
                                 {"type":"custom","name":"lookup","description":"d",
                                  "input_schema":{"type":"object"}}]})",
                    principal);
    EXPECT_EQ(a.status, 200) << a.raw;
    return a.str("id");
  }

  std::string createSession(const std::string& principal = "alice") {
    const std::string agent = createAgent(principal);
    const std::string env = createEnvironment(principal);
    Answer a = call("POST", "/v1/sessions",
                    R"({"agent":")" + agent + R"(","environment_id":")" + env + R"("})", principal);
    EXPECT_EQ(a.status, 200) << a.raw;
    return a.str("id");
  }

  basalt::testing::TempDir dir_;
  std::unique_ptr<AgentStore> store_;
  EventHub hub_{8};
  RecordingDriver driver_;
  std::unique_ptr<AgentsContext> ctx_;
  pipeline::Router router_;
  std::vector<std::pair<std::string, std::string>> authz_;
};

}  // namespace basalt::agents::testing
