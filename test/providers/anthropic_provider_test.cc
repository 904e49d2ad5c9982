#include "basalt/providers/anthropic/anthropic_provider.h"

#include "basalt/canonical/stream_event.h"
#include "basalt/mock/mock_upstream.h"
#include "fakes/fake_responder.h"
#include "fakes/fake_upstream.h"
#include "providers/run_task.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>

#include <string>
#include <vector>

namespace basalt::providers::anthropic {
namespace {

namespace asio = boost::asio;
using basalt::testing::FakeReply;
using basalt::testing::FakeRequest;
using basalt::testing::FakeUpstream;
using basalt::testing::runTask;
using canonical::StreamEvent;
using namespace std::chrono_literals;

constexpr std::string_view kMessage = R"({
  "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-up",
  "content": [{"type": "text", "text": "Hello there"},
              {"type": "tool_use", "id": "toolu_9", "name": "f", "input": {"a": 1}}],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 5}})";

std::string sseFrame(std::string_view event, std::string_view data) {
  return "event: " + std::string(event) + "\ndata: " + std::string(data) + "\n\n";
}

/// text, a tool call in pieces, message_delta with usage, message_stop.
std::string streamBody(bool with_stop = true) {
  std::string b;
  b += sseFrame("message_start",
                R"({"type":"message_start","message":{"id":"msg_s","type":"message",)"
                R"("role":"assistant","content":[],"model":"claude-up","stop_reason":null,)"
                R"("usage":{"input_tokens":12,"cache_read_input_tokens":3,"output_tokens":1}}})");
  b += sseFrame("ping", R"({"type":"ping"})");
  b += sseFrame(
      "content_block_start",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  b += sseFrame(
      "content_block_delta",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}})");
  b += sseFrame(
      "content_block_delta",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}})");
  b += sseFrame("content_block_stop", R"({"type":"content_block_stop","index":0})");
  b += sseFrame("content_block_start",
                R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use",)"
                R"("id":"toolu_1","name":"get_weather","input":{}}})");
  b += sseFrame("content_block_delta",
                R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta",)"
                R"("partial_json":"{\"loc\":"}})");
  b += sseFrame("content_block_delta",
                R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta",)"
                R"("partial_json":"\"Paris\"}"}})");
  b += sseFrame("content_block_stop", R"({"type":"content_block_stop","index":1})");
  b +=
      sseFrame("message_delta",
               R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},)"
               R"("usage":{"output_tokens":34}})");
  if (with_stop) b += sseFrame("message_stop", R"({"type":"message_stop"})");
  return b;
}

std::vector<std::string> pieces(const std::string& text, std::size_t size) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size(); i += size) out.push_back(text.substr(i, size));
  return out;
}

FakeReply sse(std::vector<std::string> chunks) {
  FakeReply r;
  r.headers.push_back({"content-type", "text/event-stream"});
  r.chunks = std::move(chunks);
  return r;
}

FakeReply json(int status, std::string body, Headers extra = {}) {
  FakeReply r;
  r.status = status;
  r.headers = std::move(extra);
  r.headers.push_back({"content-type", "application/json"});
  r.body = std::move(body);
  return r;
}

class RecordingSink final : public StreamSink {
 public:
  explicit RecordingSink(int stop_after = -1) : stop_after_(stop_after) {}
  Task<bool> onEvent(const StreamEvent& event) override {
    events.push_back(event);
    accumulator.add(event);
    co_return stop_after_ < 0 || static_cast<int>(events.size()) < stop_after_;
  }
  std::vector<StreamEvent> events;
  canonical::StreamAccumulator accumulator;

 private:
  int stop_after_;
};

config::ProviderSettings settingsFor(const FakeUpstream& fake, std::string path = "",
                                     std::string key = "sk-ant") {
  config::ProviderSettings s;
  s.name = "fake-anthropic";
  s.type = "anthropic";
  s.base_url = fake.url(path);
  s.api_key = std::move(key);
  return s;
}

std::unique_ptr<Provider> providerFor(const FakeUpstream& fake, std::string path = "",
                                      std::string key = "sk-ant") {
  Result<std::unique_ptr<Provider>> p =
      makeAnthropicProvider(settingsFor(fake, std::move(path), std::move(key)), {});
  EXPECT_TRUE(p);
  return std::move(*p);
}

canonical::ChatRequest request(bool stream = false,
                               canonical::Door door = canonical::Door::kOpenAIChat) {
  canonical::ChatRequest r;
  r.model = "client-model";
  r.door = door;
  r.stream = stream;
  canonical::Message m;
  m.role = canonical::Role::kUser;
  m.content.emplace_back(canonical::TextBlock{"Hi"});
  r.messages.push_back(std::move(m));
  return r;
}

