#include "basalt/pipeline/gateway.h"

#include "basalt/audit/audit_event.h"
#include "basalt/audit/audit_sink.h"
#include "basalt/perimeter/perimeter.h"
#include "fakes/fake_responder.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <sstream>

namespace basalt::pipeline {
namespace {

using canonical::StreamEvent;
using testing::FakeResponder;

/// A door whose request body is "MODEL" or "MODEL stream" and whose outputs are plain text.
class FakeCodec final : public canonical::DoorCodec {
 public:
  canonical::Door door() const override { return canonical::Door::kOpenAIChat; }
  Result<canonical::ChatRequest> decode(const HttpRequest& req) const override {
    if (req.body.empty()) return Error::invalid("empty", "model");
    canonical::ChatRequest r;
    std::istringstream in(req.body);
    std::string flag;
    in >> r.model >> flag;
    r.stream = flag == "stream";
    return r;
  }
  canonical::EncodedReply encodeResponse(const canonical::ChatResponse& resp,
                                         const canonical::ChatRequest&) const override {
    std::string text;
    for (const auto& b : resp.content) {
      if (auto* t = std::get_if<canonical::TextBlock>(&b)) text += t->text;
    }
    return {200, {}, text};
  }
  class Enc final : public canonical::StreamEncoder {
   public:
    void encode(const StreamEvent& e, std::string& out) override {
      if (e.type == StreamEvent::Type::kBlockDelta) out += e.text;
      if (e.type == StreamEvent::Type::kError) out += "[error:" + e.error.message + "]";
      if (e.type == StreamEvent::Type::kMessageStop) out += "[stop]";
    }
    Headers headers() const override { return {{"content-type", "text/event-stream"}}; }
  };
  std::unique_ptr<canonical::StreamEncoder> newStreamEncoder(
      const canonical::ChatRequest&) const override {
    return std::make_unique<Enc>();
  }
  canonical::EncodedReply encodeError(const Error& e) const override {
    return {httpStatus(e.kind), {}, e.message};
  }
};

/// Scripted provider: each call pops the next outcome (an error, or text to stream/answer).
/// `fail_after_events` makes a stream emit that many events and then fail.
class ScriptedProvider final : public providers::Provider {
 public:
  struct Outcome {
    std::optional<Error> error;
    std::string text;
    int fail_after_events = -1;
  };
  explicit ScriptedProvider(std::string name) : name_(std::move(name)) {}
  std::deque<Outcome> script;
  int calls = 0;
  std::vector<std::string> upstream_models;

  const std::string& name() const override { return name_; }
  canonical::Vendor vendor() const override { return canonical::Vendor::kOpenAI; }

  Task<Result<canonical::ChatResponse>> complete(const canonical::ChatRequest&,
                                                 const providers::CallOptions& o) override {
    Outcome out = next(o);
    if (out.error) co_return *out.error;
    canonical::ChatResponse r;
    r.content.emplace_back(canonical::TextBlock{out.text});
    co_return r;
  }

  Task<Result<void>> stream(const canonical::ChatRequest&, const providers::CallOptions& o,
                            providers::StreamSink& sink) override {
    Outcome out = next(o);
    if (out.error && out.fail_after_events < 0) co_return *out.error;
    // Built with push_back: GCC 12 mishandles initializer-list temporaries in coroutines.
    std::vector<StreamEvent> events;
    events.push_back(StreamEvent::messageStart("id", "m"));
    events.push_back(StreamEvent::blockStart(0, canonical::BlockType::kText));
    events.push_back(StreamEvent::delta(0, canonical::DeltaType::kText, out.text));
    events.push_back(StreamEvent::blockStop(0));
    events.push_back(StreamEvent::messageStop(canonical::StopReason::kEndTurn));
    int sent = 0;
    for (const auto& e : events) {
      if (out.fail_after_events >= 0 && sent == out.fail_after_events) co_return *out.error;
      const bool delivered = co_await sink.onEvent(e);
      if (!delivered) co_return Error{ErrorKind::kCancelled, "gone"};
      ++sent;
    }
    co_return Result<void>{};
  }

