#include "basalt/api/bedrock/converse_codec.h"

#include "test_util.h"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

namespace basalt::api::bedrock {
namespace {

using canonical::BlockType;
using canonical::DeltaType;
using canonical::StreamEvent;
using namespace testutil;  // NOLINT

std::string encodeAll(const std::vector<StreamEvent>& events) {
  auto enc = makeDoorCodec()->newStreamEncoder(canonical::ChatRequest{});
  std::string out;
  for (const StreamEvent& e : events) enc->encode(e, out);
  return out;
}

TEST(ConverseStreamEncoder, HeadersAndUnionDiscipline) {
  auto enc = makeDoorCodec()->newStreamEncoder(canonical::ChatRequest{});
  ASSERT_EQ(enc->headers().size(), 1u);
  EXPECT_EQ(enc->headers()[0].value, "application/vnd.amazon.eventstream");
  canonical::Usage usage;
  usage.input_tokens = 30;  // 10 of them cached: Bedrock's inputTokens excludes those
  usage.cache_read_tokens = 10;
  usage.output_tokens = 5;
  const std::string body = encodeAll({
      StreamEvent::messageStart("id", "m"),
      StreamEvent::blockStart(0, BlockType::kText),
      StreamEvent::delta(0, DeltaType::kText, ""),
      StreamEvent::delta(0, DeltaType::kText, "Hi"),
      StreamEvent::blockStop(0),
      StreamEvent::blockStart(1, BlockType::kToolUse, "tooluse_1", "f"),
      StreamEvent::delta(1, DeltaType::kToolInputJson, "{}"),
      StreamEvent::blockStop(1),
      StreamEvent::usageEvent(usage),
      StreamEvent::messageStop(canonical::StopReason::kUnset),
      StreamEvent::delta(0, DeltaType::kText, "after the end"),
  });
  json::array frames = framesJson(body);
  ASSERT_EQ(frames.size(), 8u) << json::serialize(frames);
  std::vector<std::string> types;
  for (const json::value& f : frames) {
    const json::object& h = f.at("headers").as_object();
    EXPECT_EQ(h.at(":message-type"), "event");
    EXPECT_EQ(h.at(":content-type"), "application/json");
    types.emplace_back(h.at(":event-type").as_string());
  }
  EXPECT_EQ(types, (std::vector<std::string>{
                       "messageStart", "contentBlockDelta", "contentBlockStop", "contentBlockStart",
                       "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}));
  EXPECT_EQ(frames[6].at("payload"), json::parse(R"({"stopReason":"tool_use"})"));
  EXPECT_EQ(frames[7].at("payload"),
            json::parse(R"({"usage":{"inputTokens":20,"outputTokens":5,"totalTokens":35,
                                      "cacheReadInputTokens":10},"metrics":{"latencyMs":0}})"));
}

TEST(ConverseStreamEncoder, ErrorEndsTheStream) {
  Error e;
  e.kind = ErrorKind::kRateLimited;
  e.message = "slow down";
  const std::string body = encodeAll({StreamEvent::messageStart("", ""), StreamEvent::errorEvent(e),
                                      StreamEvent::messageStop(canonical::StopReason::kEndTurn)});
  json::array frames = framesJson(body);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].at("headers").at(":exception-type"), "throttlingException");
  EXPECT_EQ(frames[1].at("payload"), json::parse(R"({"message":"slow down"})"));
}

TEST(StreamDecoder, RoundTripThroughTheEncoderInTinyPieces) {
  canonical::Usage usage;
  usage.input_tokens = 12;
  usage.cache_write_tokens = 2;
  usage.output_tokens = 7;
  const std::vector<StreamEvent> events = {
      StreamEvent::messageStart("", "m"),
      StreamEvent::blockStart(0, BlockType::kReasoning),
      StreamEvent::delta(0, DeltaType::kReasoningText, "hmm"),
      StreamEvent::delta(0, DeltaType::kSignature, "sig"),
      StreamEvent::blockStop(0),
      StreamEvent::blockStart(1, BlockType::kText),
      StreamEvent::delta(1, DeltaType::kText, "Hel"),
      StreamEvent::delta(1, DeltaType::kText, "lo"),
      StreamEvent::blockStop(1),
      StreamEvent::blockStart(2, BlockType::kToolUse, "tooluse_9", "get"),
      StreamEvent::delta(2, DeltaType::kToolInputJson, "{\"a\":"),
      StreamEvent::delta(2, DeltaType::kToolInputJson, "1}"),
      StreamEvent::blockStop(2),
      StreamEvent::usageEvent(usage),
      StreamEvent::messageStop(canonical::StopReason::kToolUse),
  };
  const std::string body = encodeAll(events);
  StreamDecoder decoder("m");
  std::vector<StreamEvent> got;
  for (std::size_t i = 0; i < body.size(); i += 5) {
    ASSERT_TRUE(decoder.feedBytes(std::string_view(body).substr(i, 5), got));
  }
  decoder.finish(got);
  EXPECT_TRUE(decoder.sawMessageStop());
  EXPECT_EQ(decoder.pendingBytes(), 0u);
  EXPECT_EQ(eventsJson(got), eventsJson(events));
}

TEST(StreamDecoder, ExceptionFrameAndCorruption) {
  StreamDecoder decoder;
  std::vector<StreamEvent> got;
  std::string body = encodeBedrockEvent("messageStart", R"({"role":"assistant"})") +
                     encodeBedrockException("throttlingException", "Too many tokens");
  auto r = decoder.feedBytes(body, got);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(r.error().message, "Too many tokens");
  EXPECT_EQ(got.size(), 1u);  // the messageStart before it still counts

  StreamDecoder d2;
  std::string corrupt =
      encodeBedrockEvent("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"x"}})");
  corrupt[corrupt.size() - 8] ^= 0x20;  // inside the payload
  r = d2.feedBytes(corrupt, got);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUpstreamError);

  StreamDecoder d3;
  r = d3.feedBytes(encodeBedrockEvent("contentBlockDelta", "not json"), got);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUpstreamError);
}

TEST(StreamDecoder, UnknownEventsPaddingAndCutOffStreams) {
  StreamDecoder decoder("m", "req-1");
  std::vector<StreamEvent> got;
  std::string body =
      encodeBedrockEvent("messageStart", R"({"role":"assistant","p":"abcdef"})") +
      encodeBedrockEvent("somethingNew", R"({"x":1})") +
      encodeBedrockEvent("contentBlockDelta",
                         R"({"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abc"})");
  ASSERT_TRUE(decoder.feedBytes(body, got));
  EXPECT_FALSE(decoder.sawMessageStop());
  decoder.finish(got);  // a provider reports the cut-off; the events are still well-formed
  EXPECT_EQ(eventsJson(got), json::parse(R"([
      {"type":"message_start","id":"req-1","model":"m"},
      {"type":"block_start","index":0,"block":"text"},
      {"type":"delta","index":0,"delta":"text","text":"Hi"},
      {"type":"block_stop","index":0},
      {"type":"message_stop","stop_reason":"end_turn"}])"));
}

}  // namespace
}  // namespace basalt::api::bedrock
