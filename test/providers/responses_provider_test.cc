#include "basalt/providers/openai/responses_provider.h"

#include "basalt/api/openai_responses/responses_codec.h"
#include "basalt/canonical/stream_event.h"
#include "fakes/fake_upstream.h"
#include "providers/mock_bridge.h"
#include "providers/run_task.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>
#include <vector>

namespace basalt::providers::openai {
namespace {

using basalt::testing::FakeReply;
using basalt::testing::FakeRequest;
using basalt::testing::FakeUpstream;
using basalt::testing::MockBridge;
using basalt::testing::runTask;
using canonical::StreamEvent;
using namespace std::chrono_literals;

constexpr std::string_view kResponse = R"({
  "id": "resp_up", "object": "response", "created_at": 1741476777, "status": "completed",
  "model": "up-model", "error": null, "incomplete_details": null,
  "output": [
    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Think"}],
     "encrypted_content": "gAAAAcipher"},
    {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
     "content": [{"type": "output_text", "text": "Hello there", "annotations": []}]}],
  "usage": {"input_tokens": 19, "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 3},
            "total_tokens": 29}})";

std::string frame(std::string_view type, std::string_view json) {
  return "event: " + std::string(type) + "\ndata: " + std::string(json) + "\n\n";
}

/// A Responses stream: text "Hello", a function call, usage; optionally cut before completed.
std::string streamBody(bool completed = true) {
  std::string b;
  b += frame(
      "response.created",
      R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_up","model":"up-model","status":"in_progress","output":[]}})");
  b += frame(
      "response.output_item.added",
      R"({"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"message","id":"msg_1","status":"in_progress","role":"assistant","content":[]}})");
  b += frame(
      "response.content_part.added",
      R"({"type":"response.content_part.added","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}})");
  b += frame(
      "response.output_text.delta",
      R"({"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hel"})");
  b += frame(
      "response.output_text.delta",
      R"({"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"lo"})");
  b += frame(
      "response.content_part.done",
      R"({"type":"response.content_part.done","sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"Hello"}})");
  b += frame(
      "response.output_item.done",
      R"({"type":"response.output_item.done","sequence_number":6,"output_index":0,"item":{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello"}]}})");
  b += frame(
      "response.output_item.added",
      R"({"type":"response.output_item.added","sequence_number":7,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_abc","name":"get_weather","arguments":"","status":"in_progress"}})");
  b += frame(
      "response.function_call_arguments.delta",
      R"({"type":"response.function_call_arguments.delta","sequence_number":8,"item_id":"fc_1","output_index":1,"delta":"{\"loc\":\"Paris\"}"})");
  b += frame(
      "response.output_item.done",
      R"({"type":"response.output_item.done","sequence_number":9,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_abc","name":"get_weather","arguments":"{\"loc\":\"Paris\"}","status":"completed"}})");
  if (completed) {
    b += frame(
        "response.completed",
        R"({"type":"response.completed","sequence_number":10,"response":{"id":"resp_up","status":"completed","output":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":2},"output_tokens":34,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":46}}})");
  }
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

FakeReply jsonReply(int status, std::string body, Headers extra = {}) {
  FakeReply r;
  r.status = status;
  r.headers = std::move(extra);
  r.headers.push_back({"content-type", "application/json"});
  r.body = std::move(body);
  return r;
}

class RecordingSink final : public StreamSink {
 public:
  Task<bool> onEvent(const StreamEvent& event) override {
    events.push_back(event);
    accumulator.add(event);
    co_return true;
  }
  std::vector<StreamEvent> events;
  canonical::StreamAccumulator accumulator;
};

std::unique_ptr<Provider> providerFor(const FakeUpstream& fake, std::string key = "sk-provider") {
  config::ProviderSettings s;
  s.name = "fake-responses";
  s.type = "openai";
  s.api = "responses";
  s.base_url = fake.url("/v1");
  s.api_key = std::move(key);
  Result<std::unique_ptr<Provider>> p = makeResponsesProvider(s, {});
  EXPECT_TRUE(p);
  return std::move(*p);
}

