// What an OpenAI Responses upstream answers -> canonical: the Response object and the SSE
// event stream (wire.md §2.4, §2.5). The `output_item.done` items are authoritative, as they
// are for Codex: deltas are forwarded as they come, and whatever a done item holds that no
// delta carried is emitted then.

#include "basalt/api/openai_responses/responses_codec.h"

#include "items.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <map>

namespace basalt::api::openai_responses {

namespace json = boost::json;
using canonical::StreamEvent;
using detail::str;

namespace {

constexpr std::size_t kMaxErrorExcerpt = 512;

/// Seconds from "... try again in 2s", "in 1.5s", "in 250ms"; 0 when absent.
int retryAfterFromMessage(std::string_view message) {
  const std::size_t at = message.find("try again in ");
  if (at == std::string_view::npos) return 0;
  std::string_view rest = message.substr(at + 13);
  double value = 0;
  std::size_t i = 0;
  double scale = 1;
  bool fraction = false;
  for (; i < rest.size() && ((rest[i] >= '0' && rest[i] <= '9') || rest[i] == '.'); ++i) {
    if (rest[i] == '.') {
      fraction = true;
      continue;
    }
    if (fraction) {
      scale /= 10;
      value += (rest[i] - '0') * scale;
    } else {
      value = value * 10 + (rest[i] - '0');
    }
  }
  if (i == 0) return 0;
  if (rest.substr(i).starts_with("ms")) value /= 1000;
  return std::max(1, static_cast<int>(std::ceil(value)));
}

/// The canonical error for an upstream `{code, message}` (response.failed, error events).
Error errorFromCode(std::string code, std::string message) {
  Error e;
  e.kind = ErrorKind::kUpstreamError;
  if (code == "rate_limit_exceeded") {
    e.kind = ErrorKind::kRateLimited;
    e.retry_after_s = retryAfterFromMessage(message);
  } else if (code == "context_length_exceeded" || code == "invalid_prompt") {
    e.kind = ErrorKind::kInvalidRequest;
  } else if (code == "server_is_overloaded" || code == "slow_down") {
    e.kind = ErrorKind::kUpstreamUnavailable;
  }
  e.message = message.empty() ? "upstream response failed" + (code.empty() ? "" : ": " + code)
                              : std::move(message);
  e.code = std::move(code);
  return e;
}

std::optional<Error> errorOf(const json::object& o) {
  const json::value* e = o.if_contains("error");
  if (e == nullptr || e->is_null()) return std::nullopt;
  if (e->is_object()) {
    const json::object& eo = e->get_object();
    return errorFromCode(str(eo, "code"), str(eo, "message"));
  }
  if (e->is_string()) return errorFromCode({}, std::string(e->get_string()));
  return errorFromCode({}, json::serialize(*e));
}

canonical::StopReason stopReasonOf(const json::object& response, bool has_tool_calls) {
  if (str(response, "status") == "incomplete") {
    const json::value* d = response.if_contains("incomplete_details");
    const std::string reason = (d && d->is_object()) ? str(d->get_object(), "reason") : "";
    if (reason == "content_filter") return canonical::StopReason::kContentFilter;
    return canonical::StopReason::kMaxTokens;
  }
  return has_tool_calls ? canonical::StopReason::kToolUse : canonical::StopReason::kEndTurn;
}

std::string summaryText(const json::object& item) {
  std::string text;
  if (const json::value* s = item.if_contains("summary"); s && s->is_array()) {
    for (const json::value& p : s->get_array()) {
      if (!p.is_object()) continue;
      const std::string t = str(p.get_object(), "text");
      if (t.empty()) continue;
      if (!text.empty()) text += "\n\n";
      text += t;
    }
  }
  if (text.empty()) {
    if (const json::value* c = item.if_contains("content"); c && c->is_array()) {
      for (const json::value& p : c->get_array()) {
        if (p.is_object()) text += str(p.get_object(), "text");
      }
    }
  }
  return text;
}

std::string argumentsOf(const json::object& item) {
  const json::value* a = item.if_contains("arguments");
  if (a == nullptr || a->is_null()) return "{}";
  if (a->is_string()) return a->get_string().empty() ? "{}" : std::string(a->get_string());
  return json::serialize(*a);
}

/// Appends the canonical blocks of one output item; true when it is a tool call.
bool appendItem(const json::object& item, std::vector<canonical::ContentBlock>& out) {
  const std::string type = str(item, "type");
  if (type == "message") {
    if (const json::value* c = item.if_contains("content"); c && c->is_array()) {
      for (const json::value& p : c->get_array()) {
        if (!p.is_object()) continue;
        const json::object& part = p.get_object();
        const std::string ptype = str(part, "type");
        if (ptype == "output_text") {
          out.emplace_back(canonical::TextBlock{str(part, "text")});
        } else if (ptype == "refusal") {
          out.emplace_back(
              canonical::OpaqueBlock{canonical::Vendor::kOpenAI,
                                     json::serialize(json::object{
                                         {"type", "refusal"}, {"refusal", str(part, "refusal")}})});
        }
      }
    }
    return false;
  }
  if (type == "reasoning") {
    canonical::ReasoningBlock r;
    r.id = str(item, "id");
    r.text = summaryText(item);
    r.encrypted = str(item, "encrypted_content");
    out.emplace_back(std::move(r));
    return false;
  }
  if (type == "function_call") {
    out.emplace_back(canonical::ToolUseBlock{str(item, "call_id"), str(item, "name"),
                                             argumentsOf(item), canonical::ToolKind::kFunction});
    return true;
  }
  if (type == "custom_tool_call") {
    out.emplace_back(canonical::ToolUseBlock{str(item, "call_id"), str(item, "name"),
                                             detail::customInputJson(str(item, "input")),
                                             canonical::ToolKind::kCustom});
    return true;
  }
  if (type == "local_shell_call") {
    std::string call_id = str(item, "call_id");
    if (call_id.empty()) call_id = str(item, "id");
    const json::value* action = item.if_contains("action");
    out.emplace_back(canonical::ToolUseBlock{
        std::move(call_id), "local_shell",
        action != nullptr && action->is_object() ? json::serialize(*action) : "{}",
        canonical::ToolKind::kFunction});
    return true;
  }
  if (!type.empty()) {
    // Hosted-tool items (web_search_call ...): kept for a Responses client, invisible to others.
    out.emplace_back(canonical::OpaqueBlock{canonical::Vendor::kOpenAI, json::serialize(item)});
  }
  return false;
}

}  // namespace

Result<canonical::ChatResponse> decodeUpstreamResponse(std::string_view body) {
  std::optional<json::value> parsed = detail::parseJson(body);
  if (!parsed || !parsed->is_object()) {
    Error e;
    e.kind = ErrorKind::kUpstreamError;
    e.message = "upstream returned a body that is not a JSON object";
    return e;
  }
  const json::object& o = parsed->get_object();
  if (auto e = errorOf(o)) return std::move(*e);
  if (str(o, "status") == "failed") return errorFromCode({}, "upstream response failed");

  canonical::ChatResponse r;
  r.id = str(o, "id");
  r.model = str(o, "model");
  if (const json::value* c = o.if_contains("created_at")) r.created = detail::asInt(*c).value_or(0);
  if (const json::value* u = o.if_contains("usage"); u && u->is_object()) {
    r.usage = detail::usageFromJson(u->get_object());
  }
  const json::value* output = o.if_contains("output");
  if (output == nullptr || !output->is_array()) {
    Error e;
    e.kind = ErrorKind::kUpstreamError;
    e.message = "upstream response has no output";
    return e;
  }
  bool has_tool_calls = false;
  for (const json::value& item : output->get_array()) {
    if (item.is_object()) has_tool_calls |= appendItem(item.get_object(), r.content);
  }
  r.stop_reason = stopReasonOf(o, has_tool_calls);
  return r;
}

std::string upstreamErrorMessage(std::string_view body) {
  if (auto v = detail::parseJson(body); v && v->is_object()) {
    if (const json::value* e = v->get_object().if_contains("error")) {
      if (e->is_object()) {
        std::string m = str(e->get_object(), "message");
        if (!m.empty()) return m;
      } else if (e->is_string()) {
        return std::string(e->get_string());
      }
    }
  }
  std::string excerpt(body.substr(0, kMaxErrorExcerpt));
  if (body.size() > kMaxErrorExcerpt) excerpt += "...";
  return excerpt;
}

// ---- streaming ----

struct StreamDecoder::State {
  struct Item {
    std::string type;
    int index = -1;  ///< canonical block (reasoning / call), -1 when none
    bool saw_delta = false;
    std::string custom_input;           ///< custom_tool_call input deltas
    std::map<std::int64_t, int> parts;  ///< message: content_index -> canonical block
    std::map<std::int64_t, bool> part_delta;
    std::int64_t last_summary = 0;
  };

