#include "basalt/api/openai_chat/chat_codec.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::api::openai_chat {
namespace {

namespace json = boost::json;
using canonical::BlockType;
using canonical::ContentBlock;
using canonical::StopReason;
using canonical::StreamEvent;
using Type = canonical::StreamEvent::Type;

json::value parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v;
}

// ---- decodeUpstreamResponse ----

TEST(DecodeUpstreamResponse, OpenAIToolCallsAndUsage) {
  auto r = decodeUpstreamResponse(R"({"id":"chatcmpl-1","object":"chat.completion",
    "created":1741570283,"model":"gpt-4o-2024","system_fingerprint":"fp_x","service_tier":"default",
    "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
      "tool_calls":[{"id":"call_a","type":"function","function":{"name":"get","arguments":"{\"q\":1}"}}]},
      "logprobs":null,"finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,
      "prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->id, "chatcmpl-1");
  EXPECT_EQ(r->model, "gpt-4o-2024");
  EXPECT_EQ(r->created, 1741570283);
  EXPECT_EQ(r->system_fingerprint, "fp_x");
  EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
  ASSERT_EQ(r->content.size(), 1u);
  const auto& call = std::get<canonical::ToolUseBlock>(r->content[0]);
  EXPECT_EQ(call.id, "call_a");
  EXPECT_EQ(call.input_json, "{\"q\":1}");
  EXPECT_EQ(r->usage.input_tokens, 10);
  EXPECT_EQ(r->usage.output_tokens, 5);
  EXPECT_EQ(r->usage.cache_read_tokens, 2);
  EXPECT_EQ(r->usage.reasoning_tokens, 1);
  EXPECT_EQ(r->extras.vendor, canonical::Vendor::kOpenAI);
  EXPECT_EQ(r->extras.json, R"({"service_tier":"default"})");
}

TEST(DecodeUpstreamResponse, TolerantOfMinimalServers) {
  // llama.cpp / Ollama style: no usage, no id, reasoning under "reasoning", vLLM stop_reason.
  auto r = decodeUpstreamResponse(R"({"choices":[{"message":{"content":"hi","reasoning":"r"},
      "finish_reason":"stop","stop_reason":"END"}]})");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->content.size(), 2u);
  EXPECT_EQ(std::get<canonical::ReasoningBlock>(r->content[0]).text, "r");
  EXPECT_EQ(std::get<canonical::TextBlock>(r->content[1]).text, "hi");
  EXPECT_EQ(r->stop_reason, StopReason::kStopSequence);
  EXPECT_EQ(r->stop_sequence, "END");
  EXPECT_EQ(r->usage.total(), 0);

  auto no_finish = decodeUpstreamResponse(R"({"choices":[{"message":{"content":null}}]})");
  ASSERT_TRUE(no_finish.has_value());
  EXPECT_TRUE(no_finish->content.empty());
  EXPECT_EQ(no_finish->stop_reason, StopReason::kEndTurn);

  auto length = decodeUpstreamResponse(
      R"({"choices":[{"message":{"content":"a"},"finish_reason":"length"}]})");
  ASSERT_TRUE(length.has_value());
  EXPECT_EQ(length->stop_reason, StopReason::kMaxTokens);
}

TEST(DecodeUpstreamResponse, Errors) {
  auto bad = decodeUpstreamResponse("<html>");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().kind, ErrorKind::kUpstreamError);
  auto err = decodeUpstreamResponse(R"({"error":{"message":"overloaded","type":"server_error"}})");
  ASSERT_FALSE(err.has_value());
  EXPECT_EQ(err.error().message, "overloaded");
  auto empty = decodeUpstreamResponse(R"({"choices":[]})");
  ASSERT_FALSE(empty.has_value());
}

