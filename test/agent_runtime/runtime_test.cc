#include "basalt/agent_runtime/runtime.h"

#include "basalt/agent_runtime/conversation.h"
#include "basalt/agents/agent_store.h"
#include "basalt/api/anthropic/messages_codec.h"
#include "basalt/audit/audit_event.h"
#include "basalt/audit/audit_sink.h"
#include "basalt/sandbox/sandbox.h"
#include "egress/test_servers.h"
#include "storage/temp_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>

namespace basalt::agent_runtime {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using agents::Access;
using agents::AgentStore;
using agents::NewEvent;
using agents::SessionEvent;
using agents::SessionStatus;

/// One scripted model answer: a response, an error, or a call that hangs until cancelled.
struct Turn {
  canonical::ChatResponse response;
  std::optional<Error> error;
  bool hang = false;
};

Turn text(std::string t, std::int64_t in = 10, std::int64_t out = 5) {
  Turn turn;
  turn.response.content.emplace_back(canonical::TextBlock{std::move(t)});
  turn.response.stop_reason = canonical::StopReason::kEndTurn;
  turn.response.usage.input_tokens = in;
  turn.response.usage.output_tokens = out;
  return turn;
}

Turn toolUse(std::string name, std::string input, std::int64_t in = 10, std::int64_t out = 5) {
  Turn turn;
  turn.response.content.emplace_back(canonical::TextBlock{"Using " + name});
  turn.response.content.emplace_back(
      canonical::ToolUseBlock{"toolu_" + name, std::move(name), std::move(input)});
  turn.response.stop_reason = canonical::StopReason::kToolUse;
  turn.response.usage.input_tokens = in;
  turn.response.usage.output_tokens = out;
  return turn;
}

class FakeModel final : public ModelCaller {
 public:
  Task<Result<canonical::ChatResponse>> call(const CallIdentity& who,
                                             canonical::ChatRequest request) override {
    Turn turn;
    {
      std::lock_guard lock(mu);
      requests.push_back(request);
      identities.push_back(who);
      if (script.empty()) {
        turn.error = Error{ErrorKind::kInternal, "script exhausted"};
      } else {
        turn = script.front();
        script.pop_front();
      }
    }
    if (turn.hang) {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(std::chrono::seconds(60));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      Result<canonical::ChatResponse> late = Error{ErrorKind::kUpstreamTimeout, "hung"};
      co_return late;
    }
    if (turn.error) {
      Result<canonical::ChatResponse> failed = *turn.error;
      co_return failed;
    }
    Result<canonical::ChatResponse> ok = turn.response;
    co_return ok;
  }

  std::size_t calls() {
    std::lock_guard lock(mu);
    return requests.size();
  }
  canonical::ChatRequest request(std::size_t i) {
    std::lock_guard lock(mu);
    return requests.at(i);
  }

  std::mutex mu;
  std::deque<Turn> script;
  std::vector<canonical::ChatRequest> requests;
  std::vector<CallIdentity> identities;
};

/// Records audit events; can be told to fail (the audit log is unavailable).
class RecordingAudit final : public audit::AuditSink {
 public:
  void append(audit::AuditEvent event, audit::AppendCallback done) override {
    std::unique_lock lock(mu);
    if (failing) {
      lock.unlock();
      done(Error{ErrorKind::kUpstreamUnavailable, "disk full", {}, "audit_unavailable"});
      return;
    }
    events.push_back(std::move(event));
    const auto n = events.size();
    lock.unlock();
    done(static_cast<std::uint64_t>(n));
  }
  bool healthy() const override { return !failing; }
  std::mutex mu;
  std::vector<audit::AuditEvent> events;
  bool failing = false;
};

std::string textOf(const canonical::Message& m) {
  std::string out;
  for (const auto& b : m.content) {
    if (const auto* t = std::get_if<canonical::TextBlock>(&b)) out += t->text;
  }
  return out;
}

json::object payloadOf(const SessionEvent& e) {
  return json::parse(e.payload).as_object();
}

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : "?";
}

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Sandboxed commands run as an unprivileged uid when the tests run as root: the path to the
    // sandbox root must be searchable.
    ::chmod(dir_.path().c_str(), 0755);
    auto store = AgentStore::open(dir_.file("basalt.db"), dir_.file("vault.key"));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    store_->setAppendListener([this](const std::string&, std::int64_t) {
      std::lock_guard lock(mu_);
      ++appends_;
      cv_.notify_all();
    });
    options_.sandbox_root = dir_.path() / "sandboxes";
    options_.lease_ttl = std::chrono::milliseconds(3000);
    options_.reap_interval = std::chrono::milliseconds(60'000);
    auto env = store_->createDocument(agents::DocKind::kEnvironment, "alice",
                                      R"({"name":"e","config":{"type":"cloud"}})");
    ASSERT_TRUE(env);
    env_id_ = env->id;
  }

  void TearDown() override {
    if (runtime_) runtime_->stop();
    runtime_.reset();
  }

  void startRuntime() {
    RuntimePorts ports;
    ports.store = store_.get();
    ports.models = &model_;
    ports.authorize_tool = authorize_;
    ports.audit = audit_;
    runtime_ = std::make_unique<Runtime>(ports, options_);
    runtime_->start();
  }

  std::string agent(const std::string& tools_json) {
    auto a = store_->createAgent(
        "alice", R"({"name":"a","model":{"id":"claude-test"},"system":"Be brief.","tools":)" +
                     tools_json + "}");
    EXPECT_TRUE(a) << a.error().message;
    return a->id;
  }

  static NewEvent userMessage(const std::string& text) {
    NewEvent e;
    e.type = "user.message";
    e.payload = json::serialize(
        json::object{{"content", json::array{json::object{{"type", "text"}, {"text", text}}}}});
    return e;
  }

  std::string session(const std::string& agent_id, const std::string& first_message,
                      const std::string& body = R"({"metadata":{"end_user":"eve"}})") {
    AgentStore::NewSession ns{"alice", "alice", agent_id, 1, env_id_, body};
    std::vector<NewEvent> initial;
    if (!first_message.empty()) initial.push_back(userMessage(first_message));
    auto s = store_->createSession(ns, initial);
    EXPECT_TRUE(s) << s.error().message;
    if (runtime_ && !first_message.empty()) runtime_->eventsAppended(s->id);
    return s->id;
  }

  void send(const std::string& id, NewEvent e) {
    auto sent = store_->sendUserEvents(alice_, id, {std::move(e)});
    ASSERT_TRUE(sent) << sent.error().message;
    runtime_->eventsAppended(id);
  }

  NewEvent confirmation(const std::string& use_id, bool allow, const std::string& msg = {}) {
    NewEvent e;
    e.type = "user.tool_confirmation";
    json::object p{{"tool_use_id", use_id}, {"result", allow ? "allow" : "deny"}};
    if (!msg.empty()) p["deny_message"] = msg;
    e.payload = json::serialize(p);
    e.ref_id = use_id;
    return e;
  }

  std::vector<SessionEvent> events(const std::string& id) {
    auto e = store_->eventsAfter(id, 0, 10'000);
    EXPECT_TRUE(e);
    return e ? *e : std::vector<SessionEvent>{};
  }

  std::vector<std::string> types(const std::string& id) {
    std::vector<std::string> out;
    for (const SessionEvent& e : events(id)) out.push_back(e.type);
    return out;
  }

  agents::Session sessionNow(const std::string& id) {
    auto s = store_->getSession(Access::rootAccess(), id);
    EXPECT_TRUE(s);
    return s ? *s : agents::Session{};
  }

  /// Waits (bounded) until the session is idle with a stop reason of `type`, at least `count`
  /// idle events in its log, and no lease held.
  bool waitIdle(const std::string& id, const std::string& type, int count = 1,
                std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const bool ok = waitIdleQuiet(id, type, count, limit);
    if (!ok) {
      agents::Session s = sessionNow(id);
      std::string log;
      for (const SessionEvent& e : events(id)) {
        log += e.type + (e.processed_at_ms ? "" : " (queued)") + " " + e.payload + "\n";
      }
      ADD_FAILURE() << "status " << agents::statusName(s.status) << " stop " << s.stop_reason
                    << " lease '" << s.lease_holder << "'\n"
                    << log;
    }
    return ok;
  }

  bool waitIdleQuiet(const std::string& id, const std::string& type, int count,
                     std::chrono::milliseconds limit) {
    return waitFor(
        [&] {
          agents::Session s = sessionNow(id);
          if (s.status != SessionStatus::kIdle || !s.lease_holder.empty()) return false;
          if (s.stop_reason.find("\"" + type + "\"") == std::string::npos) return false;
          int idles = 0;
          for (const SessionEvent& e : events(id)) idles += e.type == "session.status_idle";
          return idles >= count;
        },
        limit);
  }

  bool waitFor(const std::function<bool()>& pred,
               std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::unique_lock lock(mu_);
    for (;;) {
      const std::uint64_t seen = appends_;
      lock.unlock();
      if (pred()) return true;
      lock.lock();
      if (std::chrono::steady_clock::now() >= deadline) return false;
      // Woken by the next append; the timeout covers lease releases (no append).
      cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return appends_ != seen; });
    }
  }

  const SessionEvent* find(const std::vector<SessionEvent>& evs, const std::string& type,
                           int nth = 0) {
    for (const SessionEvent& e : evs) {
      if (e.type == type && nth-- == 0) return &e;
    }
    return nullptr;
  }

  static bool bwrapUsable() {
    static const bool usable = sandbox::Sandbox::probe("/usr/bin/bwrap", 65534, 65534).commands;
    return usable;
  }

  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path workspace(const std::string& id) {
    return options_.sandbox_root / id / "workspace";
  }

  testing::TempDir dir_;
  std::unique_ptr<AgentStore> store_;
  std::string env_id_;
  FakeModel model_;
  RuntimeOptions options_;
  ToolAuthorizer authorize_;
  audit::AuditSink* audit_ = nullptr;
  std::unique_ptr<Runtime> runtime_;
  Access alice_{"alice", false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t appends_ = 0;
};

