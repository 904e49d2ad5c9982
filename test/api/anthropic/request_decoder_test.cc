#include "basalt/api/anthropic/messages_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace basalt::api::anthropic {
namespace {

using canonical::ChatRequest;

Error decodeError(std::string_view body, const DecodeOptions& options = {}) {
  Result<ChatRequest> r = decodeRequest(body, options);
  EXPECT_FALSE(r.has_value()) << body;
  return r ? Error{} : r.error();
}

TEST(RequestDecoder, MinimalRequest) {
  Result<ChatRequest> r = decodeRequest(
      R"({"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->door, canonical::Door::kAnthropicMessages);
  EXPECT_EQ(r->model, "claude");
  EXPECT_EQ(r->max_tokens, 10);
  ASSERT_EQ(r->messages.size(), 1u);
  EXPECT_TRUE(r->messages[0].content_was_string);
  EXPECT_EQ(std::get<canonical::TextBlock>(r->messages[0].content[0]).text, "hi");
  EXPECT_FALSE(r->stream);
  EXPECT_TRUE(r->extras.empty());
}

TEST(RequestDecoder, RequiredFields) {
  Error e = decodeError(R"({"model":"claude","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(e.kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(e.message, "max_tokens: Field required");
  EXPECT_EQ(e.param, "max_tokens");
  EXPECT_EQ(decodeError(R"({"max_tokens":1,"messages":[]})").param, "model");
  EXPECT_EQ(decodeError(R"({"model":"m","max_tokens":1})").param, "messages");
  EXPECT_EQ(decodeError(R"({"model":"m","max_tokens":1,"messages":[]})").param, "messages");
  EXPECT_EQ(decodeError(R"({"model":"m","max_tokens":0,"messages":[]})").param, "max_tokens");
  EXPECT_EQ(decodeError("{not json").kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(decodeError("[1]").kind, ErrorKind::kInvalidRequest);
}

TEST(RequestDecoder, FieldPathsInErrors) {
  const std::string head = R"({"model":"m","max_tokens":5,"messages":)";
  EXPECT_EQ(decodeError(head + R"([{"role":"bot","content":"x"}]})").param, "messages.0.role");
  EXPECT_EQ(decodeError(head + R"([{"role":"user"}]})").param, "messages.0.content");
  EXPECT_EQ(decodeError(head + R"([{"role":"user","content":[{"type":"text","text":""}]}]})").param,
            "messages.0.content.0.text");
  EXPECT_EQ(decodeError(head + R"([{"role":"user","content":[{"text":"a"}]}]})").param,
            "messages.0.content.0.type");
  EXPECT_EQ(decodeError(head + R"([{"role":"user","content":"a"},{"role":"assistant","content":[)" +
                        R"({"type":"tool_use","name":"f","input":{}}]}]})")
                .param,
            "messages.1.content.0.id");
  Error e = decodeError(head + R"([{"role":"user","content":"a"}],"temperature":1.5})");
  EXPECT_EQ(e.param, "temperature");
  EXPECT_NE(e.message.find("between 0 and 1"), std::string::npos) << e.message;
  EXPECT_EQ(decodeError(head + R"([{"role":"user","content":"a"}],"stream":"yes"})").param,
            "stream");
  EXPECT_EQ(decodeError(head + R"([{"role":"user","content":"a"}],"tools":[{"name":"f"}]})").param,
            "tools.0.input_schema");
  EXPECT_EQ(
      decodeError(head + R"([{"role":"user","content":"a"}],"tool_choice":{"type":"x"}})").param,
      "tool_choice.type");
  EXPECT_EQ(decodeError(R"({"model":"m","max_tokens":2000,"messages":[{"role":"user",)"
                        R"("content":"a"}],"thinking":{"type":"enabled","budget_tokens":3000}})")
                .param,
            "max_tokens");
  EXPECT_EQ(decodeError(R"({"model":"m","max_tokens":2000,"messages":[{"role":"user",)"
                        R"("content":"a"}],"thinking":{"type":"enabled","budget_tokens":10}})")
                .param,
            "thinking.budget_tokens");
}

TEST(RequestDecoder, ToolsChoiceThinkingAndExtras) {
  Result<ChatRequest> r = decodeRequest(R"({"model":"m","max_tokens":5000,
    "messages":[{"role":"user","content":"a"}],
    "tools":[{"name":"f","description":"d","input_schema":{"type":"object"},"strict":true,
              "cache_control":{"type":"ephemeral"}},
             {"type":"bash_20250124","name":"bash"}],
    "tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},
    "thinking":{"type":"enabled","budget_tokens":2048},
    "metadata":{"user_id":"u1"}, "stop_sequences":["x"], "top_k":5,
    "service_tier":"standard_only", "mcp_servers":[]})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->tools.size(), 2u);
  EXPECT_EQ(r->tools[0].name, "f");
  EXPECT_EQ(r->tools[0].parameters_json, R"({"type":"object"})");
  EXPECT_EQ(r->tools[0].strict, true);
  EXPECT_TRUE(r->tools[0].cache_point);
  EXPECT_TRUE(r->tools[0].extras.empty());
  EXPECT_EQ(r->tools[1].extras.vendor, canonical::Vendor::kAnthropic);
  EXPECT_EQ(r->tools[1].extras.json, R"({"type":"bash_20250124","name":"bash"})");
  EXPECT_EQ(r->tool_choice.kind, canonical::ToolChoice::Kind::kNamed);
  EXPECT_EQ(r->tool_choice.name, "f");
  EXPECT_EQ(r->parallel_tool_calls, false);
  EXPECT_EQ(r->reasoning.budget_tokens, 2048);
  EXPECT_EQ(r->user, "u1");
  EXPECT_EQ(r->stop, std::vector<std::string>{"x"});
  EXPECT_EQ(r->top_k, 5);
  EXPECT_EQ(r->extras.vendor, canonical::Vendor::kAnthropic);
  EXPECT_EQ(r->extras.json, R"({"service_tier":"standard_only","mcp_servers":[]})");
}

TEST(RequestDecoder, ContentBlocks) {
  Result<ChatRequest> r = decodeRequest(R"({"model":"m","max_tokens":5,"messages":[
    {"role":"user","content":[
      {"type":"image","source":{"type":"base64","media_type":"image/gif","data":"R0lG"}},
      {"type":"image","source":{"type":"file","file_id":"file_1"}},
      {"type":"document","source":{"type":"url","url":"https://x/y.pdf"}}]},
    {"role":"assistant","content":[
      {"type":"thinking","thinking":"t","signature":"s"},
      {"type":"redacted_thinking","data":"r"},
      {"type":"tool_use","id":"toolu_1","name":"f","input":{"a":[1,2]}}]},
    {"role":"user","content":[
      {"type":"tool_result","tool_use_id":"toolu_1","is_error":true,
       "content":[{"type":"text","text":"bad"},
                  {"type":"image","source":{"type":"url","url":"https://x/i.png"}}]}]}]})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto& user = r->messages[0].content;
  ASSERT_EQ(user.size(), 3u);
  EXPECT_EQ(std::get<canonical::ImageBlock>(user[0]).media_type, "image/gif");
  EXPECT_EQ(std::get<canonical::ImageBlock>(user[0]).data, "R0lG");
  EXPECT_EQ(std::get<canonical::OpaqueBlock>(user[1]).vendor, canonical::Vendor::kAnthropic);
  EXPECT_NE(std::get<canonical::OpaqueBlock>(user[2]).json.find("document"), std::string::npos);
  const auto& assistant = r->messages[1].content;
  EXPECT_EQ(std::get<canonical::ReasoningBlock>(assistant[0]).signature, "s");
  EXPECT_EQ(std::get<canonical::ReasoningBlock>(assistant[1]).redacted_data, "r");
  EXPECT_EQ(std::get<canonical::ToolUseBlock>(assistant[2]).input_json, R"({"a":[1,2]})");
  const auto& result = std::get<canonical::ToolResultBlock>(r->messages[2].content[0]);
  EXPECT_TRUE(result.is_error);
  ASSERT_EQ(result.content.size(), 2u);
  EXPECT_EQ(std::get<canonical::ImageBlock>(result.content[1]).url, "https://x/i.png");
}

