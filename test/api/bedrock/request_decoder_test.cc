#include "basalt/api/bedrock/converse_codec.h"

#include <gtest/gtest.h>

namespace basalt::api::bedrock {
namespace {

using canonical::ChatRequest;

HttpRequest post(std::string target, std::string body) {
  HttpRequest r;
  r.method = "POST";
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

TEST(ConverseDecode, FullRequestThroughTheDoor) {
  auto codec = makeDoorCodec();
  EXPECT_EQ(codec->door(), canonical::Door::kBedrockConverse);
  const std::string body = R"({
    "messages": [
      {"role": "user", "content": [{"text": "Weather in Paris?"}, {"cachePoint": {"type": "default"}},
                                   {"image": {"format": "png", "source": {"bytes": "iVBOR"}}},
                                   {"document": {"format": "pdf", "name": "doc", "source": {"bytes": "JVBE"}}}]},
      {"role": "assistant", "content": [
          {"reasoningContent": {"reasoningText": {"text": "think", "signature": "sig"}}},
          {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}]},
      {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1", "status": "error",
          "content": [{"json": {"temp": 21}}, {"text": "sunny"}]}}]}
    ],
    "system": [{"text": "Be brief."}, {"guardContent": {"text": {"text": "x"}}}],
    "inferenceConfig": {"maxTokens": 100, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]},
    "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather",
                                           "inputSchema": {"json": {"type": "object"}}}},
                             {"cachePoint": {"type": "default"}}],
                   "toolChoice": {"tool": {"name": "get_weather"}}},
    "additionalModelRequestFields": {"top_k": 40, "anthropic_beta": ["x"]},
    "guardrailConfig": {"guardrailIdentifier": "g", "guardrailVersion": "1"},
    "requestMetadata": {"team": "a"}
  })";
  auto r =
      codec->decode(post("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fm1/"
                         "converse-stream?x=1",
                         body));
  ASSERT_TRUE(r) << r.error().message;
  const ChatRequest& req = *r;
  EXPECT_EQ(req.model, "m1");
  EXPECT_TRUE(req.stream);
  EXPECT_EQ(req.door, canonical::Door::kBedrockConverse);
  ASSERT_EQ(req.messages.size(), 3u);
  const auto& user = req.messages[0].content;
  ASSERT_EQ(user.size(), 3u);
  EXPECT_TRUE(std::get<canonical::TextBlock>(user[0]).cache_point);
  EXPECT_EQ(std::get<canonical::ImageBlock>(user[1]).media_type, "image/png");
  EXPECT_EQ(std::get<canonical::OpaqueBlock>(user[2]).vendor, canonical::Vendor::kBedrock);
  const auto& asst = req.messages[1].content;
  EXPECT_EQ(std::get<canonical::ReasoningBlock>(asst[0]).signature, "sig");
  EXPECT_EQ(std::get<canonical::ToolUseBlock>(asst[1]).input_json, R"({"city":"Paris"})");
  const auto& result = std::get<canonical::ToolResultBlock>(req.messages[2].content[0]);
  EXPECT_TRUE(result.is_error);
  EXPECT_EQ(std::get<canonical::TextBlock>(result.content[0]).text, R"({"temp":21})");
  ASSERT_EQ(req.system.size(), 2u);
  EXPECT_EQ(req.max_tokens, 100);
  EXPECT_EQ(req.temperature, 0.5);
  EXPECT_EQ(req.top_p, 0.9);
  EXPECT_EQ(req.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(req.top_k, 40);
  ASSERT_EQ(req.tools.size(), 1u);
  EXPECT_EQ(req.tools[0].parameters_json, R"({"type":"object"})");
  EXPECT_EQ(req.tool_choice.kind, canonical::ToolChoice::Kind::kNamed);
  EXPECT_EQ(req.metadata.size(), 1u);
  EXPECT_EQ(req.extras.vendor, canonical::Vendor::kBedrock);
  EXPECT_NE(req.extras.json.find("guardrailConfig"), std::string::npos);
  EXPECT_NE(req.extras.json.find("anthropic_beta"), std::string::npos);
  EXPECT_NE(req.extras.json.find("cachePoint"), std::string::npos);
  EXPECT_EQ(req.extras.json.find("top_k"), std::string::npos);
}

TEST(ConverseDecode, ThinkingBecomesCanonicalBudget) {
  auto r = decodeRequest(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],
      "additionalModelRequestFields":{"thinking":{"type":"enabled","budget_tokens":2048}}})",
                         "m", false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reasoning.budget_tokens, 2048);
  EXPECT_TRUE(r->extras.empty());
}