  bool started = false;
  bool finished = false;
  bool saw_tool = false;
  int next_index = 0;
  std::map<std::int64_t, Item> items;  ///< by output_index
  std::vector<int> open;               ///< canonical blocks started and not stopped

  void start(const json::object* response, std::vector<StreamEvent>& out) {
    if (started) return;
    started = true;
    out.push_back(StreamEvent::messageStart(response ? str(*response, "id") : std::string(),
                                            response ? str(*response, "model") : std::string()));
  }
  int open_block(canonical::BlockType type, std::vector<StreamEvent>& out, std::string id = {},
                 std::string name = {}) {
    const int index = next_index++;
    out.push_back(StreamEvent::blockStart(index, type, std::move(id), std::move(name)));
    open.push_back(index);
    return index;
  }
  void stop(int index, std::vector<StreamEvent>& out) {
    for (auto it = open.begin(); it != open.end(); ++it) {
      if (*it == index) {
        open.erase(it);
        out.push_back(StreamEvent::blockStop(index));
        return;
      }
    }
  }
  bool isOpen(int index) const { return std::find(open.begin(), open.end(), index) != open.end(); }
  /// Appends a delta unless the block was already stopped (a late event must not reopen it).
  void delta(int index, canonical::DeltaType type, std::string text,
             std::vector<StreamEvent>& out) const {
    if (isOpen(index)) out.push_back(StreamEvent::delta(index, type, std::move(text)));
  }
  int textBlock(Item& item, std::int64_t content_index, std::vector<StreamEvent>& out) {
    auto it = item.parts.find(content_index);
    if (it != item.parts.end()) return it->second;
    const int index = open_block(canonical::BlockType::kText, out);
    item.parts[content_index] = index;
    return index;
  }
};

StreamDecoder::StreamDecoder() : state_(std::make_unique<State>()) {}
StreamDecoder::~StreamDecoder() = default;
StreamDecoder::StreamDecoder(StreamDecoder&&) noexcept = default;
StreamDecoder& StreamDecoder::operator=(StreamDecoder&&) noexcept = default;
bool StreamDecoder::finished() const {
  return state_->finished;
}
bool StreamDecoder::started() const {
  return state_->started;
}

Result<void> StreamDecoder::feed(std::string_view event_name, std::string_view data,
                                 std::vector<StreamEvent>& out) {
  State& s = *state_;
  std::optional<json::value> parsed = detail::parseJson(data);
  if (!parsed || !parsed->is_object()) {
    Error e;
    e.kind = ErrorKind::kUpstreamError;
    e.message = "upstream sent a stream event that is not a JSON object";
    return e;
  }
  const json::object& ev = parsed->get_object();
  std::string type = str(ev, "type");
  if (type.empty()) type = std::string(event_name);
  if (s.finished) return {};

  const json::object* response = nullptr;
  if (const json::value* r = ev.if_contains("response"); r && r->is_object()) {
    response = &r->get_object();
  }
  const json::object* item = nullptr;
  if (const json::value* i = ev.if_contains("item"); i && i->is_object()) item = &i->get_object();
  std::int64_t output_index = -1;
  if (const json::value* oi = ev.if_contains("output_index")) {
    output_index = detail::asInt(*oi).value_or(-1);
  }
  std::int64_t content_index = 0;
  if (const json::value* ci = ev.if_contains("content_index")) {
    content_index = detail::asInt(*ci).value_or(0);
  }
  const std::string delta = str(ev, "delta");

  if (type == "error") {
    return errorFromCode(str(ev, "code"), str(ev, "message"));
  }
  if (type == "response.failed") {
    if (response != nullptr) {
      if (auto e = errorOf(*response)) return std::move(*e);
    }
    return errorFromCode({}, "upstream response failed");
  }
  if (type == "response.created" || type == "response.in_progress" || type == "response.queued") {
    s.start(response, out);
    return {};
  }
  s.start(response, out);

  if (type == "response.output_item.added" && item != nullptr) {
    State::Item& it = s.items[output_index];
    it.type = str(*item, "type");
    if (it.type == "reasoning") {
      it.index = s.open_block(canonical::BlockType::kReasoning, out, str(*item, "id"));
    } else if (it.type == "function_call" || it.type == "custom_tool_call") {
      s.saw_tool = true;
      it.index = s.open_block(canonical::BlockType::kToolUse, out, str(*item, "call_id"),
                              str(*item, "name"));
    } else if (it.type == "local_shell_call") {
      s.saw_tool = true;
      std::string call_id = str(*item, "call_id");
      if (call_id.empty()) call_id = str(*item, "id");
      it.index =
          s.open_block(canonical::BlockType::kToolUse, out, std::move(call_id), "local_shell");
    }
    return {};
  }
  auto found = s.items.find(output_index);
  State::Item* it = found == s.items.end() ? nullptr : &found->second;

  if (type == "response.content_part.added") {
    if (it != nullptr && it->type == "message") s.textBlock(*it, content_index, out);
    return {};
  }
  if (type == "response.output_text.delta" || type == "response.refusal.delta") {
    if (it == nullptr || it->type != "message" || delta.empty()) return {};
    const int index = s.textBlock(*it, content_index, out);
    it->part_delta[content_index] = true;
    s.delta(index, canonical::DeltaType::kText, delta, out);
    return {};
  }
  if (type == "response.output_text.done" || type == "response.refusal.done") {
    if (it == nullptr || it->type != "message" || it->part_delta[content_index]) return {};
    const std::string text = str(ev, type == "response.refusal.done" ? "refusal" : "text");
    if (text.empty()) return {};
    const int index = s.textBlock(*it, content_index, out);
    it->part_delta[content_index] = true;
    s.delta(index, canonical::DeltaType::kText, text, out);
    return {};
  }
  if (type == "response.content_part.done") {
    if (it != nullptr && it->type == "message") {
      if (auto p = it->parts.find(content_index); p != it->parts.end()) s.stop(p->second, out);
    }
    return {};
  }
  if (type == "response.reasoning_summary_part.added") {
    std::int64_t summary_index = 0;
    if (const json::value* si = ev.if_contains("summary_index")) {
      summary_index = detail::asInt(*si).value_or(0);
    }
    if (it != nullptr && it->index >= 0 && it->saw_delta && summary_index != it->last_summary) {
      s.delta(it->index, canonical::DeltaType::kReasoningText, "\n\n", out);
    }
    if (it != nullptr) it->last_summary = summary_index;
    return {};
  }
  if (type == "response.reasoning_summary_text.delta" || type == "response.reasoning_text.delta") {
    if (it == nullptr || it->index < 0 || delta.empty()) return {};
    it->saw_delta = true;
    s.delta(it->index, canonical::DeltaType::kReasoningText, delta, out);
    return {};
  }
  if (type == "response.function_call_arguments.delta") {
    if (it == nullptr || it->index < 0 || delta.empty()) return {};
    it->saw_delta = true;
    s.delta(it->index, canonical::DeltaType::kToolInputJson, delta, out);
    return {};
  }
  if (type == "response.custom_tool_call_input.delta") {
    if (it != nullptr) it->custom_input += delta;
    return {};
  }
  if (type == "response.output_item.done" && item != nullptr) {
    if (it == nullptr) {  // done without added: treat it as both
      State::Item& fresh = s.items[output_index];
      fresh.type = str(*item, "type");
      if (fresh.type == "reasoning") {
        fresh.index = s.open_block(canonical::BlockType::kReasoning, out, str(*item, "id"));
      } else if (fresh.type == "function_call" || fresh.type == "custom_tool_call" ||
                 fresh.type == "local_shell_call") {
        s.saw_tool = true;
        std::string call_id = str(*item, "call_id");
        if (call_id.empty()) call_id = str(*item, "id");
        fresh.index = s.open_block(
            canonical::BlockType::kToolUse, out, std::move(call_id),
            fresh.type == "local_shell_call" ? std::string("local_shell") : str(*item, "name"));
      }
      it = &fresh;
    }
    const std::string& itype = it->type;
    if (itype == "message") {
      // Parts no delta carried (a proxy that only sends done items) are emitted now.
      if (const json::value* c = item->if_contains("content"); c && c->is_array()) {
        const json::array& parts = c->get_array();
        for (std::size_t ci = 0; ci < parts.size(); ++ci) {
          if (!parts[ci].is_object() || it->part_delta[static_cast<std::int64_t>(ci)]) continue;
          const json::object& part = parts[ci].get_object();
          const std::string text =
              str(part, "type") == "refusal" ? str(part, "refusal") : str(part, "text");
          if (text.empty()) continue;
          const int index = s.textBlock(*it, static_cast<std::int64_t>(ci), out);
          it->part_delta[static_cast<std::int64_t>(ci)] = true;
          s.delta(index, canonical::DeltaType::kText, text, out);
        }
      }
      for (const auto& [ci, index] : it->parts) s.stop(index, out);
      return {};
    }
    if (it->index < 0) return {};  // hosted-tool items have no canonical stream form
    if (itype == "reasoning") {
      if (!it->saw_delta) {
        if (std::string text = summaryText(*item); !text.empty()) {
          s.delta(it->index, canonical::DeltaType::kReasoningText, std::move(text), out);
        }
      }
      if (std::string enc = str(*item, "encrypted_content"); !enc.empty()) {
        s.delta(it->index, canonical::DeltaType::kSignature, std::move(enc), out);
      }
    } else if (itype == "function_call") {
      if (!it->saw_delta) {
        s.delta(it->index, canonical::DeltaType::kToolInputJson, argumentsOf(*item), out);
      }
    } else if (itype == "custom_tool_call") {
      std::string input = str(*item, "input");
      if (input.empty()) input = it->custom_input;
      s.delta(it->index, canonical::DeltaType::kToolInputJson, detail::customInputJson(input), out);
    } else if (itype == "local_shell_call") {
      const json::value* action = item->if_contains("action");
      s.delta(it->index, canonical::DeltaType::kToolInputJson,
              action != nullptr && action->is_object() ? json::serialize(*action) : "{}", out);
    }
    s.stop(it->index, out);
    return {};
  }
  if (type == "response.completed" || type == "response.incomplete") {
    while (!s.open.empty()) s.stop(s.open.front(), out);
    canonical::Usage usage;
    canonical::StopReason reason =
        s.saw_tool ? canonical::StopReason::kToolUse : canonical::StopReason::kEndTurn;
    if (response != nullptr) {
      if (const json::value* u = response->if_contains("usage"); u && u->is_object()) {
        usage = detail::usageFromJson(u->get_object());
      }
      reason = stopReasonOf(*response, s.saw_tool);
    }
    if (type == "response.incomplete" && reason != canonical::StopReason::kContentFilter) {
      reason = canonical::StopReason::kMaxTokens;
    }
    out.push_back(StreamEvent::usageEvent(usage));
    out.push_back(StreamEvent::messageStop(reason));
    s.finished = true;
    return {};
  }
  return {};  // progress events of hosted tools, annotations, keep-alives
}

}  // namespace basalt::api::openai_responses
