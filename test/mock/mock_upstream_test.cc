#include "basalt/mock/mock_upstream.h"

#include "basalt/mock/event_stream.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace basalt::mock {
namespace {

namespace json = boost::json;

/// Records everything a handler sends, in order.
class RecordingResponder final : public Responder {
 public:
  int status = 0;
  Headers headers;
  std::string body;                 ///< the sent body, or every streamed write concatenated
  std::vector<std::string> writes;  ///< streamed writes, one per write() call
  bool sent = false;
  bool streamed = false;
  bool ended = false;
  int writes_before_gone = -1;     ///< >= 0: the client leaves after this many writes
  std::function<void()> on_write;  ///< runs inside every write() call

  Task<bool> send(int s, Headers h, std::string b) override {
    EXPECT_FALSE(sent || streamed) << "answered twice";
    status = s;
    headers = std::move(h);
    body = std::move(b);
    sent = true;
    co_return true;
  }
  Task<bool> startStream(int s, Headers h) override {
    EXPECT_FALSE(sent || streamed) << "answered twice";
    status = s;
    headers = std::move(h);
    streamed = true;
    co_return true;
  }
  Task<bool> write(std::string_view chunk) override {
    EXPECT_TRUE(streamed && !ended);
    if (on_write) on_write();
    if (writes_before_gone >= 0 && static_cast<int>(writes.size()) >= writes_before_gone) {
      gone_ = true;
      co_return false;
    }
    body += chunk;
    writes.emplace_back(chunk);
    co_return true;
  }
  Task<bool> endStream() override {
    EXPECT_TRUE(streamed && !ended);
    ended = true;
    co_return true;
  }
  bool clientGone() const override { return gone_; }

  std::string header(std::string_view name) const {
    for (const auto& h : headers) {
      if (h.name == name) return h.value;
    }
    return "<absent>";
  }
  json::value json() const {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    EXPECT_FALSE(ec) << body;
    return v;
  }

 private:
  bool gone_ = false;
};

void run(MockUpstream& mock, RecordingResponder& r, std::string method, std::string target,
         std::string body = {}) {
  HttpRequest req;
  req.method = std::move(method);
  req.target = std::move(target);
  req.body = std::move(body);
  req.headers.push_back({"content-type", "application/json"});
  req.headers.push_back({"x-api-key", "k-test"});
  req.headers.push_back({"authorization", "Bearer up-key"});
  boost::asio::io_context ctx;
  boost::asio::co_spawn(ctx, mock.handle(req, r), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ctx.run();
}

RecordingResponder call(MockUpstream& mock, std::string method, std::string target,
                        std::string body = {}) {
  RecordingResponder r;
  run(mock, r, std::move(method), std::move(target), std::move(body));
  return r;
}

RecordingResponder post(MockUpstream& mock, std::string target, const json::value& body) {
  return call(mock, "POST", std::move(target), json::serialize(body));
}

struct Sse {
  std::string event;  ///< empty when there was no event: line
  std::string data;
  json::value json;  ///< null for non-JSON data ([DONE])
};

std::vector<Sse> parseSse(std::string_view body) {
  std::vector<Sse> out;
  while (!body.empty()) {
    auto end = body.find("\n\n");
    EXPECT_NE(end, std::string_view::npos) << "unterminated SSE event";
    if (end == std::string_view::npos) break;
    std::string_view block = body.substr(0, end);
    body.remove_prefix(end + 2);
    Sse e;
    while (!block.empty()) {
      auto nl = block.find('\n');
      std::string_view line = block.substr(0, nl);
      block = nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1);
      if (line.starts_with("event: ")) e.event = line.substr(7);
      if (line.starts_with("data: ")) e.data = line.substr(6);
    }
    boost::system::error_code ec;
    e.json = json::parse(e.data, ec);
    if (ec) e.json = nullptr;
    out.push_back(std::move(e));
  }
  return out;
}

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : "<not a string>";
}

json::object chatBody(std::string user_text, bool stream = false) {
  return json::object{
      {"model", "gpt-test"},
      {"stream", stream},
      {"messages", json::array{json::object{{"role", "system"}, {"content", "Be brief."}},
                               json::object{{"role", "user"}, {"content", user_text}}}}};
}

json::object anthropicBody(std::string user_text, bool stream = false) {
  return json::object{
      {"model", "claude-test"},
      {"max_tokens", 100},
      {"stream", stream},
      {"system", "Be brief."},
      {"messages", json::array{json::object{{"role", "user"}, {"content", user_text}}}}};
}

json::object bedrockBody(std::string user_text) {
  return json::object{
      {"system", json::array{json::object{{"text", "Be brief."}}}},
      {"messages",
       json::array{json::object{{"role", "user"},
                                {"content", json::array{json::object{{"text", user_text}}}}}}}};
}

json::object responsesBody(std::string user_text, bool stream = false) {
  return json::object{
      {"model", "gpt-resp"},
      {"stream", stream},
      {"instructions", "Be brief."},
      {"input",
       json::array{json::object{
           {"role", "user"},
           {"content", json::array{json::object{{"type", "input_text"}, {"text", user_text}}}}}}}};
}

// ---------------------------------------------------------------- OpenAI Chat