TEST_F(RuntimeTest, AConversationTurnIsLoggedInOrder) {
  model_.script.push_back(text("Hello Alice!", 12, 4));
  model_.script.push_back(text("Still here.", 20, 3));
  startRuntime();
  const std::string id = session(agent("[]"), "Hi, I am Alice");
  ASSERT_TRUE(waitIdle(id, "end_turn"));

  std::vector<std::string> expected{
      "user.message",  "session.status_running", "span.model_request_start",
      "agent.message", "span.model_request_end", "session.status_idle"};
  EXPECT_EQ(types(id), expected);
  std::vector<SessionEvent> evs = events(id);
  for (const SessionEvent& e : evs) EXPECT_TRUE(e.processed_at_ms.has_value()) << e.type;
  EXPECT_EQ(payloadOf(evs[3]).at("content").as_array()[0].as_object().at("text"), "Hello Alice!");
  json::object end = payloadOf(evs[4]);
  EXPECT_EQ(str(end.at("model_request_start_id")), evs[2].id);
  EXPECT_EQ(end.at("is_error"), false);
  EXPECT_EQ(end.at("model_usage").as_object().at("input_tokens"), 12);
  EXPECT_EQ(payloadOf(evs[5]).at("stop_reason").as_object().at("type"), "end_turn");

  canonical::ChatRequest first = model_.request(0);
  EXPECT_EQ(first.model, "claude-test");
  ASSERT_EQ(first.system.size(), 1U);
  ASSERT_EQ(first.messages.size(), 1U);
  EXPECT_EQ(textOf(first.messages[0]), "Hi, I am Alice");
  EXPECT_TRUE(first.tools.empty());
  EXPECT_EQ(model_.identities.at(0).caller.principal_id, "alice");
  EXPECT_EQ(model_.identities.at(0).session_id, id);
  EXPECT_EQ(model_.identities.at(0).end_user, "eve");

  // A second turn sees the whole conversation.
  send(id, userMessage("What did I say?"));
  ASSERT_TRUE(waitIdle(id, "end_turn", 2));
  canonical::ChatRequest second = model_.request(1);
  ASSERT_EQ(second.messages.size(), 3U);
  EXPECT_EQ(second.messages[1].role, canonical::Role::kAssistant);
  EXPECT_EQ(textOf(second.messages[1]), "Hello Alice!");
  EXPECT_EQ(textOf(second.messages[2]), "What did I say?");

  json::object usage = json::parse(sessionNow(id).usage).as_object();
  EXPECT_EQ(usage.at("input_tokens"), 32);
  EXPECT_EQ(usage.at("output_tokens"), 7);
}