 private:
  Outcome next(const providers::CallOptions& o) {
    ++calls;
    upstream_models.push_back(o.upstream_model);
    if (script.empty()) return {std::nullopt, "default"};
    Outcome out = script.front();
    script.pop_front();
    return out;
  }
  std::string name_;
};

Error upstream(ErrorKind kind, std::string msg) { return Error{kind, std::move(msg)}; }

/// An audit sink that records events and can be told to fail (a full or read-only disk).
class FakeAuditSink final : public audit::AuditSink {
 public:
  void append(audit::AuditEvent event, audit::AppendCallback done) override {
    if (failing) {
      done(Error{ErrorKind::kUpstreamUnavailable, "disk full", {}, "storage_full"});
      return;
    }
    events.push_back(std::move(event));
    done(static_cast<std::uint64_t>(events.size()));
  }
  bool healthy() const override { return !failing; }
  std::vector<audit::AuditEvent> events;
  bool failing = false;
};

struct Fixture {
  ScriptedProvider* a = nullptr;
  ScriptedProvider* b = nullptr;
  std::unique_ptr<Gateway> gateway;
  FakeCodec codec;

  FakeAuditSink audit_sink;

  explicit Fixture(int retries = 0, int breaker_failures = 5) {
    auto settings = std::make_shared<config::Settings>();
    settings->routing.retries = retries;
    settings->routing.retry_backoff_ms = 1;
    settings->routing.breaker_failures = breaker_failures;
    config::ModelSettings m;
    m.name = "m";
    m.routes.push_back({"a", "a-model", 1.0, false, 1000, std::nullopt});
    m.routes.push_back({"b", "b-model", 1.0, true, 1000, std::nullopt});
    settings->models.push_back(m);
    ProviderMap providers;
    auto pa = std::make_unique<ScriptedProvider>("a");
    auto pb = std::make_unique<ScriptedProvider>("b");
    a = pa.get();
    b = pb.get();
    providers.emplace("a", std::move(pa));
    providers.emplace("b", std::move(pb));
    auto table = ModelTable::build(*settings, providers);
    Governance governance;
    governance.audit = &audit_sink;
    gateway = std::make_unique<Gateway>(settings, std::move(providers), std::move(*table),
                                        governance);
  }

