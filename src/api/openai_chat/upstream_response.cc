// What OpenAI-compatible upstreams answer -> canonical. Tolerant by design: vLLM, Ollama,
// llama.cpp and proxies omit fields, send nulls, split tool-call arguments over many chunks
// and put usage in a trailing `choices: []` chunk.

#include "basalt/api/openai_chat/chat_codec.h"

#include "basalt/core/ids.h"
#include "json_util.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::api::openai_chat {

namespace json = boost::json;
using canonical::StreamEvent;

namespace {

constexpr std::size_t kMaxErrorExcerpt = 512;

std::string stringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v != nullptr && v->is_string()) ? std::string(v->get_string()) : std::string();
}

/// `error` of an OpenAI-shaped body: {"error":{"message":...}} or {"error":"..."}.
std::optional<std::string> errorOf(const json::object& o) {
  const json::value* e = o.if_contains("error");
  if (e == nullptr || e->is_null()) return std::nullopt;
  if (e->is_string()) return std::string(e->get_string());
  if (e->is_object()) {
    std::string msg = stringField(e->get_object(), "message");
    return msg.empty() ? json::serialize(*e) : msg;
  }
  if (e->is_bool() && !e->get_bool()) return std::nullopt;
  return json::serialize(*e);
}

Error upstreamError(std::string message) {
  Error e;
  e.kind = ErrorKind::kUpstreamError;
  e.message = std::move(message);
  return e;
}

/// Reasoning text under the names servers use: `reasoning_content` (DeepSeek, vLLM < 0.10,
/// LiteLLM) or `reasoning` (newer vLLM, Ollama, OpenRouter).
std::string reasoningOf(const json::object& o) {
  std::string r = stringField(o, "reasoning_content");
  return r.empty() ? stringField(o, "reasoning") : r;
}

/// A tool call's arguments as JSON text; some servers send the object itself.
std::string argumentsOf(const json::object& fn) {
  const json::value* a = fn.if_contains("arguments");
  if (a == nullptr || a->is_null()) return {};
  if (a->is_string()) return std::string(a->get_string());
  return json::serialize(*a);
}

/// A content value that may be a string or an array of text parts.
std::string textOf(const json::value* content) {
  if (content == nullptr) return {};
  if (content->is_string()) return std::string(content->get_string());
  std::string text;
  if (content->is_array()) {
    for (const json::value& p : content->get_array()) {
      if (p.is_object()) text += stringField(p.get_object(), "text");
    }
  }
  return text;
}

void readFinish(const json::object& choice, canonical::StopReason& reason,
                std::string& stop_sequence) {
  const json::value* f = choice.if_contains("finish_reason");
  if (f == nullptr || !f->is_string()) return;
  reason = detail::stopReasonFromFinish(f->get_string());
  // vLLM reports the matched stop string in `stop_reason`.
  if (const json::value* s = choice.if_contains("stop_reason"); s && s->is_string()) {
    if (reason == canonical::StopReason::kEndTurn) {
      reason = canonical::StopReason::kStopSequence;
      stop_sequence = std::string(s->get_string());
    }
  }
}

const json::object* usageOf(const json::object& o) {
  if (const json::value* u = o.if_contains("usage"); u && u->is_object()) return &u->get_object();
  if (const json::value* x = o.if_contains("x_groq"); x && x->is_object()) {
    if (const json::value* u = x->get_object().if_contains("usage"); u && u->is_object()) {
      return &u->get_object();
    }
  }
  return nullptr;
}

}  // namespace