TEST_F(RuntimeTest, CustomToolRoundTrip) {
  model_.script.push_back(toolUse("get_weather", R"({"city":"Paris"})"));
  model_.script.push_back(text("It is sunny in Paris."));
  startRuntime();
  const std::string id = session(
      agent(R"([{"type":"custom","name":"get_weather","description":"Weather",)"
            R"("input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}])"),
      "Weather in Paris?");
  ASSERT_TRUE(waitIdle(id, "requires_action"));
  std::vector<SessionEvent> evs = events(id);
  const SessionEvent* use = find(evs, "agent.custom_tool_use");
  ASSERT_NE(use, nullptr);
  EXPECT_EQ(payloadOf(*use).at("name"), "get_weather");
  EXPECT_EQ(payloadOf(*use).at("input").as_object().at("city"), "Paris");
  json::object idle = payloadOf(*find(evs, "session.status_idle"));
  EXPECT_EQ(str(idle.at("stop_reason").as_object().at("event_ids").as_array()[0]), use->id);
  ASSERT_EQ(model_.request(0).tools.size(), 1U);
  EXPECT_EQ(model_.request(0).tools[0].name, "get_weather");

  NewEvent result;
  result.type = "user.custom_tool_result";
  result.ref_id = use->id;
  result.payload = json::serialize(json::object{
      {"custom_tool_use_id", use->id},
      {"content", json::array{json::object{{"type", "text"}, {"text", "sunny, 24C"}}}}});
  send(id, result);
  ASSERT_TRUE(waitIdle(id, "end_turn"));

  canonical::ChatRequest second = model_.request(1);
  ASSERT_EQ(second.messages.size(), 3U);
  const auto* call = std::get_if<canonical::ToolUseBlock>(&second.messages[1].content.back());
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(call->id, use->id);
  const auto* res = std::get_if<canonical::ToolResultBlock>(&second.messages[2].content[0]);
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->tool_use_id, use->id);
  EXPECT_FALSE(res->is_error);
  EXPECT_EQ(std::get<canonical::TextBlock>(res->content[0]).text, "sunny, 24C");
}

TEST_F(RuntimeTest, AlwaysAskWaitsForConfirmationThenRunsOrDenies) {
  model_.script.push_back(toolUse("write", R"({"file_path":"/workspace/a.txt","content":"A"})"));
  model_.script.push_back(toolUse("write", R"({"file_path":"/workspace/b.txt","content":"B"})"));
  model_.script.push_back(text("Done."));
  startRuntime();
  const std::string id =
      session(agent(R"([{"type":"agent_toolset_20260401",)"
                    R"("default_config":{"permission_policy":{"type":"always_ask"}}}])"),
              "Write two files");
  ASSERT_TRUE(waitIdle(id, "requires_action", 1));
  std::vector<SessionEvent> log1 = events(id);
  const SessionEvent* first = find(log1, "agent.tool_use");
  ASSERT_NE(first, nullptr);
  const std::string first_id = first->id;
  EXPECT_EQ(payloadOf(*first).at("evaluated_permission"), "ask");
  EXPECT_FALSE(std::filesystem::exists(workspace(id) / "a.txt"));
  // The built-in tools were offered.
  std::vector<std::string> names;
  for (const auto& t : model_.request(0).tools) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bash", "read", "write", "edit", "glob", "grep",
                                             "web_fetch"}));

  send(id, confirmation(first_id, true));
  ASSERT_TRUE(waitIdle(id, "requires_action", 2));
  EXPECT_EQ(slurp(workspace(id) / "a.txt"), "A");
  std::vector<SessionEvent> log2 = events(id);
  const SessionEvent* second = find(log2, "agent.tool_use", 1);
  ASSERT_NE(second, nullptr);
  const std::string second_id = second->id;

  send(id, confirmation(second_id, false, "not that one"));
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  EXPECT_FALSE(std::filesystem::exists(workspace(id) / "b.txt"));
  std::vector<SessionEvent> evs = events(id);
  json::object r1 = payloadOf(*find(evs, "agent.tool_result", 0));
  json::object r2 = payloadOf(*find(evs, "agent.tool_result", 1));
  EXPECT_EQ(str(r1.at("tool_use_id")), first_id);
  EXPECT_EQ(r1.at("is_error"), false);
  EXPECT_EQ(str(r2.at("tool_use_id")), second_id);
  EXPECT_EQ(r2.at("is_error"), true);
  EXPECT_NE(json::serialize(r2).find("not that one"), std::string::npos);
  ASSERT_EQ(model_.calls(), 3U);
}