  FakeResponder run(std::string body, int gone_after_writes = -1, CallHooks* hooks = nullptr) {
    boost::asio::io_context io;
    FakeResponder res;
    res.gone_after_writes = gone_after_writes;
    HttpRequest req;
    req.body = std::move(body);
    req.request_id = "rid";
    boost::asio::co_spawn(io, gateway->serveModelCall(codec, req, res, hooks),
                          boost::asio::detached);
    io.run();
    return res;
  }
};

TEST(Gateway, AnswersFromThePrimaryRoute) {
  Fixture f;
  f.a->script.push_back({std::nullopt, "hello"});
  FakeResponder res = f.run("m");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "hello");
  EXPECT_EQ(f.a->upstream_models, std::vector<std::string>{"a-model"});
  EXPECT_EQ(f.b->calls, 0);
}

/// Records what the gateway tells its hooks; can reject a call in prepare().
class RecordingHooks final : public CallHooks {
 public:
  const perimeter::Caller* presetCaller() const override { return preset ? &*preset : nullptr; }
  void annotate(audit::AuditEvent& event) const override {
    event.request_parameters.extra.emplace_back("sessionId", "sesn_1");
  }
  Result<void> prepare(const std::string& principal, canonical::ChatRequest& chat) override {
    prepared_principal = principal;
    request_id = chat.request_id;
    if (reject) return Error::invalid("previous response not found", "previous_response_id");
    return {};
  }
  bool wantsResponse(const canonical::ChatRequest&) const override { return true; }
  void completed(const std::string& principal, const canonical::ChatRequest&,
                 const canonical::ChatResponse& response) override {
    completed_principal = principal;
    for (const auto& b : response.content) {
      if (auto* t = std::get_if<canonical::TextBlock>(&b)) completed_text += t->text;
    }
    ++completions;
  }
  std::optional<perimeter::Caller> preset;
  bool reject = false;
  std::string prepared_principal = "-";
  std::string completed_principal = "-";
  std::string request_id;
  std::string completed_text;
  int completions = 0;
};

TEST(Gateway, HooksSeeTheCallAndTheResponseTheClientGot) {
  for (const char* body : {"m", "m stream"}) {
    Fixture f;
    f.a->script.push_back({std::nullopt, "hello"});
    RecordingHooks hooks;
    hooks.preset = perimeter::Caller{"prn_agent", "agent-1", "agent"};
    FakeResponder res = f.run(body, -1, &hooks);
    EXPECT_EQ(res.status, 200) << body;
    EXPECT_EQ(hooks.prepared_principal, "prn_agent");
    EXPECT_EQ(hooks.request_id, "rid");
    EXPECT_EQ(hooks.completions, 1) << body;
    EXPECT_EQ(hooks.completed_principal, "prn_agent");
    EXPECT_EQ(hooks.completed_text, "hello") << body;
    ASSERT_EQ(f.audit_sink.events.size(), 1U);
    EXPECT_EQ(f.audit_sink.events[0].user_identity.principal_id, "prn_agent");
    ASSERT_EQ(f.audit_sink.events[0].request_parameters.extra.size(), 1U);
    EXPECT_EQ(f.audit_sink.events[0].request_parameters.extra[0].second, "sesn_1");
  }
}

TEST(Gateway, AHookThatRejectsAnswersWithoutCallingAProvider) {
  Fixture f;
  RecordingHooks hooks;
  hooks.reject = true;
  FakeResponder res = f.run("m", -1, &hooks);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, "previous response not found");
  EXPECT_EQ(f.a->calls, 0);
  EXPECT_EQ(hooks.completions, 0);
  EXPECT_EQ(f.audit_sink.events.size(), 1U);
}

TEST(Gateway, UnknownModelIs404AndBadRequestIs400) {
  Fixture f;
  EXPECT_EQ(f.run("nope").status, 404);
  EXPECT_EQ(f.run("").status, 400);
  EXPECT_EQ(f.a->calls, 0);
}

TEST(Gateway, FallsBackOnRetryableErrors) {
  for (ErrorKind kind : {ErrorKind::kUpstreamError, ErrorKind::kUpstreamUnavailable,
                         ErrorKind::kRateLimited, ErrorKind::kUpstreamTimeout}) {
    Fixture f;
    f.a->script.push_back({upstream(kind, "down")});
    f.b->script.push_back({std::nullopt, "from b"});
    FakeResponder res = f.run("m");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, "from b");
  }
}

TEST(Gateway, DoesNotFallBackOnClientErrors) {
  Fixture f;
  f.a->script.push_back({upstream(ErrorKind::kInvalidRequest, "bad field")});
  FakeResponder res = f.run("m");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, "bad field");
  EXPECT_EQ(f.b->calls, 0);
}

TEST(Gateway, RetriesTheSameRouteWithBackoff) {
  Fixture f(/*retries=*/2);
  f.a->script.push_back({upstream(ErrorKind::kUpstreamError, "x")});
  f.a->script.push_back({upstream(ErrorKind::kUpstreamError, "x")});
  f.a->script.push_back({std::nullopt, "third time"});
  FakeResponder res = f.run("m");
  EXPECT_EQ(res.body, "third time");
  EXPECT_EQ(f.a->calls, 3);
}

TEST(Gateway, RateLimitIsNotRetriedInPlace) {
  Fixture f(/*retries=*/2);
  f.a->script.push_back({upstream(ErrorKind::kRateLimited, "slow down")});
  f.run("m");
  EXPECT_EQ(f.a->calls, 1);
  EXPECT_EQ(f.b->calls, 1);
}

