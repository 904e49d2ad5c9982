#include "basalt/api/openai_chat/chat_codec.h"

#include <gtest/gtest.h>

#include <regex>

namespace basalt::api::openai_chat {
namespace {

using canonical::BlockType;
using canonical::DeltaType;
using canonical::StreamEvent;

/// Replaces the random id and the clock so frames can be compared byte for byte.
std::string normalize(const std::string& sse) {
  static const std::regex kId("\"id\":\"chatcmpl-[A-Za-z0-9]+\"");
  static const std::regex kCreated("\"created\":[0-9]+");
  return std::regex_replace(std::regex_replace(sse, kId, "\"id\":\"chatcmpl-ID\""), kCreated,
                            "\"created\":0");
}

std::string run(const canonical::ChatRequest& request, const std::vector<StreamEvent>& events) {
  auto encoder = makeDoorCodec()->newStreamEncoder(request);
  std::string out;
  for (const StreamEvent& e : events) encoder->encode(e, out);
  return out;
}

canonical::ChatRequest request(bool include_usage) {
  canonical::ChatRequest r;
  r.model = "gpt-test";
  r.stream = true;
  r.include_usage = include_usage;
  return r;
}

TEST(StreamEncoder, Headers) {
  auto encoder = makeDoorCodec()->newStreamEncoder(request(false));
  Headers h = encoder->headers();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].name, "content-type");
  EXPECT_EQ(h[0].value, "text/event-stream; charset=utf-8");
  EXPECT_EQ(h[1].name, "cache-control");
  EXPECT_EQ(h[1].value, "no-cache");
}

TEST(StreamEncoder, TextWithoutUsageIsExactOpenAIFraming) {
  canonical::Usage usage{5, 2};
  std::string out = run(
      request(false),
      {StreamEvent::messageStart("msg_1", "claude"), StreamEvent::blockStart(0, BlockType::kText),
       StreamEvent::delta(0, DeltaType::kText, "Hi \"you\"\n"), StreamEvent::blockStop(0),
       StreamEvent::usageEvent(usage), StreamEvent::messageStop(canonical::StopReason::kEndTurn)});
  const std::string prefix =
      R"(data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":0,"model":"gpt-test","system_fingerprint":null,"choices":)";
  EXPECT_EQ(
      normalize(out),
      prefix +
          R"([{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]})"
          "\n\n" +
          prefix +
          R"([{"index":0,"delta":{"content":"Hi \"you\"\n"},"logprobs":null,"finish_reason":null}]})"
          "\n\n" +
          prefix +
          R"([{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})"
          "\n\n"
          "data: [DONE]\n\n");
}

TEST(StreamEncoder, SameIdInEveryChunkAndUpstreamChatcmplKept) {
  std::string out =
      run(request(true), {StreamEvent::messageStart("chatcmpl-up", "m"),
                          StreamEvent::blockStart(0, BlockType::kText),
                          StreamEvent::delta(0, DeltaType::kText, "x"), StreamEvent::blockStop(0),
                          StreamEvent::messageStop(canonical::StopReason::kEndTurn)});
  std::size_t frames = 0;
  for (std::size_t pos = 0; (pos = out.find("data: {", pos)) != std::string::npos; ++pos) {
    ++frames;
    EXPECT_EQ(out.compare(pos, 26, "data: {\"id\":\"chatcmpl-up\","), 0) << out.substr(pos, 40);
  }
  EXPECT_EQ(frames, 4u);  // role, text, finish, usage
  EXPECT_NE(out.find(R"("choices":[],"usage":{"prompt_tokens":0)"), std::string::npos);
}

TEST(StreamEncoder, ErrorFrameThenDoneAndNothingAfter) {
  auto encoder = makeDoorCodec()->newStreamEncoder(request(false));
  std::string out;
  encoder->encode(StreamEvent::messageStart("x", "m"), out);
  const std::size_t before = out.size();
  Error e{ErrorKind::kUpstreamError, "upstream went away"};
  encoder->encode(StreamEvent::errorEvent(e), out);
  EXPECT_EQ(out.substr(before),
            "data: {\"error\":{\"message\":\"upstream went away\",\"type\":\"server_error\","
            "\"param\":null,\"code\":null}}\n\ndata: [DONE]\n\n");
  const std::size_t done = out.size();
  encoder->encode(StreamEvent::messageStop(canonical::StopReason::kEndTurn), out);
  EXPECT_EQ(out.size(), done);
}

TEST(StreamEncoder, ToolIndexIsRunningCallIndexNotBlockIndex) {
  std::string out = run(
      request(false),
      {StreamEvent::messageStart("m1", "m"), StreamEvent::blockStart(0, BlockType::kReasoning),
       StreamEvent::delta(0, DeltaType::kReasoningText, "think"),
       StreamEvent::delta(0, DeltaType::kSignature, "sig"), StreamEvent::blockStop(0),
       StreamEvent::blockStart(1, BlockType::kText), StreamEvent::delta(1, DeltaType::kText, "ok"),
       StreamEvent::blockStop(1), StreamEvent::blockStart(2, BlockType::kToolUse, "toolu_a", "f"),
       StreamEvent::delta(2, DeltaType::kToolInputJson, "{}"), StreamEvent::blockStop(2),
       StreamEvent::messageStop(canonical::StopReason::kToolUse)});
  EXPECT_NE(out.find(R"("delta":{"reasoning_content":"think"})"), std::string::npos);
  EXPECT_EQ(out.find("sig"), std::string::npos);
  EXPECT_NE(
      out.find(
          R"("delta":{"tool_calls":[{"index":0,"id":"toolu_a","type":"function","function":{"name":"f","arguments":""}}]})"),
      std::string::npos);
  EXPECT_NE(out.find(R"("delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]})"),
            std::string::npos);
  EXPECT_NE(out.find(R"("finish_reason":"tool_calls")"), std::string::npos);
}

}  // namespace
}  // namespace basalt::api::openai_chat