canonical::ChatRequest request(bool stream = false) {
  canonical::ChatRequest r;
  r.model = "client-model";
  r.door = canonical::Door::kOpenAIChat;
  r.stream = stream;
  r.system.emplace_back(canonical::TextBlock{"Be brief."});
  canonical::Message m;
  m.role = canonical::Role::kUser;
  m.content.emplace_back(canonical::TextBlock{"Hi"});
  r.messages.push_back(std::move(m));
  return r;
}

CallOptions options(std::chrono::milliseconds timeout = 5000ms) {
  CallOptions o;
  o.upstream_model = "up-model";
  o.timeout = timeout;
  o.request_id = "req-42";
  return o;
}

TEST(ResponsesProvider, CompletePostsToResponsesAndDecodesTheAnswer) {
  FakeUpstream fake([](const FakeRequest&) { return jsonReply(200, std::string(kResponse)); });
  auto provider = providerFor(fake);
  boost::asio::io_context ioc;
  Result<canonical::ChatResponse> r = runTask(ioc, provider->complete(request(), options()));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->content.size(), 2u);
  const auto* reasoning = std::get_if<canonical::ReasoningBlock>(&r->content[0]);
  ASSERT_NE(reasoning, nullptr);
  EXPECT_EQ(reasoning->encrypted, "gAAAAcipher");
  EXPECT_EQ(std::get<canonical::TextBlock>(r->content[1]).text, "Hello there");
  EXPECT_EQ(r->usage.input_tokens, 19);
  EXPECT_EQ(r->usage.cache_read_tokens, 4);
  EXPECT_EQ(r->usage.reasoning_tokens, 3);
  EXPECT_EQ(r->stop_reason, canonical::StopReason::kEndTurn);

  const std::vector<FakeRequest> seen = fake.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/v1/responses");
  ASSERT_NE(seen[0].header("authorization"), nullptr);
  EXPECT_EQ(*seen[0].header("authorization"), "Bearer sk-provider");
  EXPECT_EQ(*seen[0].header("x-basalt-request-id"), "req-42");
  boost::json::object body = boost::json::parse(seen[0].body).as_object();
  EXPECT_EQ(body.at("model"), "up-model");
  EXPECT_EQ(body.at("instructions"), "Be brief.");
  EXPECT_EQ(body.at("store"), false);
  EXPECT_FALSE(body.contains("stream"));
}

TEST(ResponsesProvider, StreamWithTextToolCallAndUsage) {
  FakeUpstream fake([](const FakeRequest&) { return sse(pieces(streamBody(), 37)); });
  auto provider = providerFor(fake);
  boost::asio::io_context ioc;
  RecordingSink sink;
  Result<void> r = runTask(ioc, provider->stream(request(true), options(), sink));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(sink.accumulator.finished());
  const canonical::ChatResponse& resp = sink.accumulator.response();
  EXPECT_EQ(resp.id, "resp_up");
  ASSERT_EQ(resp.content.size(), 2u);
  EXPECT_EQ(std::get<canonical::TextBlock>(resp.content[0]).text, "Hello");
  const auto& call = std::get<canonical::ToolUseBlock>(resp.content[1]);
  EXPECT_EQ(call.id, "call_abc");
  EXPECT_EQ(call.name, "get_weather");
  EXPECT_EQ(call.input_json, R"({"loc":"Paris"})");
  EXPECT_EQ(resp.usage.input_tokens, 12);
  EXPECT_EQ(resp.usage.output_tokens, 34);
  EXPECT_EQ(resp.usage.cache_read_tokens, 2);
  EXPECT_EQ(resp.stop_reason, canonical::StopReason::kToolUse);
  boost::json::object body = boost::json::parse(fake.requests().at(0).body).as_object();
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(*fake.requests().at(0).header("accept"), "text/event-stream");
}