TEST(Gateway, LastErrorIsReportedWhenAllRoutesFail) {
  Fixture f;
  f.a->script.push_back({upstream(ErrorKind::kUpstreamError, "a down")});
  f.b->script.push_back({upstream(ErrorKind::kUpstreamTimeout, "b slow")});
  FakeResponder res = f.run("m");
  EXPECT_EQ(res.status, 504);
  EXPECT_EQ(res.body, "b slow");
}

TEST(Gateway, OpenBreakerSkipsTheRoute) {
  Fixture f(/*retries=*/0, /*breaker_failures=*/1);
  f.a->script.push_back({upstream(ErrorKind::kUpstreamError, "down")});
  f.run("m");
  f.run("m");
  f.run("m");
  EXPECT_EQ(f.a->calls, 1);
  EXPECT_EQ(f.b->calls, 3);
}

TEST(Gateway, StreamFallsBackBeforeTheFirstByte) {
  Fixture f;
  f.a->script.push_back({upstream(ErrorKind::kUpstreamError, "down")});
  f.b->script.push_back({std::nullopt, "streamed"});
  FakeResponder res = f.run("m stream");
  EXPECT_TRUE(res.streaming);
  EXPECT_TRUE(res.complete);
  EXPECT_EQ(res.body, "streamed[stop]");
}

TEST(Gateway, StreamFailingMidwayEndsWithTheDoorsErrorFrame) {
  Fixture f;
  f.a->script.push_back({upstream(ErrorKind::kUpstreamError, "cut"), "partial", 3});
  FakeResponder res = f.run("m stream");
  EXPECT_TRUE(res.complete);
  EXPECT_EQ(res.body, "partial[error:cut]");
  EXPECT_EQ(f.b->calls, 0);
}

TEST(Gateway, ClientGoneStopsTheStream) {
  Fixture f;
  f.a->script.push_back({std::nullopt, "text"});
  FakeResponder res = f.run("m stream", /*gone_after_writes=*/1);
  EXPECT_EQ(res.chunks.size(), 1U);
  EXPECT_EQ(f.b->calls, 0);
}

TEST(Gateway, EveryCallIsAuditedWithItsOutcome) {
  Fixture f;
  f.a->script.push_back({std::nullopt, "hello"});
  f.run("m");
  f.run("nope");
  f.run("m stream");
  ASSERT_EQ(f.audit_sink.events.size(), 3U);
  EXPECT_EQ(f.audit_sink.events[0].response_elements.status, 200);
  EXPECT_EQ(f.audit_sink.events[0].request_parameters.model_id, "m");
  EXPECT_EQ(f.audit_sink.events[0].request_id, "rid");
  EXPECT_EQ(f.audit_sink.events[1].response_elements.status, 404);
  EXPECT_EQ(f.audit_sink.events[1].error_code, "model_not_found");
  EXPECT_EQ(f.audit_sink.events[2].request_parameters.stream, true);
  EXPECT_EQ(f.audit_sink.events[2].response_elements.stop_reason, "end_turn");
}

TEST(Gateway, AnswerIsWithheldWhenTheAuditLogFails) {
  Fixture f;
  f.audit_sink.failing = true;
  f.a->script.push_back({std::nullopt, "secret answer"});
  FakeResponder res = f.run("m");
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body.find("secret answer"), std::string::npos);
}

TEST(Gateway, StreamEndIsHeldUntilTheRecordIsWritten) {
  Fixture f;
  f.a->script.push_back({std::nullopt, "text"});
  FakeResponder res = f.run("m stream");
  ASSERT_EQ(f.audit_sink.events.size(), 1U);
  // The stop frame is the last write and comes after the audit record (the fake's append is
  // synchronous, so ordering is observable through the recorded chunks).
  ASSERT_FALSE(res.chunks.empty());
  EXPECT_EQ(res.chunks.back(), "[stop]");
  EXPECT_TRUE(res.complete);
}

}  // namespace
}  // namespace basalt::pipeline
