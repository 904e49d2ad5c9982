// OpenAI Responses (`POST /v1/responses`): the event sequence Codex and the SDKs expect.

#include "dialect.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::mock {
namespace {

namespace json = boost::json;

json::object usageObject(const Plan& p) {
  return json::object{
      {"input_tokens", p.input_tokens},
      {"input_tokens_details", json::object{{"cached_tokens", 0}}},
      {"output_tokens", p.output_tokens},
      {"output_tokens_details", json::object{{"reasoning_tokens", p.reasoning_tokens}}},
      {"total_tokens", p.input_tokens + p.output_tokens}};
}

json::object responseObject(const Plan& p, std::string_view status, json::array output,
                            bool with_usage) {
  json::object r;
  r["id"] = "resp_mock_" + p.seqId();
  r["object"] = "response";
  r["created_at"] = kCreated;
  r["status"] = status;
  r["background"] = false;
  r["error"] = nullptr;
  r["incomplete_details"] = nullptr;
  r["instructions"] = nullptr;
  r["max_output_tokens"] = nullptr;
  r["model"] = p.model;
  r["output"] = std::move(output);
  r["parallel_tool_calls"] = true;
  r["previous_response_id"] = nullptr;
  r["reasoning"] = json::object{{"effort", nullptr}, {"summary", nullptr}};
  r["store"] = false;
  r["temperature"] = 1;  // integers: Boost.JSON would print doubles as 1E0
  r["text"] = json::object{{"format", json::object{{"type", "text"}}}};
  r["tool_choice"] = "auto";
  r["tools"] = json::array();
  r["top_p"] = 1;
  r["truncation"] = "disabled";
  if (with_usage) {
    r["usage"] = usageObject(p);
  } else {
    r["usage"] = nullptr;
  }
  r["metadata"] = json::object();
  return r;
}

std::string reasoningId(const Plan& p) {
  return "rs_mock_" + p.seqId();
}
std::string messageId(const Plan& p) {
  return "msg_mock_" + p.seqId();
}
bool hasMessage(const Plan& p) {
  return !p.text.empty() || !p.toolUse();
}

json::object reasoningItem(const Plan& p, bool done) {
  json::array summary;
  if (done) summary.push_back(json::object{{"type", "summary_text"}, {"text", p.reasoning}});
  return json::object{{"type", "reasoning"}, {"id", reasoningId(p)}, {"summary", summary}};
}

json::object outputText(std::string_view text) {
  return json::object{{"type", "output_text"},
                      {"text", text},
                      {"annotations", json::array()},
                      {"logprobs", json::array()}};
}

json::object messageItem(const Plan& p, bool done) {
  json::array content;
  if (done) content.push_back(outputText(p.text));
  return json::object{{"type", "message"},
                      {"id", messageId(p)},
                      {"status", done ? "completed" : "in_progress"},
                      {"role", "assistant"},
                      {"content", std::move(content)}};
}

json::object callItem(const Plan& p, std::size_t i, bool done) {
  return json::object{{"type", "function_call"},
                      {"id", p.toolId("fc_mock_", i)},
                      {"call_id", p.toolId("call_mock_", i)},
                      {"name", p.tool_calls[i].name},
                      {"arguments", done ? p.tool_calls[i].args : std::string()},
                      {"status", done ? "completed" : "in_progress"}};
}

json::array allItems(const Plan& p) {
  json::array out;
  if (!p.reasoning.empty()) out.push_back(reasoningItem(p, true));
  if (hasMessage(p)) out.push_back(messageItem(p, true));
  for (std::size_t i = 0; i < p.tool_calls.size(); ++i) out.push_back(callItem(p, i, true));
  return out;
}

std::string failedCode(int status) {
  switch (status) {
    case 400:
      return "invalid_prompt";
    case 429:
      return "rate_limit_exceeded";
    case 503:
      return "server_is_overloaded";
    default:
      return "server_error";
  }
}

class OpenAIResponsesDialect final : public Dialect {
 public:
  Result<MockInput> parse(const json::value& body, const PathInfo& path) const override {
    const auto* obj = body.if_object();
    if (obj == nullptr) return badRequest("the body must be a JSON object");
    MockInput in;
    in.model = stringField(body, "model");
    if (in.model.empty()) in.model = path.model;
    if (in.model.empty()) return badRequest("missing model");
    if (const auto* s = obj->if_contains("stream")) in.stream = s->is_bool() && s->get_bool();
    in.input_chars += countChars(stringField(body, "instructions"));
    const auto* input = obj->if_contains("input");
    if (input == nullptr) return badRequest("missing input");
    if (const auto* s = input->if_string()) {
      in.last_user_text = std::string(s->data(), s->size());
      in.input_chars += countChars(in.last_user_text);
      return in;
    }
    if (!input->is_array()) return badRequest("input must be a string or an array");
    bool last_was_tool = false;
    for (const auto& item : input->get_array()) {
      if (!item.is_object()) continue;
      std::string_view type = stringField(item, "type");
      const auto& o = item.get_object();
      if (type == "function_call_output" || type == "custom_tool_call_output") {
        std::string text;
        if (const auto* out = o.if_contains("output")) appendContentText(*out, text);
        in.input_chars += countChars(text);
        if (!last_was_tool) in.tool_result_text.clear();
        if (!in.tool_result_text.empty()) in.tool_result_text += '\n';
        in.tool_result_text += text;
        last_was_tool = true;
        continue;
      }
      last_was_tool = false;
      if (type == "function_call") {
        in.input_chars += countChars(stringField(item, "arguments"));
      } else if (type == "custom_tool_call") {
        in.input_chars += countChars(stringField(item, "input"));
      } else if (type.empty() || type == "message") {
        std::string text;
        if (const auto* c = o.if_contains("content")) appendContentText(*c, text);
        in.input_chars += countChars(text);
        if (stringField(item, "role") == "user" && !text.empty()) {
          in.last_user_text = std::move(text);
        }
      }
    }
    in.ends_with_tool_result = last_was_tool;
    return in;
  }

