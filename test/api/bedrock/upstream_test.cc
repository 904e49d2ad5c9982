#include "basalt/api/bedrock/converse_codec.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace basalt::api::bedrock {
namespace {

namespace json = boost::json;
using canonical::ChatRequest;
using canonical::Message;
using canonical::Role;

TEST(UpstreamResponse, DecodesAndReencodesAConverseBody) {
  const std::string body = R"({
    "output":{"message":{"role":"assistant","content":[
        {"reasoningContent":{"reasoningText":{"text":"t","signature":"s"}}},
        {"text":"Calling."},
        {"toolUse":{"toolUseId":"tooluse_abc","name":"get_weather","input":{"city":"Paris"}}}]}},
    "stopReason":"tool_use",
    "usage":{"inputTokens":30,"outputTokens":60,"totalTokens":110,"cacheReadInputTokens":20},
    "metrics":{"latencyMs":1234},
    "additionalModelResponseFields":{"stop_sequence":null}
  })";
  auto r = decodeUpstreamResponse(body, "claude");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->model, "claude");
  ASSERT_EQ(r->content.size(), 3u);
  EXPECT_EQ(r->stop_reason, canonical::StopReason::kToolUse);
  EXPECT_EQ(r->usage.input_tokens, 50);  // canonical input includes cached tokens
  EXPECT_EQ(r->usage.cache_read_tokens, 20);
  EXPECT_EQ(r->usage.output_tokens, 60);
  EXPECT_EQ(r->extras.vendor, canonical::Vendor::kBedrock);

  json::value again = json::parse(encodeResponseBody(*r, 1234));
  json::value want = json::parse(body);
  want.as_object()["usage"].as_object()["totalTokens"] = 110;
  EXPECT_EQ(again, want);
}

TEST(UpstreamResponse, BadBodies) {
  for (const char* body : {"", "[]", R"({"stopReason":"end_turn"})",
                           R"({"output":{"message":{"content":[{"text":1}]}}})"}) {
    auto r = decodeUpstreamResponse(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().kind, ErrorKind::kUpstreamError);
  }
}

TEST(ResponseBody, StopReasonsUsageAndNoEmptyText) {
  canonical::ChatResponse resp;
  resp.content.emplace_back(canonical::TextBlock{""});
  resp.content.emplace_back(canonical::TextBlock{"Blocked."});
  resp.stop_reason = canonical::StopReason::kContentFilter;
  resp.usage.input_tokens = 3;
  resp.usage.output_tokens = 2;
  EXPECT_EQ(json::parse(encodeResponseBody(resp)), json::parse(R"({
      "output":{"message":{"role":"assistant","content":[{"text":"Blocked."}]}},
      "stopReason":"guardrail_intervened",
      "usage":{"inputTokens":3,"outputTokens":2,"totalTokens":5},
      "metrics":{"latencyMs":0}})"));
  EXPECT_STREQ(stopReasonWord(canonical::StopReason::kUnset, false), "end_turn");
  EXPECT_STREQ(stopReasonWord(canonical::StopReason::kUnset, true), "tool_use");
  EXPECT_EQ(stopReasonFromWord("malformed_tool_use"), canonical::StopReason::kError);
  EXPECT_EQ(stopReasonFromWord("max_tokens"), canonical::StopReason::kMaxTokens);
}

TEST(ResponseBody, ForeignBlocksAClientCanRead) {
  canonical::ChatResponse resp;
  canonical::ReasoningBlock summary;
  summary.text = "thought";
  summary.encrypted = "gAAAA";  // OpenAI: no signature, still worth showing to the client
  resp.content.emplace_back(summary);
  resp.content.emplace_back(
      canonical::OpaqueBlock{canonical::Vendor::kOpenAI, R"({"type":"refusal","refusal":"No."})"});
  resp.content.emplace_back(
      canonical::OpaqueBlock{canonical::Vendor::kAnthropic, R"({"type":"server_tool_use"})"});
  resp.stop_reason = canonical::StopReason::kRefusal;
  EXPECT_EQ(json::parse(encodeResponseBody(resp)).at("output").at("message").at("content"),
            json::parse(R"([{"reasoningContent":{"reasoningText":{"text":"thought"}}},
                            {"text":"No."}])"));

  // The same blocks in request history: unsigned reasoning and foreign blocks are dropped.
  ChatRequest req;
  req.messages.emplace_back();
  req.messages.back().content.emplace_back(canonical::TextBlock{"q"});
  req.messages.emplace_back();
  req.messages.back().role = Role::kAssistant;
  req.messages.back().content = resp.content;
  req.messages.back().content.emplace_back(canonical::TextBlock{"a"});
  auto r = encodeUpstreamRequest(req, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(*r).at("messages").at(1).at("content"),
            json::parse(R"([{"text":"a"}])"));
}

