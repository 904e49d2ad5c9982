#include "basalt/api/anthropic/messages_codec.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

namespace basalt::api::anthropic {
namespace {

namespace json = boost::json;
using canonical::ChatRequest;
using canonical::Message;
using canonical::Role;
using canonical::StreamEvent;

json::object encode(const ChatRequest& req, UpstreamRequestOptions options = {}) {
  if (options.model.empty()) options.model = "claude-up";
  return json::parse(encodeUpstreamRequest(req, options)).as_object();
}

Message message(Role role, std::vector<canonical::ContentBlock> content) {
  Message m;
  m.role = role;
  m.content = std::move(content);
  return m;
}

TEST(UpstreamRequest, MaxTokensDefaultsAndModel) {
  ChatRequest req;
  req.messages.push_back(message(Role::kUser, {canonical::TextBlock{"hi"}}));
  json::object body = encode(req);
  EXPECT_EQ(body["model"], "claude-up");
  EXPECT_EQ(body["max_tokens"], 4096);
  EXPECT_FALSE(body.contains("stream"));
  UpstreamRequestOptions options;
  options.max_tokens_default = 777;
  options.stream = true;
  body = encode(req, options);
  EXPECT_EQ(body["max_tokens"], 777);
  EXPECT_EQ(body["stream"], true);
  req.max_tokens = 5;
  EXPECT_EQ(encode(req, options)["max_tokens"], 5);
}

TEST(UpstreamRequest, ToolIdsAreSanitizedConsistently) {
  ChatRequest req;
  req.door = canonical::Door::kOpenAIResponses;
  const std::string long_id(80, 'x');
  req.messages.push_back(message(Role::kUser, {canonical::TextBlock{"go"}}));
  req.messages.push_back(
      message(Role::kAssistant, {canonical::ToolUseBlock{"fc.1:a/b", "f", "{}"},
                                 canonical::ToolUseBlock{long_id, "f", "not json"},
                                 canonical::ToolUseBlock{"toolu_ok-1", "f", ""}}));
  req.messages.push_back(message(Role::kTool, {canonical::ToolResultBlock{long_id, {}, false}}));
  req.messages.push_back(
      message(Role::kTool, {canonical::ToolResultBlock{"fc.1:a/b", {canonical::TextBlock{"r"}}}}));
  json::object body = encode(req);
  json::array& messages = body["messages"].as_array();
  ASSERT_EQ(messages.size(), 3u);
  json::array& calls = messages[1].as_object()["content"].as_array();
  const std::string id0(calls[0].as_object()["id"].as_string());
  const std::string id1(calls[1].as_object()["id"].as_string());
  EXPECT_EQ(id0, "fc_1_a_b");
  EXPECT_EQ(id1.size(), 64u);
  EXPECT_EQ(calls[2].as_object()["id"], "toolu_ok-1");  // valid ids are kept verbatim
  EXPECT_EQ(json::serialize(calls[1].as_object()["input"]), R"({"_raw":"not json"})");
  // Results follow the calls' order; the third call had none and gets an error placeholder.
  json::array& results = messages[2].as_object()["content"].as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].as_object()["tool_use_id"].as_string(), id0);
  EXPECT_EQ(results[1].as_object()["tool_use_id"].as_string(), id1);
  EXPECT_EQ(results[2].as_object()["tool_use_id"], "toolu_ok-1");
  EXPECT_EQ(results[2].as_object()["is_error"], true);
  // A placeholder tool is declared because the history holds tool blocks.
  EXPECT_EQ(body["tools"].as_array()[0].as_object()["name"], "basalt_unused_tool");
}

