#include "basalt/api/openai_responses/responses_codec.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <regex>
#include <sstream>

namespace basalt::api::openai_responses {
namespace {

namespace json = boost::json;
using canonical::StreamEvent;

struct BadCase {
  const char* body;
  const char* param;
  const char* code;
};

TEST(Validation, ErrorsNameTheParam) {
  const BadCase cases[] = {
      {R"({"input":"hi"})", "model", "missing_required_parameter"},
      {R"({"model":"m"})", "input", "missing_required_parameter"},
      {R"({"model":"m","input":7})", "input", "invalid_type"},
      {R"({"model":"m","input":[{"type":"message","role":"robot","content":"x"}]})",
       "input[0].role", "invalid_value"},
      {R"({"model":"m","input":[{"type":"message","role":"user"}]})", "input[0].content",
       "missing_required_parameter"},
      {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_video"}]}]})",
       "input[0].content[0].type", "invalid_value"},
      {R"({"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]})",
       "input[0].call_id", "missing_required_parameter"},
      {R"({"model":"m","input":[{"type":"function_call_output","call_id":"c"}]})",
       "input[0].output", "missing_required_parameter"},
      {R"({"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_file","file_id":"f"}]}]})",
       "input[0].output[0].type", "invalid_value"},
      {R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]})", "input[0].type",
       "unsupported_value"},
      {R"({"model":"m","input":[{"type":"bogus_item"}]})", "input[0].type", "invalid_value"},
      {R"({"model":"m","input":[{"content":"no role"}]})", "input[0].type",
       "missing_required_parameter"},
      {R"({"model":"m","input":"x","temperature":3})", "temperature", "decimal_above_max_value"},
      {R"({"model":"m","input":"x","max_output_tokens":0})", "max_output_tokens",
       "integer_below_min_value"},
      {R"({"model":"m","input":"x","reasoning":{"effort":"huge"}})", "reasoning.effort",
       "invalid_value"},
      {R"({"model":"m","input":"x","text":{"format":{"type":"json_schema","schema":{}}}})",
       "text.format.name", "missing_required_parameter"},
      {R"({"model":"m","input":"x","text":{"verbosity":"loud"}})", "text.verbosity",
       "invalid_value"},
      {R"({"model":"m","input":"x","tools":[{"type":"function"}]})", "tools[0].name",
       "missing_required_parameter"},
      {R"({"model":"m","input":"x","tools":[{"name":"f"}]})", "tools[0].type",
       "missing_required_parameter"},
      {R"({"model":"m","input":"x","tool_choice":"sometimes"})", "tool_choice", "invalid_value"},
      {R"({"model":"m","input":"x","metadata":{"k":1}})", "metadata.k", "invalid_type"},
      {R"({"model":"m","input":"x","stream":"yes"})", "stream", "invalid_type"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.body);
    Result<canonical::ChatRequest> r = decodeRequest(c.body);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
    EXPECT_EQ(r.error().param, c.param);
    EXPECT_EQ(r.error().code, c.code);
    canonical::EncodedReply reply = encodeError(r.error());
    EXPECT_EQ(reply.status, 400);
    json::value body = json::parse(reply.body);
    EXPECT_EQ(body.at("error").at("param"), c.param);
    EXPECT_EQ(body.at("error").at("type"), "invalid_request_error");
  }
}