CallOptions options(std::chrono::milliseconds timeout = 5000ms) {
  CallOptions o;
  o.upstream_model = "claude-up";
  o.timeout = timeout;
  o.request_id = "req-42";
  return o;
}

Result<void> runStream(Provider& provider, StreamSink& sink,
                       const canonical::ChatRequest& req = request(true)) {
  asio::io_context ioc;
  return runTask(ioc, provider.stream(req, options(), sink));
}

Result<canonical::ChatResponse> runComplete(Provider& provider,
                                            const canonical::ChatRequest& req = request()) {
  asio::io_context ioc;
  return runTask(ioc, provider.complete(req, options()));
}

TEST(AnthropicProvider, CompleteSendsHeadersAndDecodesTheAnswer) {
  FakeUpstream fake([](const FakeRequest&) { return json(200, std::string(kMessage)); });
  auto provider = providerFor(fake);
  EXPECT_EQ(provider->name(), "fake-anthropic");
  EXPECT_EQ(provider->vendor(), canonical::Vendor::kAnthropic);

  canonical::ChatRequest req = request();
  Result<canonical::ChatResponse> res = runComplete(*provider, req);
  ASSERT_TRUE(res) << res.error().message;
  ASSERT_EQ(res->content.size(), 2U);
  EXPECT_EQ(std::get<canonical::TextBlock>(res->content[0]).text, "Hello there");
  EXPECT_EQ(std::get<canonical::ToolUseBlock>(res->content[1]).id, "toolu_9");
  EXPECT_EQ(res->usage.input_tokens, 115);  // cache reads and writes counted in
  EXPECT_EQ(res->usage.cache_read_tokens, 100);
  EXPECT_EQ(res->usage.cache_write_tokens, 5);
  EXPECT_EQ(res->stop_reason, canonical::StopReason::kToolUse);

  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1U);
  const FakeRequest& sent = requests[0];
  EXPECT_EQ(sent.target, "/v1/messages");
  ASSERT_NE(sent.header("x-api-key"), nullptr);
  EXPECT_EQ(*sent.header("x-api-key"), "sk-ant");
  EXPECT_EQ(sent.header("authorization"), nullptr);
  ASSERT_NE(sent.header("anthropic-version"), nullptr);
  EXPECT_EQ(*sent.header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(sent.header("anthropic-beta"), nullptr);
  ASSERT_NE(sent.header("x-basalt-request-id"), nullptr);
  boost::json::object body = boost::json::parse(sent.body).as_object();
  EXPECT_EQ(body["model"], "claude-up");
  EXPECT_EQ(body["max_tokens"], 4096);
  EXPECT_FALSE(body.contains("stream"));
}

TEST(AnthropicProvider, ForwardsBetaVersionAndHonoursAV1BaseUrl) {
  FakeUpstream fake([](const FakeRequest&) { return json(200, std::string(kMessage)); });
  config::ProviderSettings s = settingsFor(fake, "/v1", "");
  s.api_version = "2024-01-01";
  Result<std::unique_ptr<Provider>> provider = makeAnthropicProvider(s, {});
  ASSERT_TRUE(provider);
  canonical::ChatRequest req = request(false, canonical::Door::kAnthropicMessages);
  req.anthropic_beta = "interleaved-thinking-2025-05-14";
  ASSERT_TRUE(runComplete(**provider, req));
  const FakeRequest sent = fake.requests().at(0);
  EXPECT_EQ(sent.target, "/v1/messages");
  EXPECT_EQ(sent.header("x-api-key"), nullptr);  // no key configured
  EXPECT_EQ(*sent.header("anthropic-version"), "2024-01-01");
  ASSERT_NE(sent.header("anthropic-beta"), nullptr);
  EXPECT_EQ(*sent.header("anthropic-beta"), "interleaved-thinking-2025-05-14");

  // The Messages client's own anthropic-version wins over the configured one.
  req.anthropic_version = "2026-10-21";
  ASSERT_TRUE(runComplete(**provider, req));
  EXPECT_EQ(*fake.requests().at(1).header("anthropic-version"), "2026-10-21");
}