TEST(MockOpenAIChat, EchoWithDeterministicUsage) {
  MockUpstream mock;
  auto r = post(mock, "/v1/chat/completions", chatBody("hello there world"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto v = r.json();
  EXPECT_EQ(str(v.at("object")), "chat.completion");
  EXPECT_EQ(str(v.at("model")), "gpt-test");
  EXPECT_EQ(str(v.at("id")), "chatcmpl-mock-1");
  const auto& choice = v.at("choices").at(0);
  EXPECT_EQ(str(choice.at("message").at("content")), "You said: hello there world");
  EXPECT_EQ(str(choice.at("finish_reason")), "stop");
  // input: "Be brief." (9) + "hello there world" (17) = 26 chars -> ceil(26/4) = 7
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 7);
  // output: "You said: hello there world" = 5 words
  EXPECT_EQ(v.at("usage").at("completion_tokens").as_int64(), 5);
  EXPECT_EQ(v.at("usage").at("total_tokens").as_int64(), 12);
  // Ids are counter based.
  auto again = post(mock, "/chat/completions", chatBody("x"));
  EXPECT_EQ(str(again.json().at("id")), "chatcmpl-mock-2");
}

TEST(MockOpenAIChat, DirectiveReplyUsageAndEchoRemovesDirective) {
  MockUpstream mock(MockOptions{.reply = "fixed default"});
  auto r =
      post(mock, "/v1/chat/completions", chatBody("hi\n#mock reply=\"Hello, you!\" usage=11,3"));
  auto v = r.json();
  EXPECT_EQ(str(v.at("choices").at(0).at("message").at("content")), "Hello, you!");
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 11);
  EXPECT_EQ(v.at("usage").at("completion_tokens").as_int64(), 3);

  auto d = post(mock, "/v1/chat/completions", chatBody("plain"));
  EXPECT_EQ(str(d.json().at("choices").at(0).at("message").at("content")), "fixed default");

  auto e = post(mock, "/v1/chat/completions", chatBody("line one\n#mock echo\nline two"));
  EXPECT_EQ(str(e.json().at("choices").at(0).at("message").at("content")),
            "You said: line one\nline two");
}

TEST(MockOpenAIChat, StreamWordChunksUsageAndDone) {
  MockUpstream mock;
  auto body = chatBody("alpha beta gamma", true);
  body["stream_options"] = json::object{{"include_usage", true}};
  auto r = post(mock, "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(r.streamed && r.ended);
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = parseSse(r.body);
  ASSERT_GE(events.size(), 4U);
  EXPECT_EQ(events.back().data, "[DONE]");
  std::string text;
  std::vector<std::string> deltas;
  int finish_chunks = 0;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto& j = events[i].json;
    ASSERT_TRUE(j.is_object()) << events[i].data;
    EXPECT_TRUE(events[i].event.empty());
    EXPECT_EQ(str(j.at("object")), "chat.completion.chunk");
    EXPECT_EQ(str(j.at("model")), "gpt-test");
    const auto& choices = j.at("choices").as_array();
    if (i + 2 == events.size()) {  // the usage chunk
      EXPECT_TRUE(choices.empty());
      EXPECT_EQ(j.at("usage").at("completion_tokens").as_int64(), 5);
      EXPECT_EQ(j.at("usage").at("prompt_tokens").as_int64(), 7);  // (9 + 16) / 4 rounded up
      continue;
    }
    EXPECT_TRUE(j.at("usage").is_null());
    const auto& delta = choices.at(0).at("delta").as_object();
    if (const auto* c = delta.if_contains("content"); c && !c->get_string().empty()) {
      deltas.push_back(str(*c));
      text += str(*c);
    }
    if (!choices.at(0).at("finish_reason").is_null()) {
      ++finish_chunks;
      EXPECT_EQ(str(choices.at(0).at("finish_reason")), "stop");
    }
  }
  EXPECT_EQ(text, "You said: alpha beta gamma");
  EXPECT_EQ(deltas, (std::vector<std::string>{"You", " said:", " alpha", " beta", " gamma"}));
  EXPECT_EQ(finish_chunks, 1);
}

TEST(MockOpenAIChat, ChunkSizeByCharacters) {
  MockUpstream mock;
  auto r = post(mock, "/v1/chat/completions", chatBody("#mock reply=\"héllo!\" chunk=2", true));
  std::vector<std::string> deltas;
  for (const auto& e : parseSse(r.body)) {
    if (!e.json.is_object()) continue;
    const auto& d = e.json.at("choices").at(0).at("delta").as_object();
    if (const auto* c = d.if_contains("content"); c && !c->get_string().empty()) {
      deltas.push_back(str(*c));
    }
  }
  EXPECT_EQ(deltas, (std::vector<std::string>{"hé", "ll", "o!"}));
}