TEST(Validation, NotJsonIsInvalidRequest) {
  Result<canonical::ChatRequest> r = decodeRequest("{nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
}

TEST(Decode, ItemsBecomeCanonicalTurns) {
  Result<canonical::ChatRequest> r = decodeRequest(R"({"model":"m","instructions":"sys",
    "previous_response_id":"resp_prev",
    "input":[{"role":"developer","content":"perm"},
             {"type":"reasoning","summary":[],"encrypted_content":"gAAAA"},
             {"type":"message","role":"assistant","content":[{"type":"output_text","text":"a"}]},
             {"type":"function_call","call_id":"c1","name":"f","arguments":""},
             {"type":"function_call_output","call_id":"c1","output":"out"}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->door, canonical::Door::kOpenAIResponses);
  ASSERT_EQ(r->system.size(), 1u);
  ASSERT_EQ(r->messages.size(), 3u);
  EXPECT_EQ(r->messages[0].role, canonical::Role::kDeveloper);
  const canonical::Message& turn = r->messages[1];
  EXPECT_EQ(turn.role, canonical::Role::kAssistant);
  ASSERT_EQ(turn.content.size(), 3u);  // reasoning + text + call in one assistant turn
  EXPECT_EQ(std::get<canonical::ReasoningBlock>(turn.content[0]).encrypted, "gAAAA");
  EXPECT_EQ(std::get<canonical::ToolUseBlock>(turn.content[2]).input_json, "{}");
  EXPECT_EQ(r->messages[2].role, canonical::Role::kTool);
  EXPECT_EQ(previousResponseId(*r), std::optional<std::string>("resp_prev"));
}

TEST(Decode, DoorTakesTheTransportRequestIdUntilTheGatewaySetsOne) {
  HttpRequest http;
  http.body = R"({"model":"m","input":"hi"})";
  http.request_id = "abc123";
  Result<canonical::ChatRequest> r = makeDoorCodec()->decode(http);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->request_id, "abc123");
}

TEST(ResponseId, DeterministicPerRequestId) {
  const std::string a = responseId("req-1");
  EXPECT_TRUE(std::regex_match(a, std::regex("resp_[0-9a-f]{32}"))) << a;
  EXPECT_EQ(a, responseId("req-1"));
  EXPECT_NE(a, responseId("req-2"));
  EXPECT_NE(responseId(""), responseId(""));
}

std::vector<std::pair<std::string, json::object>> frames(const std::string& sse) {
  std::vector<std::pair<std::string, json::object>> out;
  std::istringstream in(sse);
  std::string line;
  std::string event;
  while (std::getline(in, line)) {
    if (line.starts_with("event: ")) event = line.substr(7);
    if (line.starts_with("data: "))
      out.emplace_back(event, json::parse(line.substr(6)).as_object());
  }
  return out;
}

TEST(Stream, SequenceNumbersEventLinesAndStrictUsage) {
  canonical::ChatRequest req = *decodeRequest(R"({"model":"m","input":"hi","stream":true})");
  req.request_id = "req-s";
  auto encoder = makeDoorCodec()->newStreamEncoder(req);
  std::string out;
  encoder->encode(StreamEvent::messageStart("x", "m"), out);
  encoder->encode(StreamEvent::blockStart(0, canonical::BlockType::kText), out);
  encoder->encode(StreamEvent::delta(0, canonical::DeltaType::kText, "Hi"), out);
  encoder->encode(StreamEvent::blockStop(0), out);
  canonical::Usage usage;
  usage.input_tokens = 3;
  usage.output_tokens = 1;
  encoder->encode(StreamEvent::usageEvent(usage), out);
  encoder->encode(StreamEvent::messageStop(canonical::StopReason::kEndTurn), out);
  encoder->encode(StreamEvent::messageStop(canonical::StopReason::kEndTurn), out);  // ignored
  EXPECT_EQ(out.find("[DONE]"), std::string::npos);
  auto fs = frames(out);
  ASSERT_GE(fs.size(), 9u);
  for (std::size_t i = 0; i < fs.size(); ++i) {
    EXPECT_EQ(fs[i].second.at("sequence_number"), static_cast<std::int64_t>(i));
    EXPECT_EQ(std::string(fs[i].second.at("type").as_string()), fs[i].first);
  }
  EXPECT_EQ(fs.front().first, "response.created");
  EXPECT_EQ(fs[1].first, "response.in_progress");
  ASSERT_EQ(fs.back().first, "response.completed");
  const json::object& resp = fs.back().second.at("response").as_object();
  EXPECT_EQ(std::string(resp.at("id").as_string()), responseId("req-s"));
  const json::object& u = resp.at("usage").as_object();
  EXPECT_EQ(u.at("input_tokens"), 3);
  EXPECT_EQ(u.at("output_tokens"), 1);
  EXPECT_EQ(u.at("total_tokens"), 4);
  EXPECT_EQ(u.at("input_tokens_details").at("cached_tokens"), 0);
  EXPECT_EQ(u.at("output_tokens_details").at("reasoning_tokens"), 0);
  EXPECT_EQ(resp.at("output").as_array().size(), 1u);
}

TEST(Stream, ContextWindowErrorsFailWithContextLengthExceeded) {
  canonical::ChatRequest req = *decodeRequest(R"({"model":"m","input":"hi","stream":true})");
  auto encoder = makeDoorCodec()->newStreamEncoder(req);
  std::string out;
  Error e = Error::invalid("prompt is too long: 210000 tokens > 200000 maximum");
  encoder->encode(StreamEvent::errorEvent(e), out);
  encoder->encode(StreamEvent::messageStop(canonical::StopReason::kEndTurn), out);  // ignored
  auto fs = frames(out);
  ASSERT_EQ(fs.size(), 3u);  // created, in_progress, failed
  EXPECT_EQ(fs[2].first, "response.failed");
  const json::object& resp = fs[2].second.at("response").as_object();
  EXPECT_EQ(resp.at("status"), "failed");
  EXPECT_EQ(resp.at("error").at("code"), "context_length_exceeded");
}

TEST(Stored, ConversationRoundTripsWithForeignSignatures) {
  canonical::ChatRequest first = *decodeRequest(R"({"model":"m","instructions":"sys",
    "input":"What is 2+2?","tools":[{"type":"custom","name":"apply_patch"}]})");
  canonical::ChatResponse answer;
  canonical::ReasoningBlock thinking;
  thinking.text = "add";
  thinking.signature = "anthropic-sig";
  answer.content.emplace_back(thinking);
  answer.content.emplace_back(canonical::TextBlock{"4"});
  // A streamed answer: the custom call arrives as a function-kind block.
  answer.content.emplace_back(
      canonical::ToolUseBlock{"toolu_1", "apply_patch", R"({"content":"*** Begin"})"});
  const std::string stored = encodeStoredConversation(first, answer);
  json::array items = json::parse(stored).as_array();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[1].at("type"), "reasoning");
  EXPECT_EQ(items[3].at("type"), "custom_tool_call");
  EXPECT_EQ(items[3].at("input"), "*** Begin");

  canonical::ChatRequest next = *decodeRequest(R"({"model":"m","input":[
    {"type":"custom_tool_call_output","call_id":"toolu_1","output":"ok"}],
    "previous_response_id":"resp_x"})");
  ASSERT_TRUE(prependConversation(stored, next));
  ASSERT_EQ(next.messages.size(), 3u);
  EXPECT_EQ(next.messages[0].role, canonical::Role::kUser);
  const canonical::Message& turn = next.messages[1];
  ASSERT_EQ(turn.content.size(), 3u);
  const auto& r = std::get<canonical::ReasoningBlock>(turn.content[0]);
  EXPECT_EQ(r.signature, "anthropic-sig");
  EXPECT_TRUE(r.encrypted.empty());
  EXPECT_EQ(std::get<canonical::ToolUseBlock>(turn.content[2]).kind, canonical::ToolKind::kCustom);
  EXPECT_FALSE(prependConversation("{}", next));
}