TEST_F(RuntimeTest, ToolDeniedByPolicyIsAnErrorResult) {
  authorize_ = [](const perimeter::Caller&, std::string_view action, std::string_view resource) {
    perimeter::AuthzResult r;
    r.allowed = !(action == "agents:ExecuteTool" &&
                  resource == "arn:basalt:agents:us-east-1:alice:tool/write");
    r.effect = r.allowed ? "Allow" : "ExplicitDeny";
    return r;
  };
  model_.script.push_back(toolUse("write", R"({"file_path":"/workspace/x.txt","content":"X"})"));
  model_.script.push_back(text("Could not."));
  startRuntime();
  const std::string id = session(agent(R"([{"type":"agent_toolset_20260401"}])"), "Write x");
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  json::object r = payloadOf(*find(events(id), "agent.tool_result"));
  EXPECT_EQ(r.at("is_error"), true);
  EXPECT_NE(json::serialize(r).find("not authorized"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(workspace(id) / "x.txt"));
}

TEST_F(RuntimeTest, ToolExecutionsAreAuditedAndFailClosed) {
  RecordingAudit sink;
  audit_ = &sink;
  model_.script.push_back(toolUse("write", R"({"file_path":"/workspace/y.txt","content":"Y"})"));
  model_.script.push_back(toolUse("write", R"({"file_path":"/workspace/z.txt","content":"Z"})"));
  model_.script.push_back(text("Done."));
  startRuntime();
  const std::string agent_id =
      agent(R"([{"type":"agent_toolset_20260401",)"
            R"("default_config":{"permission_policy":{"type":"always_ask"}}}])");
  const std::string id = session(agent_id, "Write y then z");
  ASSERT_TRUE(waitIdle(id, "requires_action", 1));
  send(id, confirmation(find(events(id), "agent.tool_use")->id, true));
  ASSERT_TRUE(waitIdle(id, "requires_action", 2));
  EXPECT_EQ(slurp(workspace(id) / "y.txt"), "Y");
  {
    std::lock_guard lock(sink.mu);
    ASSERT_EQ(sink.events.size(), 1U);
    const audit::AuditEvent& ev = sink.events[0];
    EXPECT_EQ(ev.event_name, "ExecuteTool");
    EXPECT_EQ(ev.user_identity.principal_id, "alice");
    std::map<std::string, std::string> extra(ev.request_parameters.extra.begin(),
                                             ev.request_parameters.extra.end());
    EXPECT_EQ(extra["agentId"], agent_id);
    EXPECT_EQ(extra["sessionId"], id);
    EXPECT_EQ(extra["tool"], "write");
    sink.failing = true;
  }
  // The audit log fails: the second write does not happen.
  send(id, confirmation(find(events(id), "agent.tool_use", 1)->id, true));
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  EXPECT_FALSE(std::filesystem::exists(workspace(id) / "z.txt"));
  json::object r = payloadOf(*find(events(id), "agent.tool_result", 1));
  EXPECT_EQ(r.at("is_error"), true);
  EXPECT_NE(json::serialize(r).find("audit"), std::string::npos);
}

TEST_F(RuntimeTest, BashWritesAFileInTheWorkspace) {
  if (!bwrapUsable()) GTEST_SKIP() << "bubblewrap is not usable here";
  model_.script.push_back(toolUse("bash", R"({"command":"echo hello > out.txt && cat out.txt"})"));
  model_.script.push_back(text("Wrote it."));
  startRuntime();
  const std::string id = session(agent(R"([{"type":"agent_toolset_20260401"}])"), "Run it");
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  EXPECT_EQ(slurp(workspace(id) / "out.txt"), "hello\n");
  json::object r = payloadOf(*find(events(id), "agent.tool_result"));
  EXPECT_EQ(r.at("is_error"), false);
  EXPECT_NE(json::serialize(r).find("hello"), std::string::npos);
  std::vector<std::string> expected{
      "user.message",           "session.status_running",   "span.model_request_start",
      "agent.message",          "agent.tool_use",           "span.model_request_end",
      "agent.tool_result",      "span.model_request_start", "agent.message",
      "span.model_request_end", "session.status_idle"};
  EXPECT_EQ(types(id), expected);
}

TEST_F(RuntimeTest, InterruptStopsAHangingModelCall) {
  Turn hang;
  hang.hang = true;
  model_.script.push_back(hang);
  startRuntime();
  const std::string id = session(agent("[]"), "Think forever");
  ASSERT_TRUE(waitFor([&] { return find(events(id), "span.model_request_start") != nullptr; }));
  const auto t0 = std::chrono::steady_clock::now();
  NewEvent stop;
  stop.type = "user.interrupt";
  send(id, stop);
  ASSERT_TRUE(waitIdle(id, "end_turn", 1, std::chrono::seconds(10)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  std::vector<SessionEvent> evs = events(id);
  json::object end = payloadOf(*find(evs, "span.model_request_end"));
  EXPECT_EQ(end.at("is_error"), true);
  for (const SessionEvent& e : evs) EXPECT_TRUE(e.processed_at_ms.has_value()) << e.type;

  // The session takes the next message normally.
  model_.script.push_back(text("Back."));
  send(id, userMessage("Hello again"));
  ASSERT_TRUE(waitIdle(id, "end_turn", 2));
  EXPECT_EQ(model_.calls(), 2U);
}

TEST_F(RuntimeTest, InterruptKillsARunningCommand) {
  if (!bwrapUsable()) GTEST_SKIP() << "bubblewrap is not usable here";
  model_.script.push_back(toolUse("bash", R"({"command":"touch started; sleep 60"})"));
  startRuntime();
  const std::string id = session(agent(R"([{"type":"agent_toolset_20260401"}])"), "Sleep");
  // The command is running (it touched its marker) before the interrupt is sent.
  ASSERT_TRUE(waitFor([&] { return std::filesystem::exists(workspace(id) / "started"); }));
  const auto t0 = std::chrono::steady_clock::now();
  NewEvent stop;
  stop.type = "user.interrupt";
  send(id, stop);
  ASSERT_TRUE(waitIdle(id, "end_turn", 1, std::chrono::seconds(20)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  std::vector<SessionEvent> evs = events(id);
  const SessionEvent* result = find(evs, "agent.tool_result");
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(payloadOf(*result).at("is_error"), true);
  EXPECT_EQ(model_.calls(), 1U);
}

TEST_F(RuntimeTest, RestartWithAnExpiredLeaseResumesWithoutRerunningAnsweredTools) {
  const std::string agent_id = agent(R"([{"type":"agent_toolset_20260401"}])");
  const std::string id = session(agent_id, "Write two files");
  // What a runtime that died mid-turn left behind: two tool uses, the first answered.
  auto json_event = [](std::string type, json::object p, std::string ref = {}) {
    NewEvent e;
    e.type = std::move(type);
    e.payload = json::serialize(p);
    e.ref_id = std::move(ref);
    e.processed = true;
    return e;
  };
  ASSERT_TRUE(store_->markProcessed(id, 1));
  auto head = store_->appendEvents(
      id,
      {json_event("session.status_running", {}), json_event("span.model_request_start", {}),
       json_event("agent.tool_use",
                  {{"name", "write"},
                   {"input", {{"file_path", "/workspace/a.txt"}, {"content", "A"}}},
                   {"evaluated_permission", "allow"}}),
       json_event("agent.tool_use",
                  {{"name", "write"},
                   {"input", {{"file_path", "/workspace/b.txt"}, {"content", "B"}}},
                   {"evaluated_permission", "allow"}})},
      agents::StatusChange{SessionStatus::kRunning, {}});
  ASSERT_TRUE(head);
  const std::string use_a = (*head)[2].id;
  const std::string use_b = (*head)[3].id;
  ASSERT_TRUE(store_->appendEvents(
      id, {json_event("agent.tool_result",
                      {{"tool_use_id", use_a},
                       {"content", json::array{{{"type", "text"}, {"text", "wrote a"}}}},
                       {"is_error", false}},
                      use_a)}));
  // The dead holder's lease has expired.
  ASSERT_TRUE(store_->claimLease(id, "rt_dead", std::chrono::milliseconds(0)).value());

  model_.script.push_back(text("Both written."));
  startRuntime();  // start() reaps
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  EXPECT_FALSE(std::filesystem::exists(workspace(id) / "a.txt"));  // answered: not re-run
  EXPECT_EQ(slurp(workspace(id) / "b.txt"), "B");                  // unanswered: run now
  std::vector<SessionEvent> evs = events(id);
  EXPECT_NE(find(evs, "session.status_rescheduled"), nullptr);
  int results = 0;
  for (const SessionEvent& e : evs) results += e.type == "agent.tool_result";
  EXPECT_EQ(results, 2);
  // The span the dead holder opened was closed as failed before the new call.
  EXPECT_EQ(str(payloadOf(*find(evs, "span.model_request_end")).at("model_request_start_id")),
            (*head)[1].id);
  canonical::ChatRequest req = model_.request(0);
  ASSERT_EQ(req.messages.size(), 3U);
  ASSERT_EQ(req.messages[2].content.size(), 2U);
  EXPECT_EQ(std::get<canonical::ToolResultBlock>(req.messages[2].content[0]).tool_use_id, use_a);
  EXPECT_EQ(std::get<canonical::ToolResultBlock>(req.messages[2].content[1]).tool_use_id, use_b);
}

TEST_F(RuntimeTest, StartPicksUpIdleSessionsWithQueuedEvents) {
  // Persisted while no runtime was listening (the wake-up was lost).
  model_.script.push_back(text("Answered after the restart."));
  const std::string id = session(agent("[]"), "Anyone there?");
  startRuntime();
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  EXPECT_EQ(model_.calls(), 1U);
}

TEST_F(RuntimeTest, TokenBudgetEndsTheRun) {
  options_.max_session_tokens = 100;
  model_.script.push_back(
      toolUse("write", R"({"file_path":"/workspace/a.txt","content":"A"})", 90, 20));
  model_.script.push_back(text("never"));
  startRuntime();
  const std::string id = session(agent(R"([{"type":"agent_toolset_20260401"}])"), "Go");
  ASSERT_TRUE(waitIdle(id, "budget_reached"));
  EXPECT_EQ(model_.calls(), 1U);
  EXPECT_NE(find(events(id), "agent.tool_result"), nullptr);
  // Later messages hit the budget at once, without a model call.
  send(id, userMessage("more"));
  ASSERT_TRUE(waitIdle(id, "budget_reached", 2));
  EXPECT_EQ(model_.calls(), 1U);
}

TEST_F(RuntimeTest, ModelErrorBecomesSessionError) {
  Turn denied;
  denied.error = Error{ErrorKind::kPermissionDenied, "not authorized to invoke claude-test"};
  model_.script.push_back(denied);
  startRuntime();
  const std::string id = session(agent("[]"), "Hi");
  ASSERT_TRUE(waitIdle(id, "retries_exhausted"));
  std::vector<SessionEvent> evs = events(id);
  const SessionEvent* err = find(evs, "session.error");
  ASSERT_NE(err, nullptr);
  json::object e = payloadOf(*err).at("error").as_object();
  EXPECT_EQ(e.at("type"), "model_request_failed_error");
  EXPECT_NE(std::string(e.at("message").as_string()).find("not authorized"), std::string::npos);
  EXPECT_EQ(payloadOf(*find(evs, "span.model_request_end")).at("is_error"), true);
}

TEST_F(RuntimeTest, MessageSentWhileRunningIsHandledAfterTheTurn) {
  Turn slow = toolUse("get", R"({})");
  model_.script.push_back(slow);
  model_.script.push_back(text("First answer."));
  model_.script.push_back(text("Second answer."));
  startRuntime();
  const std::string id = session(
      agent(R"([{"type":"custom","name":"get","input_schema":{"type":"object"}}])"), "First");
  ASSERT_TRUE(waitIdle(id, "requires_action"));
  const std::string use_id = find(events(id), "agent.custom_tool_use")->id;
  // A message while the turn waits on the tool result: queued behind the turn.
  send(id, userMessage("Second"));
  NewEvent result;
  result.type = "user.custom_tool_result";
  result.ref_id = use_id;
  result.payload = json::serialize(
      json::object{{"custom_tool_use_id", use_id},
                   {"content", json::array{json::object{{"type", "text"}, {"text", "got"}}}}});
  send(id, result);
  ASSERT_TRUE(waitIdle(id, "end_turn", 3));
  ASSERT_EQ(model_.calls(), 3U);
  canonical::ChatRequest second = model_.request(1);
  EXPECT_EQ(textOf(second.messages.back()), "");  // the tool result, not "Second"
  canonical::ChatRequest third = model_.request(2);
  EXPECT_EQ(textOf(third.messages.back()), "Second");
  EXPECT_EQ(textOf(third.messages[third.messages.size() - 2]), "First answer.");
}

TEST_F(RuntimeTest, MemoryStoreIsMountedAndChangesBecomeVersions) {
  auto ms = store_->createDocument(agents::DocKind::kMemoryStore, "alice", R"({"name":"notes"})");
  ASSERT_TRUE(ms);
  ASSERT_TRUE(store_->createMemory(alice_, ms->id, "/todo.md", "buy milk", R"({"type":"t"})"));
  model_.script.push_back(toolUse("read", R"({"file_path":"/mnt/memory/notes/todo.md"})"));
  model_.script.push_back(
      toolUse("write", R"({"file_path":"/mnt/memory/notes/done.md","content":"milk bought"})"));
  model_.script.push_back(text("Noted."));
  startRuntime();
  const std::string body = R"({"resources":[{"type":"memory_store","memory_store_id":")" + ms->id +
                           R"(","access":"read_write","mount_path":"/mnt/memory/notes"}]})";
  const std::string id = session(agent(R"([{"type":"agent_toolset_20260401"}])"), "Notes?", body);
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  json::object read = payloadOf(*find(events(id), "agent.tool_result", 0));
  EXPECT_NE(json::serialize(read).find("buy milk"), std::string::npos) << json::serialize(read);
  auto done = store_->getMemoryByPath(alice_, ms->id, "/done.md");
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->content, "milk bought");
}