TEST(UpstreamRequest, OrphanResultsBecomeTextAndUserComesFirst) {
  ChatRequest req;
  req.messages.push_back(message(Role::kAssistant, {canonical::TextBlock{"Hello"}}));
  req.messages.push_back(message(
      Role::kUser, {canonical::TextBlock{"q"},
                    canonical::ToolResultBlock{"nobody", {canonical::TextBlock{"out"}}, true}}));
  json::object body = encode(req);
  json::array& messages = body["messages"].as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].as_object()["role"], "user");
  json::array& user = messages[2].as_object()["content"].as_array();
  EXPECT_EQ(user[1].as_object()["text"], "[tool result nobody (error)]\nout");
  EXPECT_FALSE(body.contains("tools"));
}

TEST(UpstreamRequest, ThinkingFromEffortDropsSamplingAndForcedChoice) {
  ChatRequest req;
  req.messages.push_back(message(Role::kUser, {canonical::TextBlock{"hi"}}));
  req.reasoning.effort = "high";
  req.temperature = 0.2;
  req.top_k = 3;
  req.top_p = 0.5;
  req.max_tokens = 1000;
  canonical::ToolSpec tool;
  tool.name = "f";
  req.tools.push_back(tool);
  req.tool_choice.kind = canonical::ToolChoice::Kind::kRequired;
  // Unsigned reasoning (an OpenAI summary) never goes upstream.
  req.messages.push_back(
      message(Role::kAssistant, {canonical::ReasoningBlock{"sum"}, canonical::TextBlock{"ok"}}));
  req.messages.push_back(message(Role::kUser, {canonical::TextBlock{"more"}}));
  json::object body = encode(req);
  EXPECT_EQ(json::serialize(body["thinking"]), R"({"type":"enabled","budget_tokens":4096})");
  EXPECT_EQ(body["max_tokens"], 5096);
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(body.contains("top_k"));
  EXPECT_FALSE(body.contains("top_p"));
  EXPECT_EQ(json::serialize(body["tool_choice"]), R"({"type":"auto"})");
  EXPECT_EQ(body["messages"].as_array()[1].as_object()["content"].as_array().size(), 1u);
  EXPECT_EQ(json::serialize(body["tools"].as_array()[0]),
            R"({"name":"f","input_schema":{"type":"object"}})");
}

TEST(UpstreamRequest, ThinkingOffWhenTheToolTurnHasNoSignedThinking) {
  ChatRequest req;
  req.reasoning.effort = "medium";
  req.messages.push_back(message(Role::kUser, {canonical::TextBlock{"go"}}));
  // An OpenAI history: the reasoning has no Anthropic signature.
  req.messages.push_back(message(Role::kAssistant, {canonical::ReasoningBlock{"plan"},
                                                    canonical::ToolUseBlock{"call_1", "f", "{}"}}));
  req.messages.push_back(
      message(Role::kTool, {canonical::ToolResultBlock{"call_1", {canonical::TextBlock{"ok"}}}}));
  EXPECT_FALSE(encode(req).contains("thinking"));
  // With the signed thinking replayed (an Anthropic history), thinking stays on.
  std::get<canonical::ReasoningBlock>(req.messages[1].content[0]).signature = "sig";
  json::object body = encode(req);
  EXPECT_EQ(json::serialize(body["thinking"]), R"({"type":"enabled","budget_tokens":2048})");
  EXPECT_EQ(body["messages"].as_array()[1].as_object()["content"].as_array()[0].as_object()["type"],
            "thinking");
}

TEST(UpstreamRequest, BedrockBody) {
  ChatRequest req;
  req.stream = true;
  req.anthropic_beta = "a-1, b-2";
  req.messages.push_back(message(Role::kUser, {canonical::TextBlock{"hi"}}));
  req.extras = {canonical::Vendor::kAnthropic, R"({"model":"x","stream":true,"top_x":1})"};
  UpstreamRequestOptions options;
  options.bedrock = true;
  options.stream = true;
  json::object body = encode(req, options);
  EXPECT_EQ(body["anthropic_version"], "bedrock-2023-05-31");
  EXPECT_FALSE(body.contains("model"));
  EXPECT_FALSE(body.contains("stream"));
  EXPECT_EQ(json::serialize(body["anthropic_beta"]), R"(["a-1","b-2"])");
  EXPECT_EQ(body["top_x"], 1);
}