TEST(AnthropicProvider, StreamTextToolAndUsage) {
  FakeUpstream fake([](const FakeRequest&) { return sse(pieces(streamBody(), 29)); });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink);
  ASSERT_TRUE(res) << res.error().message;
  ASSERT_TRUE(sink.accumulator.finished());
  const canonical::ChatResponse& r = sink.accumulator.response();
  ASSERT_EQ(r.content.size(), 2U);
  EXPECT_EQ(std::get<canonical::TextBlock>(r.content[0]).text, "Hello");
  const auto& call = std::get<canonical::ToolUseBlock>(r.content[1]);
  EXPECT_EQ(call.id, "toolu_1");
  EXPECT_EQ(call.input_json, R"({"loc":"Paris"})");
  EXPECT_EQ(r.stop_reason, canonical::StopReason::kToolUse);
  EXPECT_EQ(r.usage.input_tokens, 15);
  EXPECT_EQ(r.usage.cache_read_tokens, 3);
  EXPECT_EQ(r.usage.output_tokens, 34);  // the last cumulative count, not a sum
  const FakeRequest sent = fake.requests().at(0);
  EXPECT_EQ(*sent.header("accept"), "text/event-stream");
  EXPECT_NE(sent.body.find("\"stream\":true"), std::string::npos) << sent.body;
}

TEST(AnthropicProvider, StreamCutOffIsAnError) {
  FakeUpstream fake([](const FakeRequest&) { return sse({streamBody(false)}); });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_FALSE(sink.accumulator.finished());
}

TEST(AnthropicProvider, MidStreamOverloadedErrorEvent) {
  FakeUpstream fake([](const FakeRequest&) {
    std::string body = streamBody(false).substr(0, 400);
    body = body.substr(0, body.rfind("\n\n") + 2);
    body += sseFrame(
        "error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
    return sse({body});
  });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamUnavailable);
  EXPECT_EQ(res.error().message, "Overloaded");
  ASSERT_FALSE(sink.events.empty());
  EXPECT_EQ(sink.events.front().type, StreamEvent::Type::kMessageStart);
}

TEST(AnthropicProvider, UpstreamErrorStatuses) {
  struct Case {
    int status;
    std::string body;
    ErrorKind kind;
  };
  const std::vector<Case> cases = {
      {529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
       ErrorKind::kUpstreamUnavailable},
      {429, R"({"type":"error","error":{"type":"rate_limit_error","message":"slow"}})",
       ErrorKind::kRateLimited},
      {401, R"({"type":"error","error":{"type":"authentication_error","message":"key"}})",
       ErrorKind::kUpstreamError},
      {400, R"({"type":"error","error":{"type":"invalid_request_error","message":"bad"}})",
       ErrorKind::kInvalidRequest},
      {500, "oops", ErrorKind::kUpstreamError},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.status);
    FakeUpstream fake([&](const FakeRequest&) {
      return json(c.status, c.body, {{"retry-after", "9"}});
    });
    auto provider = providerFor(fake);
    Result<canonical::ChatResponse> res = runComplete(*provider);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, c.kind);
    EXPECT_EQ(res.error().upstream_status, c.status);
    if (c.kind == ErrorKind::kRateLimited || c.kind == ErrorKind::kUpstreamUnavailable) {
      EXPECT_EQ(res.error().retry_after_s, 9);
    }
    RecordingSink sink;
    Result<void> streamed = runStream(*provider, sink);
    ASSERT_FALSE(streamed);
    EXPECT_EQ(streamed.error().kind, c.kind);
    EXPECT_TRUE(sink.events.empty());
  }
}

TEST(AnthropicProvider, JsonAnswerToAStreamIsReplayed) {
  FakeUpstream fake([](const FakeRequest&) { return json(200, std::string(kMessage)); });
  auto provider = providerFor(fake);
  RecordingSink sink;
  ASSERT_TRUE(runStream(*provider, sink));
  ASSERT_TRUE(sink.accumulator.finished());
  EXPECT_EQ(sink.accumulator.response().usage.input_tokens, 115);
  EXPECT_EQ(sink.accumulator.response().content.size(), 2U);
}

TEST(AnthropicProvider, ClientGoneStopsTheStream) {
  FakeUpstream fake([](const FakeRequest&) { return sse(pieces(streamBody(), 64)); });
  auto provider = providerFor(fake);
  RecordingSink sink(3);
  Result<void> res = runStream(*provider, sink);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kCancelled);
  EXPECT_EQ(sink.events.size(), 3U);
}