std::string joinedText(const canonical::ChatRequest& r) {
  std::string out;
  for (const canonical::Message& m : r.messages) out += textOf(m) + "\n";
  return out;
}

/// Three turns of ~400 estimated tokens each against a 1,000-token budget: the third call
/// drops the first two turns (the summary's reserve is min(2048, 8192, 1000 / 4) = 250).
class CompactionTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    options_.context_token_budget = 1000;
  }
  std::string runThreeTurns(Turn summary) {
    model_.script.push_back(text("ok 0"));
    model_.script.push_back(text("ok 1"));
    model_.script.push_back(std::move(summary));
    model_.script.push_back(text("ok 2"));
    startRuntime();
    const std::string id = session(agent("[]"), "one " + big_);
    EXPECT_TRUE(waitIdle(id, "end_turn", 1));
    send(id, userMessage("two " + big_));
    EXPECT_TRUE(waitIdle(id, "end_turn", 2));
    send(id, userMessage("three " + big_));
    EXPECT_TRUE(waitIdle(id, "end_turn", 3));
    return id;
  }
  std::int64_t seqOfUserMessage(const std::string& id, const std::string& prefix) {
    for (const SessionEvent& e : events(id)) {
      if (e.type == "user.message" && e.payload.find("\"" + prefix) != std::string::npos) {
        return e.seq;
      }
    }
    return -1;
  }
  const std::string big_ = std::string(1600, 'x');
};