TEST(UpstreamErrorMessage, ShapesAndTruncation) {
  EXPECT_EQ(upstreamErrorMessage(R"({"error":{"message":"Invalid key"}})"), "Invalid key");
  EXPECT_EQ(upstreamErrorMessage(R"({"error":"model not found"})"), "model not found");
  EXPECT_EQ(upstreamErrorMessage(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(upstreamErrorMessage("Bad Gateway"), "Bad Gateway");
  std::string long_body(600, 'a');
  long_body[511] = '\xC3';  // first byte of a two-byte sequence straddling the cut
  long_body[512] = '\xA9';
  std::string m = upstreamErrorMessage(long_body);
  EXPECT_EQ(m, std::string(511, 'a') + "...");
}

// ---- ChunkDecoder ----

struct Decoded {
  std::vector<StreamEvent> events;
  std::optional<Error> error;
};

Decoded decodeChunks(const std::vector<std::string>& chunks) {
  Decoded d;
  ChunkDecoder decoder;
  for (const std::string& c : chunks) {
    Result<void> r = decoder.feed(c, d.events);
    if (!r) {
      d.error = r.error();
      return d;
    }
  }
  decoder.finish(d.events);
  return d;
}

canonical::ChatResponse fold(const std::vector<StreamEvent>& events) {
  canonical::StreamAccumulator acc;
  for (const StreamEvent& e : events) acc.add(e);
  EXPECT_TRUE(acc.finished());
  return acc.take();
}

TEST(ChunkDecoder, FinishInSameChunkAsLastContentAndTrailingUsage) {
  Decoded d = decodeChunks({
      R"({"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})",
      R"({"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]})",
      R"({"id":"c1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]})",
      R"({"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})",
  });
  ASSERT_FALSE(d.error);
  std::vector<Type> types;
  for (const StreamEvent& e : d.events) types.push_back(e.type);
  EXPECT_EQ(types, (std::vector<Type>{Type::kMessageStart, Type::kBlockStart, Type::kBlockDelta,
                                      Type::kBlockDelta, Type::kBlockStop, Type::kUsage,
                                      Type::kMessageStop}));
  EXPECT_EQ(d.events[0].id, "c1");
  EXPECT_EQ(d.events[0].name, "m");
  canonical::ChatResponse r = fold(d.events);
  EXPECT_EQ(std::get<canonical::TextBlock>(r.content.at(0)).text, "Hello");
  EXPECT_EQ(r.usage.input_tokens, 3);
  EXPECT_EQ(r.stop_reason, StopReason::kEndTurn);
}

TEST(ChunkDecoder, AzurePromptFilterPreambleDoesNotStartTheMessage) {
  Decoded d = decodeChunks({
      R"({"choices":[],"created":0,"id":"","model":"","object":"",)"
      R"("prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]})",
      R"({"id":"chatcmpl-az","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"}}]})",
      R"({"id":"chatcmpl-az","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
  });
  ASSERT_FALSE(d.error);
  ASSERT_FALSE(d.events.empty());
  EXPECT_EQ(d.events[0].type, Type::kMessageStart);
  EXPECT_EQ(d.events[0].id, "chatcmpl-az");
  EXPECT_EQ(d.events[0].name, "gpt-4o");
  EXPECT_EQ(std::get<canonical::TextBlock>(fold(d.events).content.at(0)).text, "Hi");
}

TEST(ChunkDecoder, ReasoningThenTextThenParallelSplitToolCalls) {
  Decoded d = decodeChunks({
      R"({"choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"let me"}}]})",
      R"({"choices":[{"index":0,"delta":{"reasoning_content":" think"}}]})",
      R"({"choices":[{"index":0,"delta":{"content":"Calling."}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"a","arguments":""}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\""}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"b","arguments":"{}"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
  });
  ASSERT_FALSE(d.error);
  canonical::ChatResponse r = fold(d.events);
  ASSERT_EQ(r.content.size(), 4u);
  EXPECT_EQ(std::get<canonical::ReasoningBlock>(r.content[0]).text, "let me think");
  EXPECT_EQ(std::get<canonical::TextBlock>(r.content[1]).text, "Calling.");
  const auto& a = std::get<canonical::ToolUseBlock>(r.content[2]);
  EXPECT_EQ(a.id, "call_a");
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.input_json, "{\"x\":1}");
  const auto& b = std::get<canonical::ToolUseBlock>(r.content[3]);
  EXPECT_EQ(b.id, "call_b");
  EXPECT_EQ(b.input_json, "{}");
  EXPECT_EQ(r.stop_reason, StopReason::kToolUse);
  // Blocks never overlap: every BlockStart comes after the previous block's BlockStop.
  int open = -1;
  for (const StreamEvent& e : d.events) {
    if (e.type == Type::kBlockStart) {
      EXPECT_EQ(open, -1);
      open = e.index;
    } else if (e.type == Type::kBlockStop) {
      EXPECT_EQ(e.index, open);
      open = -1;
    } else if (e.type == Type::kBlockDelta) {
      EXPECT_EQ(e.index, open);
    }
  }
}