TEST(ConverseDecode, WrongOperationIsNotFound) {
  auto codec = makeDoorCodec();
  auto r = codec->decode(post("/model/m/invoke", "{}"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
}

struct BadCase {
  const char* body;
  const char* param;
};

class ConverseValidation : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConverseValidation, IsAValidationError) {
  auto r = decodeRequest(GetParam().body, "m", false);
  ASSERT_FALSE(r) << GetParam().body;
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(r.error().param, GetParam().param) << r.error().message;
  EXPECT_FALSE(r.error().message.empty());
  EXPECT_EQ(exceptionName(r.error()), "ValidationException");
}

#define USER R"({"role":"user","content":[{"text":"hi"}]})"

INSTANTIATE_TEST_SUITE_P(
    Bad, ConverseValidation,
    ::testing::Values(
        BadCase{"not json", ""}, BadCase{"[]", ""}, BadCase{"{}", "messages"},
        BadCase{R"({"messages":[]})", "messages"}, BadCase{R"({"messages":{}})", "messages"},
        BadCase{R"({"messages":[{"role":"system","content":[{"text":"x"}]}]})", "messages.1.role"},
        BadCase{R"({"messages":[{"role":"user"}]})", "messages.1.content"},
        BadCase{R"({"messages":[{"role":"assistant","content":[{"text":"x"}]}]})", "messages"},
        BadCase{"{\"messages\":[" USER "," USER "]}", "messages.2"},
        BadCase{R"({"messages":[{"role":"user","content":[{}]}]})", "messages.1.content.1"},
        BadCase{R"({"messages":[{"role":"user","content":[{"text":"a","image":{}}]}]})",
                "messages.1.content.1"},
        BadCase{R"({"messages":[{"role":"user","content":[{"text":""}]}]})",
                "messages.1.content.1"},
        BadCase{R"({"messages":[{"role":"user","content":[{"text":5}]}]})",
                "messages.1.content.1.text"},
        BadCase{
            R"({"messages":[{"role":"user","content":[{"image":{"format":"bmp","source":{"bytes":"x"}}}]}]})",
            "messages.1.content.1.image.format"},
        BadCase{
            R"({"messages":[{"role":"user","content":[{"toolUse":{"toolUseId":"a","name":"f","input":{}}}]}]})",
            "messages.1.content.1"},
        BadCase{R"({"messages":[{"role":"user","content":[{"toolResult":{"content":[]}}]}]})",
                "messages.1.content.1.toolResult.toolUseId"},
        BadCase{
            R"({"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"a","status":"ok","content":[]}}]}]})",
            "messages.1.content.1.toolResult.status"},
        BadCase{"{\"messages\":[" USER "],\"inferenceConfig\":{\"maxTokens\":0}}",
                "inferenceConfig.maxTokens"},
        BadCase{"{\"messages\":[" USER "],\"inferenceConfig\":{\"maxTokens\":\"5\"}}",
                "inferenceConfig.maxTokens"},
        BadCase{"{\"messages\":[" USER "],\"inferenceConfig\":{\"temperature\":1.5}}",
                "inferenceConfig.temperature"},
        BadCase{"{\"messages\":[" USER "],\"inferenceConfig\":{\"stopSequences\":[\"\"]}}",
                "inferenceConfig.stopSequences"},
        BadCase{"{\"messages\":[" USER "],\"system\":[{\"text\":\"\"}]}", "system.1"},
        BadCase{"{\"messages\":[" USER
                "],\"system\":[{\"image\":{\"format\":\"png\",\"source\":{\"bytes\":\"x\"}}}]}",
                "system.1"},
        BadCase{"{\"messages\":[" USER "],\"toolConfig\":{\"tools\":[]}}", "toolConfig.tools"},
        BadCase{"{\"messages\":[" USER "],\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"bad "
                                       "name\",\"inputSchema\":{\"json\":{}}}}]}}",
                "toolConfig.tools.1.toolSpec.name"},
        BadCase{"{\"messages\":[" USER
                "],\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"f\"}}]}}",
                "toolConfig.tools.1.toolSpec.inputSchema"},
        BadCase{"{\"messages\":[" USER
                "],\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"f\",\"inputSchema\":{"
                "\"json\":{}}}}],\"toolChoice\":{\"tool\":{\"name\":\"g\"}}}}",
                "toolConfig.toolChoice.tool.name"},
        BadCase{"{\"messages\":[" USER
                "],\"toolConfig\":{\"tools\":[{\"toolSpec\":{\"name\":\"f\",\"inputSchema\":{"
                "\"json\":{}}}}],\"toolChoice\":{\"none\":{}}}}",
                "toolConfig.toolChoice"},
        BadCase{"{\"messages\":[" USER "],\"additionalModelRequestFields\":[1]}",
                "additionalModelRequestFields"},
        BadCase{"{\"messages\":[" USER "],\"requestMetadata\":{\"a\":1}}", "requestMetadata.a"}));

TEST(ConverseDecode, ExtrasAreCapped) {
  const std::string big(1100000, 'x');
  auto r = decodeRequest(
      "{\"messages\":[" USER "],\"promptVariables\":{\"v\":{\"text\":\"" + big + "\"}}}", "m",
      false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().param, "promptVariables");
}

}  // namespace
}  // namespace basalt::api::bedrock
