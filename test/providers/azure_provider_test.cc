// The azure-openai provider against a scripted fake (URLs, api-key, errors, content filter)
// and against the mock-upstream handler's Azure deployment dialect over loopback.
#include "basalt/providers/azure/azure_provider.h"

#include "basalt/canonical/stream_event.h"
#include "fakes/fake_upstream.h"
#include "providers/mock_bridge.h"
#include "providers/run_task.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace basalt::providers::azure {
namespace {

namespace asio = boost::asio;
using basalt::testing::FakeReply;
using basalt::testing::FakeRequest;
using basalt::testing::FakeUpstream;
using basalt::testing::MockBridge;
using basalt::testing::runTask;
using canonical::StreamEvent;
using namespace std::chrono_literals;

constexpr std::string_view kCompletion = R"({
  "id": "chatcmpl-az1", "object": "chat.completion", "created": 1741570283, "model": "gpt-4o",
  "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from Azure"},
               "finish_reason": "stop", "content_filter_results": {}}],
  "usage": {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}})";

FakeReply json(int status, std::string body, Headers extra = {}) {
  FakeReply r;
  r.status = status;
  r.headers = std::move(extra);
  r.headers.push_back({"content-type", "application/json"});
  r.body = std::move(body);
  return r;
}

FakeReply sse(const std::vector<std::string>& data) {
  FakeReply r;
  r.headers.push_back({"content-type", "text/event-stream"});
  for (const std::string& d : data) r.chunks.push_back("data: " + d + "\n\n");
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

config::ProviderSettings settingsFor(std::string base_url, std::string api_version) {
  config::ProviderSettings s;
  s.name = "azure-east";
  s.type = "azure-openai";
  s.base_url = std::move(base_url);
  s.api_key = "azure-secret-key";
  s.api_version = std::move(api_version);
  return s;
}

std::unique_ptr<Provider> providerFor(std::string base_url,
                                      std::string api_version = "2024-10-21") {
  Result<std::unique_ptr<Provider>> p =
      makeAzureProvider(settingsFor(std::move(base_url), std::move(api_version)), {});
  EXPECT_TRUE(p) << p.error().message;
  return std::move(*p);
}

canonical::ChatRequest request(std::string text = "Hi", bool stream = false) {
  canonical::ChatRequest r;
  r.model = "client-model";
  r.stream = stream;
  canonical::Message m;
  m.role = canonical::Role::kUser;
  m.content.emplace_back(canonical::TextBlock{std::move(text)});
  r.messages.push_back(std::move(m));
  return r;
}

CallOptions options(std::string model = "gpt-4o-prod") {
  CallOptions o;
  o.upstream_model = std::move(model);
  o.timeout = 5000ms;
  o.request_id = "req-az";
  return o;
}

Result<canonical::ChatResponse> runComplete(Provider& p, const canonical::ChatRequest& req,
                                            const CallOptions& o = options()) {
  asio::io_context ioc;
  return runTask(ioc, p.complete(req, o));
}

Result<void> runStream(Provider& p, const canonical::ChatRequest& req, StreamSink& sink,
                       const CallOptions& o = options()) {
  asio::io_context ioc;
  return runTask(ioc, p.stream(req, o, sink));
}

TEST(AzureTarget, DeploymentAndV1Surfaces) {
  EXPECT_EQ(azureChatTarget("", "2024-10-21", "gpt-4o"),
            "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
  EXPECT_EQ(azureChatTarget("/openai", "2025-04-01-preview", "my deploy/x"),
            "/openai/deployments/my%20deploy%2Fx/chat/completions?api-version=2025-04-01-preview");
  EXPECT_EQ(azureChatTarget("", "v1", "gpt-4o"), "/openai/v1/chat/completions");
  EXPECT_EQ(azureChatTarget("/openai", "v1", "gpt-4o"), "/openai/v1/chat/completions");
  EXPECT_EQ(azureChatTarget("/openai/v1", "v1", "gpt-4o"), "/openai/v1/chat/completions");
  EXPECT_EQ(azureChatTarget("/proxy", "preview", "m"),
            "/proxy/openai/v1/chat/completions?api-version=preview");
}

TEST(AzureProvider, RejectsBadSettings) {
  config::ProviderSettings s = settingsFor("https://res.openai.azure.com", "");
  Result<std::unique_ptr<Provider>> p = makeAzureProvider(s, {});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("azure-east"), std::string::npos);
  s = settingsFor("not a url", "2024-10-21");
  EXPECT_FALSE(makeAzureProvider(s, {}));
}

TEST(AzureProvider, CompleteUsesTheDeploymentUrlAndApiKeyHeader) {
  FakeUpstream fake([](const FakeRequest&) { return json(200, std::string(kCompletion)); });
  auto provider = providerFor(fake.url(""));
  EXPECT_EQ(provider->name(), "azure-east");
  EXPECT_EQ(provider->vendor(), canonical::Vendor::kOpenAI);

  Result<canonical::ChatResponse> res = runComplete(*provider, request());
  ASSERT_TRUE(res) << res.error().message;
  ASSERT_EQ(res->content.size(), 1U);
  EXPECT_EQ(std::get<canonical::TextBlock>(res->content[0]).text, "Hello from Azure");
  EXPECT_EQ(res->usage.input_tokens, 7);
  EXPECT_EQ(res->stop_reason, canonical::StopReason::kEndTurn);

  const auto sent = fake.requests();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].target,
            "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21");
  ASSERT_NE(sent[0].header("api-key"), nullptr);
  EXPECT_EQ(*sent[0].header("api-key"), "azure-secret-key");
  EXPECT_EQ(sent[0].header("authorization"), nullptr);  // Azure keys are not bearer tokens
  ASSERT_NE(sent[0].header("x-basalt-request-id"), nullptr);
  EXPECT_EQ(*sent[0].header("x-basalt-request-id"), "req-az");
}

