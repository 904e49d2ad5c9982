#include "basalt/agent_runtime/model_caller.h"

#include "basalt/audit/audit_event.h"
#include "basalt/audit/audit_sink.h"
#include "basalt/pipeline/gateway.h"
#include "basalt/providers/provider.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <deque>
#include <optional>

namespace basalt::agent_runtime {
namespace {

/// Answers every call with `answer` (or `error`) and records the request it was given.
class RecordingProvider final : public providers::Provider {
 public:
  const std::string& name() const override { return name_; }
  canonical::Vendor vendor() const override { return canonical::Vendor::kAnthropic; }
  Task<Result<canonical::ChatResponse>> complete(const canonical::ChatRequest& request,
                                                 const providers::CallOptions& options) override {
    seen.push_back(request);
    upstream_models.push_back(options.upstream_model);
    if (error) co_return *error;
    co_return answer;
  }
  Task<Result<void>> stream(const canonical::ChatRequest&, const providers::CallOptions&,
                            providers::StreamSink&) override {
    co_return Error::internal("the agent runtime never streams");
  }

  std::vector<canonical::ChatRequest> seen;
  std::vector<std::string> upstream_models;
  canonical::ChatResponse answer;
  std::optional<Error> error;

 private:
  std::string name_ = "p";
};

class RecordingAuditSink final : public audit::AuditSink {
 public:
  void append(audit::AuditEvent event, audit::AppendCallback done) override {
    events.push_back(std::move(event));
    done(static_cast<std::uint64_t>(events.size()));
  }
  bool healthy() const override { return true; }
  std::vector<audit::AuditEvent> events;
};

class GatewayModelCallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto settings = std::make_shared<config::Settings>();
    config::ModelSettings m;
    m.name = "claude-agent";
    m.routes.push_back({"p", "upstream-model", 1.0, false, 10'000, std::nullopt});
    settings->models.push_back(m);
    pipeline::ProviderMap providers;
    auto p = std::make_unique<RecordingProvider>();
    provider_ = p.get();
    providers.emplace("p", std::move(p));
    auto table = pipeline::ModelTable::build(*settings, providers);
    ASSERT_TRUE(table);
    pipeline::Governance governance;
    governance.audit = &audit_;
    gateway_ = std::make_unique<pipeline::Gateway>(settings, std::move(providers),
                                                   std::move(*table), governance);
    who_.caller.principal_id = "usr_alice";
    who_.caller.name = "alice";
    who_.caller.kind = "user";
    who_.agent_id = "agent_1";
    who_.session_id = "sesn_1";
    who_.end_user = "eve";
  }

  Result<canonical::ChatResponse> call(canonical::ChatRequest request) {
    GatewayModelCaller caller(*gateway_);
    boost::asio::io_context io;
    std::optional<Result<canonical::ChatResponse>> out;
    boost::asio::co_spawn(io, caller.call(who_, std::move(request)),
                          [&](std::exception_ptr e, Result<canonical::ChatResponse> r) {
                            if (e) std::rethrow_exception(e);
                            out = std::move(r);
                          });
    io.run();
    if (!out) return Error::internal("no answer");
    return std::move(*out);
  }

  static canonical::ChatRequest request() {
    canonical::ChatRequest r;
    r.model = "claude-agent";
    r.door = canonical::Door::kAnthropicMessages;
    r.system.emplace_back(canonical::TextBlock{"Be brief."});
    canonical::Message user;
    user.role = canonical::Role::kUser;
    user.content.emplace_back(canonical::TextBlock{"List files"});
    canonical::Message assistant;
    assistant.role = canonical::Role::kAssistant;
    assistant.content.emplace_back(
        canonical::ToolUseBlock{"sevt_abc123", "bash", R"({"command":"ls"})"});
    canonical::Message result;
    result.role = canonical::Role::kUser;
    canonical::ToolResultBlock tr;
    tr.tool_use_id = "sevt_abc123";
    tr.content.emplace_back(canonical::TextBlock{"a.txt"});
    result.content.emplace_back(tr);
    r.messages = {user, assistant, result};
    canonical::ToolSpec bash;
    bash.name = "bash";
    bash.description = "Run a command";
    bash.parameters_json = R"({"type":"object","properties":{"command":{"type":"string"}}})";
    r.tools.push_back(bash);
    r.max_tokens = 1000;
    return r;
  }

  RecordingProvider* provider_ = nullptr;
  RecordingAuditSink audit_;
  std::unique_ptr<pipeline::Gateway> gateway_;
  CallIdentity who_;
};

TEST_F(GatewayModelCallerTest, CallsThroughTheGatewayAsTheSessionPrincipal) {
  provider_->answer.content.emplace_back(canonical::TextBlock{"Let me look."});
  provider_->answer.content.emplace_back(
      canonical::ToolUseBlock{"toolu_1", "bash", R"({"command":"cat a.txt"})"});
  provider_->answer.stop_reason = canonical::StopReason::kToolUse;
  provider_->answer.usage.input_tokens = 40;
  provider_->answer.usage.output_tokens = 9;

  Result<canonical::ChatResponse> r = call(request());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->content.size(), 2U);
  EXPECT_EQ(std::get<canonical::TextBlock>(r->content[0]).text, "Let me look.");
  const auto& use = std::get<canonical::ToolUseBlock>(r->content[1]);
  EXPECT_EQ(use.id, "toolu_1");
  EXPECT_EQ(use.name, "bash");
  EXPECT_EQ(r->usage.input_tokens, 40);
  EXPECT_EQ(r->usage.output_tokens, 9);

