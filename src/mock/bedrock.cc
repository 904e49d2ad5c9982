// Bedrock Runtime Converse (`/model/{id}/converse`) and ConverseStream (`/converse-stream`,
// binary event-stream messages).

#include "basalt/api/bedrock/event_stream.h"
#include "dialect.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>

namespace basalt::mock {
namespace {

namespace json = boost::json;
using api::bedrock::encodeBedrockEvent;
using api::bedrock::encodeBedrockException;

const char* stopReason(const Plan& p) {
  return p.toolUse() ? "tool_use" : "end_turn";
}
std::string signature(const Plan& p) {
  return "mock-signature-" + p.seqId();
}

/// A deterministic, UUID-shaped request id.
std::string requestId(std::uint64_t seq) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llu",
                static_cast<unsigned long long>(seq % 1000000000000ULL));
  return buf;
}

json::value parsedArgs(const std::string& args) {
  boost::system::error_code ec;
  json::value v = json::parse(args, ec);
  if (ec || !v.is_object()) return json::object();
  return v;
}

/// (HTTP error type, mid-stream exception member) for a status.
std::pair<std::string_view, std::string_view> errorTypes(int status) {
  switch (status) {
    case 400:
      return {"ValidationException", "validationException"};
    case 401:
    case 403:
      return {"AccessDeniedException", "internalServerException"};
    case 404:
      return {"ResourceNotFoundException", "internalServerException"};
    case 408:
      return {"ModelTimeoutException", "internalServerException"};
    case 424:
      return {"ModelErrorException", "modelStreamErrorException"};
    case 429:
      return {"ThrottlingException", "throttlingException"};
    case 503:
      return {"ServiceUnavailableException", "serviceUnavailableException"};
    default:
      if (status < 500) return {"ValidationException", "validationException"};
      return {"InternalServerException", "internalServerException"};
  }
}

json::object usageObject(const Plan& p) {
  return json::object{{"inputTokens", p.input_tokens},
                      {"outputTokens", p.output_tokens},
                      {"totalTokens", p.input_tokens + p.output_tokens}};
}

class BedrockDialect final : public Dialect {
 public:
  Result<MockInput> parse(const json::value& body, const PathInfo& path) const override {
    const auto* obj = body.if_object();
    if (obj == nullptr) return badRequest("the body must be a JSON object");
    MockInput in;
    in.model = path.model;
    in.stream = path.stream;
    if (const auto* sys = obj->if_contains("system")) {
      std::string text;
      appendContentText(*sys, text);
      in.input_chars += countChars(text);
    }
    const auto* messages = obj->if_contains("messages");
    if (messages == nullptr || !messages->is_array()) return badRequest("missing messages");
    for (const auto& m : messages->get_array()) {
      if (!m.is_object()) continue;
      const bool user = stringField(m, "role") == "user";
      const auto* content = m.get_object().if_contains("content");
      if (content == nullptr || !content->is_array()) continue;
      std::string text;
      std::string results;
      bool has_result = false;
      for (const auto& b : content->get_array()) {
        const auto* block = b.if_object();
        if (block == nullptr) continue;
        if (const auto* t = block->if_contains("text"); t != nullptr && t->is_string()) {
          if (!text.empty()) text += '\n';
          text += t->get_string();
        } else if (const auto* tu = block->if_contains("toolUse")) {
          if (const auto* input =
                  tu->is_object() ? tu->get_object().if_contains("input") : nullptr) {
            in.input_chars += countChars(json::serialize(*input));
          }
        } else if (const auto* tr = block->if_contains("toolResult"); tr && tr->is_object()) {
          std::string r;
          if (const auto* c = tr->get_object().if_contains("content"); c && c->is_array()) {
            for (const auto& part : c->get_array()) {
              if (!part.is_object()) continue;
              if (!r.empty()) r += '\n';
              if (const auto* pt = part.get_object().if_contains("text"); pt && pt->is_string()) {
                r += pt->get_string();
              } else if (const auto* pj = part.get_object().if_contains("json")) {
                r += json::serialize(*pj);
              }
            }
          }
          in.input_chars += countChars(r);
          if (!results.empty()) results += '\n';
          results += r;
          has_result = true;
        }
      }
      in.input_chars += countChars(text);
      if (user && !text.empty()) in.last_user_text = text;
      in.ends_with_tool_result = user && has_result;
      if (in.ends_with_tool_result) in.tool_result_text = std::move(results);
    }
    return in;
  }