TEST(ResponsesProvider, StreamCutBeforeCompletedIsUpstreamError) {
  FakeUpstream fake([](const FakeRequest&) { return sse({streamBody(false)}); });
  auto provider = providerFor(fake);
  boost::asio::io_context ioc;
  RecordingSink sink;
  Result<void> r = runTask(ioc, provider->stream(request(true), options(), sink));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUpstreamError);
  EXPECT_FALSE(sink.accumulator.finished());
}

TEST(ResponsesProvider, ResponseFailedMidStreamIsReturnedWithRetryDelay) {
  std::string body = frame(
      "response.created",
      R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_up","status":"in_progress"}})");
  body += frame(
      "response.failed",
      R"({"type":"response.failed","sequence_number":1,"response":{"id":"resp_up","status":"failed","error":{"code":"rate_limit_exceeded","message":"Rate limit reached. Please try again in 2.5s."}}})");
  FakeUpstream fake([&](const FakeRequest&) { return sse({body}); });
  auto provider = providerFor(fake);
  boost::asio::io_context ioc;
  RecordingSink sink;
  Result<void> r = runTask(ioc, provider->stream(request(true), options(), sink));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(r.error().retry_after_s, 3);
  EXPECT_EQ(r.error().code, "rate_limit_exceeded");
}

TEST(ResponsesProvider, JsonAnswerToAStreamedRequestIsReplayedAsEvents) {
  FakeUpstream fake([](const FakeRequest&) { return jsonReply(200, std::string(kResponse)); });
  auto provider = providerFor(fake);
  boost::asio::io_context ioc;
  RecordingSink sink;
  Result<void> r = runTask(ioc, provider->stream(request(true), options(), sink));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(sink.accumulator.finished());
  ASSERT_EQ(sink.accumulator.response().content.size(), 2u);
  EXPECT_EQ(std::get<canonical::TextBlock>(sink.accumulator.response().content[1]).text,
            "Hello there");
}

TEST(ResponsesProvider, UpstreamStatusesMapToErrorKinds) {
  struct Case {
    int status;
    ErrorKind kind;
  };
  for (Case c :
       {Case{429, ErrorKind::kRateLimited}, Case{400, ErrorKind::kInvalidRequest},
        Case{503, ErrorKind::kUpstreamUnavailable}, Case{500, ErrorKind::kUpstreamError}}) {
    SCOPED_TRACE(c.status);
    FakeUpstream fake([&](const FakeRequest&) {
      return jsonReply(c.status, R"({"error":{"message":"nope","type":"x","code":null}})",
                       {{"retry-after", "7"}});
    });
    auto provider = providerFor(fake);
    boost::asio::io_context ioc;
    Result<canonical::ChatResponse> r = runTask(ioc, provider->complete(request(), options()));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, c.kind);
    EXPECT_NE(r.error().message.find("nope"), std::string::npos) << r.error().message;
    RecordingSink sink;
    boost::asio::io_context ioc2;
    Result<void> s = runTask(ioc2, provider->stream(request(true), options(), sink));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().kind, c.kind);
    if (c.status == 429) {
      EXPECT_EQ(s.error().retry_after_s, 7);
    }
  }
}

TEST(ResponsesProvider, InvalidBaseUrlFailsAtConstruction) {
  config::ProviderSettings s;
  s.name = "broken";
  s.type = "openai";
  s.api = "responses";
  s.base_url = "ftp://example";
  Result<std::unique_ptr<Provider>> p = makeResponsesProvider(s, {});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("broken"), std::string::npos);
}

// ---- against the mock-upstream handler's Responses dialect, from the Responses door ---------

std::unique_ptr<Provider> providerForUrl(const std::string& url) {
  config::ProviderSettings s;
  s.name = "mock-responses";
  s.type = "openai";
  s.api = "responses";
  s.base_url = url;
  Result<std::unique_ptr<Provider>> p = makeResponsesProvider(s, {});
  EXPECT_TRUE(p);
  return std::move(*p);
}