TEST(AnthropicProvider, ToolIdsFromOtherDoorsAreSanitized) {
  FakeUpstream fake([](const FakeRequest&) { return json(200, std::string(kMessage)); });
  auto provider = providerFor(fake);
  canonical::ChatRequest req = request();
  canonical::Message call;
  call.role = canonical::Role::kAssistant;
  call.content.emplace_back(canonical::ToolUseBlock{"call.1:x", "f", "{}"});
  canonical::Message result;
  result.role = canonical::Role::kTool;
  result.content.emplace_back(canonical::ToolResultBlock{"call.1:x", {canonical::TextBlock{"ok"}}});
  req.messages.push_back(call);
  req.messages.push_back(result);
  ASSERT_TRUE(runComplete(*provider, req));
  const std::string body = fake.requests().at(0).body;
  EXPECT_EQ(body.find("call.1:x"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("id":"call_1_x")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("tool_use_id":"call_1_x")"), std::string::npos) << body;
}

// ---- against `basalt mock-upstream`'s handler (the project's own Anthropic stand-in) ----

/// Serves MockUpstream behind a FakeUpstream: a real loopback socket, the mock's dialect.
FakeReply serveMock(mock::MockUpstream& mock, const FakeRequest& r) {
  HttpRequest req;
  req.method = r.method;
  req.target = r.target;
  req.headers = r.headers;
  req.body = r.body;
  basalt::testing::FakeResponder responder;
  asio::io_context ioc;
  asio::co_spawn(ioc, mock.handle(req, responder), asio::detached);
  ioc.run();
  FakeReply out;
  out.status = responder.status;
  out.headers = responder.headers;
  if (responder.streaming) {
    out.chunks = responder.chunks;
    out.truncate = !responder.complete;
  } else {
    out.body = responder.body;
  }
  return out;
}

canonical::ChatRequest mockRequest(std::string text, bool stream) {
  canonical::ChatRequest r = request(stream, canonical::Door::kAnthropicMessages);
  r.messages[0].content[0] = canonical::TextBlock{std::move(text)};
  return r;
}

TEST(AnthropicProviderMock, CompleteAndStreamAgree) {
  mock::MockUpstream mock;
  FakeUpstream fake([&](const FakeRequest& r) { return serveMock(mock, r); });
  auto provider = providerFor(fake);
  const std::string script =
      "#mock reply=\"Let me check.\" tool=get_weather args={\"city\":\"Paris\"} "
      "reasoning=\"think\" usage=11,7\nWeather?";

  Result<canonical::ChatResponse> whole = runComplete(*provider, mockRequest(script, false));
  ASSERT_TRUE(whole) << whole.error().message;
  RecordingSink sink;
  ASSERT_TRUE(runStream(*provider, sink, mockRequest(script, true)));
  ASSERT_TRUE(sink.accumulator.finished());
  const canonical::ChatResponse& streamed = sink.accumulator.response();

  const canonical::ChatResponse* both[] = {&*whole, &streamed};
  for (const canonical::ChatResponse* r : both) {
    ASSERT_EQ(r->content.size(), 3U);
    const auto& thinking = std::get<canonical::ReasoningBlock>(r->content[0]);
    EXPECT_EQ(thinking.text, "think");
    EXPECT_FALSE(thinking.signature.empty());
    EXPECT_EQ(std::get<canonical::TextBlock>(r->content[1]).text, "Let me check.");
    const auto& call = std::get<canonical::ToolUseBlock>(r->content[2]);
    EXPECT_EQ(call.name, "get_weather");
    EXPECT_EQ(boost::json::parse(call.input_json), boost::json::parse(R"({"city":"Paris"})"));
    EXPECT_EQ(r->stop_reason, canonical::StopReason::kToolUse);
    EXPECT_EQ(r->usage.input_tokens, 11);
    EXPECT_EQ(r->usage.output_tokens, 7);
  }
}

TEST(AnthropicProviderMock, ErrorsAndCutStreams) {
  mock::MockUpstream mock;
  FakeUpstream fake([&](const FakeRequest& r) { return serveMock(mock, r); });
  auto provider = providerFor(fake);

  Result<canonical::ChatResponse> overloaded =
      runComplete(*provider, mockRequest("#mock status=529\nhi", false));
  ASSERT_FALSE(overloaded);
  EXPECT_EQ(overloaded.error().kind, ErrorKind::kUpstreamUnavailable);

  RecordingSink mid;
  Result<void> failed = runStream(
      *provider, mid, mockRequest("#mock reply=\"a b c d\" error_after=2 status=429\nhi", true));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::kRateLimited);
  EXPECT_FALSE(mid.events.empty());

  RecordingSink cut;
  Result<void> dropped =
      runStream(*provider, cut, mockRequest("#mock reply=\"a b c d\" drop_after=2\nhi", true));
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().kind, ErrorKind::kUpstreamError);
}

}  // namespace
}  // namespace basalt::providers::anthropic
