#include "basalt/api/openai_chat/chat_codec.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace basalt::api::openai_chat {
namespace {

namespace json = boost::json;
using canonical::ChatRequest;
using canonical::ChatResponse;
using canonical::StopReason;

json::object parseObject(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v.is_object() ? v.get_object() : json::object();
}

ChatRequest requestFor(std::string model) {
  ChatRequest r;
  r.model = std::move(model);
  return r;
}

TEST(EncodeResponse, TextShapeMatchesOpenAI) {
  ChatResponse resp;
  resp.id = "msg_123";
  resp.model = "claude-x";
  resp.created = 1741570283;
  resp.content.emplace_back(canonical::TextBlock{"Hel"});
  resp.content.emplace_back(canonical::TextBlock{"lo"});
  resp.stop_reason = StopReason::kEndTurn;
  resp.usage = {19, 10, 4, 0, 3};
  resp.system_fingerprint = "fp_1";

  auto codec = makeDoorCodec();
  canonical::EncodedReply reply = codec->encodeResponse(resp, requestFor("my-model"));
  EXPECT_EQ(reply.status, 200);
  ASSERT_EQ(reply.headers.size(), 1u);
  EXPECT_EQ(reply.headers[0].value, "application/json");
  json::object body = parseObject(reply.body);
  EXPECT_TRUE(body.at("id").as_string().starts_with("chatcmpl-"));
  EXPECT_GT(body.at("id").as_string().size(), 20u);
  EXPECT_EQ(body.at("object"), "chat.completion");
  EXPECT_EQ(body.at("created"), 1741570283);
  EXPECT_EQ(body.at("model"), "my-model");  // the client's name, not the provider's
  EXPECT_EQ(body.at("system_fingerprint"), "fp_1");
  const json::object& choice = body.at("choices").as_array().at(0).as_object();
  EXPECT_EQ(choice.at("index"), 0);
  EXPECT_TRUE(choice.at("logprobs").is_null());
  EXPECT_EQ(choice.at("finish_reason"), "stop");
  const json::object& msg = choice.at("message").as_object();
  EXPECT_EQ(msg.at("role"), "assistant");
  EXPECT_EQ(msg.at("content"), "Hello");
  EXPECT_TRUE(msg.at("refusal").is_null());
  EXPECT_TRUE(msg.at("annotations").as_array().empty());
  EXPECT_FALSE(msg.contains("tool_calls"));
  EXPECT_FALSE(msg.contains("reasoning_content"));
  const json::object& usage = body.at("usage").as_object();
  EXPECT_EQ(usage.at("prompt_tokens"), 19);
  EXPECT_EQ(usage.at("completion_tokens"), 10);
  EXPECT_EQ(usage.at("total_tokens"), 29);
  EXPECT_EQ(usage.at("prompt_tokens_details").at("cached_tokens"), 4);
  EXPECT_EQ(usage.at("completion_tokens_details").at("reasoning_tokens"), 3);
  EXPECT_EQ(usage.at("completion_tokens_details").at("accepted_prediction_tokens"), 0);
}

TEST(EncodeResponse, KeepsChatcmplIdsAndOmitsUnknownFingerprint) {
  ChatResponse resp;
  resp.id = "chatcmpl-abc";
  json::object body = parseObject(encodeResponseBody(resp, requestFor("m")));
  EXPECT_EQ(body.at("id"), "chatcmpl-abc");
  EXPECT_FALSE(body.contains("system_fingerprint"));
  EXPECT_GT(body.at("created").as_int64(), 1700000000);
  const json::object& msg = body.at("choices").at(0).at("message").as_object();
  EXPECT_TRUE(msg.at("content").is_null());
}

TEST(EncodeResponse, ToolCallsReasoningAndFinishReason) {
  ChatResponse resp;
  resp.content.emplace_back(canonical::ReasoningBlock{"hmm"});
  resp.content.emplace_back(canonical::ToolUseBlock{"toolu_1", "get", "{\"x\":1}"});
  resp.content.emplace_back(canonical::ToolUseBlock{"toolu_2", "noargs", ""});
  resp.stop_reason = StopReason::kToolUse;
  json::object body = parseObject(encodeResponseBody(resp, requestFor("m")));
  const json::object& choice = body.at("choices").at(0).as_object();
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  const json::object& msg = choice.at("message").as_object();
  EXPECT_TRUE(msg.at("content").is_null());
  EXPECT_EQ(msg.at("reasoning_content"), "hmm");
  const json::array& calls = msg.at("tool_calls").as_array();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].at("id"), "toolu_1");
  EXPECT_EQ(calls[0].at("type"), "function");
  EXPECT_EQ(calls[0].at("function").at("name"), "get");
  EXPECT_EQ(calls[0].at("function").at("arguments"), "{\"x\":1}");
  EXPECT_EQ(calls[1].at("function").at("arguments"), "{}");
}

TEST(EncodeResponse, FinishReasonMapping) {
  const std::pair<StopReason, const char*> cases[] = {
      {StopReason::kEndTurn, "stop"},
      {StopReason::kStopSequence, "stop"},
      {StopReason::kPauseTurn, "stop"},
      {StopReason::kMaxTokens, "length"},
      {StopReason::kContextWindowExceeded, "length"},
      {StopReason::kToolUse, "tool_calls"},
      {StopReason::kContentFilter, "content_filter"},
      {StopReason::kRefusal, "content_filter"},
      {StopReason::kUnset, "stop"}};
  for (const auto& [reason, expected] : cases) {
    ChatResponse resp;
    resp.stop_reason = reason;
    json::object body = parseObject(encodeResponseBody(resp, requestFor("m")));
    EXPECT_EQ(body.at("choices").at(0).at("finish_reason"), expected)
        << canonical::stopReasonName(reason);
  }
}