TEST(ChunkDecoder, WholeToolCallInOneChunkWithoutIndex) {
  // Ollama sends complete calls, sometimes without `index`.
  Decoded d = decodeChunks({
      R"({"choices":[{"delta":{"tool_calls":[{"id":"call_1","function":{"name":"f","arguments":{"a":1}}},{"id":"call_2","function":{"name":"g","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})",
  });
  ASSERT_FALSE(d.error);
  canonical::ChatResponse r = fold(d.events);
  ASSERT_EQ(r.content.size(), 2u);
  EXPECT_EQ(std::get<canonical::ToolUseBlock>(r.content[0]).input_json, "{\"a\":1}");
  EXPECT_EQ(std::get<canonical::ToolUseBlock>(r.content[1]).name, "g");
}

TEST(ChunkDecoder, CustomToolCallInputIsWrappedAsContent) {
  Decoded d = decodeChunks({
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_c","type":"custom","custom":{"name":"apply_patch","input":""}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"custom":{"input":"*** Begin \"x\"\n"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"custom":{"input":"end"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
  });
  ASSERT_FALSE(d.error);
  canonical::ChatResponse r = fold(d.events);
  ASSERT_EQ(r.content.size(), 1u);
  const auto& call = std::get<canonical::ToolUseBlock>(r.content[0]);
  EXPECT_EQ(call.name, "apply_patch");
  json::value input = parse(call.input_json);
  EXPECT_EQ(input.at("content"), "*** Begin \"x\"\nend");
}

TEST(ChunkDecoder, ErrorChunkAndGarbage) {
  Decoded d = decodeChunks({
      R"({"choices":[{"index":0,"delta":{"content":"a"}}]})",
      R"({"error":{"message":"The server had an error","type":"server_error"}})",
  });
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstreamError);
  EXPECT_EQ(d.error->message, "The server had an error");

  Decoded garbage = decodeChunks({"not json"});
  ASSERT_TRUE(garbage.error);
  EXPECT_EQ(garbage.error->kind, ErrorKind::kUpstreamError);
}

TEST(ChunkDecoder, FinishWithoutDataStillWellFormed) {
  Decoded d = decodeChunks({});
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].type, Type::kMessageStart);
  EXPECT_EQ(d.events[1].type, Type::kMessageStop);
}

// ---- encodeUpstreamRequest: requests from other doors ----