TEST_F(CompactionTest, DroppedTurnsAreSummarizedAndTheSummaryLeadsTheContext) {
  Turn summary = text("SUMMARY: the user sent 'one' and 'two'; the agent said ok.", 300, 20);
  const std::string id = runThreeTurns(summary);
  ASSERT_EQ(model_.calls(), 4U);
  EXPECT_EQ(model_.identities.at(1).purpose, "");

  // The summarization call: the agent's model, no tools, bounded max_tokens, and the dropped
  // turns (both sides) as a transcript; not the kept turn.
  canonical::ChatRequest sum = model_.request(2);
  EXPECT_EQ(sum.model, "claude-test");
  EXPECT_TRUE(sum.tools.empty());
  EXPECT_EQ(sum.max_tokens.value_or(0), 250);
  ASSERT_EQ(sum.messages.size(), 1U);
  const std::string transcript = textOf(sum.messages[0]);
  EXPECT_NE(transcript.find("User: one xxxx"), std::string::npos) << transcript;
  EXPECT_NE(transcript.find("Assistant: ok 0"), std::string::npos);
  EXPECT_NE(transcript.find("User: two xxxx"), std::string::npos);
  EXPECT_NE(transcript.find("Assistant: ok 1"), std::string::npos);
  EXPECT_EQ(transcript.find("three"), std::string::npos);
  EXPECT_EQ(transcript.find("<previous_summary>"), std::string::npos);
  EXPECT_LE(api::anthropic::estimateInputTokens(sum), options_.context_token_budget);
  EXPECT_EQ(model_.identities.at(2).purpose, "compaction");
  EXPECT_EQ(model_.identities.at(2).caller.principal_id, "alice");
  EXPECT_EQ(model_.identities.at(2).session_id, id);

  // The compaction event carries the summary, persisted before the call that uses it, between
  // the summary call's span and the next call's.
  std::vector<SessionEvent> evs = events(id);
  const SessionEvent* compacted = find(evs, "agent.thread_context_compacted");
  ASSERT_NE(compacted, nullptr);
  EXPECT_EQ(find(evs, "agent.thread_context_compacted", 1), nullptr);
  json::object cp = payloadOf(*compacted);
  EXPECT_EQ(cp.at("first_kept_seq"), seqOfUserMessage(id, "three"));
  EXPECT_EQ(str(cp.at("summary")), "SUMMARY: the user sent 'one' and 'two'; the agent said ok.");
  const SessionEvent* sum_end = find(evs, "span.model_request_end", 2);
  const SessionEvent* next_start = find(evs, "span.model_request_start", 3);
  ASSERT_NE(sum_end, nullptr);
  ASSERT_NE(next_start, nullptr);
  EXPECT_LT(sum_end->seq, compacted->seq);
  EXPECT_LT(compacted->seq, next_start->seq);
  json::object se = payloadOf(*sum_end);
  EXPECT_EQ(se.at("is_error"), false);
  EXPECT_EQ(se.at("model_usage").as_object().at("input_tokens"), 300);
  EXPECT_EQ(str(se.at("model_request_start_id")), find(evs, "span.model_request_start", 2)->id);

  // The next call starts with the summary, merged into the first kept user message, and no
  // longer holds the dropped turns.
  canonical::ChatRequest next = model_.request(3);
  ASSERT_EQ(next.messages.size(), 1U);
  ASSERT_EQ(next.messages[0].role, canonical::Role::kUser);
  ASSERT_EQ(next.messages[0].content.size(), 2U);
  EXPECT_EQ(std::get<canonical::TextBlock>(next.messages[0].content[0]).text,
            "Summary of the earlier part of this session:\n"
            "SUMMARY: the user sent 'one' and 'two'; the agent said ok.");
  EXPECT_EQ(std::get<canonical::TextBlock>(next.messages[0].content[1]).text.substr(0, 6),
            "three ");
  const std::string all = joinedText(next);
  EXPECT_EQ(all.find("one x"), std::string::npos);
  EXPECT_EQ(all.find("two x"), std::string::npos);
  EXPECT_EQ(all.find("ok 0"), std::string::npos);

  // The summary call's tokens are session usage.
  json::object usage = json::parse(sessionNow(id).usage).as_object();
  EXPECT_EQ(usage.at("input_tokens"), 10 + 10 + 300 + 10);
  EXPECT_EQ(usage.at("output_tokens"), 5 + 5 + 20 + 5);

  // A restarted runtime reuses the persisted summary and does not summarize again.
  runtime_->stop();
  runtime_.reset();
  model_.script.push_back(text("ok 3"));
  startRuntime();
  send(id, userMessage("four " + big_));
  ASSERT_TRUE(waitIdle(id, "end_turn", 4));
  ASSERT_EQ(model_.calls(), 5U);
  EXPECT_EQ(model_.identities.at(4).purpose, "");
  canonical::ChatRequest after = model_.request(4);
  ASSERT_EQ(after.messages.size(), 3U);
  EXPECT_EQ(std::get<canonical::TextBlock>(after.messages[0].content[0]).text,
            "Summary of the earlier part of this session:\n"
            "SUMMARY: the user sent 'one' and 'two'; the agent said ok.");
  EXPECT_EQ(textOf(after.messages[2]).substr(0, 5), "four ");
  EXPECT_EQ(find(events(id), "agent.thread_context_compacted", 1), nullptr);
}

TEST_F(CompactionTest, ALaterCompactionMergesThePreviousSummary) {
  const std::string id = runThreeTurns(text("SUMMARY-1"));
  // Turn four fits (three + four + the summary); turn five drops three and four.
  model_.script.push_back(text("ok 3"));
  model_.script.push_back(text("SUMMARY-2"));
  model_.script.push_back(text("ok 4"));
  send(id, userMessage("four " + big_));
  ASSERT_TRUE(waitIdle(id, "end_turn", 4));
  send(id, userMessage("five " + big_));
  ASSERT_TRUE(waitIdle(id, "end_turn", 5));
  ASSERT_EQ(model_.calls(), 7U);
  const std::string transcript = textOf(model_.request(5).messages.at(0));
  EXPECT_NE(transcript.find("<previous_summary>\nSUMMARY-1\n</previous_summary>"),
            std::string::npos)
      << transcript;
  EXPECT_NE(transcript.find("User: three xxx"), std::string::npos);
  EXPECT_NE(transcript.find("User: four xxx"), std::string::npos);
  EXPECT_EQ(transcript.find("User: two"), std::string::npos);  // already summarized
  json::object cp = payloadOf(*find(events(id), "agent.thread_context_compacted", 1));
  EXPECT_EQ(str(cp.at("summary")), "SUMMARY-2");
  EXPECT_EQ(cp.at("first_kept_seq"), seqOfUserMessage(id, "five"));
  canonical::ChatRequest last = model_.request(6);
  ASSERT_EQ(last.messages.size(), 1U);
  EXPECT_EQ(textOf(last.messages[0]).substr(0, 54),
            "Summary of the earlier part of this session:\nSUMMARY-2");
}