TEST(EncodeResponse, RefusalAndUpstreamExtras) {
  ChatResponse resp;
  resp.content.emplace_back(
      canonical::OpaqueBlock{canonical::Vendor::kOpenAI, R"({"type":"refusal","refusal":"No."})"});
  resp.extras = {canonical::Vendor::kOpenAI,
                 R"({"service_tier":"default","model":"evil","id":"x","usage":{}})"};
  const std::string text = encodeResponseBody(resp, requestFor("m"));
  // Written as text: a key the body already has must not appear twice.
  for (std::string_view key : {R"("model":)", R"("id":)", R"("usage":)"}) {
    EXPECT_EQ(text.find(key), text.rfind(key)) << key << " twice in " << text;
  }
  json::object body = parseObject(text);
  EXPECT_EQ(body.at("choices").at(0).at("message").at("refusal"), "No.");
  EXPECT_EQ(body.at("service_tier"), "default");
  EXPECT_EQ(body.at("model"), "m");  // extras never override
}

TEST(EncodeError, StatusTypeCodeAndHeaders) {
  struct Case {
    Error error;
    int status;
    const char* type;
    const char* code;  // nullptr: JSON null
  };
  Error limited{ErrorKind::kRateLimited, "slow down"};
  limited.retry_after_s = 3;
  Error quota{ErrorKind::kRateLimited, "no quota", {}, "insufficient_quota"};
  Error overloaded{ErrorKind::kUpstreamUnavailable, "busy"};
  overloaded.retry_after_s = 2;
  const Case cases[] = {
      {Error::invalid("bad", "messages"), 400, "invalid_request_error", nullptr},
      {Error{ErrorKind::kUnauthenticated, "Incorrect API key provided"}, 401,
       "invalid_request_error", "invalid_api_key"},
      {Error{ErrorKind::kPermissionDenied, "denied"}, 403, "invalid_request_error", nullptr},
      {Error::notFound("The model `x` does not exist", "model_not_found"), 404,
       "invalid_request_error", "model_not_found"},
      {Error{ErrorKind::kPayloadTooLarge, "too big"}, 413, "invalid_request_error", nullptr},
      {limited, 429, "requests", "rate_limit_exceeded"},
      {quota, 429, "insufficient_quota", "insufficient_quota"},
      {Error{ErrorKind::kUpstreamError, "bad gateway"}, 502, "server_error", nullptr},
      {overloaded, 503, "server_error", nullptr},
      {Error{ErrorKind::kUpstreamTimeout, "timeout"}, 504, "server_error", nullptr},
      {Error::internal("bug"), 500, "server_error", nullptr},
  };
  for (const Case& c : cases) {
    canonical::EncodedReply reply = encodeError(c.error);
    EXPECT_EQ(reply.status, c.status) << c.error.message;
    json::object body = parseObject(reply.body);
    ASSERT_EQ(body.size(), 1u);
    const json::object& e = body.at("error").as_object();
    EXPECT_EQ(e.size(), 4u);
    EXPECT_EQ(e.at("message").as_string(), c.error.message);
    EXPECT_EQ(e.at("type"), c.type) << c.error.message;
    if (c.error.param.empty()) {
      EXPECT_TRUE(e.at("param").is_null());
    } else {
      EXPECT_EQ(e.at("param").as_string(), c.error.param);
    }
    if (c.code == nullptr) {
      EXPECT_TRUE(e.at("code").is_null()) << c.error.message;
    } else {
      EXPECT_EQ(e.at("code"), c.code);
    }
    bool json_type = false;
    std::string retry_after;
    std::string retry_after_ms;
    for (const Header& h : reply.headers) {
      if (h.name == "content-type") json_type = h.value == "application/json";
      if (h.name == "retry-after") retry_after = h.value;
      if (h.name == "retry-after-ms") retry_after_ms = h.value;
    }
    EXPECT_TRUE(json_type);
    if (c.error.retry_after_s > 0) {
      EXPECT_EQ(retry_after, std::to_string(c.error.retry_after_s));
      EXPECT_EQ(retry_after_ms, std::to_string(c.error.retry_after_s * 1000));
    } else {
      EXPECT_TRUE(retry_after.empty());
    }
  }
}

TEST(EncodeModelList, SupersetShape) {
  json::object body = parseObject(encodeModelList({"gpt-a", "claude-b"}, false));
  EXPECT_EQ(body.at("object"), "list");
  const json::array& data = body.at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0].at("id"), "gpt-a");
  EXPECT_EQ(data[0].at("object"), "model");
  EXPECT_EQ(data[0].at("type"), "model");
  EXPECT_TRUE(data[0].at("created").is_int64());
  EXPECT_EQ(data[0].at("created_at"), "2023-11-14T22:13:20Z");
  EXPECT_TRUE(data[0].at("owned_by").is_string());
  EXPECT_EQ(data[1].at("display_name"), "claude-b");
  EXPECT_EQ(body.at("has_more"), false);
  EXPECT_EQ(body.at("first_id"), "gpt-a");
  EXPECT_EQ(body.at("last_id"), "claude-b");
  EXPECT_FALSE(body.contains("models"));

  json::object codex = parseObject(encodeModelList({}, true));
  EXPECT_TRUE(codex.at("models").as_array().empty());
  EXPECT_TRUE(codex.at("data").as_array().empty());
  EXPECT_TRUE(codex.at("first_id").is_null());
}

}  // namespace
}  // namespace basalt::api::openai_chat
