#include "basalt/api/anthropic/messages_codec.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

namespace basalt::api::anthropic {
namespace {

namespace json = boost::json;
using canonical::StreamEvent;

json::object parse(const std::string& text) {
  return json::parse(text).as_object();
}

std::string header(const canonical::EncodedReply& r, std::string_view name) {
  for (const Header& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return {};
}

TEST(Errors, StatusesAndTypes) {
  struct Case {
    ErrorKind kind;
    int status;
    const char* type;
  };
  const Case cases[] = {
      {ErrorKind::kInvalidRequest, 400, "invalid_request_error"},
      {ErrorKind::kUnauthenticated, 401, "authentication_error"},
      {ErrorKind::kPermissionDenied, 403, "permission_error"},
      {ErrorKind::kNotFound, 404, "not_found_error"},
      {ErrorKind::kPayloadTooLarge, 413, "request_too_large"},
      {ErrorKind::kRateLimited, 429, "rate_limit_error"},
      {ErrorKind::kInternal, 500, "api_error"},
      {ErrorKind::kUpstreamError, 502, "api_error"},
      {ErrorKind::kUpstreamUnavailable, 503, "overloaded_error"},
      {ErrorKind::kUpstreamTimeout, 504, "timeout_error"},
  };
  for (const Case& c : cases) {
    Error e{c.kind, "boom"};
    canonical::EncodedReply r = encodeError(e);
    EXPECT_EQ(r.status, c.status) << c.type;
    EXPECT_EQ(header(r, "content-type"), "application/json");
    json::object body = parse(r.body);
    EXPECT_EQ(body["type"], "error");
    EXPECT_EQ(body["error"].as_object()["type"], c.type);
    EXPECT_EQ(body["error"].as_object()["message"], "boom");
  }
}

TEST(Errors, OverloadedUpstreamKeeps529AndRetryAfter) {
  Error e{ErrorKind::kUpstreamUnavailable, "Overloaded"};
  e.upstream_status = 529;
  e.retry_after_s = 7;
  canonical::EncodedReply r = encodeError(e);
  EXPECT_EQ(r.status, 529);
  EXPECT_EQ(header(r, "retry-after"), "7");
  Error limited{ErrorKind::kRateLimited, "slow down"};
  limited.retry_after_s = 3;
  EXPECT_EQ(header(encodeError(limited), "retry-after"), "3");
}

TEST(Errors, StreamErrorFrame) {
  EXPECT_EQ(encodeStreamError(Error{ErrorKind::kUpstreamUnavailable, "Overloaded"}),
            "event: error\ndata: "
            R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"
            "\n\n");
}

TEST(Errors, UpstreamErrorDecoding) {
  Error e = decodeUpstreamError(
      529, {}, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_EQ(e.kind, ErrorKind::kUpstreamUnavailable);
  EXPECT_EQ(e.message, "Overloaded");
  EXPECT_EQ(e.upstream_status, 529);
  e = decodeUpstreamError(429, {{"retry-after", "12"}},
                          R"({"type":"error","error":{"type":"rate_limit_error","message":"x"}})");
  EXPECT_EQ(e.kind, ErrorKind::kRateLimited);
  EXPECT_EQ(e.retry_after_s, 12);
  e = decodeUpstreamError(
      401, {}, R"({"type":"error","error":{"type":"authentication_error","message":"bad key"}})");
  EXPECT_EQ(e.kind, ErrorKind::kUpstreamError);
  e = decodeUpstreamError(
      400, {}, R"({"type":"error","error":{"type":"invalid_request_error","message":"no"}})");
  EXPECT_EQ(e.kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(e.message, "no");
  e = decodeUpstreamError(503, {}, "<html>busy</html>");
  EXPECT_EQ(e.kind, ErrorKind::kUpstreamUnavailable);
  EXPECT_EQ(e.message, "<html>busy</html>");
  e = decodeUpstreamError(500, {}, "");
  EXPECT_EQ(e.kind, ErrorKind::kUpstreamError);
}

TEST(Response, UsageExcludesCacheAndIdsAndStopReasons) {
  canonical::ChatResponse resp;
  resp.id = "chatcmpl-9";
  resp.model = "gpt-x";
  resp.content.emplace_back(canonical::TextBlock{"hi"});
  resp.content.emplace_back(canonical::ToolUseBlock{"call_1", "f", R"({"a":1})"});
  resp.content.emplace_back(canonical::ReasoningBlock{"", "", "", "enc", "rs_1"});
  resp.content.emplace_back(
      canonical::OpaqueBlock{canonical::Vendor::kOpenAI, R"({"type":"refusal","refusal":"No."})"});
  resp.usage.input_tokens = 100;
  resp.usage.cache_read_tokens = 30;
  resp.usage.cache_write_tokens = 20;
  resp.usage.output_tokens = 9;
  canonical::ChatRequest req;
  req.model = "alias";
  req.request_id = "ab-12";
  json::object body = parse(encodeResponseBody(resp, req));
  EXPECT_EQ(body["id"], "msg_ab12");
  EXPECT_EQ(body["model"], "alias");
  EXPECT_EQ(body["stop_reason"], "tool_use");  // unset + a tool call
  EXPECT_TRUE(body["stop_sequence"].is_null());
  json::array& content = body["content"].as_array();
  ASSERT_EQ(content.size(), 3u);  // encrypted-only reasoning has no Messages form
  EXPECT_EQ(content[1].as_object()["input"].as_object()["a"], 1);
  EXPECT_EQ(content[2].as_object()["text"], "No.");
  json::object& usage = body["usage"].as_object();
  EXPECT_EQ(usage["input_tokens"], 50);
  EXPECT_EQ(usage["cache_read_input_tokens"], 30);
  EXPECT_EQ(usage["cache_creation_input_tokens"], 20);
  EXPECT_EQ(usage["output_tokens"], 9);

  EXPECT_STREQ(stopReasonWord(canonical::StopReason::kContentFilter, false), "refusal");
  EXPECT_STREQ(stopReasonWord(canonical::StopReason::kMaxTokens, true), "max_tokens");
  EXPECT_EQ(stopReasonFromWord("pause_turn"), canonical::StopReason::kPauseTurn);
  EXPECT_EQ(messageId("msg_keep", "r"), "msg_keep");
  EXPECT_TRUE(messageId("", "").starts_with("msg_"));
  EXPECT_EQ(messageId("", "").size(), 28u);
}

TEST(Stream, EncoderOrderingUsageAndIndexes) {
  canonical::ChatRequest req;
  req.model = "alias";
  req.request_id = "r1";
  auto encoder = makeDoorCodec()->newStreamEncoder(req);
  std::string out;
  canonical::Usage early;
  early.input_tokens = 40;
  early.cache_read_tokens = 10;
  encoder->encode(StreamEvent::messageStart("chatcmpl-1", "up"), out);
  EXPECT_EQ(out, "");  // held until the first content so usage can join it
  encoder->encode(StreamEvent::usageEvent(early), out);
  encoder->encode(StreamEvent::blockStart(3, canonical::BlockType::kToolUse, "call_1", "f"), out);
  encoder->encode(StreamEvent::delta(3, canonical::DeltaType::kToolInputJson, "{\"a\""), out);
  encoder->encode(StreamEvent::delta(9, canonical::DeltaType::kText, "lost"), out);
  canonical::Usage final_usage = early;
  final_usage.output_tokens = 5;
  encoder->encode(StreamEvent::usageEvent(final_usage), out);
  encoder->encode(StreamEvent::messageStop(canonical::StopReason::kToolUse), out);
  encoder->encode(StreamEvent::blockStart(4, canonical::BlockType::kText), out);  // after stop
  const std::string want =
      "event: message_start\ndata: "
      R"({"type":"message_start","message":{"id":"msg_r1","type":"message","role":"assistant",)"
      R"("model":"alias","content":[],"stop_reason":null,"stop_sequence":null,"usage":)"
      R"({"input_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":10,)"
      R"("output_tokens":0}}})"
      "\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n"
      "event: content_block_start\ndata: "
      R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use",)"
      R"("id":"call_1","name":"f","input":{}}})"
      "\n\nevent: content_block_delta\ndata: "
      R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta",)"
      R"("partial_json":"{\"a\""}})"
      "\n\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\ndata: "
      R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},)"
      R"("usage":{"input_tokens":30,"cache_creation_input_tokens":0,)"
      R"("cache_read_input_tokens":10,"output_tokens":5}})"
      "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  EXPECT_EQ(out, want);
  // request-id is the transport's (pipeline::Gateway adds it to every Anthropic-door answer).
  for (const Header& h : encoder->headers()) EXPECT_NE(h.name, "request-id");
}

TEST(Stream, MessageStartEstimatesInputTokensUntilTheProviderReportsThem) {
  canonical::ChatRequest req;
  req.model = "m";
  canonical::Message user;
  user.content.emplace_back(canonical::TextBlock{std::string(400, 'x')});
  req.messages.push_back(user);
  auto encoder = makeDoorCodec()->newStreamEncoder(req);
  std::string out;
  // An OpenAI-format upstream: no usage before the content.
  encoder->encode(StreamEvent::messageStart("chatcmpl-1", "m"), out);
  encoder->encode(StreamEvent::blockStart(0, canonical::BlockType::kText), out);
  const std::string estimate = std::to_string(estimateInputTokens(req));
  EXPECT_NE(out.find(R"("input_tokens":)" + estimate), std::string::npos) << out;
  EXPECT_GE(estimateInputTokens(req), 100);
}

TEST(Stream, ErrorBeforeAndAfterContent) {
  canonical::ChatRequest req;
  auto encoder = makeDoorCodec()->newStreamEncoder(req);
  std::string out;
  encoder->encode(StreamEvent::messageStart("msg_1", "m"), out);
  encoder->encode(StreamEvent::errorEvent(Error{ErrorKind::kRateLimited, "slow"}), out);
  EXPECT_EQ(out,
            "event: error\ndata: "
            R"({"type":"error","error":{"type":"rate_limit_error","message":"slow"}})"
            "\n\n");
  out.clear();
  encoder->encode(StreamEvent::messageStop(canonical::StopReason::kEndTurn), out);
  EXPECT_EQ(out, "");  // nothing after the error
}

TEST(CountTokens, DeterministicEstimate) {
  Result<canonical::ChatRequest> r = decodeRequest(
      R"({"model":"m","max_tokens":5,"system":"12345678",
          "messages":[{"role":"user","content":[{"type":"text","text":"abcd"},
            {"type":"image","source":{"type":"url","url":"https://x"}}]}],
          "tools":[{"name":"f","input_schema":{}}]})");
  ASSERT_TRUE(r.has_value());
  // 8 + 4 + (1 + 2) = 15 bytes -> 4 tokens, plus one image.
  EXPECT_EQ(estimateInputTokens(*r), 4 + 1600);
  EXPECT_EQ(encodeCountTokens(*r), R"({"input_tokens":1604})");
  EXPECT_EQ(estimateInputTokens(canonical::ChatRequest{}), 1);
}

TEST(Models, AnthropicListShape) {
  json::object body = parse(encodeModelList({"claude-a", "claude-b"}));
  EXPECT_EQ(body["has_more"], false);
  EXPECT_EQ(body["first_id"], "claude-a");
  EXPECT_EQ(body["last_id"], "claude-b");
  json::object& m = body["data"].as_array()[1].as_object();
  EXPECT_EQ(m["type"], "model");
  EXPECT_EQ(m["id"], "claude-b");
  EXPECT_EQ(m["display_name"], "claude-b");
  EXPECT_TRUE(m["created_at"].is_string());
  json::object empty = parse(encodeModelList({}));
  EXPECT_TRUE(empty["first_id"].is_null());
  EXPECT_EQ(parse(encodeModel("x"))["id"], "x");
}

}  // namespace
}  // namespace basalt::api::anthropic