  Reply reply(const Plan& p) const override {
    return jsonReply(200, json::serialize(responseObject(p, "completed", allItems(p), true)));
  }

  StreamReply stream(const Plan& p) const override {
    StreamReply out;
    out.headers = sseHeaders();
    std::int64_t seq = 0;
    auto add = [&](std::string_view type, json::object ev, bool content = false, bool paced = false,
                   bool tail = false) {
      json::object e;
      e["type"] = type;
      e["sequence_number"] = seq++;
      for (auto& kv : ev) e[kv.key()] = std::move(kv.value());
      out.frames.push_back({sseEvent(type, json::serialize(e)), content, paced, tail});
    };
    add("response.created",
        json::object{{"response", responseObject(p, "in_progress", json::array(), false)}});
    add("response.in_progress",
        json::object{{"response", responseObject(p, "in_progress", json::array(), false)}});
    std::size_t index = 0;
    if (!p.reasoning.empty()) {
      const std::string id = reasoningId(p);
      add("response.output_item.added",
          json::object{{"output_index", index}, {"item", reasoningItem(p, false)}});
      add("response.reasoning_summary_part.added",
          json::object{{"item_id", id},
                       {"output_index", index},
                       {"summary_index", 0},
                       {"part", json::object{{"type", "summary_text"}, {"text", ""}}}});
      for (const auto& r : p.reasoning_chunks) {
        add("response.reasoning_summary_text.delta",
            json::object{
                {"item_id", id}, {"output_index", index}, {"summary_index", 0}, {"delta", r}},
            false, true);
      }
      add("response.reasoning_summary_text.done", json::object{{"item_id", id},
                                                               {"output_index", index},
                                                               {"summary_index", 0},
                                                               {"text", p.reasoning}});
      add("response.reasoning_summary_part.done",
          json::object{{"item_id", id},
                       {"output_index", index},
                       {"summary_index", 0},
                       {"part", json::object{{"type", "summary_text"}, {"text", p.reasoning}}}});
      add("response.output_item.done",
          json::object{{"output_index", index}, {"item", reasoningItem(p, true)}});
      ++index;
    }
    if (hasMessage(p)) {
      const std::string id = messageId(p);
      add("response.output_item.added",
          json::object{{"output_index", index}, {"item", messageItem(p, false)}});
      json::object empty_part{
          {"type", "output_text"}, {"text", ""}, {"annotations", json::array()}};
      add("response.content_part.added", json::object{{"item_id", id},
                                                      {"output_index", index},
                                                      {"content_index", 0},
                                                      {"part", empty_part}});
      for (const auto& t : p.text_chunks) {
        add("response.output_text.delta",
            json::object{{"item_id", id},
                         {"output_index", index},
                         {"content_index", 0},
                         {"delta", t},
                         {"logprobs", json::array()}},
            true, true);
      }
      add("response.output_text.done", json::object{{"item_id", id},
                                                    {"output_index", index},
                                                    {"content_index", 0},
                                                    {"text", p.text},
                                                    {"logprobs", json::array()}});
      json::object full_part{
          {"type", "output_text"}, {"text", p.text}, {"annotations", json::array()}};
      add("response.content_part.done",
          json::object{
              {"item_id", id}, {"output_index", index}, {"content_index", 0}, {"part", full_part}});
      add("response.output_item.done",
          json::object{{"output_index", index}, {"item", messageItem(p, true)}});
      ++index;
    }
    for (std::size_t i = 0; i < p.tool_calls.size(); ++i, ++index) {
      const std::string id = p.toolId("fc_mock_", i);
      add("response.output_item.added",
          json::object{{"output_index", index}, {"item", callItem(p, i, false)}});
      add("response.function_call_arguments.delta",
          json::object{{"item_id", id}, {"output_index", index}, {"delta", p.tool_calls[i].args}});
      add("response.function_call_arguments.done",
          json::object{
              {"item_id", id}, {"output_index", index}, {"arguments", p.tool_calls[i].args}});
      add("response.output_item.done",
          json::object{{"output_index", index}, {"item", callItem(p, i, true)}});
    }
    add("response.completed",
        json::object{{"response", responseObject(p, "completed", allItems(p), true)}}, false, false,
        true);
    return out;
  }

  Reply error(int status, std::string_view message, std::uint64_t) const override {
    return jsonReply(status, openAIErrorJson(status, message));
  }

  std::string streamError(int status, const Plan& p, std::size_t frames_sent) const override {
    json::object r = responseObject(p, "failed", json::array(), false);
    r["error"] = json::object{{"code", failedCode(status)}, {"message", statusMessage(status)}};
    json::object e;
    e["type"] = "response.failed";
    e["sequence_number"] = frames_sent;
    e["response"] = std::move(r);
    return sseEvent("response.failed", json::serialize(e));
  }
};

}  // namespace

const Dialect& openAIResponsesDialect() {
  static const OpenAIResponsesDialect d;
  return d;
}

}  // namespace basalt::mock