TEST(AzureProvider, V1SurfacePutsTheModelInTheBody) {
  FakeUpstream fake([](const FakeRequest&) { return json(200, std::string(kCompletion)); });
  auto provider = providerFor(fake.url("/openai/v1"), "v1");
  ASSERT_TRUE(runComplete(*provider, request()));
  const auto sent = fake.requests();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].target, "/openai/v1/chat/completions");
  EXPECT_NE(sent[0].body.find("\"model\":\"gpt-4o-prod\""), std::string::npos) << sent[0].body;
  EXPECT_EQ(sent[0].body.find("client-model"), std::string::npos) << sent[0].body;
}

TEST(AzureProvider, StreamEndingInContentFilterMapsToContentFilterStop) {
  FakeUpstream fake([](const FakeRequest&) {
    // Azure's first chunk announces the prompt filter results with no choices.
    return sse({
        R"({"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]})",
        R"({"id":"chatcmpl-9","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Once upon"},"finish_reason":null}]})",
        R"({"id":"chatcmpl-9","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"content_filter","content_filter_results":{"violence":{"filtered":true,"severity":"high"}}}]})",
        "[DONE]",
    });
  });
  auto provider = providerFor(fake.url(""));
  RecordingSink sink;
  Result<void> res = runStream(*provider, request("tell me a story", true), sink);
  ASSERT_TRUE(res) << res.error().message;
  ASSERT_TRUE(sink.accumulator.finished());
  const canonical::ChatResponse& r = sink.accumulator.response();
  EXPECT_EQ(r.stop_reason, canonical::StopReason::kContentFilter);
  ASSERT_EQ(r.content.size(), 1U);
  EXPECT_EQ(std::get<canonical::TextBlock>(r.content[0]).text, "Once upon");
  const auto sent = fake.requests();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_NE(sent[0].body.find("\"stream\":true"), std::string::npos);
  EXPECT_EQ(*sent[0].header("accept"), "text/event-stream");
}

TEST(AzureProvider, NonStreamedContentFilterStop) {
  FakeUpstream fake([](const FakeRequest&) {
    return json(200, R"({"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,
      "message":{"role":"assistant","content":null},"finish_reason":"content_filter"}],
      "usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3}})");
  });
  auto provider = providerFor(fake.url(""));
  Result<canonical::ChatResponse> res = runComplete(*provider, request());
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->stop_reason, canonical::StopReason::kContentFilter);
}