ChatRequest userText(std::string text) {
  ChatRequest req;
  Message m;
  m.content.emplace_back(canonical::TextBlock{std::move(text)});
  req.messages.push_back(std::move(m));
  return req;
}

TEST(UpstreamRequest, ImagesConverseCannotTake) {
  ChatRequest req = userText("look");
  canonical::ImageBlock url;
  url.url = "https://example.com/cat.png";
  req.messages[0].content.emplace_back(url);
  auto r = encodeUpstreamRequest(req, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_NE(r.error().message.find("image URLs"), std::string::npos);

  req.messages[0].content.back() = canonical::ImageBlock{"image/tiff", "AAAA", "", ""};
  r = encodeUpstreamRequest(req, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("image/tiff"), std::string::npos);

  canonical::ImageBlock data_url;
  data_url.url = "data:image/jpeg;base64,/9j/4A==";
  req.messages[0].content.back() = data_url;
  r = encodeUpstreamRequest(req, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(json::parse(*r).at("messages").at(0).at("content").at(1),
            json::parse(R"({"image":{"format":"jpeg","source":{"bytes":"/9j/4A=="}}})"));
}

TEST(UpstreamRequest, MaxTokensDefaultsAndThinkingBudget) {
  ChatRequest req = userText("hi");
  auto r = encodeUpstreamRequest(req, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(*r).at("inferenceConfig").at("maxTokens"), 4096);
  UpstreamRequestOptions options;
  options.max_tokens_default = 1000;
  req.reasoning.effort = "high";
  req.temperature = 1.7;
  req.top_k = 5;
  r = encodeUpstreamRequest(req, options);
  ASSERT_TRUE(r);
  json::value v = json::parse(*r);
  EXPECT_EQ(v.at("inferenceConfig"), json::parse(R"({"maxTokens":5096})"));
  EXPECT_EQ(v.at("additionalModelRequestFields"),
            json::parse(R"({"thinking":{"type":"enabled","budget_tokens":4096}})"));
  req.reasoning.effort.clear();
  r = encodeUpstreamRequest(req, options);
  ASSERT_TRUE(r);
  v = json::parse(*r);
  EXPECT_EQ(v.at("inferenceConfig"), json::parse(R"({"maxTokens":1000,"temperature":1.0})"));
  EXPECT_EQ(v.at("additionalModelRequestFields"), json::parse(R"({"top_k":5})"));
}

TEST(UpstreamRequest, LongAndOddToolIdsAreSanitizedConsistently) {
  ChatRequest req = userText("go");
  Message asst;
  asst.role = Role::kAssistant;
  const std::string long_id = "call." + std::string(80, 'x');
  asst.content.emplace_back(canonical::ToolUseBlock{long_id, "f", "{}"});
  req.messages.push_back(asst);
  Message tool;
  tool.role = Role::kTool;
  canonical::ToolResultBlock result;
  result.tool_use_id = long_id;
  result.content.emplace_back(canonical::TextBlock{"ok"});
  tool.content.emplace_back(result);
  req.messages.push_back(tool);
  auto r = encodeUpstreamRequest(req, {});
  ASSERT_TRUE(r);
  json::value v = json::parse(*r);
  const json::string& use_id =
      v.at("messages").at(1).at("content").at(0).at("toolUse").at("toolUseId").as_string();
  const json::string& result_id =
      v.at("messages").at(2).at("content").at(0).at("toolResult").at("toolUseId").as_string();
  EXPECT_EQ(use_id, result_id);
  EXPECT_EQ(use_id.size(), 64u);
  EXPECT_EQ(use_id.find('.'), json::string::npos);
}

}  // namespace
}  // namespace basalt::api::bedrock