TEST_F(CompactionTest, ASummaryFailureFallsBackToDropOnly) {
  Turn failing;
  failing.error = Error{ErrorKind::kUpstreamUnavailable, "overloaded"};
  const std::string id = runThreeTurns(failing);
  ASSERT_EQ(model_.calls(), 4U);
  EXPECT_EQ(model_.identities.at(2).purpose, "compaction");
  std::vector<SessionEvent> evs = events(id);
  // The turn went on: no session.error, the compaction recorded without a summary.
  EXPECT_EQ(find(evs, "session.error"), nullptr);
  const SessionEvent* compacted = find(evs, "agent.thread_context_compacted");
  ASSERT_NE(compacted, nullptr);
  json::object cp = payloadOf(*compacted);
  EXPECT_EQ(cp.at("first_kept_seq"), seqOfUserMessage(id, "three"));
  EXPECT_EQ(cp.if_contains("summary"), nullptr);
  EXPECT_EQ(payloadOf(*find(evs, "span.model_request_end", 2)).at("is_error"), true);
  canonical::ChatRequest next = model_.request(3);
  ASSERT_EQ(next.messages.size(), 1U);
  ASSERT_EQ(next.messages[0].content.size(), 1U);
  EXPECT_EQ(textOf(next.messages[0]).substr(0, 6), "three ");
}

TEST_F(CompactionTest, AnInterruptDuringTheSummaryCompactsNothing) {
  Turn hang;
  hang.hang = true;
  model_.script.push_back(text("ok 0"));
  model_.script.push_back(text("ok 1"));
  model_.script.push_back(hang);
  startRuntime();
  const std::string id = session(agent("[]"), "one " + big_);
  ASSERT_TRUE(waitIdle(id, "end_turn", 1));
  send(id, userMessage("two " + big_));
  ASSERT_TRUE(waitIdle(id, "end_turn", 2));
  send(id, userMessage("three " + big_));
  ASSERT_TRUE(waitFor([&] { return model_.calls() == 3U; }));
  NewEvent stop;
  stop.type = "user.interrupt";
  send(id, stop);
  ASSERT_TRUE(waitIdle(id, "end_turn", 3, std::chrono::seconds(10)));
  std::vector<SessionEvent> evs = events(id);
  EXPECT_EQ(find(evs, "agent.thread_context_compacted"), nullptr);
  EXPECT_EQ(payloadOf(*find(evs, "span.model_request_end", 2)).at("is_error"), true);
  EXPECT_EQ(model_.calls(), 3U);
  EXPECT_EQ(model_.identities.at(2).purpose, "compaction");
}

TEST_F(CompactionTest, DropOnlyWhenSummariesAreOff) {
  options_.compaction_summary_max_tokens = 0;
  model_.script.push_back(text("ok 0"));
  model_.script.push_back(text("ok 1"));
  model_.script.push_back(text("ok 2"));
  startRuntime();
  const std::string id = session(agent("[]"), "one " + big_);
  ASSERT_TRUE(waitIdle(id, "end_turn", 1));
  send(id, userMessage("two " + big_));
  ASSERT_TRUE(waitIdle(id, "end_turn", 2));
  send(id, userMessage("three " + big_));
  ASSERT_TRUE(waitIdle(id, "end_turn", 3));
  ASSERT_EQ(model_.calls(), 3U);
  std::vector<SessionEvent> evs = events(id);
  const SessionEvent* compacted = find(evs, "agent.thread_context_compacted");
  ASSERT_NE(compacted, nullptr);
  EXPECT_EQ(payloadOf(*compacted).if_contains("summary"), nullptr);
  canonical::ChatRequest last = model_.request(2);
  ASSERT_FALSE(last.messages.empty());
  EXPECT_EQ(last.messages.front().role, canonical::Role::kUser);
  EXPECT_EQ(textOf(last.messages.back()).substr(0, 5), "three");
  EXPECT_LT(last.messages.size(), 5U);
}

// ---- the pure log reading ------------------------------------------------------------------