Result<canonical::ChatResponse> decodeUpstreamResponse(std::string_view body) {
  // The parsed tree dies with this call: a stack arena serves it (heap only beyond 8 KiB).
  alignas(16) unsigned char arena_buffer[8192];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  std::optional<json::value> parsed = detail::parseJson(body, &arena);
  if (!parsed || !parsed->is_object()) {
    return upstreamError("upstream returned a body that is not a JSON object");
  }
  const json::object& o = parsed->get_object();
  if (auto e = errorOf(o)) return upstreamError(std::move(*e));

  canonical::ChatResponse r;
  r.id = stringField(o, "id");
  r.model = stringField(o, "model");
  if (const json::value* c = o.if_contains("created")) r.created = detail::asInt(*c).value_or(0);
  r.system_fingerprint = stringField(o, "system_fingerprint");
  if (const json::object* u = usageOf(o)) r.usage = detail::usageFromJson(*u);

  const json::value* choices = o.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->get_array().empty() ||
      !choices->get_array()[0].is_object()) {
    return upstreamError("upstream response has no choices");
  }
  const json::object& choice = choices->get_array()[0].get_object();
  readFinish(choice, r.stop_reason, r.stop_sequence);

  bool has_tool_calls = false;
  if (const json::value* mv = choice.if_contains("message"); mv && mv->is_object()) {
    const json::object& m = mv->get_object();
    if (std::string reasoning = reasoningOf(m); !reasoning.empty()) {
      r.content.emplace_back(canonical::ReasoningBlock{std::move(reasoning)});
    }
    if (std::string text = textOf(m.if_contains("content")); !text.empty()) {
      r.content.emplace_back(canonical::TextBlock{std::move(text)});
    }
    if (std::string refusal = stringField(m, "refusal"); !refusal.empty()) {
      json::object part{{"type", "refusal"}, {"refusal", refusal}};
      r.content.emplace_back(
          canonical::OpaqueBlock{canonical::Vendor::kOpenAI, json::serialize(part)});
    }
    if (const json::value* calls = m.if_contains("tool_calls"); calls && calls->is_array()) {
      for (const json::value& cv : calls->get_array()) {
        if (!cv.is_object()) continue;
        const json::object& c = cv.get_object();
        canonical::ToolUseBlock call;
        call.id = stringField(c, "id");
        if (const json::value* fn = c.if_contains("function"); fn && fn->is_object()) {
          call.name = stringField(fn->get_object(), "name");
          call.input_json = argumentsOf(fn->get_object());
        } else if (const json::value* cu = c.if_contains("custom"); cu && cu->is_object()) {
          call.kind = canonical::ToolKind::kCustom;
          call.name = stringField(cu->get_object(), "name");
          call.input_json =
              json::serialize(json::object{{"content", stringField(cu->get_object(), "input")}});
        }
        if (call.input_json.empty()) call.input_json = "{}";
        if (call.id.empty()) call.id = randomId("call_", 24);
        r.content.emplace_back(std::move(call));
        has_tool_calls = true;
      }
    }
  }
  if (r.stop_reason == canonical::StopReason::kUnset) {
    r.stop_reason =
        has_tool_calls ? canonical::StopReason::kToolUse : canonical::StopReason::kEndTurn;
  }

  json::object extras;
  for (const auto& [key, value] : o) {
    if (key == "id" || key == "object" || key == "created" || key == "model" || key == "choices" ||
        key == "usage" || key == "system_fingerprint" || key == "error") {
      continue;
    }
    extras[key] = value;
  }
  if (!extras.empty()) r.extras = {canonical::Vendor::kOpenAI, json::serialize(extras)};
  return r;
}

// ---- streaming ----

Result<void> ChunkDecoder::feed(std::string_view data, std::vector<StreamEvent>& out) {
  std::optional<json::value> parsed = detail::parseJson(data);
  if (!parsed || !parsed->is_object()) {
    return upstreamError("upstream sent a stream chunk that is not a JSON object");
  }
  const json::object& o = parsed->get_object();
  if (auto e = errorOf(o)) return upstreamError(std::move(*e));
  if (stopped_) return {};

  if (!started_) {
    // Azure opens with a prompt-filter notice (empty id and model, no choices): the message
    // starts at the first real chunk so it carries the upstream's id and model.
    const json::value* first_choices = o.if_contains("choices");
    const bool has_choices = first_choices != nullptr && first_choices->is_array() &&
                             !first_choices->get_array().empty();
    if (stringField(o, "id").empty() && !has_choices && usageOf(o) == nullptr) return {};
    started_ = true;
    out.push_back(StreamEvent::messageStart(stringField(o, "id"), stringField(o, "model")));
  }
  if (const json::object* u = usageOf(o)) {
    usage_ = detail::usageFromJson(*u);
    have_usage_ = true;
  }

  const json::value* choices = o.if_contains("choices");
  if (choices == nullptr || !choices->is_array()) return {};
  for (const json::value& cv : choices->get_array()) {
    if (!cv.is_object()) continue;
    const json::object& choice = cv.get_object();
    if (const json::value* idx = choice.if_contains("index");
        idx != nullptr && detail::asInt(*idx).value_or(0) != 0) {
      continue;  // Basalt asks for one choice; ignore any other
    }
    const json::value* dv = choice.if_contains("delta");
    if (dv == nullptr || !dv->is_object()) dv = choice.if_contains("message");  // non-OpenAI
    if (dv != nullptr && dv->is_object()) {
      const json::object& delta = dv->get_object();

      auto close_open = [&](int keep) {
        for (int* open : {&text_index_, &reasoning_index_, &tool_open_}) {
          if (*open >= 0 && *open != keep) closeBlock(*open, out);
        }
      };

      if (std::string reasoning = reasoningOf(delta); !reasoning.empty()) {
        if (reasoning_index_ < 0) {
          close_open(-1);
          reasoning_index_ = next_index_++;
          out.push_back(
              StreamEvent::blockStart(reasoning_index_, canonical::BlockType::kReasoning));
        }
        out.push_back(StreamEvent::delta(reasoning_index_, canonical::DeltaType::kReasoningText,
                                         std::move(reasoning)));
      }
      std::string text = textOf(delta.if_contains("content"));
      text += stringField(delta, "refusal");  // Chat stream refusals surface as text
      if (!text.empty()) {
        if (text_index_ < 0) {
          close_open(-1);
          text_index_ = next_index_++;
          out.push_back(StreamEvent::blockStart(text_index_, canonical::BlockType::kText));
        }
        out.push_back(
            StreamEvent::delta(text_index_, canonical::DeltaType::kText, std::move(text)));
      }
      if (const json::value* calls = delta.if_contains("tool_calls"); calls && calls->is_array()) {
        for (const json::value& tv : calls->get_array()) {
          if (!tv.is_object()) continue;
          const json::object& tc = tv.get_object();
          const std::string id = stringField(tc, "id");
          std::int64_t chat_index = -1;
          if (const json::value* i = tc.if_contains("index")) {
            chat_index = detail::asInt(*i).value_or(-1);
          }
          if (chat_index < 0 || chat_index > 1024) {
            // No usable index: a new id starts a new call, otherwise continue the last one.
            chat_index = (!id.empty() || tool_index_.empty())
                             ? static_cast<std::int64_t>(tool_index_.size())
                             : static_cast<std::int64_t>(tool_index_.size()) - 1;
          }
          const json::object* fn = nullptr;
          bool custom = false;
          if (const json::value* f = tc.if_contains("function"); f && f->is_object()) {
            fn = &f->get_object();
          } else if (const json::value* c = tc.if_contains("custom"); c && c->is_object()) {
            fn = &c->get_object();
            custom = true;
          }
          if (static_cast<std::size_t>(chat_index) >= tool_index_.size()) {
            tool_index_.resize(chat_index + 1, -1);
          }
          int& block = tool_index_[chat_index];
          if (block < 0) {
            close_open(-1);
            block = next_index_++;
            tool_open_ = block;
            saw_tool_ = true;
            out.push_back(StreamEvent::blockStart(
                block, canonical::BlockType::kToolUse, id.empty() ? randomId("call_", 24) : id,
                fn != nullptr ? stringField(*fn, "name") : std::string()));
            if (custom) {
              // Canonical custom-tool input is {"content": "<raw>"}: open it here, stream the
              // raw input escaped, close it at BlockStop.
              tool_open_custom_ = true;
              out.push_back(StreamEvent::delta(block, canonical::DeltaType::kToolInputJson,
                                               "{\"content\":\""));
            }
          }
          // A late fragment for an earlier, already closed call (a server interleaving parallel
          // calls) still carries that call's canonical index, so accumulators stay correct.
          if (fn == nullptr) continue;
          std::string args;
          if (custom) {
            if (std::string input = stringField(*fn, "input"); !input.empty()) {
              detail::appendJsonString(args, input);
              args = args.substr(1, args.size() - 2);  // escaped, without the quotes
            }
          } else {
            args = argumentsOf(*fn);
          }
          if (!args.empty()) {
            out.push_back(
                StreamEvent::delta(block, canonical::DeltaType::kToolInputJson, std::move(args)));
          }
        }
      }
    }
    readFinish(choice, pending_stop_, stop_sequence_);
  }
  return {};
}

