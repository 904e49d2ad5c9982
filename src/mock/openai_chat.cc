// OpenAI Chat Completions (`POST /v1/chat/completions`, also Azure deployments).

#include "dialect.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::mock {
namespace {

namespace json = boost::json;

json::object usageObject(const Plan& p) {
  json::object u;
  u["prompt_tokens"] = p.input_tokens;
  u["completion_tokens"] = p.output_tokens;
  u["total_tokens"] = p.input_tokens + p.output_tokens;
  u["prompt_tokens_details"] = json::object{{"cached_tokens", 0}, {"audio_tokens", 0}};
  u["completion_tokens_details"] = json::object{{"reasoning_tokens", p.reasoning_tokens},
                                                {"audio_tokens", 0},
                                                {"accepted_prediction_tokens", 0},
                                                {"rejected_prediction_tokens", 0}};
  return u;
}

const char* finishReason(const Plan& p) {
  return p.toolUse() ? "tool_calls" : "stop";
}

class OpenAIChatDialect final : public Dialect {
 public:
  Result<MockInput> parse(const json::value& body, const PathInfo& path) const override {
    const auto* obj = body.if_object();
    if (obj == nullptr) return badRequest("the body must be a JSON object");
    MockInput in;
    in.model = stringField(body, "model");
    if (in.model.empty()) in.model = path.model;
    if (in.model.empty()) return badRequest("missing model");
    if (const auto* s = obj->if_contains("stream")) in.stream = s->is_bool() && s->get_bool();
    if (const auto* so = obj->if_contains("stream_options"); so != nullptr && so->is_object()) {
      if (const auto* iu = so->get_object().if_contains("include_usage")) {
        in.include_usage = iu->is_bool() && iu->get_bool();
      }
    }
    const auto* messages = obj->if_contains("messages");
    if (messages == nullptr || !messages->is_array()) return badRequest("missing messages");
    bool last_was_tool = false;
    for (const auto& m : messages->get_array()) {
      std::string_view role = stringField(m, "role");
      std::string text;
      if (const auto* c = m.is_object() ? m.get_object().if_contains("content") : nullptr) {
        appendContentText(*c, text);
      }
      in.input_chars += countChars(text);
      if (const auto* tcs = m.is_object() ? m.get_object().if_contains("tool_calls") : nullptr;
          tcs != nullptr && tcs->is_array()) {
        for (const auto& tc : tcs->get_array()) {
          if (const auto* f = tc.is_object() ? tc.get_object().if_contains("function") : nullptr) {
            in.input_chars += countChars(stringField(*f, "arguments"));
          }
        }
      }
      if (role == "tool") {
        if (!last_was_tool) in.tool_result_text.clear();
        if (!in.tool_result_text.empty()) in.tool_result_text += '\n';
        in.tool_result_text += text;
        last_was_tool = true;
      } else {
        last_was_tool = false;
        if (role == "user" && !text.empty()) in.last_user_text = std::move(text);
      }
    }
    in.ends_with_tool_result = last_was_tool;
    return in;
  }

  Reply reply(const Plan& p) const override {
    json::object message;
    message["role"] = "assistant";
    if (p.text.empty() && p.toolUse()) {
      message["content"] = nullptr;
    } else {
      message["content"] = p.text;
    }
    message["refusal"] = nullptr;
    if (!p.reasoning.empty()) message["reasoning_content"] = p.reasoning;
    message["annotations"] = json::array();
    if (p.toolUse()) {
      json::array calls;
      for (std::size_t i = 0; i < p.tool_calls.size(); ++i) {
        calls.push_back(json::object{
            {"id", p.toolId("call_mock_", i)},
            {"type", "function"},
            {"function",
             json::object{{"name", p.tool_calls[i].name}, {"arguments", p.tool_calls[i].args}}}});
      }
      message["tool_calls"] = std::move(calls);
    }
    json::object choice;
    choice["index"] = 0;
    choice["message"] = std::move(message);
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = finishReason(p);
    json::object body;
    body["id"] = "chatcmpl-mock-" + p.seqId();
    body["object"] = "chat.completion";
    body["created"] = kCreated;
    body["model"] = p.model;
    body["choices"] = json::array{std::move(choice)};
    body["usage"] = usageObject(p);
    body["system_fingerprint"] = nullptr;
    return jsonReply(200, json::serialize(body));
  }

  StreamReply stream(const Plan& p) const override {
    StreamReply out;
    out.headers = sseHeaders();
    const std::string id = "chatcmpl-mock-" + p.seqId();
    auto chunk = [&](json::object delta, const char* finish) {
      json::object choice;
      choice["index"] = 0;
      choice["delta"] = std::move(delta);
      choice["logprobs"] = nullptr;
      if (finish == nullptr) {
        choice["finish_reason"] = nullptr;
      } else {
        choice["finish_reason"] = finish;
      }
      json::object c;
      c["id"] = id;
      c["object"] = "chat.completion.chunk";
      c["created"] = kCreated;
      c["model"] = p.model;
      c["system_fingerprint"] = nullptr;
      c["choices"] = json::array{std::move(choice)};
      if (p.include_usage) c["usage"] = nullptr;
      return sseData(json::serialize(c));
    };
    out.frames.push_back({chunk(json::object{{"role", "assistant"}, {"content", ""}}, nullptr)});
    for (const auto& r : p.reasoning_chunks) {
      out.frames.push_back(
          {chunk(json::object{{"reasoning_content", r}}, nullptr), false, true, false});
    }
    for (const auto& t : p.text_chunks) {
      out.frames.push_back({chunk(json::object{{"content", t}}, nullptr), true, true, false});
    }
    for (std::size_t i = 0; i < p.tool_calls.size(); ++i) {
      json::object start{
          {"index", i},
          {"id", p.toolId("call_mock_", i)},
          {"type", "function"},
          {"function", json::object{{"name", p.tool_calls[i].name}, {"arguments", ""}}}};
      out.frames.push_back({chunk(json::object{{"tool_calls", json::array{start}}}, nullptr)});
      json::object args{{"index", i},
                        {"function", json::object{{"arguments", p.tool_calls[i].args}}}};
      out.frames.push_back({chunk(json::object{{"tool_calls", json::array{args}}}, nullptr)});
    }
    out.frames.push_back({chunk(json::object{}, finishReason(p)), false, false, true});
    if (p.include_usage) {
      json::object c;
      c["id"] = id;
      c["object"] = "chat.completion.chunk";
      c["created"] = kCreated;
      c["model"] = p.model;
      c["system_fingerprint"] = nullptr;
      c["choices"] = json::array();
      c["usage"] = usageObject(p);
      out.frames.push_back({sseData(json::serialize(c)), false, false, true});
    }
    out.frames.push_back({"data: [DONE]\n\n", false, false, true});
    return out;
  }

  Reply error(int status, std::string_view message, std::uint64_t) const override {
    return jsonReply(status, openAIErrorJson(status, message));
  }

  std::string streamError(int status, const Plan&, std::size_t) const override {
    return sseData(openAIErrorJson(status, statusMessage(status)));
  }
};

}  // namespace

const Dialect& openAIChatDialect() {
  static const OpenAIChatDialect d;
  return d;
}

}  // namespace basalt::mock