TEST(MockOpenAIChat, ToolCallsNonStreamAndStream) {
  MockUpstream mock;
  const char* script = "#mock tool=get_weather args={\"city\": \"Paris\"} tools=2";
  auto r = post(mock, "/v1/chat/completions", chatBody(script));
  auto v = r.json();
  const auto& choice = v.at("choices").at(0);
  EXPECT_EQ(str(choice.at("finish_reason")), "tool_calls");
  EXPECT_TRUE(choice.at("message").at("content").is_null());
  const auto& calls = choice.at("message").at("tool_calls").as_array();
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(str(calls[0].at("id")), "call_mock_1_0");
  EXPECT_EQ(str(calls[1].at("id")), "call_mock_1_1");
  EXPECT_EQ(str(calls[0].at("type")), "function");
  EXPECT_EQ(str(calls[0].at("function").at("name")), "get_weather");
  EXPECT_EQ(str(calls[0].at("function").at("arguments")), R"({"city": "Paris"})");

  auto s = post(mock, "/v1/chat/completions", chatBody(script, true));
  std::map<std::int64_t, std::string> args;
  std::map<std::int64_t, std::string> names;
  std::string finish;
  for (const auto& e : parseSse(s.body)) {
    if (!e.json.is_object()) continue;
    const auto& c = e.json.at("choices").at(0);
    if (!c.at("finish_reason").is_null()) finish = str(c.at("finish_reason"));
    const auto& d = c.at("delta").as_object();
    if (const auto* tcs = d.if_contains("tool_calls")) {
      for (const auto& tc : tcs->as_array()) {
        auto index = tc.at("index").to_number<std::int64_t>();
        const auto& f = tc.at("function").as_object();
        if (const auto* n = f.if_contains("name")) names[index] = str(*n);
        args[index] += str(f.at("arguments"));
      }
    }
  }
  EXPECT_EQ(finish, "tool_calls");
  ASSERT_EQ(args.size(), 2U);
  EXPECT_EQ(args[0], R"({"city": "Paris"})");
  EXPECT_EQ(names[1], "get_weather");
}

TEST(MockOpenAIChat, ToolLoopEndsWithToolResult) {
  MockUpstream mock;
  json::object body{
      {"model", "m"},
      {"messages",
       json::array{
           json::object{{"role", "user"}, {"content", "#mock tool=lookup"}},
           json::object{{"role", "assistant"},
                        {"content", nullptr},
                        {"tool_calls", json::array{json::object{
                                           {"id", "call_1"},
                                           {"type", "function"},
                                           {"function", json::object{{"name", "lookup"},
                                                                     {"arguments", "{}"}}}}}}},
           json::object{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "sunny"}}}}};
  auto v = post(mock, "/v1/chat/completions", body).json();
  const auto& choice = v.at("choices").at(0);
  EXPECT_EQ(str(choice.at("finish_reason")), "stop");
  EXPECT_EQ(str(choice.at("message").at("content")), "Tool result: sunny");
}

