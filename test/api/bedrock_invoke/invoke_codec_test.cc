#include "basalt/api/bedrock_invoke/invoke_codec.h"

#include "basalt/api/anthropic/messages_codec.h"
#include "basalt/api/bedrock/event_stream.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

namespace basalt::api::bedrock_invoke {
namespace {

namespace json = boost::json;
using canonical::StreamEvent;

HttpRequest post(std::string target, std::string body) {
  HttpRequest r;
  r.method = "POST";
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

std::string header(const Headers& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (h.name == name) return h.value;
  }
  return {};
}

/// The native JSON events inside a stream of `chunk` frames.
std::vector<json::object> chunks(const std::string& bytes) {
  Result<std::vector<bedrock::EventStreamMessage>> messages = bedrock::decodeEventStream(bytes);
  EXPECT_TRUE(messages.has_value());
  std::vector<json::object> out;
  if (!messages) return out;
  for (const bedrock::EventStreamMessage& m : *messages) {
    EXPECT_EQ(m.header(":event-type"), "chunk");
    EXPECT_EQ(m.header(":message-type"), "event");
    json::object payload = json::parse(m.payload).as_object();
    std::optional<std::string> native = base64Decode(payload["bytes"].as_string());
    EXPECT_TRUE(native.has_value());
    if (native) out.push_back(json::parse(*native).as_object());
  }
  return out;
}

constexpr std::string_view kClaudeBody =
    R"({"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["context-1m-2025-08-07"],
        "max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]})";

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::string s : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                        std::string("foob"), std::string("\x00\xff\x10 binary", 10)}) {
    std::string enc = base64Encode(s);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(base64Decode(enc), s) << enc;
  }
  EXPECT_EQ(base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64Decode("aGVsbG8="), "hello");
  EXPECT_FALSE(base64Decode("abc"));
  EXPECT_FALSE(base64Decode("ab!d"));
  EXPECT_FALSE(base64Decode("ab=d"));
}

TEST(InvokeDoor, ClaudeBody) {
  auto codec = makeDoorCodec();
  EXPECT_EQ(codec->door(), canonical::Door::kBedrockInvoke);
  Result<canonical::ChatRequest> req = codec->decode(
      post("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fclaude-x/invoke",
           std::string(kClaudeBody)));
  ASSERT_TRUE(req.has_value()) << req.error().message;
  EXPECT_EQ(req->model, "claude-x");
  EXPECT_FALSE(req->stream);
  EXPECT_EQ(req->door, canonical::Door::kBedrockInvoke);
  EXPECT_EQ(req->anthropic_beta, "context-1m-2025-08-07");
  EXPECT_EQ(bodyFormat(*req), BodyFormat::kAnthropic);
  EXPECT_EQ(req->max_tokens, 100);

  canonical::ChatResponse resp;
  resp.id = "msg_bdrk_1";
  resp.content.emplace_back(canonical::TextBlock{"Hello"});
  resp.stop_reason = canonical::StopReason::kEndTurn;
  resp.usage.input_tokens = 12;
  resp.usage.output_tokens = 3;
  canonical::EncodedReply reply = codec->encodeResponse(resp, *req);
  EXPECT_EQ(header(reply.headers, "x-amzn-bedrock-input-token-count"), "12");
  EXPECT_EQ(header(reply.headers, "x-amzn-bedrock-output-token-count"), "3");
  json::object body = json::parse(reply.body).as_object();
  EXPECT_EQ(body["type"], "message");
  EXPECT_EQ(body["id"], "msg_bdrk_1");
  EXPECT_EQ(body["stop_reason"], "end_turn");
  EXPECT_EQ(body["content"].as_array()[0].as_object()["text"], "Hello");
}