TEST(RequestDecoder, BedrockInvokeBody) {
  DecodeOptions options;
  options.bedrock = true;
  options.model = "claude-from-path";
  options.stream = true;
  Result<ChatRequest> r = decodeRequest(
      R"({"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["a-1","b-2"],
          "max_tokens":10,"messages":[{"role":"user","content":"hi"}]})",
      options);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->door, canonical::Door::kBedrockInvoke);
  EXPECT_EQ(r->model, "claude-from-path");
  EXPECT_TRUE(r->stream);
  EXPECT_EQ(r->anthropic_beta, "a-1,b-2");
  EXPECT_TRUE(r->extras.empty());
  EXPECT_EQ(decodeError(R"({"max_tokens":10,"messages":[{"role":"user","content":"hi"}]})", options)
                .param,
            "anthropic_version");
}

TEST(RequestDecoder, CountTokensNeedsNoMaxTokens) {
  DecodeOptions options;
  options.count_tokens = true;
  Result<ChatRequest> r =
      decodeRequest(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", options);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(r->max_tokens);
}

TEST(RequestDecoder, DoorCopiesBetaHeader) {
  HttpRequest http;
  http.method = "POST";
  http.target = "/v1/messages";
  http.headers.push_back({"anthropic-beta", "interleaved-thinking-2025-05-14"});
  http.body = R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})";
  Result<ChatRequest> r = makeDoorCodec()->decode(http);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->anthropic_beta, "interleaved-thinking-2025-05-14");
  EXPECT_EQ(r->anthropic_version, "");

  http.headers.push_back({"anthropic-version", "2026-10-21"});
  r = makeDoorCodec()->decode(http);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->anthropic_version, "2026-10-21");
  http.headers.back().value = "2023-06-01\r\nx-evil: 1";  // never forwarded
  r = makeDoorCodec()->decode(http);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->anthropic_version, "");
}

}  // namespace
}  // namespace basalt::api::anthropic