void ChunkDecoder::closeBlock(int& open, std::vector<StreamEvent>& out) {
  if (&open == &tool_open_ && tool_open_custom_) {
    out.push_back(StreamEvent::delta(open, canonical::DeltaType::kToolInputJson, "\"}"));
    tool_open_custom_ = false;
  }
  out.push_back(StreamEvent::blockStop(open));
  open = -1;
}

void ChunkDecoder::finish(std::vector<StreamEvent>& out) {
  if (stopped_) return;
  if (!started_) {
    started_ = true;
    out.push_back(StreamEvent::messageStart({}, {}));
  }
  for (int* open : {&reasoning_index_, &text_index_, &tool_open_}) {
    if (*open >= 0) closeBlock(*open, out);
  }
  if (have_usage_) out.push_back(StreamEvent::usageEvent(usage_));
  canonical::StopReason reason = pending_stop_;
  if (reason == canonical::StopReason::kUnset) {
    reason = saw_tool_ ? canonical::StopReason::kToolUse : canonical::StopReason::kEndTurn;
  }
  out.push_back(StreamEvent::messageStop(reason, stop_sequence_));
  stopped_ = true;
}

std::string upstreamErrorMessage(std::string_view body) {
  if (auto parsed = detail::parseJson(body); parsed && parsed->is_object()) {
    const json::object& o = parsed->get_object();
    if (auto e = errorOf(o)) return *e;
    for (std::string_view key : {"message", "detail"}) {
      if (std::string m = stringField(o, key); !m.empty()) return m;
    }
  }
  if (body.size() <= kMaxErrorExcerpt) return std::string(body);
  std::string excerpt(body.substr(0, kMaxErrorExcerpt));
  // Do not cut a UTF-8 sequence in half (may drop one whole character at the cut).
  while (!excerpt.empty() && (static_cast<unsigned char>(excerpt.back()) & 0xC0) == 0x80) {
    excerpt.pop_back();
  }
  if (!excerpt.empty() && (static_cast<unsigned char>(excerpt.back()) & 0x80) != 0) {
    excerpt.pop_back();
  }
  excerpt += "...";
  return excerpt;
}

}  // namespace basalt::api::openai_chat