TEST(InvokeDoor, OpenAIChatBody) {
  auto codec = makeDoorCodec();
  Result<canonical::ChatRequest> req =
      codec->decode(post("/model/openai.gpt-oss-120b-1%3A0/invoke-with-response-stream",
                         R"({"messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":50,
               "stream":false})"));
  ASSERT_TRUE(req.has_value()) << req.error().message;
  EXPECT_EQ(req->model, "openai.gpt-oss-120b-1:0");
  EXPECT_TRUE(req->stream);  // the operation decides, not the body
  EXPECT_EQ(req->door, canonical::Door::kBedrockInvoke);
  EXPECT_EQ(bodyFormat(*req), BodyFormat::kOpenAIChat);

  canonical::ChatResponse resp;
  resp.content.emplace_back(canonical::TextBlock{"Hello"});
  resp.stop_reason = canonical::StopReason::kEndTurn;
  json::object body = json::parse(codec->encodeResponse(resp, *req).body).as_object();
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"].as_array()[0].as_object()["message"].as_object()["content"], "Hello");
}

TEST(InvokeDoor, ErrorsInBedrockShape) {
  auto codec = makeDoorCodec();
  Result<canonical::ChatRequest> bad = codec->decode(post("/model/m/invoke", R"({"prompt":"x"})"));
  ASSERT_FALSE(bad);
  canonical::EncodedReply reply = codec->encodeError(bad.error());
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(header(reply.headers, "x-amzn-errortype"), "ValidationException");
  EXPECT_TRUE(json::parse(reply.body).as_object().contains("message"));
  // The vendor codec's own validation is kept (missing max_tokens in a Claude body).
  Result<canonical::ChatRequest> no_max = codec->decode(post(
      "/model/m/invoke",
      R"({"anthropic_version":"bedrock-2023-05-31","messages":[{"role":"user","content":"x"}]})"));
  ASSERT_FALSE(no_max);
  EXPECT_EQ(no_max.error().param, "max_tokens");
  EXPECT_FALSE(codec->decode(post("/model/m/invoke", "not json")));
  Result<canonical::ChatRequest> wrong_op =
      codec->decode(post("/model/m/converse", std::string(kClaudeBody)));
  ASSERT_FALSE(wrong_op);
  EXPECT_EQ(wrong_op.error().kind, ErrorKind::kNotFound);
}

TEST(InvokeStream, ClaudeEventsAsBase64Chunks) {
  auto codec = makeDoorCodec();
  Result<canonical::ChatRequest> req =
      codec->decode(post("/model/claude-x/invoke-with-response-stream", std::string(kClaudeBody)));
  ASSERT_TRUE(req.has_value());
  auto encoder = codec->newStreamEncoder(*req);
  EXPECT_EQ(header(encoder->headers(), "content-type"), "application/vnd.amazon.eventstream");
  std::string out;
  canonical::Usage usage;
  usage.input_tokens = 20;
  usage.cache_read_tokens = 5;
  usage.output_tokens = 7;
  encoder->encode(StreamEvent::messageStart("msg_1", "claude-x"), out);
  encoder->encode(StreamEvent::blockStart(0, canonical::BlockType::kText), out);
  encoder->encode(StreamEvent::delta(0, canonical::DeltaType::kText, "Hi \"there\""), out);
  encoder->encode(StreamEvent::blockStop(0), out);
  encoder->encode(StreamEvent::usageEvent(usage), out);
  encoder->encode(StreamEvent::messageStop(canonical::StopReason::kEndTurn), out);

  std::vector<json::object> events = chunks(out);
  ASSERT_EQ(events.size(), 6u);  // no ping in the Bedrock framing
  const char* types[] = {"message_start",      "content_block_start", "content_block_delta",
                         "content_block_stop", "message_delta",       "message_stop"};
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]["type"], types[i]) << i;
  EXPECT_EQ(events[2]["delta"].as_object()["text"], "Hi \"there\"");
  json::object& metrics = events[5]["amazon-bedrock-invocationMetrics"].as_object();
  EXPECT_EQ(metrics["inputTokenCount"], 15);
  EXPECT_EQ(metrics["outputTokenCount"], 7);
  EXPECT_TRUE(metrics.contains("invocationLatency"));
  EXPECT_TRUE(metrics.contains("firstByteLatency"));

  // The native events are a valid Messages stream: the Anthropic decoder reads them back.
  anthropic::StreamDecoder decoder;
  std::vector<StreamEvent> back;
  for (const json::object& e : events) {
    ASSERT_TRUE(decoder.feed(std::string(e.at("type").as_string()), json::serialize(e), back));
  }
  canonical::StreamAccumulator acc;
  for (const StreamEvent& e : back) acc.add(e);
  ASSERT_TRUE(acc.finished());
  EXPECT_EQ(std::get<canonical::TextBlock>(acc.response().content[0]).text, "Hi \"there\"");
  EXPECT_EQ(acc.response().usage.input_tokens, 20);
  EXPECT_EQ(acc.response().usage.output_tokens, 7);
}

