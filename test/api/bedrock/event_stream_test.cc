#include "basalt/api/bedrock/event_stream.h"

#include <gtest/gtest.h>

#include <string>

namespace basalt::api::bedrock {
namespace {

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

// Vectors from botocore tests/unit/test_eventstream.py and reference/bedrock.md §2.4.
TEST(EventStream, EmptyMessageVector) {
  std::string m = encodeEventStreamMessage({}, "");
  EXPECT_EQ(m, unhex("000000100000000005c248eb7d98c8ff"));
}

TEST(EventStream, OneStringHeaderVector) {
  std::string m = encodeEventStreamMessage({{"content-type", "application/json"}}, "{'foo':'bar'}");
  EXPECT_EQ(m.size(), 0x3dU);
  EXPECT_EQ(m.substr(0, 12), unhex("0000003d0000002007fd8396"));
  EXPECT_EQ(m.substr(m.size() - 4), unhex("8d9c08b1"));
}

TEST(EventStream, BedrockContentBlockDeltaVector) {
  std::string m = encodeBedrockEvent("contentBlockDelta",
                                     R"({"contentBlockIndex":0,"delta":{"text":"Hello"}})");
  EXPECT_EQ(m, unhex("0000009700000057f30be03e0b3a6576656e742d74797065070011636f6e74656e74426c6f63"
                     "6b44656c74610d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a73"
                     "6f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74426c6f63"
                     "6b496e646578223a302c2264656c7461223a7b2274657874223a2248656c6c6f227d7d6762"
                     "3831"));
}

TEST(EventStream, BedrockThrottlingExceptionVector) {
  std::string m = encodeBedrockException("throttlingException",
                                         "Too many requests, please wait before trying again.");
  EXPECT_EQ(m.size(), 178U);
  EXPECT_EQ(m.substr(0, 12), unhex("000000b2000000613590d5d3"));
  EXPECT_EQ(m.substr(m.size() - 4), unhex("e8ffb26a"));
}

TEST(EventStream, DecodesRealCapturedFrameAndOtherHeaderTypes) {
  // botocore INT8_HEADER: a byte header (type 2).
  std::size_t consumed = 0;
  auto m =
      decodeEventStreamMessage(unhex("000000170000000729860158046279746502ffc2f869dc"), consumed);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(consumed, 0x17U);
  ASSERT_EQ(m->headers.size(), 1U);
  EXPECT_EQ(m->headers[0].first, "byte");
  EXPECT_EQ(m->headers[0].second, std::string(1, '\xff'));
}

TEST(EventStream, RoundTripAndCrcChecks) {
  std::string a = encodeBedrockEvent("messageStart", R"({"role":"assistant"})");
  std::string b = encodeBedrockEvent("messageStop", R"({"stopReason":"end_turn"})");
  auto all = decodeEventStream(a + b);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[0].header(":event-type"), "messageStart");
  EXPECT_EQ((*all)[0].header(":message-type"), "event");
  EXPECT_EQ((*all)[0].header(":content-type"), "application/json");
  EXPECT_EQ((*all)[1].payload, R"({"stopReason":"end_turn"})");

  std::string corrupt_payload = a;
  corrupt_payload[corrupt_payload.size() - 6] ^= 0x01;
  EXPECT_FALSE(decodeEventStream(corrupt_payload));
  std::string corrupt_prelude = a;
  corrupt_prelude[3] ^= 0x01;
  EXPECT_FALSE(decodeEventStream(corrupt_prelude));
  EXPECT_FALSE(decodeEventStream(a.substr(0, a.size() - 1)));  // truncated
}

}  // namespace
}  // namespace basalt::api::bedrock

namespace basalt::api::bedrock {
namespace {

TEST(EventStreamReader, ReassemblesMessagesSplitAnywhere) {
  std::string body =
      encodeBedrockEvent("messageStart", R"({"role":"assistant"})") +
      encodeBedrockEvent("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})") +
      encodeBedrockException("throttlingException", "slow \"down\"\n");
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{17}, body.size()}) {
    EventStreamReader reader;
    std::vector<EventStreamMessage> got;
    for (std::size_t i = 0; i < body.size(); i += piece) {
      ASSERT_TRUE(reader.feed(std::string_view(body).substr(i, piece), got)) << piece;
    }
    ASSERT_EQ(got.size(), 3u) << piece;
    EXPECT_EQ(reader.pending(), 0u);
    EXPECT_EQ(got[0].header(":event-type"), "messageStart");
    EXPECT_EQ(got[1].payload, R"({"contentBlockIndex":0,"delta":{"text":"Hi"}})");
    EXPECT_EQ(got[2].header(":message-type"), "exception");
    EXPECT_EQ(got[2].payload, R"({"message":"slow \"down\"\n"})");
  }
}

TEST(EventStreamReader, TruncationIsPendingAndCorruptionIsAnError) {
  const std::string a = encodeBedrockEvent("messageStop", R"({"stopReason":"end_turn"})");
  EventStreamReader reader;
  std::vector<EventStreamMessage> got;
  ASSERT_TRUE(reader.feed(std::string_view(a).substr(0, a.size() - 2), got));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(reader.pending(), a.size() - 2);

  std::string bad = a;
  bad[20] ^= 0x01;  // a header byte: only the message CRC can notice
  EventStreamReader r2;
  auto res = r2.feed(bad, got);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, ErrorKind::kUpstreamError);
  EXPECT_NE(res.error().message.find("message CRC"), std::string::npos);
  EXPECT_FALSE(r2.feed(a, got));  // no resynchronisation after a corrupt frame

  std::string garbage(64, 'x');  // a bogus prelude must fail at once, not wait for 2 GB
  EventStreamReader r3;
  EXPECT_FALSE(r3.feed(garbage, got));
}

}  // namespace
}  // namespace basalt::api::bedrock