canonical::ChatRequest doorRequest(const std::string& user_text) {
  boost::json::object body{{"model", "gpt-5.5"},
                           {"stream", true},
                           {"store", false},
                           {"include", boost::json::array{"reasoning.encrypted_content"}}};
  body["input"] = boost::json::array{boost::json::object{
      {"type", "message"},
      {"role", "user"},
      {"content",
       boost::json::array{boost::json::object{{"type", "input_text"}, {"text", user_text}}}}}};
  body["tools"] = boost::json::array{
      boost::json::object{{"type", "function"},
                          {"name", "shell"},
                          {"parameters", boost::json::object{{"type", "object"}}},
                          {"strict", false}}};
  Result<canonical::ChatRequest> r =
      api::openai_responses::decodeRequest(boost::json::serialize(body));
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  r->request_id = "req-mock";
  return std::move(*r);
}

TEST(ResponsesProviderOnMock, CodexTurnWithReasoningAndToolCallStreamsThroughTheDoor) {
  MockBridge mock;
  auto provider = providerForUrl(mock.url("/v1"));
  RecordingSink sink;
  boost::asio::io_context ioc;
  canonical::ChatRequest req =
      doorRequest("list files\n#mock tool=shell args={\"command\":[\"ls\"]} reasoning=Thinking");
  Result<void> r = runTask(ioc, provider->stream(req, options(), sink));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(sink.accumulator.finished());
  const canonical::ChatResponse& resp = sink.accumulator.response();
  EXPECT_EQ(resp.stop_reason, canonical::StopReason::kToolUse);
  bool saw_call = false;
  for (const canonical::ContentBlock& b : resp.content) {
    if (const auto* call = std::get_if<canonical::ToolUseBlock>(&b)) {
      saw_call = true;
      EXPECT_EQ(call->name, "shell");
      EXPECT_NE(call->input_json.find("ls"), std::string::npos);
    }
  }
  EXPECT_TRUE(saw_call);
  EXPECT_GT(resp.usage.input_tokens, 0);

  // The same events through the door's encoder end with response.completed and its items.
  auto encoder = api::openai_responses::makeDoorCodec()->newStreamEncoder(req);
  std::string sse;
  for (const StreamEvent& e : sink.events) encoder->encode(e, sse);
  EXPECT_NE(sse.find("event: response.output_item.done"), std::string::npos);
  const std::size_t completed = sse.rfind("event: response.completed\n");
  ASSERT_NE(completed, std::string::npos);
  EXPECT_EQ(sse.find("event:", completed + 1), std::string::npos);  // nothing after it
  EXPECT_NE(sse.find("\"call_id\":\"call_mock_", completed), std::string::npos);
}

TEST(ResponsesProviderOnMock, CompleteAndScriptedFailures) {
  MockBridge mock;
  auto provider = providerForUrl(mock.url("/v1"));
  boost::asio::io_context ioc;
  Result<canonical::ChatResponse> ok =
      runTask(ioc, provider->complete(doorRequest("Hello mock"), options()));
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_FALSE(ok->content.empty());
  EXPECT_NE(std::get<canonical::TextBlock>(ok->content.back()).text.find("Hello mock"),
            std::string::npos);

  boost::asio::io_context ioc2;
  Result<canonical::ChatResponse> limited =
      runTask(ioc2, provider->complete(doorRequest("x\n#mock status=429"), options()));
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().kind, ErrorKind::kRateLimited);

  RecordingSink sink;
  boost::asio::io_context ioc3;
  Result<void> failed = runTask(
      ioc3, provider->stream(doorRequest("one two three four\n#mock error_after=2 status=429"),
                             options(), sink));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::kRateLimited);
  EXPECT_FALSE(sink.events.empty());  // the stream had started
}

}  // namespace
}  // namespace basalt::providers::openai