TEST(InvokeStream, MidStreamErrorIsAnExceptionFrame) {
  auto codec = makeDoorCodec();
  Result<canonical::ChatRequest> req =
      codec->decode(post("/model/claude-x/invoke-with-response-stream", std::string(kClaudeBody)));
  ASSERT_TRUE(req.has_value());
  auto encoder = codec->newStreamEncoder(*req);
  std::string out;
  encoder->encode(StreamEvent::messageStart("msg_1", "claude-x"), out);
  encoder->encode(StreamEvent::blockStart(0, canonical::BlockType::kText), out);
  const std::size_t before = out.size();
  encoder->encode(StreamEvent::errorEvent(Error{ErrorKind::kRateLimited, "slow down"}), out);
  std::size_t consumed = 0;
  Result<bedrock::EventStreamMessage> m =
      bedrock::decodeEventStreamMessage(std::string_view(out).substr(before), consumed);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->header(":message-type"), "exception");
  EXPECT_EQ(m->header(":exception-type"), "throttlingException");
  const std::size_t after = out.size();
  encoder->encode(StreamEvent::messageStop(canonical::StopReason::kEndTurn), out);
  EXPECT_EQ(out.size(), after);
}

TEST(InvokeStream, OpenAIChunksWithoutDone) {
  auto codec = makeDoorCodec();
  Result<canonical::ChatRequest> req =
      codec->decode(post("/model/gpt-oss/invoke-with-response-stream",
                         R"({"messages":[{"role":"user","content":"Hi"}]})"));
  ASSERT_TRUE(req.has_value());
  auto encoder = codec->newStreamEncoder(*req);
  std::string out;
  canonical::Usage usage;
  usage.input_tokens = 3;
  usage.output_tokens = 2;
  encoder->encode(StreamEvent::messageStart("", "gpt-oss"), out);
  encoder->encode(StreamEvent::blockStart(0, canonical::BlockType::kText), out);
  encoder->encode(StreamEvent::delta(0, canonical::DeltaType::kText, "Yo"), out);
  encoder->encode(StreamEvent::blockStop(0), out);
  encoder->encode(StreamEvent::usageEvent(usage), out);
  encoder->encode(StreamEvent::messageStop(canonical::StopReason::kEndTurn), out);
  std::vector<json::object> events = chunks(out);
  ASSERT_GE(events.size(), 3u);
  std::string text;
  bool saw_finish = false;
  bool saw_usage = false;
  for (json::object& e : events) {
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    for (json::value& c : e["choices"].as_array()) {
      json::object& delta = c.as_object()["delta"].as_object();
      if (const json::value* t = delta.if_contains("content"); t && t->is_string()) {
        text += t->as_string();
      }
      saw_finish |= c.as_object()["finish_reason"] == "stop";
    }
    if (const json::value* u = e.if_contains("usage"); u && u->is_object()) {
      saw_usage = u->as_object().at("prompt_tokens") == 3;
    }
  }
  EXPECT_EQ(text, "Yo");
  EXPECT_TRUE(saw_finish);
  EXPECT_TRUE(saw_usage);
}

}  // namespace
}  // namespace basalt::api::bedrock_invoke