TEST_F(RuntimeTest, LimitedNetworkingGoesThroughTheAuditedEgressProxy) {
  if (!bwrapUsable()) GTEST_SKIP() << "bubblewrap is not usable here";
  egress::testing::Origin origin;
  auto env = store_->createDocument(
      agents::DocKind::kEnvironment, "alice",
      R"({"name":"l","config":{"type":"cloud","networking":{"type":"limited",)"
      R"("allowed_hosts":["localhost"],"allow_mcp_servers":false,"allow_package_managers":false}}})");
  ASSERT_TRUE(env);
  env_id_ = env->id;
  RecordingAudit sink;
  audit_ = &sink;
  const std::string port = std::to_string(origin.port());
  const std::string command = "curl -sS --max-time 10 http://localhost:" + port +
                              "/; echo; curl -sS --max-time 10 http://127.0.0.1:" + port + "/";
  model_.script.push_back(toolUse("bash", json::serialize(json::object{{"command", command}})));
  model_.script.push_back(toolUse("web_fetch", R"({"url":"http://127.0.0.1:)" + port + R"(/"})"));
  model_.script.push_back(text("Done."));
  startRuntime();
  const std::string id = session(agent(R"([{"type":"agent_toolset_20260401"}])"), "Fetch");
  ASSERT_TRUE(waitIdle(id, "end_turn"));
  const std::string out = json::serialize(payloadOf(*find(events(id), "agent.tool_result")));
  EXPECT_NE(out.find("hello from origin"), std::string::npos) << out;
  EXPECT_NE(out.find("host '127.0.0.1' is not in this environment's allowed_hosts"),
            std::string::npos)
      << out;
  json::object fetch = payloadOf(*find(events(id), "agent.tool_result", 1));
  EXPECT_EQ(fetch.at("is_error"), true);
  EXPECT_NE(json::serialize(fetch).find("not in this environment's allowed_hosts"),
            std::string::npos);
  EXPECT_EQ(origin.accepted(), 1);
  std::lock_guard lock(sink.mu);
  std::vector<const audit::AuditEvent*> egress;
  for (const audit::AuditEvent& ev : sink.events) {
    if (ev.event_name == "EgressConnect") egress.push_back(&ev);
  }
  ASSERT_EQ(egress.size(), 2U);
  std::map<std::string, std::string> allowed(egress[0]->request_parameters.extra.begin(),
                                             egress[0]->request_parameters.extra.end());
  EXPECT_EQ(allowed["sessionId"], id);
  EXPECT_EQ(allowed["host"], "localhost");
  EXPECT_EQ(allowed["port"], port);
  EXPECT_EQ(egress[0]->user_identity.principal_id, "alice");
  EXPECT_EQ(egress[0]->error_code, "");
  EXPECT_EQ(egress[1]->error_code, "EgressDenied");
  EXPECT_EQ(egress[1]->response_elements.status, 403);
}

TEST(ConversationTest, DeferredMessagesFollowTheTurnClose) {
  auto ev = [](std::int64_t seq, std::string type, std::string payload = "{}") {
    SessionEvent e;
    e.seq = seq;
    e.id = "sevt_" + std::to_string(seq);
    e.type = std::move(type);
    e.payload = std::move(payload);
    return e;
  };
  std::vector<SessionEvent> log{
      ev(1, "user.message"), ev(2, "session.status_running"), ev(3, "user.message"),
      ev(4, "agent.message"),
      ev(5, "session.status_idle", R"({"stop_reason":{"type":"end_turn"}})")};
  LogView v = readLog(log);
  EXPECT_TRUE(v.open);
  ASSERT_EQ(v.effective.size(), 5U);
  EXPECT_EQ(v.effective.back()->seq, 3);
  EXPECT_EQ(v.turn_begin, 4U);
  EXPECT_TRUE(v.deferred.empty());
}

TEST(ConversationTest, CapOutputCutsOnACharacterBoundary) {
  std::string s =
      "ab\xC3\xA9"
      "cd";  // "abécd"
  std::string capped = capOutput(s, 3);
  EXPECT_EQ(capped.substr(0, 2), "ab");
  EXPECT_NE(capped.find("truncated"), std::string::npos);
  EXPECT_EQ(capOutput("short", 10), "short");
}

TEST(ConversationTest, TheSummaryIsMergedIntoTheFirstKeptUserMessage) {
  auto ev = [](std::int64_t seq, std::string type, std::string payload = "{}") {
    SessionEvent e;
    e.seq = seq;
    e.id = "sevt_" + std::to_string(seq);
    e.type = std::move(type);
    e.payload = std::move(payload);
    return e;
  };
  const std::string idle = R"({"stop_reason":{"type":"end_turn"}})";
  std::vector<SessionEvent> log{
      ev(1, "user.message", R"({"content":[{"type":"text","text":"old question"}]})"),
      ev(2, "agent.message", R"({"content":[{"type":"text","text":"old answer"}]})"),
      ev(3, "session.status_idle", idle),
      ev(4, "user.message", R"({"content":[{"type":"text","text":"new question"}]})")};
  AgentConfig config;
  config.model = "m";
  BuildOptions o;
  o.first_kept_seq = 4;
  o.summary = "S1";
  BuiltRequest b = buildRequest(config, readLog(log), log, o);
  EXPECT_FALSE(b.compacted);
  ASSERT_EQ(b.request.messages.size(), 1U);
  ASSERT_EQ(b.request.messages[0].content.size(), 2U);
  EXPECT_EQ(std::get<canonical::TextBlock>(b.request.messages[0].content[0]).text,
            summaryBlockText("S1"));
  EXPECT_EQ(std::get<canonical::TextBlock>(b.request.messages[0].content[1]).text, "new question");

  // From the start (no compaction point), a summary is not applied.
  o.first_kept_seq = 0;
  BuiltRequest all = buildRequest(config, readLog(log), log, o);
  ASSERT_EQ(all.request.messages.size(), 3U);
  EXPECT_EQ(textOf(all.request.messages[0]), "old question");

  // Dropping reports what was dropped and keeps room for the new summary.
  o.context_token_budget = 1;
  o.summary_reserve_tokens = 100;
  BuiltRequest cut = buildRequest(config, readLog(log), log, o);
  EXPECT_TRUE(cut.compacted);
  EXPECT_EQ(cut.first_kept_seq, 4);
  ASSERT_EQ(cut.dropped.size(), 2U);
  EXPECT_EQ(textOf(cut.dropped[0]), "old question");
  EXPECT_EQ(textOf(cut.dropped[1]), "old answer");
  EXPECT_GE(cut.estimated_tokens, 100);
}

TEST(ConversationTest, ASummaryRequestKeepsTheMostRecentPartThatFits) {
  AgentConfig config;
  config.model = "m";
  std::vector<canonical::Message> dropped;
  for (int i = 0; i < 60; ++i) {
    canonical::Message m;
    m.role = i % 2 == 0 ? canonical::Role::kUser : canonical::Role::kAssistant;
    m.content.emplace_back(
        canonical::TextBlock{"m" + std::to_string(i) + " " + std::string(600, 'y')});
    dropped.push_back(std::move(m));
  }
  canonical::Message tool;
  tool.role = canonical::Role::kAssistant;
  tool.content.emplace_back(canonical::ToolUseBlock{"sevt_9", "bash", R"({"command":"ls /src"})"});
  dropped.push_back(tool);
  canonical::Message result;
  result.role = canonical::Role::kUser;
  canonical::ToolResultBlock r;
  r.tool_use_id = "sevt_9";
  r.content.emplace_back(canonical::TextBlock{"main.cc " + std::string(50'000, 'z')});
  result.content.emplace_back(std::move(r));
  dropped.push_back(result);

  SummaryOptions o;
  o.max_tokens = 300;
  o.input_token_budget = 4000;
  SummaryRequest s = summaryRequest(config, "PREVIOUS", dropped, o);
  EXPECT_LE(api::anthropic::estimateInputTokens(s.request), 4000);
  EXPECT_GT(s.omitted_bytes, 0U);
  EXPECT_EQ(s.request.max_tokens.value_or(0), 300);
  EXPECT_TRUE(s.request.tools.empty());
  const std::string text = textOf(s.request.messages.at(0));
  EXPECT_NE(text.find("<previous_summary>\nPREVIOUS\n</previous_summary>"), std::string::npos);
  EXPECT_NE(text.find("Assistant called tool bash: {\"command\":\"ls /src\"}"), std::string::npos);
  EXPECT_NE(text.find("Tool result: main.cc zzz"), std::string::npos);  // head of a capped block
  EXPECT_NE(text.find("Assistant: m59 "), std::string::npos);           // the most recent
  EXPECT_EQ(text.find("User: m0 "), std::string::npos);                 // the oldest: omitted
  EXPECT_NE(text.find("bytes are omitted"), std::string::npos);
}

TEST(ConversationTest, SummaryTextIsTrimmedAndCapped) {
  canonical::ChatResponse r;
  r.content.emplace_back(canonical::TextBlock{"  first\n"});
  r.content.emplace_back(canonical::ToolUseBlock{"t", "bash", "{}"});
  r.content.emplace_back(canonical::TextBlock{"second \xC3\xA9\n"});
  EXPECT_EQ(summaryText(r, 1000), "first\n\nsecond \xC3\xA9");
  EXPECT_EQ(summaryText(r, 15), "first\n\nsecond ");  // not half of the é
  EXPECT_EQ(summaryText(canonical::ChatResponse{}, 100), "");
}

}  // namespace
}  // namespace basalt::agent_runtime