TEST(EncodeUpstreamRequest, AnthropicShapedRequest) {
  canonical::ChatRequest req;
  req.door = canonical::Door::kAnthropicMessages;
  req.model = "claude-x";
  req.system.emplace_back(canonical::TextBlock{"You are terse."});
  req.max_tokens = 100;
  req.top_k = 5;  // no Chat equivalent: not sent
  req.reasoning.budget_tokens = 2048;

  canonical::Message user;
  user.role = canonical::Role::kUser;
  user.content.emplace_back(canonical::TextBlock{"weather?"});
  req.messages.push_back(user);

  canonical::Message asst;
  asst.role = canonical::Role::kAssistant;
  asst.content.emplace_back(canonical::ReasoningBlock{"thinking", "sig"});
  asst.content.emplace_back(canonical::TextBlock{"Checking."});
  asst.content.emplace_back(canonical::ToolUseBlock{"toolu_1", "get_weather", "{\"city\":\"P\"}"});
  asst.content.emplace_back(canonical::OpaqueBlock{canonical::Vendor::kAnthropic, "{}"});
  req.messages.push_back(asst);

  canonical::Message results;
  results.role = canonical::Role::kUser;
  canonical::ToolResultBlock tr{"toolu_1", {}, false};
  tr.content.emplace_back(canonical::TextBlock{"sunny"});
  canonical::ImageBlock chart;
  chart.media_type = "image/png";
  chart.data = "QUJD";
  tr.content.emplace_back(chart);
  results.content.emplace_back(tr);
  results.content.emplace_back(canonical::TextBlock{"and tomorrow?"});
  req.messages.push_back(results);

  canonical::ToolSpec tool;
  tool.name = "get_weather";
  tool.description = "Weather";
  tool.parameters_json = R"({"type":"object","properties":{"city":{"type":"string"}}})";
  req.tools.push_back(tool);
  req.tool_choice.kind = canonical::ToolChoice::Kind::kRequired;
  req.extras = {canonical::Vendor::kAnthropic, R"({"anthropic_beta":["x"]})"};

  json::value got = parse(encodeUpstreamRequest(req, {"gpt-4o", 4096, true}));
  json::value want = parse(R"({
    "model": "gpt-4o",
    "messages": [
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
      {"role": "assistant", "content": [{"type": "text", "text": "Checking."}],
       "tool_calls": [{"id": "toolu_1", "type": "function",
                       "function": {"name": "get_weather", "arguments": "{\"city\":\"P\"}"}}]},
      {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
      {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}},
        {"type": "text", "text": "and tomorrow?"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    "tool_choice": "required",
    "max_completion_tokens": 100,
    "stream": true,
    "stream_options": {"include_usage": true}
  })");
  EXPECT_EQ(got, want) << json::serialize(got);
}

TEST(EncodeUpstreamRequest, CustomToolFromResponsesDoorBecomesFunction) {
  canonical::ChatRequest req;
  req.door = canonical::Door::kOpenAIResponses;
  canonical::ToolSpec tool;
  tool.kind = canonical::ToolKind::kCustom;
  tool.name = "apply_patch";
  tool.description = "Patch files.";
  tool.custom_format_json = R"({"type":"grammar","syntax":"lark","definition":"start: x"})";
  req.tools.push_back(tool);
  req.tool_choice = {canonical::ToolChoice::Kind::kNamed, "apply_patch"};
  canonical::Message asst;
  asst.role = canonical::Role::kAssistant;
  canonical::ToolUseBlock call{"call_1", "apply_patch", R"({"content":"*** Begin"})",
                               canonical::ToolKind::kCustom};
  asst.content.emplace_back(call);
  req.messages.push_back(asst);

  json::value got = parse(encodeUpstreamRequest(req, {"m", std::nullopt, false}));
  const json::object& fn = got.at("tools").at(0).at("function").as_object();
  EXPECT_EQ(got.at("tools").at(0).at("type"), "function");
  EXPECT_EQ(fn.at("description"), "Patch files.\n\nFormat:\n```lark\nstart: x\n```\n");
  EXPECT_EQ(fn.at("parameters").at("required").at(0), "content");
  EXPECT_EQ(got.at("tool_choice"),
            parse(R"({"type":"function","function":{"name":"apply_patch"}})"));
  const json::value& tc = got.at("messages").at(0).at("tool_calls").at(0);
  EXPECT_EQ(tc.at("function").at("arguments"), R"({"content":"*** Begin"})");
  EXPECT_TRUE(got.at("messages").at(0).at("content").is_null());
  EXPECT_FALSE(got.as_object().contains("max_completion_tokens"));
  EXPECT_FALSE(got.as_object().contains("stream"));
}

TEST(EncodeUpstreamRequest, ForeignOpaqueBlocksNeverLeaveAnEmptyPartsArray) {
  canonical::ChatRequest req;
  req.door = canonical::Door::kAnthropicMessages;
  canonical::Message user;
  user.role = canonical::Role::kUser;
  user.content.emplace_back(
      canonical::OpaqueBlock{canonical::Vendor::kAnthropic, R"({"type":"document"})"});
  req.messages.push_back(user);
  canonical::Message results;
  results.role = canonical::Role::kUser;
  results.content.emplace_back(canonical::ToolResultBlock{"toolu_9", {}, true});
  results.content.emplace_back(canonical::OpaqueBlock{canonical::Vendor::kBedrock, "{}"});
  req.messages.push_back(results);

  json::value got = parse(encodeUpstreamRequest(req, {"m", std::nullopt, false}));
  json::value want = parse(R"([{"role":"user","content":""},
                               {"role":"tool","tool_call_id":"toolu_9","content":""}])");
  EXPECT_EQ(got.at("messages"), want) << json::serialize(got);
}

}  // namespace
}  // namespace basalt::api::openai_chat

