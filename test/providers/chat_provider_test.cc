#include "basalt/providers/openai/chat_provider.h"

#include "basalt/canonical/stream_event.h"
#include "basalt/core/metrics.h"
#include "fakes/fake_upstream.h"
#include "providers/run_task.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace basalt::providers::openai {
namespace {

namespace asio = boost::asio;
using basalt::testing::FakeReply;
using basalt::testing::FakeRequest;
using basalt::testing::FakeUpstream;
using basalt::testing::runTask;
using canonical::StreamEvent;
using namespace std::chrono_literals;

constexpr std::string_view kCompletion = R"({
  "id": "chatcmpl-123", "object": "chat.completion", "created": 1741570283, "model": "up-model",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there"},
               "logprobs": null, "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29}})";

/// An SSE stream with text, two tool calls, a finish chunk, a usage chunk and [DONE].
std::string streamBody(bool with_done = true) {
  std::vector<std::string> chunks = {
      R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"up-model","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null})",
      R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null})",
      R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}],"usage":null})",
      R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null})",
      R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"loc\":"}}]},"finish_reason":null}],"usage":null})",
      R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}],"usage":null})",
      R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_def","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}],"usage":null})",
      R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null})",
      R"({"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46}})",
  };
  std::string body;
  for (const std::string& c : chunks) body += "data: " + c + "\n\n";
  if (with_done) body += "data: [DONE]\n\n";
  return body;
}

/// Splits `text` into pieces of `size` bytes, to cut SSE lines at arbitrary places.
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

config::ProviderSettings settingsFor(const FakeUpstream& fake, std::string key = "sk-provider") {
  config::ProviderSettings s;
  s.name = "fake-openai";
  s.type = "openai";
  s.base_url = fake.url("/v1");
  s.api_key = std::move(key);
  return s;
}

std::unique_ptr<Provider> providerFor(const FakeUpstream& fake, std::string key = "sk-provider") {
  Result<std::unique_ptr<Provider>> p = makeChatProvider(settingsFor(fake, std::move(key)), {});
  EXPECT_TRUE(p);
  return std::move(*p);
}

canonical::ChatRequest request(bool stream = false) {
  canonical::ChatRequest r;
  r.model = "client-model";
  r.stream = stream;
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

Result<void> runStream(Provider& provider, StreamSink& sink,
                       CallOptions call_options = options()) {
  asio::io_context ioc;
  const canonical::ChatRequest req = request(true);
  return runTask(ioc, provider.stream(req, call_options, sink));
}

Result<canonical::ChatResponse> runComplete(Provider& provider,
                                            CallOptions call_options = options()) {
  asio::io_context ioc;
  const canonical::ChatRequest req = request();
  return runTask(ioc, provider.complete(req, call_options));
}

TEST(ChatProvider, CompleteSendsTheRequestAndDecodesTheAnswer) {
  FakeUpstream fake([](const FakeRequest&) { return json(200, std::string(kCompletion)); });
  auto provider = providerFor(fake);
  EXPECT_EQ(provider->name(), "fake-openai");
  EXPECT_EQ(provider->vendor(), canonical::Vendor::kOpenAI);

  Result<canonical::ChatResponse> res = runComplete(*provider);
  ASSERT_TRUE(res) << res.error().message;
  ASSERT_EQ(res->content.size(), 1U);
  EXPECT_EQ(std::get<canonical::TextBlock>(res->content[0]).text, "Hello there");
  EXPECT_EQ(res->usage.input_tokens, 19);
  EXPECT_EQ(res->usage.output_tokens, 10);
  EXPECT_EQ(res->stop_reason, canonical::StopReason::kEndTurn);

  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1U);
  const FakeRequest& sent = requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.target, "/v1/chat/completions");
  ASSERT_NE(sent.header("authorization"), nullptr);
  EXPECT_EQ(*sent.header("authorization"), "Bearer sk-provider");
  ASSERT_NE(sent.header("x-basalt-request-id"), nullptr);
  EXPECT_EQ(*sent.header("x-basalt-request-id"), "req-42");
  ASSERT_NE(sent.header("content-type"), nullptr);
  EXPECT_EQ(*sent.header("content-type"), "application/json");
  EXPECT_NE(sent.body.find("\"up-model\""), std::string::npos) << sent.body;
  EXPECT_EQ(sent.body.find("client-model"), std::string::npos) << sent.body;
}

TEST(ChatProvider, NoAuthorizationHeaderWithoutAKey) {
  FakeUpstream fake([](const FakeRequest&) { return json(200, std::string(kCompletion)); });
  auto provider = providerFor(fake, "");
  ASSERT_TRUE(runComplete(*provider));
  ASSERT_EQ(fake.requests().size(), 1U);
  EXPECT_EQ(fake.requests()[0].header("authorization"), nullptr);
}