TEST(AzureProvider, FilteredPromptIsTheClientsInvalidRequest) {
  FakeUpstream fake([](const FakeRequest&) {
    return json(
        400,
        R"({"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}})");
  });
  auto provider = providerFor(fake.url(""));
  Result<canonical::ChatResponse> res = runComplete(*provider, request());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_NE(res.error().message.find("content management policy"), std::string::npos);
  EXPECT_EQ(res.error().upstream_status, 400);
}

TEST(AzureProvider, RateLimitKeepsRetryAfter) {
  FakeUpstream fake([](const FakeRequest&) {
    return json(
        429,
        R"({"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit."}})",
        {{"retry-after", "7"}});
  });
  auto provider = providerFor(fake.url(""));
  Result<canonical::ChatResponse> res = runComplete(*provider, request());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(res.error().retry_after_s, 7);
  RecordingSink sink;
  Result<void> streamed = runStream(*provider, request("x", true), sink);
  ASSERT_FALSE(streamed);
  EXPECT_EQ(streamed.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(streamed.error().retry_after_s, 7);
  EXPECT_TRUE(sink.events.empty());
}

TEST(AzureProvider, ServerErrorsAreRetryableUpstreamErrors) {
  int status = 500;
  FakeUpstream fake([&](const FakeRequest&) {
    return json(status, R"({"error":{"code":"InternalServerError","message":"boom"}})");
  });
  auto provider = providerFor(fake.url(""));
  Result<canonical::ChatResponse> res = runComplete(*provider, request());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(res.error().upstream_status, 500);
  status = 503;
  res = runComplete(*provider, request());
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamUnavailable);
}

TEST(AzureProvider, StreamCutBeforeFinishIsUpstreamError) {
  FakeUpstream fake([](const FakeRequest&) {
    FakeReply r = sse(
        {R"({"id":"c","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]})"});
    r.eof_framed = true;
    return r;
  });
  auto provider = providerFor(fake.url(""));
  RecordingSink sink;
  Result<void> res = runStream(*provider, request("x", true), sink);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_FALSE(sink.events.empty());
}

// ---- against the mock-upstream handler (its Azure deployment routing) -----------------------

TEST(AzureProviderOnMock, CompleteAndStreamWithToolCalls) {
  MockBridge mock;
  auto provider = providerFor(mock.url(""));
  Result<canonical::ChatResponse> res = runComplete(*provider, request("Hello mock"));
  ASSERT_TRUE(res) << res.error().message;
  ASSERT_FALSE(res->content.empty());
  EXPECT_NE(std::get<canonical::TextBlock>(res->content[0]).text.find("Hello mock"),
            std::string::npos);

  RecordingSink sink;
  Result<void> streamed = runStream(
      *provider,
      request("weather?\n#mock tool=get_weather args={\"city\": \"Paris\"} tools=2", true), sink);
  ASSERT_TRUE(streamed) << streamed.error().message;
  ASSERT_TRUE(sink.accumulator.finished());
  const canonical::ChatResponse& r = sink.accumulator.response();
  EXPECT_EQ(r.stop_reason, canonical::StopReason::kToolUse);
  int calls = 0;
  for (const canonical::ContentBlock& b : r.content) {
    if (const auto* call = std::get_if<canonical::ToolUseBlock>(&b)) {
      ++calls;
      EXPECT_EQ(call->name, "get_weather");
      EXPECT_NE(call->input_json.find("Paris"), std::string::npos) << call->input_json;
    }
  }
  EXPECT_EQ(calls, 2);
}

TEST(AzureProviderOnMock, ScriptedRateLimit) {
  MockBridge mock;
  auto provider = providerFor(mock.url(""));
  Result<canonical::ChatResponse> res = runComplete(*provider, request("x\n#mock status=429"));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(res.error().retry_after_s, 1);
}

}  // namespace
}  // namespace basalt::providers::azure