TEST(UpstreamRequest, OtherVendorsExtrasAndHostedToolsAreDropped) {
  ChatRequest req;
  req.messages.push_back(message(Role::kUser, {canonical::TextBlock{"hi"}}));
  req.extras = {canonical::Vendor::kOpenAI, R"({"store":true})"};
  canonical::ToolSpec hosted;
  hosted.name = "web_search";
  hosted.extras = {canonical::Vendor::kOpenAI, R"({"type":"web_search"})"};
  req.tools.push_back(hosted);
  json::object body = encode(req);
  EXPECT_FALSE(body.contains("store"));
  EXPECT_FALSE(body.contains("tools"));
}

TEST(UpstreamResponse, DecodesBlocksUsageAndErrors) {
  Result<canonical::ChatResponse> r = decodeUpstreamResponse(
      R"({"id":"msg_1","type":"message","model":"c","content":[{"type":"text","text":"a"},
          {"type":"tool_use","id":"toolu_1","name":"f","input":{"x":1}}],
          "stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4,
          "cache_read_input_tokens":5,"cache_creation_input_tokens":6}})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->usage.input_tokens, 14);
  EXPECT_EQ(r->usage.cache_read_tokens, 5);
  EXPECT_EQ(r->usage.cache_write_tokens, 6);
  EXPECT_EQ(r->stop_reason, canonical::StopReason::kToolUse);
  EXPECT_EQ(std::get<canonical::ToolUseBlock>(r->content[1]).input_json, R"({"x":1})");
  EXPECT_EQ(decodeUpstreamResponse("nope").error().kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(decodeUpstreamResponse(R"({"type":"message"})").error().kind,
            ErrorKind::kUpstreamError);
  EXPECT_EQ(decodeUpstreamResponse(
                R"({"type":"error","error":{"type":"overloaded_error","message":"o"}})")
                .error()
                .kind,
            ErrorKind::kUpstreamUnavailable);
}

TEST(StreamDecoder, TruncatedStreamIsVisibleAndFinishCloses) {
  StreamDecoder d;
  std::vector<StreamEvent> out;
  ASSERT_TRUE(d.feed("message_start",
                     R"({"type":"message_start","message":{"id":"msg_1","model":"m",)"
                     R"("usage":{"input_tokens":4}}})",
                     out));
  ASSERT_TRUE(d.feed(
      "content_block_start",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}})",
      out));
  EXPECT_FALSE(d.sawMessageStop());
  d.finish(out);
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[1].type, StreamEvent::Type::kUsage);  // input known from message_start
  EXPECT_EQ(out[1].usage.input_tokens, 4);
  EXPECT_EQ(out[3].text, "Hi");
  EXPECT_EQ(out[4].type, StreamEvent::Type::kBlockStop);
  EXPECT_EQ(out[5].usage.input_tokens, 4);
  EXPECT_EQ(out[6].type, StreamEvent::Type::kMessageStop);
}

TEST(StreamDecoder, BadPayloadsAreErrors) {
  StreamDecoder d;
  std::vector<StreamEvent> out;
  EXPECT_FALSE(d.feed("content_block_delta", "{broken", out));
  StreamDecoder d2;
  EXPECT_FALSE(d2.feed("content_block_delta", R"({"index":5,"delta":{}})", out));
  StreamDecoder d3;
  Result<void> e = d3.feed(
      "error", R"({"type":"error","error":{"type":"rate_limit_error","message":"slow"}})", out);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(e.error().message, "slow");
  // Unknown events and pings are ignored.
  StreamDecoder d4;
  EXPECT_TRUE(d4.feed("ping", "{}", out));
  EXPECT_TRUE(d4.feed("future_event", R"({"type":"future_event"})", out));
}

}  // namespace
}  // namespace basalt::api::anthropic