TEST(ChatProvider, StreamWithTextToolCallsAndUsage) {
  FakeUpstream fake([](const FakeRequest&) { return sse(pieces(streamBody(), 37)); });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink);
  ASSERT_TRUE(res) << res.error().message;

  ASSERT_FALSE(sink.events.empty());
  EXPECT_EQ(sink.events.front().type, StreamEvent::Type::kMessageStart);
  EXPECT_EQ(sink.events.back().type, StreamEvent::Type::kMessageStop);
  ASSERT_TRUE(sink.accumulator.finished());
  const canonical::ChatResponse& r = sink.accumulator.response();
  ASSERT_EQ(r.content.size(), 3U);
  EXPECT_EQ(std::get<canonical::TextBlock>(r.content[0]).text, "Hello");
  const auto& call = std::get<canonical::ToolUseBlock>(r.content[1]);
  EXPECT_EQ(call.id, "call_abc");
  EXPECT_EQ(call.name, "get_weather");
  EXPECT_EQ(call.input_json, R"({"loc":"Paris"})");
  EXPECT_EQ(std::get<canonical::ToolUseBlock>(r.content[2]).name, "get_time");
  EXPECT_EQ(r.stop_reason, canonical::StopReason::kToolUse);
  EXPECT_EQ(r.usage.input_tokens, 12);
  EXPECT_EQ(r.usage.output_tokens, 34);

  const auto requests = fake.requests();
  ASSERT_EQ(requests.size(), 1U);
  ASSERT_NE(requests[0].header("accept"), nullptr);
  EXPECT_EQ(*requests[0].header("accept"), "text/event-stream");
  EXPECT_NE(requests[0].body.find("\"stream\":true"), std::string::npos) << requests[0].body;
  ASSERT_NE(requests[0].header("authorization"), nullptr);
  EXPECT_EQ(*requests[0].header("authorization"), "Bearer sk-provider");
}

TEST(ChatProvider, SequentialStreamsReuseOneConnection) {
  FakeUpstream fake([](const FakeRequest&) { return sse({streamBody()}); });
  auto provider = providerFor(fake);
  asio::io_context ioc;
  const canonical::ChatRequest req = request(true);
  for (int i = 0; i < 2; ++i) {
    RecordingSink sink;
    Result<void> res = runTask(ioc, provider->stream(req, options(), sink));
    ASSERT_TRUE(res) << res.error().message;
  }
  Result<canonical::ChatResponse> res = runTask(ioc, provider->complete(req, options()));
  EXPECT_FALSE(res);  // the fake answers SSE, not a chat.completion; the connection still counts
  EXPECT_EQ(fake.acceptedConnections(), 1);
}

TEST(ChatProvider, StreamWithoutDoneButWithFinishReasonEndsNormallyAtEof) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r = sse({streamBody(/*with_done=*/false)});
    r.eof_framed = true;
    return r;
  });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_TRUE(sink.accumulator.finished());
}

TEST(ChatProvider, StreamCutOffBeforeFinishIsUpstreamError) {
  const std::string partial =
      "data: " +
      std::string(
          R"({"id":"c","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]})") +
      "\n\n";
  FakeUpstream fake([&](const FakeRequest&) {
    FakeReply r = sse({partial});
    r.eof_framed = true;  // a clean EOF, but no finish_reason and no [DONE]
    return r;
  });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(res.error().message, "upstream closed the stream early");
  EXPECT_EQ(res.error().upstream_status, 200);
  EXPECT_FALSE(sink.events.empty());  // what arrived was delivered
  EXPECT_FALSE(sink.accumulator.finished());
}

TEST(ChatProvider, TruncatedChunkedStreamIsUpstreamError) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r = sse({"data: {\"id\":\"c\",\"choices\":[]}\n\n"});
    r.truncate = true;
    return r;
  });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
}

TEST(ChatProvider, JsonAnswerToAStreamedRequestIsReplayedAsEvents) {
  FakeUpstream fake([](const FakeRequest&) { return json(200, std::string(kCompletion)); });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink);
  ASSERT_TRUE(res) << res.error().message;
  ASSERT_TRUE(sink.accumulator.finished());
  const canonical::ChatResponse& r = sink.accumulator.response();
  ASSERT_EQ(r.content.size(), 1U);
  EXPECT_EQ(std::get<canonical::TextBlock>(r.content[0]).text, "Hello there");
  EXPECT_EQ(r.usage.input_tokens, 19);
}

TEST(ChatProvider, JsonErrorAnswerToAStreamedRequestKeepsTheMessage) {
  FakeUpstream fake([](const FakeRequest&) {
    return json(200, R"({"error":{"message":"context too long"}})");
  });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_NE(res.error().message.find("context too long"), std::string::npos);
  EXPECT_TRUE(sink.events.empty());
}

TEST(ChatProvider, ErrorChunkMidStreamIsReturned) {
  FakeUpstream fake([](const FakeRequest&) {
    return sse({"data: {\"error\":{\"message\":\"model overloaded\",\"type\":\"server_error\"}}\n\n"});
  });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().message.find("model overloaded"), std::string::npos);
  EXPECT_EQ(res.error().upstream_status, 200);
}