  Reply reply(const Plan& p) const override {
    json::array content;
    if (!p.reasoning.empty()) {
      content.push_back(json::object{
          {"reasoningContent",
           json::object{{"reasoningText",
                         json::object{{"text", p.reasoning}, {"signature", signature(p)}}}}}});
    }
    if (!p.text.empty() || !p.toolUse()) content.push_back(json::object{{"text", p.text}});
    for (std::size_t i = 0; i < p.tool_calls.size(); ++i) {
      content.push_back(
          json::object{{"toolUse", json::object{{"toolUseId", p.toolId("tooluse_mock_", i)},
                                                {"name", p.tool_calls[i].name},
                                                {"input", parsedArgs(p.tool_calls[i].args)}}}});
    }
    json::object body;
    body["output"] = json::object{
        {"message", json::object{{"role", "assistant"}, {"content", std::move(content)}}}};
    body["stopReason"] = stopReason(p);
    body["usage"] = usageObject(p);
    body["metrics"] = json::object{{"latencyMs", p.latency_ms}};
    Reply r = jsonReply(200, json::serialize(body));
    r.headers.push_back({"x-amzn-requestid", requestId(p.seq)});
    return r;
  }

  StreamReply stream(const Plan& p) const override {
    StreamReply out;
    out.headers = {{"content-type", "application/vnd.amazon.eventstream"},
                   {"x-amzn-requestid", requestId(p.seq)}};
    auto add = [&](std::string_view type, const json::object& payload, bool content = false,
                   bool paced = false, bool tail = false) {
      out.frames.push_back(
          {encodeBedrockEvent(type, json::serialize(payload)), content, paced, tail});
    };
    add("messageStart", json::object{{"role", "assistant"}});
    std::int64_t index = 0;
    auto delta = [&](json::object d, bool content, bool paced) {
      add("contentBlockDelta", json::object{{"contentBlockIndex", index}, {"delta", std::move(d)}},
          content, paced);
    };
    auto block_stop = [&] {
      add("contentBlockStop", json::object{{"contentBlockIndex", index}});
      ++index;
    };
    if (!p.reasoning.empty()) {
      for (const auto& r : p.reasoning_chunks) {
        delta(json::object{{"reasoningContent", json::object{{"text", r}}}}, false, true);
      }
      delta(json::object{{"reasoningContent", json::object{{"signature", signature(p)}}}}, false,
            false);
      block_stop();
    }
    if (!p.text.empty() || !p.toolUse()) {
      for (const auto& t : p.text_chunks) delta(json::object{{"text", t}}, true, true);
      block_stop();
    }
    for (std::size_t i = 0; i < p.tool_calls.size(); ++i) {
      add("contentBlockStart",
          json::object{
              {"contentBlockIndex", index},
              {"start",
               json::object{{"toolUse", json::object{{"toolUseId", p.toolId("tooluse_mock_", i)},
                                                     {"name", p.tool_calls[i].name}}}}}});
      delta(json::object{{"toolUse", json::object{{"input", p.tool_calls[i].args}}}}, false, false);
      block_stop();
    }
    add("messageStop", json::object{{"stopReason", stopReason(p)}}, false, false, true);
    add("metadata",
        json::object{{"usage", usageObject(p)},
                     {"metrics", json::object{{"latencyMs", p.latency_ms}}}},
        false, false, true);
    return out;
  }

  Reply error(int status, std::string_view message, std::uint64_t seq) const override {
    const auto type = errorTypes(status).first;
    Reply r = jsonReply(status, json::serialize(json::object{{"message", message}}));
    r.headers.push_back({"x-amzn-errortype", std::string(type)});
    r.headers.push_back({"x-amzn-requestid", requestId(seq)});
    return r;
  }

  std::string streamError(int status, const Plan&, std::size_t) const override {
    return encodeBedrockException(errorTypes(status).second, statusMessage(status));
  }
};

}  // namespace

const Dialect& bedrockDialect() {
  static const BedrockDialect d;
  return d;
}

}  // namespace basalt::mock
