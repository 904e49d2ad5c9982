// Anthropic Messages (`POST /v1/messages`): named SSE events, content blocks, tool_use.

#include "dialect.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::mock {
namespace {

namespace json = boost::json;

const char* stopReason(const Plan& p) {
  return p.toolUse() ? "tool_use" : "end_turn";
}
std::string signature(const Plan& p) {
  return "mock-signature-" + p.seqId();
}

json::value parsedArgs(const std::string& args) {
  boost::system::error_code ec;
  json::value v = json::parse(args, ec);
  if (ec || !v.is_object()) return json::object();  // the directive parser already validated
  return v;
}

std::string_view errorType(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

json::object errorObject(int status, std::string_view message) {
  return json::object{{"type", "error"},
                      {"error", json::object{{"type", errorType(status)}, {"message", message}}}};
}

class AnthropicDialect final : public Dialect {
 public:
  Result<MockInput> parse(const json::value& body, const PathInfo& path) const override {
    const auto* obj = body.if_object();
    if (obj == nullptr) return badRequest("the body must be a JSON object");
    MockInput in;
    in.model = stringField(body, "model");
    if (in.model.empty()) in.model = path.model;
    if (in.model.empty()) return badRequest("missing model");
    if (const auto* s = obj->if_contains("stream")) in.stream = s->is_bool() && s->get_bool();
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
      if (content == nullptr) continue;
      std::string text;
      std::string results;
      bool has_result = false;
      if (const auto* s = content->if_string()) {
        text.assign(s->data(), s->size());
      } else if (const auto* blocks = content->if_array()) {
        for (const auto& b : *blocks) {
          std::string_view type = stringField(b, "type");
          if (type == "text") {
            if (!text.empty()) text += '\n';
            text += stringField(b, "text");
          } else if (type == "tool_use") {
            if (const auto* input = b.get_object().if_contains("input")) {
              in.input_chars += countChars(json::serialize(*input));
            }
          } else if (type == "tool_result") {
            std::string r;
            if (const auto* c = b.get_object().if_contains("content")) appendContentText(*c, r);
            in.input_chars += countChars(r);
            if (!results.empty()) results += '\n';
            results += r;
            has_result = true;
          } else if (type == "thinking") {
            in.input_chars += countChars(stringField(b, "thinking"));
          }
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
          {"type", "thinking"}, {"thinking", p.reasoning}, {"signature", signature(p)}});
    }
    if (!p.text.empty() || !p.toolUse()) {
      content.push_back(json::object{{"type", "text"}, {"text", p.text}});
    }
    for (std::size_t i = 0; i < p.tool_calls.size(); ++i) {
      content.push_back(json::object{{"type", "tool_use"},
                                     {"id", p.toolId("toolu_mock_", i)},
                                     {"name", p.tool_calls[i].name},
                                     {"input", parsedArgs(p.tool_calls[i].args)}});
    }
    json::object body;
    body["id"] = "msg_mock_" + p.seqId();
    body["type"] = "message";
    body["role"] = "assistant";
    body["model"] = p.model;
    body["content"] = std::move(content);
    body["stop_reason"] = stopReason(p);
    body["stop_sequence"] = nullptr;
    body["usage"] = json::object{{"input_tokens", p.input_tokens},
                                 {"output_tokens", p.output_tokens},
                                 {"cache_creation_input_tokens", 0},
                                 {"cache_read_input_tokens", 0}};
    Reply r = jsonReply(200, json::serialize(body));
    r.headers.push_back({"request-id", "req_mock_" + p.seqId()});
    return r;
  }

  StreamReply stream(const Plan& p) const override {
    StreamReply out;
    out.headers = sseHeaders();
    out.headers.push_back({"request-id", "req_mock_" + p.seqId()});
    auto add = [&](std::string_view name, const json::object& data, bool content = false,
                   bool paced = false, bool tail = false) {
      out.frames.push_back({sseEvent(name, json::serialize(data)), content, paced, tail});
    };
    json::object message{{"id", "msg_mock_" + p.seqId()},
                         {"type", "message"},
                         {"role", "assistant"},
                         {"content", json::array()},
                         {"model", p.model},
                         {"stop_reason", nullptr},
                         {"stop_sequence", nullptr},
                         {"usage", json::object{{"input_tokens", p.input_tokens},
                                                {"output_tokens", 1},
                                                {"cache_creation_input_tokens", 0},
                                                {"cache_read_input_tokens", 0}}}};
    add("message_start", json::object{{"type", "message_start"}, {"message", message}});
    add("ping", json::object{{"type", "ping"}});
    std::int64_t index = 0;
    auto block_stop = [&] {
      add("content_block_stop", json::object{{"type", "content_block_stop"}, {"index", index}});
      ++index;
    };
    auto delta = [&](json::object d, bool content, bool paced) {
      add("content_block_delta",
          json::object{{"type", "content_block_delta"}, {"index", index}, {"delta", std::move(d)}},
          content, paced);
    };
    if (!p.reasoning.empty()) {
      add("content_block_start",
          json::object{{"type", "content_block_start"},
                       {"index", index},
                       {"content_block",
                        json::object{{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}}});
      for (const auto& r : p.reasoning_chunks) {
        delta(json::object{{"type", "thinking_delta"}, {"thinking", r}}, false, true);
      }
      delta(json::object{{"type", "signature_delta"}, {"signature", signature(p)}}, false, false);
      block_stop();
    }
    if (!p.text.empty() || !p.toolUse()) {
      add("content_block_start",
          json::object{{"type", "content_block_start"},
                       {"index", index},
                       {"content_block", json::object{{"type", "text"}, {"text", ""}}}});
      for (const auto& t : p.text_chunks) {
        delta(json::object{{"type", "text_delta"}, {"text", t}}, true, true);
      }
      block_stop();
    }
    for (std::size_t i = 0; i < p.tool_calls.size(); ++i) {
      add("content_block_start",
          json::object{{"type", "content_block_start"},
                       {"index", index},
                       {"content_block", json::object{{"type", "tool_use"},
                                                      {"id", p.toolId("toolu_mock_", i)},
                                                      {"name", p.tool_calls[i].name},
                                                      {"input", json::object()}}}});
      delta(json::object{{"type", "input_json_delta"}, {"partial_json", p.tool_calls[i].args}},
            false, false);
      block_stop();
    }
    add("message_delta",
        json::object{
            {"type", "message_delta"},
            {"delta", json::object{{"stop_reason", stopReason(p)}, {"stop_sequence", nullptr}}},
            {"usage", json::object{{"output_tokens", p.output_tokens}}}},
        false, false, true);
    add("message_stop", json::object{{"type", "message_stop"}}, false, false, true);
    return out;
  }

  Reply error(int status, std::string_view message, std::uint64_t seq) const override {
    json::object body = errorObject(status, message);
    body["request_id"] = "req_mock_" + std::to_string(seq);
    Reply r = jsonReply(status, json::serialize(body));
    r.headers.push_back({"request-id", "req_mock_" + std::to_string(seq)});
    return r;
  }

  std::string streamError(int status, const Plan&, std::size_t) const override {
    return sseEvent("error", json::serialize(errorObject(status, statusMessage(status))));
  }
};

}  // namespace

const Dialect& anthropicDialect() {
  static const AnthropicDialect d;
  return d;
}

}  // namespace basalt::mock