TEST(ChatProvider, SinkReturningFalseClosesTheUpstreamConnection) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r = sse({"data: " +
                       std::string(R"({"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]})") +
                       "\n\n"});
    r.hold_after_chunks = true;  // the upstream would keep generating
    return r;
  });
  auto provider = providerFor(fake);
  RecordingSink sink(/*stop_after=*/1);
  Result<void> res = runStream(*provider, sink);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kCancelled);
  EXPECT_EQ(sink.events.size(), 1U);
  EXPECT_TRUE(fake.waitClientClosed(1, 5s));
}

struct StatusCase {
  int status;
  ErrorKind kind;
};

class ChatProviderStatus : public ::testing::TestWithParam<StatusCase> {};

TEST_P(ChatProviderStatus, MapsUpstreamStatusForCompleteAndStream) {
  const StatusCase c = GetParam();
  FakeUpstream fake([&](const FakeRequest&) {
    return json(c.status, R"({"error":{"message":"upstream says no","type":"x"}})",
                {{"retry-after", "7"}});
  });
  auto provider = providerFor(fake);
  Result<canonical::ChatResponse> complete = runComplete(*provider);
  ASSERT_FALSE(complete);
  EXPECT_EQ(complete.error().kind, c.kind);
  EXPECT_EQ(complete.error().upstream_status, c.status);

  RecordingSink sink;
  Result<void> streamed = runStream(*provider, sink);
  ASSERT_FALSE(streamed);
  EXPECT_EQ(streamed.error().kind, c.kind);
  EXPECT_EQ(streamed.error().upstream_status, c.status);
  EXPECT_TRUE(sink.events.empty());

  if (c.kind == ErrorKind::kRateLimited) {
    EXPECT_EQ(complete.error().retry_after_s, 7);
    EXPECT_EQ(streamed.error().retry_after_s, 7);
  }
  if (c.status == 400 || c.status == 404) {
    EXPECT_EQ(complete.error().message, "upstream says no");
  }
  if (c.status == 401 || c.status == 403) {
    EXPECT_NE(complete.error().message.find("provider rejected Basalt's credentials"),
              std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Statuses, ChatProviderStatus,
                         ::testing::Values(StatusCase{429, ErrorKind::kRateLimited},
                                           StatusCase{500, ErrorKind::kUpstreamError},
                                           StatusCase{503, ErrorKind::kUpstreamUnavailable},
                                           StatusCase{401, ErrorKind::kUpstreamError},
                                           StatusCase{403, ErrorKind::kUpstreamError},
                                           StatusCase{400, ErrorKind::kInvalidRequest},
                                           StatusCase{404, ErrorKind::kNotFound}));

TEST(ChatProvider, ConnectRefusedIsUpstreamError) {
  std::uint16_t port = 0;
  {
    asio::io_context tmp;
    asio::ip::tcp::acceptor a(tmp, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  config::ProviderSettings s;
  s.name = "down";
  s.type = "openai";
  s.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  s.api_key = "sk-secret-value";
  Result<std::unique_ptr<Provider>> provider = makeChatProvider(s, {});
  ASSERT_TRUE(provider);
  Result<canonical::ChatResponse> res = runComplete(**provider);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(res.error().message.find("sk-secret-value"), std::string::npos);
  RecordingSink sink;
  Result<void> streamed = runStream(**provider, sink);
  ASSERT_FALSE(streamed);
  EXPECT_EQ(streamed.error().kind, ErrorKind::kUpstreamError);
  EXPECT_NE(metrics::renderPrometheus().find(
                "basalt_upstream_errors_total{provider=\"down\",kind=\"connect\"} 2"),
            std::string::npos);
}

TEST(ChatProvider, SlowUpstreamIsUpstreamTimeout) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r = json(200, std::string(kCompletion));
    r.delay_before_head = 3s;
    return r;
  });
  auto provider = providerFor(fake);
  const auto started = std::chrono::steady_clock::now();
  Result<canonical::ChatResponse> res = runComplete(*provider, options(200ms));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamTimeout);
  RecordingSink sink;
  Result<void> streamed = runStream(*provider, sink, options(200ms));
  ASSERT_FALSE(streamed);
  EXPECT_EQ(streamed.error().kind, ErrorKind::kUpstreamTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2500ms);
}

TEST(ChatProvider, StreamStallingMidwayHitsTheDeadline) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r = sse({"data: " +
                       std::string(R"({"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]})") +
                       "\n\n"});
    r.hold_after_chunks = true;
    return r;
  });
  auto provider = providerFor(fake);
  RecordingSink sink;
  Result<void> res = runStream(*provider, sink, options(300ms));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamTimeout);
  EXPECT_FALSE(sink.events.empty());
  EXPECT_TRUE(fake.waitClientClosed(1, 5s));
}

TEST(ChatProvider, InvalidBaseUrlNamesTheProvider) {
  config::ProviderSettings s;
  s.name = "broken";
  s.type = "openai";
  s.base_url = "localhost:8000/v1";
  Result<std::unique_ptr<Provider>> p = makeChatProvider(s, {});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("provider 'broken'"), std::string::npos) << p.error().message;
}

}  // namespace
}  // namespace basalt::providers::openai