TEST(MockOpenAIChat, StatusErrorsAndRetryAfter) {
  MockUpstream mock;
  auto r = post(mock, "/v1/chat/completions", chatBody("#mock status=429"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "1");
  auto v = r.json();
  EXPECT_EQ(str(v.at("error").at("code")), "rate_limit_exceeded");
  EXPECT_NE(str(v.at("error").at("message")).find("try again in 1s"), std::string::npos);

  auto s = post(mock, "/v1/chat/completions", chatBody("#mock status=503", true));
  EXPECT_EQ(s.status, 503);
  EXPECT_TRUE(s.sent);
  EXPECT_FALSE(s.streamed);
  EXPECT_EQ(str(s.json().at("error").at("type")), "server_error");
  EXPECT_EQ(s.header("retry-after"), "<absent>");
}

TEST(MockOpenAIChat, ErrorAfterEmitsErrorChunkWithoutDone) {
  MockUpstream mock;
  auto r =
      post(mock, "/v1/chat/completions", chatBody("one two three four\n#mock error_after=2", true));
  ASSERT_TRUE(r.ended);
  auto events = parseSse(r.body);
  std::string text;
  for (const auto& e : events) {
    ASSERT_NE(e.data, "[DONE]");
    if (const auto* choices = e.json.as_object().if_contains("choices")) {
      const auto& d = choices->at(0).at("delta").as_object();
      if (const auto* c = d.if_contains("content")) text += str(*c);
    }
  }
  EXPECT_EQ(text, "You said:");  // two word chunks
  ASSERT_TRUE(events.back().json.as_object().contains("error"));
  EXPECT_EQ(str(events.back().json.at("error").at("type")), "server_error");
}

TEST(MockOpenAIChat, DropAfterNeverEndsTheStream) {
  MockUpstream mock;
  auto r = post(mock, "/v1/chat/completions", chatBody("a b c\n#mock drop_after=1", true));
  EXPECT_TRUE(r.streamed);
  EXPECT_FALSE(r.ended);
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
  EXPECT_NE(r.body.find("\"You\""), std::string::npos);
  EXPECT_EQ(r.body.find("said"), std::string::npos);

  // Non-streamed: half of the JSON body, never ended.
  auto n = post(mock, "/v1/chat/completions", chatBody("#mock drop_after=0"));
  EXPECT_TRUE(n.streamed);
  EXPECT_FALSE(n.ended);
  EXPECT_EQ(n.header("content-type"), "application/json");
  EXPECT_TRUE(n.body.starts_with("{\"id\":\"chatcmpl-mock-2\""));
  boost::system::error_code ec;
  json::parse(n.body, ec);
  EXPECT_TRUE(ec);
}

TEST(MockOpenAIChat, ReasoningContent) {
  MockUpstream mock;
  auto v = post(mock, "/v1/chat/completions", chatBody("#mock reasoning=\"think first\" reply=ok"))
               .json();
  EXPECT_EQ(str(v.at("choices").at(0).at("message").at("reasoning_content")), "think first");
  EXPECT_EQ(v.at("usage").at("completion_tokens").as_int64(), 3);
  EXPECT_EQ(v.at("usage").at("completion_tokens_details").at("reasoning_tokens").as_int64(), 2);
}

TEST(MockOpenAIChat, BadDirectiveAndBadJsonAre400) {
  MockUpstream mock;
  auto r = post(mock, "/v1/chat/completions", chatBody("#mock colour=blue"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(str(r.json().at("error").at("message")).find("unknown key 'colour'"),
            std::string::npos);
  auto b = call(mock, "POST", "/v1/chat/completions", "{not json");
  EXPECT_EQ(b.status, 400);
  EXPECT_EQ(str(b.json().at("error").at("type")), "invalid_request_error");
  auto m = post(mock, "/v1/chat/completions", json::object{{"model", "x"}});
  EXPECT_EQ(m.status, 400);
}

TEST(MockOpenAIChat, AzureDeploymentPathSuppliesModel) {
  MockUpstream mock;
  auto body = chatBody("hi");
  body.erase("model");
  auto r = post(mock, "/openai/deployments/my-dep/chat/completions?api-version=2024-10-21", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(str(r.json().at("model")), "my-dep");
}

TEST(MockOptions, GlobalStatusFailsEveryModelCallButNotModels) {
  MockUpstream mock(MockOptions{.status = 503});
  EXPECT_EQ(post(mock, "/v1/chat/completions", chatBody("x")).status, 503);
  EXPECT_EQ(post(mock, "/v1/messages", anthropicBody("x")).status, 503);
  EXPECT_EQ(post(mock, "/model/m/converse", bedrockBody("x")).status, 503);
  EXPECT_EQ(post(mock, "/v1/chat/completions", chatBody("#mock status=200")).status, 200);
  EXPECT_EQ(call(mock, "GET", "/v1/models").status, 200);
  EXPECT_EQ(call(mock, "GET", "/healthz").status, 200);
}

// ---------------------------------------------------------------- OpenAI Responses

TEST(MockResponses, NonStream) {
  MockUpstream mock;
  auto r = post(mock, "/v1/responses", responsesBody("hi there"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = r.json();
  EXPECT_EQ(str(v.at("object")), "response");
  EXPECT_EQ(str(v.at("status")), "completed");
  EXPECT_EQ(str(v.at("model")), "gpt-resp");
  EXPECT_EQ(str(v.at("id")), "resp_mock_1");
  const auto& out = v.at("output").as_array();
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(str(out[0].at("type")), "message");
  EXPECT_EQ(str(out[0].at("content").at(0).at("text")), "You said: hi there");
  const auto& u = v.at("usage");
  EXPECT_EQ(u.at("input_tokens").as_int64(), 5);  // (9 + 8) / 4 rounded up
  EXPECT_EQ(u.at("output_tokens").as_int64(), 4);
  EXPECT_EQ(u.at("total_tokens").as_int64(), 9);
  EXPECT_EQ(u.at("input_tokens_details").at("cached_tokens").as_int64(), 0);
  EXPECT_EQ(u.at("output_tokens_details").at("reasoning_tokens").as_int64(), 0);

  auto s = post(mock, "/v1/responses", json::object{{"model", "m"}, {"input", "string input"}});
  EXPECT_EQ(str(s.json().at("output").at(0).at("content").at(0).at("text")),
            "You said: string input");
}

TEST(MockResponses, StreamSequenceWithReasoningAndTool) {
  MockUpstream mock;
  auto r = post(mock, "/v1/responses",
                responsesBody("#mock reasoning=\"hmm ok\" reply=\"Sure thing\" tool=shell "
                              "args={\"cmd\":\"ls\"}",
                              true));
  ASSERT_TRUE(r.ended);
  auto events = parseSse(r.body);
  ASSERT_GE(events.size(), 10U);
  std::vector<std::string> types;
  for (std::size_t i = 0; i < events.size(); ++i) {
    ASSERT_TRUE(events[i].json.is_object()) << events[i].data;
    EXPECT_EQ(events[i].event, str(events[i].json.at("type")));
    EXPECT_EQ(events[i].json.at("sequence_number").to_number<std::int64_t>(),
              static_cast<std::int64_t>(i));
    types.push_back(events[i].event);
  }
  EXPECT_EQ(types.front(), "response.created");
  EXPECT_EQ(types[1], "response.in_progress");
  EXPECT_EQ(types.back(), "response.completed");
  std::string text;
  std::string reasoning;
  std::vector<std::string> done_types;
  for (const auto& e : events) {
    if (e.event == "response.output_text.delta") text += str(e.json.at("delta"));
    if (e.event == "response.reasoning_summary_text.delta") reasoning += str(e.json.at("delta"));
    if (e.event == "response.output_item.done")
      done_types.push_back(str(e.json.at("item").at("type")));
  }
  EXPECT_EQ(text, "Sure thing");
  EXPECT_EQ(reasoning, "hmm ok");
  EXPECT_EQ(done_types, (std::vector<std::string>{"reasoning", "message", "function_call"}));
  const auto& completed = events.back().json.at("response");
  EXPECT_EQ(str(completed.at("id")), "resp_mock_1");
  const auto& output = completed.at("output").as_array();
  ASSERT_EQ(output.size(), 3U);
  EXPECT_EQ(str(output[0].at("summary").at(0).at("text")), "hmm ok");
  EXPECT_EQ(str(output[2].at("call_id")), "call_mock_1_0");
  EXPECT_EQ(str(output[2].at("arguments")), R"({"cmd":"ls"})");
  EXPECT_EQ(completed.at("usage").at("output_tokens_details").at("reasoning_tokens").as_int64(), 2);
}

TEST(MockResponses, ToolResultEndsLoopAndErrorStatus) {
  MockUpstream mock;
  json::object body{
      {"model", "m"},
      {"input", json::array{json::object{{"role", "user"}, {"content", "#mock tool=shell"}},
                            json::object{{"type", "function_call"},
                                         {"call_id", "c1"},
                                         {"name", "shell"},
                                         {"arguments", "{}"}},
                            json::object{{"type", "function_call_output"},
                                         {"call_id", "c1"},
                                         {"output", "file.txt"}}}}};
  auto v = post(mock, "/v1/responses", body).json();
  ASSERT_EQ(v.at("output").as_array().size(), 1U);
  EXPECT_EQ(str(v.at("output").at(0).at("content").at(0).at("text")), "Tool result: file.txt");

  auto e = post(mock, "/v1/responses", responsesBody("#mock status=401"));
  EXPECT_EQ(e.status, 401);
  EXPECT_EQ(str(e.json().at("error").at("code")), "invalid_api_key");
}

TEST(MockResponses, ErrorAfterEmitsResponseFailed) {
  MockUpstream mock;
  auto r =
      post(mock, "/v1/responses", responsesBody("a b c\n#mock error_after=1 status=429", true));
  auto events = parseSse(r.body);
  ASSERT_FALSE(events.empty());
  const auto& last = events.back();
  EXPECT_EQ(last.event, "response.failed");
  EXPECT_EQ(last.json.at("sequence_number").to_number<std::int64_t>(),
            static_cast<std::int64_t>(events.size() - 1));
  EXPECT_EQ(str(last.json.at("response").at("status")), "failed");
  EXPECT_EQ(str(last.json.at("response").at("error").at("code")), "rate_limit_exceeded");
  int deltas = 0;
  for (const auto& e : events) deltas += e.event == "response.output_text.delta" ? 1 : 0;
  EXPECT_EQ(deltas, 1);
  for (const auto& e : events) EXPECT_NE(e.event, "response.completed");
}

// ---------------------------------------------------------------- Anthropic

TEST(MockAnthropic, NonStreamTextAndUsage) {
  MockUpstream mock;
  auto r = post(mock, "/v1/messages", anthropicBody("hello"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("request-id"), "req_mock_1");
  auto v = r.json();
  EXPECT_EQ(str(v.at("type")), "message");
  EXPECT_EQ(str(v.at("id")), "msg_mock_1");
  EXPECT_EQ(str(v.at("model")), "claude-test");
  EXPECT_EQ(str(v.at("stop_reason")), "end_turn");
  EXPECT_EQ(str(v.at("content").at(0).at("type")), "text");
  EXPECT_EQ(str(v.at("content").at(0).at("text")), "You said: hello");
  EXPECT_EQ(v.at("usage").at("input_tokens").as_int64(), 4);  // (9 + 5) / 4 rounded up
  EXPECT_EQ(v.at("usage").at("output_tokens").as_int64(), 3);
}

TEST(MockAnthropic, StreamEventsThinkingTextAndTools) {
  MockUpstream mock;
  auto r =
      post(mock, "/v1/messages",
           anthropicBody("#mock reasoning=\"let me see\" reply=\"On it\" tool=get args={\"q\":1} "
                         "tools=2",
                         true));
  ASSERT_TRUE(r.ended);
  auto events = parseSse(r.body);
  ASSERT_FALSE(events.empty());
  for (const auto& e : events) {
    ASSERT_TRUE(e.json.is_object()) << e.data;
    EXPECT_EQ(e.event, str(e.json.at("type")));  // the SDK routes on the event: line
  }
  EXPECT_EQ(events.front().event, "message_start");
  EXPECT_EQ(str(events.front().json.at("message").at("model")), "claude-test");
  EXPECT_EQ(events.back().event, "message_stop");
  std::map<std::int64_t, std::string> block_types;
  std::map<std::int64_t, std::string> text;
  std::string signature;
  int stops = 0;
  std::string stop_reason;
  std::int64_t output_tokens = -1;
  for (const auto& e : events) {
    const auto& j = e.json;
    if (e.event == "content_block_start") {
      block_types[j.at("index").as_int64()] = str(j.at("content_block").at("type"));
    } else if (e.event == "content_block_delta") {
      const auto& d = j.at("delta");
      const std::string type = str(d.at("type"));
      auto index = j.at("index").as_int64();
      if (type == "text_delta") text[index] += str(d.at("text"));
      if (type == "thinking_delta") text[index] += str(d.at("thinking"));
      if (type == "input_json_delta") text[index] += str(d.at("partial_json"));
      if (type == "signature_delta") signature = str(d.at("signature"));
    } else if (e.event == "content_block_stop") {
      ++stops;
    } else if (e.event == "message_delta") {
      stop_reason = str(j.at("delta").at("stop_reason"));
      output_tokens = j.at("usage").at("output_tokens").as_int64();
    }
  }
  EXPECT_EQ(block_types, (std::map<std::int64_t, std::string>{
                             {0, "thinking"}, {1, "text"}, {2, "tool_use"}, {3, "tool_use"}}));
  EXPECT_EQ(text[0], "let me see");
  EXPECT_EQ(text[1], "On it");
  EXPECT_EQ(text[2], R"({"q":1})");
  EXPECT_EQ(text[3], R"({"q":1})");
  EXPECT_EQ(signature, "mock-signature-1");
  EXPECT_EQ(stops, 4);
  EXPECT_EQ(stop_reason, "tool_use");
  EXPECT_EQ(output_tokens, 3 + 2 + 1 + 1);
}

TEST(MockAnthropic, NonStreamToolUseAndToolResultLoop) {
  MockUpstream mock;
  auto v =
      post(mock, "/v1/messages", anthropicBody("#mock tool=get_weather args={\"city\":\"Oslo\"}"))
          .json();
  EXPECT_EQ(str(v.at("stop_reason")), "tool_use");
  const auto& content = v.at("content").as_array();
  ASSERT_EQ(content.size(), 1U);
  EXPECT_EQ(str(content[0].at("type")), "tool_use");
  EXPECT_EQ(str(content[0].at("id")), "toolu_mock_1_0");
  EXPECT_EQ(str(content[0].at("input").at("city")), "Oslo");

  json::object loop{
      {"model", "c"},
      {"max_tokens", 10},
      {"messages",
       json::array{json::object{{"role", "user"}, {"content", "#mock tool=get_weather"}},
                   json::object{{"role", "assistant"},
                                {"content", json::array{json::object{{"type", "tool_use"},
                                                                     {"id", "toolu_1"},
                                                                     {"name", "get_weather"},
                                                                     {"input", json::object()}}}}},
                   json::object{{"role", "user"},
                                {"content", json::array{json::object{{"type", "tool_result"},
                                                                     {"tool_use_id", "toolu_1"},
                                                                     {"content", "cold"}}}}}}}};
  auto l = post(mock, "/v1/messages", loop).json();
  EXPECT_EQ(str(l.at("stop_reason")), "end_turn");
  EXPECT_EQ(str(l.at("content").at(0).at("text")), "Tool result: cold");
}

TEST(MockAnthropic, ErrorsBeforeAndDuringStream) {
  MockUpstream mock;
  auto r = post(mock, "/v1/messages", anthropicBody("#mock status=529"));
  EXPECT_EQ(r.status, 529);
  auto v = r.json();
  EXPECT_EQ(str(v.at("type")), "error");
  EXPECT_EQ(str(v.at("error").at("type")), "overloaded_error");
  EXPECT_EQ(str(v.at("request_id")), "req_mock_1");
  auto rl = post(mock, "/v1/messages", anthropicBody("#mock status=429"));
  EXPECT_EQ(str(rl.json().at("error").at("type")), "rate_limit_error");
  EXPECT_EQ(rl.header("retry-after"), "1");

  auto s = post(mock, "/v1/messages", anthropicBody("x y z\n#mock error_after=0 status=503", true));
  auto events = parseSse(s.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "error");
  EXPECT_EQ(str(events.back().json.at("error").at("type")), "overloaded_error");
  for (const auto& e : events) {
    EXPECT_NE(e.event, "content_block_delta");
    EXPECT_NE(e.event, "message_stop");
  }
}

TEST(MockAnthropic, CountTokens) {
  MockUpstream mock;
  auto r = post(mock, "/v1/messages/count_tokens", anthropicBody("12345678"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json().at("input_tokens").as_int64(), 5);  // (9 + 8) / 4 rounded up
}

// ---------------------------------------------------------------- Bedrock

std::vector<EventStreamMessage> decodeAll(const std::string& body) {
  auto m = decodeEventStream(body);
  EXPECT_TRUE(m) << (m ? "" : m.error().message);
  return m ? *m : std::vector<EventStreamMessage>{};
}

json::value payloadJson(const EventStreamMessage& m) {
  boost::system::error_code ec;
  auto v = json::parse(m.payload, ec);
  EXPECT_FALSE(ec) << m.payload;
  return v;
}

TEST(MockBedrock, ConverseNonStream) {
  MockUpstream mock;
  auto r = post(mock, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
                bedrockBody("hello world"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-amzn-requestid"), "00000000-0000-4000-8000-000000000001");
  auto v = r.json();
  EXPECT_EQ(str(v.at("output").at("message").at("role")), "assistant");
  EXPECT_EQ(str(v.at("output").at("message").at("content").at(0).at("text")),
            "You said: hello world");
  EXPECT_EQ(str(v.at("stopReason")), "end_turn");
  EXPECT_EQ(v.at("usage").at("inputTokens").as_int64(), 5);  // (9 + 11) / 4
  EXPECT_EQ(v.at("usage").at("outputTokens").as_int64(), 4);
  EXPECT_EQ(v.at("usage").at("totalTokens").as_int64(), 9);
  EXPECT_TRUE(v.at("metrics").as_object().contains("latencyMs"));
}

TEST(MockBedrock, ConverseStreamFramesDecodeWithValidCrc) {
  MockUpstream mock;
  auto r =
      post(mock, "/model/m1/converse-stream",
           bedrockBody("#mock reasoning=\"step one\" reply=\"Done now\" tool=calc args={\"x\":2}"));
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(r.header("content-type"), "application/vnd.amazon.eventstream");
  auto msgs = decodeAll(r.body);
  ASSERT_FALSE(msgs.empty());
  std::vector<std::string> types;
  for (const auto& m : msgs) {
    EXPECT_EQ(m.header(":message-type"), "event");
    EXPECT_EQ(m.header(":content-type"), "application/json");
    ASSERT_EQ(m.headers[0].first, ":event-type");  // real Bedrock's header order
    types.emplace_back(m.header(":event-type"));
  }
  EXPECT_EQ(types.front(), "messageStart");
  ASSERT_GE(types.size(), 3U);
  EXPECT_EQ(types[types.size() - 2], "messageStop");
  EXPECT_EQ(types.back(), "metadata");
  std::map<std::int64_t, std::string> text;
  std::string signature;
  std::string tool_name;
  int stops = 0;
  for (const auto& m : msgs) {
    auto p = payloadJson(m);
    const std::string type(m.header(":event-type"));
    if (type == "contentBlockDelta") {
      auto index = p.at("contentBlockIndex").as_int64();
      const auto& d = p.at("delta").as_object();
      ASSERT_EQ(d.size(), 1U);  // a union: exactly one member
      if (const auto* t = d.if_contains("text")) text[index] += str(*t);
      if (const auto* rc = d.if_contains("reasoningContent")) {
        if (const auto* t = rc->as_object().if_contains("text")) text[index] += str(*t);
        if (const auto* s = rc->as_object().if_contains("signature")) signature = str(*s);
      }
      if (const auto* tu = d.if_contains("toolUse")) text[index] += str(tu->at("input"));
    } else if (type == "contentBlockStart") {
      tool_name = str(p.at("start").at("toolUse").at("name"));
      EXPECT_EQ(str(p.at("start").at("toolUse").at("toolUseId")), "tooluse_mock_1_0");
    } else if (type == "contentBlockStop") {
      ++stops;
    } else if (type == "messageStop") {
      EXPECT_EQ(str(p.at("stopReason")), "tool_use");
    } else if (type == "metadata") {
      EXPECT_EQ(p.at("usage").at("outputTokens").as_int64(), 2 + 2 + 1);
      EXPECT_TRUE(p.at("metrics").as_object().contains("latencyMs"));
    }
  }
  EXPECT_EQ(text[0], "step one");
  EXPECT_EQ(text[1], "Done now");
  EXPECT_EQ(text[2], R"({"x":2})");
  EXPECT_EQ(signature, "mock-signature-1");
  EXPECT_EQ(tool_name, "calc");
  EXPECT_EQ(stops, 3);
}

TEST(MockBedrock, ErrorsUseErrorTypeHeaderAndExceptionFrames) {
  MockUpstream mock;
  auto r = post(mock, "/model/m/converse", bedrockBody("#mock status=429"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("x-amzn-errortype"), "ThrottlingException");
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_TRUE(r.json().as_object().contains("message"));
  auto v = post(mock, "/model/m/converse", bedrockBody("#mock status=400"));
  EXPECT_EQ(v.header("x-amzn-errortype"), "ValidationException");

  auto s =
      post(mock, "/model/m/converse-stream", bedrockBody("a b c\n#mock error_after=2 status=429"));
  ASSERT_EQ(s.status, 200);
  auto msgs = decodeAll(s.body);
  ASSERT_FALSE(msgs.empty());
  const auto& last = msgs.back();
  EXPECT_EQ(last.header(":message-type"), "exception");
  EXPECT_EQ(last.header(":exception-type"), "throttlingException");
  EXPECT_TRUE(payloadJson(last).as_object().contains("message"));
  int deltas = 0;
  for (const auto& m : msgs) deltas += m.header(":event-type") == "contentBlockDelta" ? 1 : 0;
  EXPECT_EQ(deltas, 2);

  auto u = post(mock, "/model/m/invoke", bedrockBody("x"));
  EXPECT_EQ(u.status, 404);
}

// ---------------------------------------------------------------- pacing and latency

TEST(MockPacing, LatencyAndTokensPerSecond) {
  MockUpstream mock;
  auto t0 = std::chrono::steady_clock::now();
  auto r = post(mock, "/v1/chat/completions", chatBody("#mock latency_ms=60"));
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(elapsed, std::chrono::milliseconds(60));
  EXPECT_LT(elapsed, std::chrono::seconds(5));

  // 5 word chunks at 100/s: 4 gaps of 10 ms, one write per chunk.
  t0 = std::chrono::steady_clock::now();
  auto s = post(mock, "/v1/chat/completions", chatBody("a b c\n#mock tokens_per_s=100", true));
  elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, std::chrono::milliseconds(40));
  EXPECT_EQ(s.writes.size(), 5U);

  // Unpaced streams are one write.
  auto f = post(mock, "/v1/chat/completions", chatBody("a b c", true));
  EXPECT_EQ(f.writes.size(), 1U);
}

// ---------------------------------------------------------------- models, stats, routes

TEST(MockAdmin, ModelsStatsLastRequestAndCountFile) {
  const std::string count_file =
      ::testing::TempDir() + "mock_count_" + std::to_string(::getpid()) + ".txt";
  std::remove(count_file.c_str());
  MockUpstream mock(MockOptions{.count_file = count_file, .models = {"m-a", "m-b"}});

  auto models = call(mock, "GET", "/v1/models");
  ASSERT_EQ(models.status, 200);
  auto mv = models.json();
  EXPECT_EQ(str(mv.at("object")), "list");
  ASSERT_EQ(mv.at("data").as_array().size(), 2U);
  EXPECT_EQ(str(mv.at("data").at(1).at("id")), "m-b");
  EXPECT_EQ(str(mv.at("data").at(0).at("type")), "model");
  EXPECT_FALSE(mv.as_object().contains("models"));
  EXPECT_TRUE(
      call(mock, "GET", "/models?client_version=0.1").json().as_object().contains("models"));
  EXPECT_EQ(call(mock, "GET", "/v1/models/m-a").status, 200);
  EXPECT_EQ(call(mock, "GET", "/v1/models/nope").status, 404);

  EXPECT_EQ(call(mock, "GET", "/healthz").status, 200);
  post(mock, "/v1/chat/completions", chatBody("x"));
  post(mock, "/v1/chat/completions", chatBody("y"));
  post(mock, "/v1/messages", anthropicBody("z"));
  EXPECT_EQ(call(mock, "GET", "/v1/chat/completions").status, 405);
  EXPECT_EQ(call(mock, "POST", "/nowhere", "{}").status, 404);

  auto stats = call(mock, "GET", "/mock/stats").json();
  // 4 model listings + 3 POSTs + 1 GET + 1 unknown; /healthz and /mock/* are not counted.
  EXPECT_EQ(stats.at("requests").to_number<std::uint64_t>(), 9U);
  EXPECT_EQ(mock.requestCount(), 9U);
  EXPECT_EQ(stats.at("by_path").at("/v1/chat/completions").to_number<std::uint64_t>(), 3U);
  EXPECT_EQ(stats.at("by_path").at("/v1/messages").to_number<std::uint64_t>(), 1U);

  auto last = call(mock, "GET", "/mock/last-request");
  ASSERT_EQ(last.status, 200);
  auto lv = last.json();
  EXPECT_EQ(str(lv.at("target")), "/v1/chat/completions");
  EXPECT_EQ(str(lv.at("method")), "GET");
  EXPECT_EQ(str(lv.at("headers").at("x-api-key")), "k-test");

  EXPECT_EQ(str(stats.at("last_authorization")), "Bearer up-key");
  EXPECT_EQ(stats.at("open_streams").to_number<std::int64_t>(), 0);

  auto reset = call(mock, "DELETE", "/mock/stats").json();
  EXPECT_EQ(reset.at("requests").to_number<std::uint64_t>(), 0U);
  EXPECT_TRUE(reset.at("by_path").as_object().empty());

  std::ifstream in(count_file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 9U);
  EXPECT_EQ(lines[0], "GET /v1/models");
  EXPECT_EQ(lines[6], "POST /v1/messages");
  std::remove(count_file.c_str());
}

TEST(MockAdmin, LastRequestKeepsJsonBody) {
  MockUpstream mock;
  EXPECT_EQ(call(mock, "GET", "/mock/last-request").status, 404);
  post(mock, "/v1/messages", anthropicBody("remember me"));
  auto lv = call(mock, "GET", "/mock/last-request").json();
  EXPECT_EQ(str(lv.at("body").at("messages").at(0).at("content")), "remember me");
}

TEST(MockAdmin, OpenStreamsGaugeAndClientGoingAway) {
  MockUpstream mock;
  RecordingResponder r;
  r.writes_before_gone = 1;  // the client leaves after the first write
  std::vector<std::int64_t> open_during_writes;
  r.on_write = [&] {
    auto stats = json::parse(mock.statsJson());
    open_during_writes.push_back(stats.at("open_streams").to_number<std::int64_t>());
  };
  auto t0 = std::chrono::steady_clock::now();
  run(mock, r, "POST", "/v1/chat/completions",
      json::serialize(chatBody("#mock reply=\"a b c d e f g h\" tokens_per_s=20", true)));
  // Paced at 20/s the whole stream would take 350 ms; it stops at the first failed write.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));
  EXPECT_EQ(open_during_writes, (std::vector<std::int64_t>{1, 1}));
  EXPECT_EQ(r.writes.size(), 1U);
  EXPECT_FALSE(r.ended);
  auto stats = json::parse(mock.statsJson());
  EXPECT_EQ(stats.at("open_streams").to_number<std::int64_t>(), 0);
}

}  // namespace
}  // namespace basalt::mock