TEST(Upstream, ForeignReasoningIsNotSentToOpenAI) {
  canonical::ChatRequest req;
  req.door = canonical::Door::kAnthropicMessages;
  req.model = "m";
  canonical::Message user;
  user.content.emplace_back(canonical::TextBlock{"hi"});
  canonical::Message assistant;
  assistant.role = canonical::Role::kAssistant;
  canonical::ReasoningBlock thinking;
  thinking.text = "hmm";
  thinking.signature = "sig";
  assistant.content.emplace_back(thinking);
  assistant.content.emplace_back(canonical::ToolUseBlock{"toolu_1", "f", R"({"a":1})"});
  canonical::Message result;
  result.role = canonical::Role::kUser;
  result.content.emplace_back(
      canonical::ToolResultBlock{"toolu_1", {canonical::TextBlock{"done"}}, true});
  req.messages = {user, assistant, result};
  UpstreamRequestOptions options;
  options.model = "gpt-5";
  options.max_tokens_default = 4096;
  json::object body = json::parse(encodeUpstreamRequest(req, options)).as_object();
  const json::array& input = body.at("input").as_array();
  ASSERT_EQ(input.size(), 3u);
  EXPECT_EQ(input[1].at("type"), "function_call");
  EXPECT_EQ(input[2].at("type"), "function_call_output");
  EXPECT_EQ(input[2].at("output"), "done");
  EXPECT_EQ(body.at("max_output_tokens"), 4096);
  EXPECT_EQ(body.at("store"), false);
}

TEST(UpstreamResponse, FailedBodyIsAnError) {
  Result<canonical::ChatResponse> r = decodeUpstreamResponse(
      R"({"id":"r","status":"failed","output":[],"error":{"code":"rate_limit_exceeded","message":"Slow down. Please try again in 20ms."}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(r.error().retry_after_s, 1);
  EXPECT_FALSE(decodeUpstreamResponse("[]"));
  EXPECT_EQ(upstreamErrorMessage(R"({"error":{"message":"bad key"}})"), "bad key");
}

}  // namespace
}  // namespace basalt::api::openai_responses

#include "basalt/api/openai_chat/chat_codec.h"

#include <fstream>

namespace basalt::api::openai_responses {
namespace {

/// A Codex request re-encoded for a Chat Completions upstream carries only Chat fields:
/// nothing of the Responses wire (include, text, client_metadata, item ids, hosted tools, raw
/// items) leaks into it, since a Chat server rejects unknown parameters.
TEST(CrossFormat, CodexRequestToAChatUpstreamCarriesOnlyChatFields) {
  std::ifstream in(std::string(BASALT_SOURCE_DIR) + "/test/golden/openai_responses/codex_0169.roundtrip.json");
  std::stringstream text;
  text << in.rdbuf();
  Result<canonical::ChatRequest> codex = decodeRequest(text.str());
  ASSERT_TRUE(codex.has_value()) << codex.error().message;
  codex->door = canonical::Door::kOpenAIResponses;
  const json::object body =
      json::parse(openai_chat::encodeUpstreamRequest(*codex, {"up"})).as_object();
  for (const char* key : {"input", "include", "text", "client_metadata", "store",
                          "prompt_cache_key", "instructions", "reasoning"}) {
    EXPECT_FALSE(body.contains(key)) << key;
  }
  for (const json::value& m : body.at("messages").as_array()) {
    for (const auto& [key, value] : m.as_object()) {
      EXPECT_TRUE(key == "role" || key == "content" || key == "tool_calls" ||
                  key == "tool_call_id" || key == "name")
          << "message field " << key << ": " << json::serialize(m);
    }
  }
  for (const json::value& t : body.at("tools").as_array()) {
    EXPECT_EQ(t.at("type"), "function") << json::serialize(t);
  }
}

}  // namespace
}  // namespace basalt::api::openai_responses