namespace basalt::api::openai_chat {
namespace {

TEST(EncodeUpstreamRequest, ResponsesDoorExtrasAndHostedToolsDoNotReachAChatUpstream) {
  canonical::ChatRequest request;
  request.door = canonical::Door::kOpenAIResponses;
  request.model = "gpt";
  request.extras = {canonical::Vendor::kOpenAI,
                    R"({"store":true,"include":["reasoning.encrypted_content"]})"};
  canonical::Message user;
  user.content.emplace_back(canonical::TextBlock{"hi"});
  user.extras = {canonical::Vendor::kOpenAI, R"({"status":"completed"})"};
  request.messages.push_back(user);
  canonical::ToolSpec hosted;
  hosted.name = "web_search";
  hosted.extras = {canonical::Vendor::kOpenAI, R"({"type":"web_search"})"};
  request.tools.push_back(hosted);
  canonical::ToolSpec fn;
  fn.name = "shell";
  fn.parameters_json = R"({"type":"object"})";
  request.tools.push_back(fn);

  const json::object body = parse(encodeUpstreamRequest(request, {"up"})).as_object();
  EXPECT_FALSE(body.contains("store"));
  EXPECT_FALSE(body.contains("include"));
  EXPECT_FALSE(body.at("messages").as_array()[0].as_object().contains("status"));
  ASSERT_EQ(body.at("tools").as_array().size(), 1U);
  EXPECT_EQ(body.at("tools").as_array()[0].at("function").at("name"), "shell");

  // The same extras from the Chat door are Chat fields and are forwarded.
  request.door = canonical::Door::kOpenAIChat;
  const json::object chat = parse(encodeUpstreamRequest(request, {"up"})).as_object();
  EXPECT_TRUE(chat.contains("store"));
  EXPECT_EQ(chat.at("tools").as_array().size(), 2U);
}

}  // namespace
}  // namespace basalt::api::openai_chat

namespace basalt::api::openai_chat {
namespace {

std::size_t occurrences(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// The body is written as text (no json tree): every string must survive escaping exactly, and
// numbers must come out in their plain shortest form.
TEST(EncodeUpstreamRequest, WrittenTextEscapesExactlyAndFormatsNumbersPlainly) {
  canonical::ChatRequest req;
  req.door = canonical::Door::kOpenAIChat;
  const std::string tricky = std::string("quote \" backslash \\ newline \n tab \t nul ") +
                             std::string(1, '\0') + " ctl \x01\x1f utf8 \xC3\xA9\xF0\x9F\x98\x80";
  canonical::Message user;
  user.role = canonical::Role::kUser;
  user.content_was_string = true;
  user.content.emplace_back(canonical::TextBlock{tricky});
  req.messages.push_back(user);
  req.temperature = 0.2;
  req.top_p = 1.0;
  req.seed = -9007199254740993LL;
  req.stop = {"\"end\"", "\n"};
  req.metadata = {{"k \"1\"", "v\\1"}};

  const std::string text = encodeUpstreamRequest(req, {"m\"odel", 64, false});
  const json::object body = parse(text).as_object();
  EXPECT_EQ(body.at("model"), "m\"odel");
  EXPECT_EQ(body.at("messages").at(0).at("content").as_string(), tricky);
  EXPECT_NE(text.find(R"("temperature":0.2,)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("top_p":1,)"), std::string::npos) << text;
  EXPECT_EQ(body.at("seed"), -9007199254740993LL);
  EXPECT_EQ(body.at("stop"), parse(R"(["\"end\"","\n"])"));
  EXPECT_EQ(body.at("metadata"), parse(R"({"k \"1\"":"v\\1"})"));
  EXPECT_NE(text.find(R"(\u0000)"), std::string::npos) << "NUL must be escaped";
}

// Vendor extras fill in only what the encoder did not write: a duplicate key in the text would
// be read differently by different JSON parsers.
TEST(EncodeUpstreamRequest, ExtrasNeverDuplicateAWrittenKey) {
  canonical::ChatRequest req;
  req.door = canonical::Door::kOpenAIChat;
  canonical::Message user;
  user.role = canonical::Role::kUser;
  user.content.emplace_back(canonical::TextBlock{"hi"});
  user.extras = {canonical::Vendor::kOpenAI, R"({"role":"system","name":"x"})"};
  req.messages.push_back(user);
  req.extras = {canonical::Vendor::kOpenAI,
                R"({"model":"evil","messages":[],"logprobs":true,"stream":true})"};

  const std::string text = encodeUpstreamRequest(req, {"real", std::nullopt, true});
  const json::object body = parse(text).as_object();
  EXPECT_EQ(occurrences(text, R"("model":)"), 1U) << text;
  EXPECT_EQ(occurrences(text, R"("stream":)"), 1U) << text;
  EXPECT_EQ(occurrences(text, R"("role":)"), 1U) << text;
  EXPECT_EQ(body.at("model"), "real");
  EXPECT_EQ(body.at("logprobs"), true);
  EXPECT_EQ(body.at("messages").at(0).at("role"), "user");
  EXPECT_EQ(body.at("messages").at(0).at("name"), "x");
}

}  // namespace
}  // namespace basalt::api::openai_chat
