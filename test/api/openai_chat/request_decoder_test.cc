#include "basalt/api/openai_chat/chat_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace basalt::api::openai_chat {
namespace {

using canonical::ChatRequest;
using canonical::Role;

constexpr std::string_view kMsgs = R"("messages":[{"role":"user","content":"hi"}])";

std::string body(std::string_view fields) {
  return "{\"model\":\"m\"," + std::string(kMsgs) + (fields.empty() ? "" : ",") +
         std::string(fields) + "}";
}

struct BadCase {
  const char* name;
  std::string body;
  const char* param;    // "" means param must be empty (null on the wire)
  const char* message;  // exact message
  const char* code;
};

class Validation : public ::testing::TestWithParam<BadCase> {};

TEST_P(Validation, RejectsWithOpenAIsParamAndMessage) {
  const BadCase& c = GetParam();
  Result<ChatRequest> r = decodeRequest(c.body);
  ASSERT_FALSE(r.has_value()) << c.body;
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(r.error().param, c.param);
  EXPECT_EQ(r.error().message, c.message);
  EXPECT_EQ(r.error().code, c.code);
  // The wire body carries param/code as null when empty.
  canonical::EncodedReply reply = encodeError(r.error());
  EXPECT_EQ(reply.status, 400);
  if (std::string(c.param).empty()) {
    EXPECT_NE(reply.body.find("\"param\":null"), std::string::npos) << reply.body;
  }
}

const std::string kParseMessage =
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
    "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was "
    "not valid JSON. If you have trouble figuring out how to fix this, please contact us through "
    "our help center at help.openai.com.)";

INSTANTIATE_TEST_SUITE_P(
    Chat, Validation,
    ::testing::Values(
        BadCase{"malformed_json", "{\"model\":", "", kParseMessage.c_str(), ""},
        BadCase{"not_object", "[1,2]", "",
                "Invalid type for request body: expected an object, but got an array instead.", ""},
        BadCase{"missing_model", std::string("{") + std::string(kMsgs) + "}", "",
                "you must provide a model parameter", ""},
        BadCase{"empty_model", std::string("{\"model\":\"\",") + std::string(kMsgs) + "}", "",
                "you must provide a model parameter", ""},
        BadCase{"model_type", std::string("{\"model\":5,") + std::string(kMsgs) + "}", "model",
                "Invalid type for 'model': expected a string, but got an integer instead.",
                "invalid_type"},
        BadCase{"missing_messages", R"({"model":"m"})", "messages",
                "Missing required parameter: 'messages'.", "missing_required_parameter"},
        BadCase{"empty_messages", R"({"model":"m","messages":[]})", "messages",
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but "
                "got an empty array instead.",
                "empty_array"},
        BadCase{"messages_type", R"({"model":"m","messages":"hi"})", "messages",
                "Invalid type for 'messages': expected an array, but got a string instead.",
                "invalid_type"},
        BadCase{"message_type", R"({"model":"m","messages":[{"role":"user","content":"a"},7]})",
                "messages[1]",
                "Invalid type for 'messages[1]': expected an object, but got an integer instead.",
                "invalid_type"},
        BadCase{"missing_role", R"({"model":"m","messages":[{"content":"a"}]})", "messages[0].role",
                "Missing required parameter: 'messages[0].role'.", "missing_required_parameter"},
        BadCase{"bad_role", R"({"model":"m","messages":[{"role":"robot","content":"a"}]})",
                "messages[0].role",
                "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', "
                "'function', 'tool', and 'developer'.",
                "invalid_value"},
        BadCase{"missing_content",
                R"({"model":"m","messages":[{"role":"system","content":"s"},{"role":"user"}]})",
                "messages[1].content", "Missing required parameter: 'messages[1].content'.",
                "missing_required_parameter"},
        BadCase{"content_type", R"({"model":"m","messages":[{"role":"user","content":1.5}]})",
                "messages[0].content",
                "Invalid type for 'messages[0].content': expected one of a string or array of "
                "objects, but got a decimal instead.",
                "invalid_type"},
        BadCase{"content_empty_array", R"({"model":"m","messages":[{"role":"user","content":[]}]})",
                "messages[0].content",
                "Invalid 'messages[0].content': empty array. Expected an array with minimum "
                "length 1, but got an empty array instead.",
                "empty_array"},
        BadCase{"part_type",
                R"({"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]})",
                "messages[0].content[0].type",
                "Invalid value: 'video'. Supported values are: 'text', 'image_url', "
                "'input_audio', and 'file'.",
                "invalid_value"},
        BadCase{
            "system_image",
            R"({"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})",
            "messages[0].content[0].type",
            "Invalid value: 'image_url'. Supported values are: 'text'.", "invalid_value"},
        BadCase{"part_missing_text",
                R"({"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]})",
                "messages[0].content[0].text",
                "Missing required parameter: 'messages[0].content[0].text'.",
                "missing_required_parameter"},
        BadCase{
            "image_missing_url",
            R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
            "messages[0].content[0].image_url.url",
            "Missing required parameter: 'messages[0].content[0].image_url.url'.",
            "missing_required_parameter"},
        BadCase{
            "image_detail",
            R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"ultra"}}]}]})",
            "messages[0].content[0].image_url.detail",
            "Invalid value: 'ultra'. Supported values are: 'auto', 'low', and 'high'.",
            "invalid_value"},
        BadCase{"tool_missing_id", R"({"model":"m","messages":[{"role":"tool","content":"r"}]})",
                "messages[0].tool_call_id",
                "Missing required parameter: 'messages[0].tool_call_id'.",
                "missing_required_parameter"},
        BadCase{"function_missing_name",
                R"({"model":"m","messages":[{"role":"function","content":"r"}]})",
                "messages[0].name", "Missing required parameter: 'messages[0].name'.",
                "missing_required_parameter"},
        BadCase{
            "tool_call_args_type",
            R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":3}}]}]})",
            "messages[0].tool_calls[0].function.arguments",
            "Invalid type for 'messages[0].tool_calls[0].function.arguments': expected a "
            "string, but got an integer instead.",
            "invalid_type"},
        BadCase{
            "tool_call_missing_id",
            R"({"model":"m","messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]})",
            "messages[0].tool_calls[0].id",
            "Missing required parameter: 'messages[0].tool_calls[0].id'.",
            "missing_required_parameter"},
        BadCase{"name_type", R"({"model":"m","messages":[{"role":"user","content":"a","name":1}]})",
                "messages[0].name",
                "Invalid type for 'messages[0].name': expected a string, but got an integer "
                "instead.",
                "invalid_type"},
        BadCase{"temperature_type", body(R"("temperature":"hot")"), "temperature",
                "Invalid type for 'temperature': expected a number, but got a string instead.",
                "invalid_type"},
        BadCase{"temperature_high", body(R"("temperature":2.5)"), "temperature",
                "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but "
                "got 2.5 instead.",
                "decimal_above_max_value"},
        BadCase{"temperature_low", body(R"("temperature":-1)"), "temperature",
                "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but "
                "got -1 instead.",
                "decimal_below_min_value"},
        BadCase{"top_p_high", body(R"("top_p":1.5)"), "top_p",
                "Invalid 'top_p': decimal above maximum value. Expected a value <= 1, but got "
                "1.5 instead.",
                "decimal_above_max_value"},
        BadCase{"presence_penalty", body(R"("presence_penalty":3)"), "presence_penalty",
                "Invalid 'presence_penalty': decimal above maximum value. Expected a value <= 2, "
                "but got 3 instead.",
                "decimal_above_max_value"},
        BadCase{"frequency_penalty_type", body(R"("frequency_penalty":true)"), "frequency_penalty",
                "Invalid type for 'frequency_penalty': expected a number, but got a boolean "
                "instead.",
                "invalid_type"},
        BadCase{"max_tokens_zero", body(R"("max_tokens":0)"), "max_tokens",
                "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but "
                "got 0 instead.",
                "integer_below_min_value"},
        BadCase{"max_completion_tokens_type", body(R"("max_completion_tokens":10.5)"),
                "max_completion_tokens",
                "Invalid type for 'max_completion_tokens': expected an integer, but got a "
                "decimal instead.",
                "invalid_type"},
        BadCase{"n_two", body(R"("n":2)"), "n",
                "Invalid 'n': this gateway returns one choice per request, so 'n' must be 1, "
                "but got 2 instead.",
                "unsupported_value"},
        BadCase{"n_zero", body(R"("n":0)"), "n",
                "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 "
                "instead.",
                "integer_below_min_value"},
        BadCase{"seed_type", body(R"("seed":"x")"), "seed",
                "Invalid type for 'seed': expected an integer, but got a string instead.",
                "invalid_type"},
        BadCase{"user_type", body(R"("user":{})"), "user",
                "Invalid type for 'user': expected a string, but got an object instead.",
                "invalid_type"},
        BadCase{"stream_type", body(R"("stream":"yes")"), "stream",
                "Invalid type for 'stream': expected a boolean, but got a string instead.",
                "invalid_type"},
        BadCase{"stream_options_type", body(R"("stream":true,"stream_options":[])"),
                "stream_options",
                "Invalid type for 'stream_options': expected an object, but got an array "
                "instead.",
                "invalid_type"},
        BadCase{"include_usage_type", body(R"("stream":true,"stream_options":{"include_usage":1})"),
                "stream_options.include_usage",
                "Invalid type for 'stream_options.include_usage': expected a boolean, but got "
                "an integer instead.",
                "invalid_type"},
        BadCase{"parallel_type", body(R"("parallel_tool_calls":"no")"), "parallel_tool_calls",
                "Invalid type for 'parallel_tool_calls': expected a boolean, but got a string "
                "instead.",
                "invalid_type"},
        BadCase{"stop_too_long", body(R"("stop":["a","b","c","d","e"])"), "stop",
                "Invalid 'stop': array too long. Expected an array with maximum length 4, but "
                "got an array with length 5 instead.",
                "array_above_max_length"},
        BadCase{"stop_item_type", body(R"("stop":["a",2])"), "stop[1]",
                "Invalid type for 'stop[1]': expected a string, but got an integer instead.",
                "invalid_type"},
        BadCase{"stop_type", body(R"("stop":5)"), "stop",
                "Invalid type for 'stop': expected a string or array, but got an integer "
                "instead.",
                "invalid_type"},
        BadCase{"metadata_value", body(R"("metadata":{"team":1})"), "metadata.team",
                "Invalid type for 'metadata.team': expected a string, but got an integer "
                "instead.",
                "invalid_type"},
        BadCase{"reasoning_effort_type", body(R"("reasoning_effort":2)"), "reasoning_effort",
                "Invalid type for 'reasoning_effort': expected a string, but got an integer "
                "instead.",
                "invalid_type"},
        BadCase{"tools_type", body(R"("tools":{})"), "tools",
                "Invalid type for 'tools': expected an array, but got an object instead.",
                "invalid_type"},
        BadCase{"tool_missing_type", body(R"("tools":[{"function":{"name":"f"}}])"),
                "tools[0].type", "Missing required parameter: 'tools[0].type'.",
                "missing_required_parameter"},
        BadCase{"tool_missing_function", body(R"("tools":[{"type":"function"}])"),
                "tools[0].function", "Missing required parameter: 'tools[0].function'.",
                "missing_required_parameter"},
        BadCase{"tool_missing_name", body(R"("tools":[{"type":"function","function":{}}])"),
                "tools[0].function.name", "Missing required parameter: 'tools[0].function.name'.",
                "missing_required_parameter"},
        BadCase{"tool_parameters_type",
                body(R"("tools":[{"type":"function","function":{"name":"f","parameters":"x"}}])"),
                "tools[0].function.parameters",
                "Invalid type for 'tools[0].function.parameters': expected an object, but got a "
                "string instead.",
                "invalid_type"},
        BadCase{"tool_strict_type",
                body(R"("tools":[{"type":"function","function":{"name":"f","strict":"y"}}])"),
                "tools[0].function.strict",
                "Invalid type for 'tools[0].function.strict': expected a boolean, but got a "
                "string instead.",
                "invalid_type"},
        BadCase{"tool_choice_value", body(R"("tool_choice":"always")"), "tool_choice",
                "Invalid value: 'always'. Supported values are: 'none', 'auto', and "
                "'required'.",
                "invalid_value"},
        BadCase{
            "tool_choice_missing_name", body(R"("tool_choice":{"type":"function","function":{}})"),
            "tool_choice.function.name", "Missing required parameter: 'tool_choice.function.name'.",
            "missing_required_parameter"},
        BadCase{"tool_choice_type", body(R"("tool_choice":3)"), "tool_choice",
                "Invalid type for 'tool_choice': expected a string or object, but got an "
                "integer instead.",
                "invalid_type"},
        BadCase{"response_format_value", body(R"("response_format":{"type":"xml"})"),
                "response_format.type",
                "Invalid value: 'xml'. Supported values are: 'json_object', 'json_schema', and "
                "'text'.",
                "invalid_value"},
        BadCase{"response_format_missing_schema",
                body(R"("response_format":{"type":"json_schema"})"), "response_format.json_schema",
                "Missing required parameter: 'response_format.json_schema'.",
                "missing_required_parameter"},
        BadCase{"response_format_missing_name",
                body(R"("response_format":{"type":"json_schema","json_schema":{"schema":{}}})"),
                "response_format.json_schema.name",
                "Missing required parameter: 'response_format.json_schema.name'.",
                "missing_required_parameter"},
        BadCase{"response_format_type", body(R"("response_format":"json")"), "response_format",
                "Invalid type for 'response_format': expected an object, but got a string "
                "instead.",
                "invalid_type"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(DecodeRequest, ExtrasOverOneMebibyteAreRejected) {
  std::string big(1 << 20, 'x');
  Result<ChatRequest> r = decodeRequest(body("\"prediction\":{\"content\":\"" + big + "\"}"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(r.error().param, "prediction");
  EXPECT_EQ(r.error().code, "request_too_large");

  // Just under the cap is fine and kept verbatim.
  std::string ok(1000, 'y');
  Result<ChatRequest> fine = decodeRequest(body("\"prediction\":{\"content\":\"" + ok + "\"}"));
  ASSERT_TRUE(fine.has_value());
  EXPECT_EQ(fine->extras.vendor, canonical::Vendor::kOpenAI);
  EXPECT_NE(fine->extras.json.find(ok), std::string::npos);
}

TEST(DecodeRequest, NullOptionalFieldsMeanAbsent) {
  Result<ChatRequest> r = decodeRequest(body(
      R"("temperature":null,"top_p":null,"max_tokens":null,"stop":null,"tools":null,)"
      R"("tool_choice":null,"n":null,"stream":null,"user":null,"seed":null,"stream_options":null)"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(r->temperature);
  EXPECT_FALSE(r->max_tokens);
  EXPECT_TRUE(r->stop.empty());
  EXPECT_FALSE(r->stream);
  EXPECT_TRUE(r->extras.empty());
}

TEST(DecodeRequest, FullSurface) {
  Result<ChatRequest> r = decodeRequest(R"({
    "model": "gpt-x",
    "messages": [
      {"role": "developer", "content": "be brief"},
      {"role": "user", "name": "ann", "content": [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://e.com/a.jpg"}},
        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-1"}}]},
      {"role": "assistant", "content": null, "reasoning_content": "thinking...",
       "tool_calls": [{"id": "call_1", "type": "function",
                       "function": {"name": "get", "arguments": "{\"a\": 1}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "42"},
      {"role": "assistant", "content": "no", "refusal": "I can't", "audio": {"id": "au_1"}}
    ],
    "max_tokens": 10, "max_completion_tokens": 20, "temperature": 1, "top_p": 0.5,
    "seed": 7, "user": "u1", "stream": true, "stream_options": {"include_usage": true},
    "metadata": {"k": "v"}, "reasoning_effort": "low", "presence_penalty": -1,
    "frequency_penalty": 0.5, "parallel_tool_calls": false, "n": 1, "top_k": 40,
    "logprobs": true, "store": false
  })");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->door, canonical::Door::kOpenAIChat);
  EXPECT_EQ(r->model, "gpt-x");
  ASSERT_EQ(r->messages.size(), 5u);
  EXPECT_EQ(r->messages[0].role, Role::kDeveloper);
  EXPECT_TRUE(r->messages[0].content_was_string);

  const canonical::Message& user = r->messages[1];
  EXPECT_EQ(user.name, "ann");
  EXPECT_FALSE(user.content_was_string);
  ASSERT_EQ(user.content.size(), 5u);
  const auto& inline_image = std::get<canonical::ImageBlock>(user.content[1]);
  EXPECT_EQ(inline_image.media_type, "image/png");
  EXPECT_EQ(inline_image.data, "AAAA");
  EXPECT_EQ(inline_image.detail, "low");
  EXPECT_EQ(std::get<canonical::ImageBlock>(user.content[2]).url, "https://e.com/a.jpg");
  EXPECT_EQ(std::get<canonical::OpaqueBlock>(user.content[3]).vendor, canonical::Vendor::kOpenAI);
  EXPECT_NE(std::get<canonical::OpaqueBlock>(user.content[4]).json.find("file-1"),
            std::string::npos);

  const canonical::Message& asst = r->messages[2];
  ASSERT_EQ(asst.content.size(), 2u);
  EXPECT_EQ(std::get<canonical::ReasoningBlock>(asst.content[0]).text, "thinking...");
  const auto& call = std::get<canonical::ToolUseBlock>(asst.content[1]);
  EXPECT_EQ(call.id, "call_1");
  EXPECT_EQ(call.input_json, "{\"a\": 1}");  // verbatim, spacing included

  const canonical::Message& tool = r->messages[3];
  EXPECT_EQ(tool.role, Role::kTool);
  const auto& result = std::get<canonical::ToolResultBlock>(tool.content.at(0));
  EXPECT_EQ(result.tool_use_id, "call_1");
  EXPECT_EQ(std::get<canonical::TextBlock>(result.content.at(0)).text, "42");

  const canonical::Message& refusal = r->messages[4];
  ASSERT_EQ(refusal.content.size(), 2u);
  EXPECT_NE(std::get<canonical::OpaqueBlock>(refusal.content[1]).json.find("I can't"),
            std::string::npos);
  EXPECT_NE(refusal.extras.json.find("au_1"), std::string::npos);

  EXPECT_EQ(r->max_tokens, 20);  // max_completion_tokens wins
  EXPECT_EQ(r->temperature, 1.0);
  EXPECT_EQ(r->top_p, 0.5);
  EXPECT_EQ(r->seed, 7);
  EXPECT_EQ(r->user, "u1");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  ASSERT_EQ(r->metadata.size(), 1u);
  EXPECT_EQ(r->metadata[0].second, "v");
  EXPECT_EQ(r->reasoning.effort, "low");
  EXPECT_EQ(r->presence_penalty, -1.0);
  EXPECT_EQ(r->parallel_tool_calls, false);
  EXPECT_EQ(r->top_k, 40);
  EXPECT_NE(r->extras.json.find("\"logprobs\":true"), std::string::npos);
  EXPECT_NE(r->extras.json.find("\"store\":false"), std::string::npos);
  EXPECT_NE(r->extras.json.find("\"top_k\":40"), std::string::npos);
}

TEST(DecodeRequest, IncludeUsageIgnoredWithoutStream) {
  Result<ChatRequest> r = decodeRequest(body(R"("stream_options":{"include_usage":true})"));
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->include_usage);
}

TEST(DecodeRequest, DoorCodecDecodesTheBody) {
  auto codec = makeDoorCodec();
  EXPECT_EQ(codec->door(), canonical::Door::kOpenAIChat);
  HttpRequest http;
  http.method = "POST";
  http.target = "/v1/chat/completions";
  http.body = body("");
  Result<ChatRequest> r = codec->decode(http);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->messages.at(0).role, Role::kUser);
  EXPECT_TRUE(r->messages.at(0).content_was_string);
}

TEST(DecodeRequest, UnknownToolChoiceShapeTravelsRaw) {
  Result<ChatRequest> r = decodeRequest(
      body(R"("tools":[{"type":"function","function":{"name":"f"}}],)"
           R"("tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}})"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->tool_choice.kind, canonical::ToolChoice::Kind::kUnset);
  EXPECT_NE(r->extras.json.find("allowed_tools"), std::string::npos);
}

}  // namespace
}  // namespace basalt::api::openai_chat