  // The provider got the conversation with the tool ids intact.
  ASSERT_EQ(provider_->seen.size(), 1U);
  EXPECT_EQ(provider_->upstream_models[0], "upstream-model");
  const canonical::ChatRequest& seen = provider_->seen[0];
  ASSERT_EQ(seen.tools.size(), 1U);
  EXPECT_EQ(seen.tools[0].name, "bash");
  bool found_result = false;
  for (const canonical::Message& m : seen.messages) {
    for (const auto& b : m.content) {
      if (const auto* t = std::get_if<canonical::ToolResultBlock>(&b)) {
        found_result = t->tool_use_id == "sevt_abc123";
      }
    }
  }
  EXPECT_TRUE(found_result);

  // Audited as the session's principal, attributed to the agent, session and end user.
  ASSERT_EQ(audit_.events.size(), 1U);
  const audit::AuditEvent& ev = audit_.events[0];
  EXPECT_EQ(ev.user_identity.principal_id, "usr_alice");
  EXPECT_EQ(ev.request_parameters.model_id, "claude-agent");
  auto extra = [&](const std::string& k) {
    for (const auto& [name, value] : ev.request_parameters.extra) {
      if (name == k) return value;
    }
    return std::string("<missing>");
  };
  EXPECT_EQ(extra("agentId"), "agent_1");
  EXPECT_EQ(extra("sessionId"), "sesn_1");
  EXPECT_EQ(extra("endUser"), "eve");
  EXPECT_EQ(extra("agentCallPurpose"), "<missing>");  // a turn of the agent

  // A compaction summary is the same kind of call, audited with its purpose.
  who_.purpose = "compaction";
  ASSERT_TRUE(call(request()));
  ASSERT_EQ(audit_.events.size(), 2U);
  std::string purpose = "<missing>";
  for (const auto& [name, value] : audit_.events[1].request_parameters.extra) {
    if (name == "agentCallPurpose") purpose = value;
  }
  EXPECT_EQ(purpose, "compaction");
  EXPECT_EQ(audit_.events[1].user_identity.principal_id, "usr_alice");
}

TEST_F(GatewayModelCallerTest, UpstreamFailuresComeBackAsErrors) {
  provider_->error = Error{ErrorKind::kInvalidRequest, "messages: too long"};
  Result<canonical::ChatResponse> r = call(request());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_NE(r.error().message.find("too long"), std::string::npos);

  canonical::ChatRequest unknown = request();
  unknown.model = "no-such-model";
  Result<canonical::ChatResponse> missing = call(unknown);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace basalt::agent_runtime
