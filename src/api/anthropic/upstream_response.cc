// Upstream Messages body / SSE events -> canonical ChatResponse / StreamEvents (provider side).

#include "basalt/api/anthropic/messages_codec.h"

#include "json_util.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::anthropic {

namespace json = boost::json;
using canonical::StreamEvent;

Result<canonical::ChatResponse> decodeUpstreamResponse(std::string_view body) {
  std::optional<json::value> parsed = detail::parseJson(body);
  if (!parsed || !parsed->is_object()) {
    return Error{ErrorKind::kUpstreamError, "upstream answered with a body that is not JSON"};
  }
  const json::object& o = parsed->get_object();
  if (detail::str(o, "type") == "error") {
    return decodeUpstreamError(200, {}, body);
  }
  canonical::ChatResponse r;
  r.id = detail::str(o, "id");
  r.model = detail::str(o, "model");
  const json::value* content = o.if_contains("content");
  if (content == nullptr || !content->is_array()) {
    return Error{ErrorKind::kUpstreamError, "upstream message has no content array"};
  }
  if (Result<void> d = detail::decodeContent(*content, "content", false, r.content); !d) {
    Error e = d.error();
    e.kind = ErrorKind::kUpstreamError;
    return e;
  }
  r.stop_reason = stopReasonFromWord(detail::str(o, "stop_reason"));
  r.stop_sequence = detail::str(o, "stop_sequence");
  if (const json::value* u = o.if_contains("usage"); u != nullptr && u->is_object()) {
    r.usage = detail::usageFromJson(u->get_object());
  }
  return r;
}

namespace {

Error badPayload(std::string_view event) {
  return Error{ErrorKind::kUpstreamError,
               "upstream sent an unreadable '" + std::string(event) + "' event"};
}

}  // namespace

canonical::Usage StreamDecoder::currentUsage() const {
  canonical::Usage usage;
  usage.cache_read_tokens = cache_read_;
  usage.cache_write_tokens = cache_write_;
  usage.input_tokens = input_ + cache_read_ + cache_write_;
  usage.output_tokens = output_;
  return usage;
}

void StreamDecoder::emitStop(std::vector<StreamEvent>& out) {
  for (Slot& s : slots_) {
    if (s.open && s.canonical >= 0) out.push_back(StreamEvent::blockStop(s.canonical));
    s.open = false;
  }
  out.push_back(StreamEvent::usageEvent(currentUsage()));
  out.push_back(StreamEvent::messageStop(stop_reason_ == canonical::StopReason::kUnset
                                             ? canonical::StopReason::kEndTurn
                                             : stop_reason_,
                                         stop_sequence_));
  stopped_ = true;
}

Result<void> StreamDecoder::feed(std::string_view event, std::string_view data,
                                 std::vector<StreamEvent>& out) {
  if (stopped_) return {};
  if (event == "ping") return {};
  std::optional<json::value> parsed = detail::parseJson(data);
  if (!parsed || !parsed->is_object()) {
    if (event.empty() && data.empty()) return {};
    return badPayload(event);
  }
  const json::object& o = parsed->get_object();
  // The SDK routes on the `event:` line; fall back to `type` for upstreams that omit it.
  std::string type = event.empty() ? detail::str(o, "type") : std::string(event);
  if (type == "error") return decodeUpstreamError(0, {}, data);

  const auto readUsage = [&](const json::object& u, bool output_only) {
    // Cumulative counts: the last non-null value wins (never summed).
    if (const json::value* v = u.if_contains("output_tokens"); v && !v->is_null()) {
      output_ = detail::asInt(*v).value_or(output_);
    }
    if (output_only && !u.contains("input_tokens")) return;
    if (const json::value* v = u.if_contains("input_tokens"); v && !v->is_null()) {
      input_ = detail::asInt(*v).value_or(input_);
    }
    if (const json::value* v = u.if_contains("cache_read_input_tokens"); v && !v->is_null()) {
      cache_read_ = detail::asInt(*v).value_or(cache_read_);
    }
    if (const json::value* v = u.if_contains("cache_creation_input_tokens"); v && !v->is_null()) {
      cache_write_ = detail::asInt(*v).value_or(cache_write_);
    }
  };

  if (type == "message_start") {
    const json::value* m = o.if_contains("message");
    if (m == nullptr || !m->is_object()) return badPayload(type);
    const json::object& msg = m->get_object();
    if (const json::value* u = msg.if_contains("usage"); u && u->is_object()) {
      readUsage(u->get_object(), false);
    }
    if (!started_) {
      started_ = true;
      out.push_back(StreamEvent::messageStart(detail::str(msg, "id"), detail::str(msg, "model")));
      if (input_ + cache_read_ + cache_write_ > 0) {
        // Input is known from the start: an early usage event lets a Messages door put it in
        // its own message_start (the final one after the blocks still holds the totals).
        out.push_back(StreamEvent::usageEvent(currentUsage()));
      }
    }
    return {};
  }
  if (!started_) {
    started_ = true;
    out.push_back(StreamEvent::messageStart({}, {}));
  }
  if (type == "content_block_start") {
    const json::value* iv = o.if_contains("index");
    const json::value* bv = o.if_contains("content_block");
    std::optional<std::int64_t> index = iv ? detail::asInt(*iv) : std::nullopt;
    if (!index || *index < 0 || *index > 4096 || bv == nullptr || !bv->is_object()) {
      return badPayload(type);
    }
    if (static_cast<std::size_t>(*index) >= slots_.size()) slots_.resize(*index + 1);
    Slot& slot = slots_[*index];
    const json::object& b = bv->get_object();
    const std::string block = detail::str(b, "type");
    slot.open = true;
    if (block == "text") {
      slot.canonical = next_index_++;
      out.push_back(StreamEvent::blockStart(slot.canonical, canonical::BlockType::kText));
      if (std::string text = detail::str(b, "text"); !text.empty()) {
        out.push_back(
            StreamEvent::delta(slot.canonical, canonical::DeltaType::kText, std::move(text)));
      }
    } else if (block == "tool_use") {
      slot.canonical = next_index_++;
      out.push_back(StreamEvent::blockStart(slot.canonical, canonical::BlockType::kToolUse,
                                            detail::str(b, "id"), detail::str(b, "name")));
      // The input normally streams as input_json_delta; a non-empty start input is whole.
      if (const json::value* in = b.if_contains("input");
          in && in->is_object() && !in->get_object().empty()) {
        out.push_back(StreamEvent::delta(slot.canonical, canonical::DeltaType::kToolInputJson,
                                         json::serialize(*in)));
      }
    } else if (block == "thinking") {
      slot.canonical = next_index_++;
      out.push_back(StreamEvent::blockStart(slot.canonical, canonical::BlockType::kReasoning));
      if (std::string text = detail::str(b, "thinking"); !text.empty()) {
        out.push_back(StreamEvent::delta(slot.canonical, canonical::DeltaType::kReasoningText,
                                         std::move(text)));
      }
      if (std::string sig = detail::str(b, "signature"); !sig.empty()) {
        out.push_back(
            StreamEvent::delta(slot.canonical, canonical::DeltaType::kSignature, std::move(sig)));
      }
    } else {
      // redacted_thinking, server_tool_use, web_search_tool_result ...: the canonical stream
      // has no form for them (documented); their deltas and stop are skipped.
      slot.canonical = -1;
    }
    return {};
  }
  if (type == "content_block_delta" || type == "content_block_stop") {
    const json::value* iv = o.if_contains("index");
    std::optional<std::int64_t> index = iv ? detail::asInt(*iv) : std::nullopt;
    if (!index || *index < 0 || static_cast<std::size_t>(*index) >= slots_.size()) {
      return badPayload(type);
    }
    Slot& slot = slots_[*index];
    if (slot.canonical < 0 || !slot.open) return {};
    if (type == "content_block_stop") {
      slot.open = false;
      out.push_back(StreamEvent::blockStop(slot.canonical));
      return {};
    }
    const json::value* dv = o.if_contains("delta");
    if (dv == nullptr || !dv->is_object()) return badPayload(type);
    const json::object& d = dv->get_object();
    const std::string delta = detail::str(d, "type");
    if (delta == "text_delta") {
      out.push_back(
          StreamEvent::delta(slot.canonical, canonical::DeltaType::kText, detail::str(d, "text")));
    } else if (delta == "input_json_delta") {
      std::string part = detail::str(d, "partial_json");
      if (!part.empty()) {
        out.push_back(StreamEvent::delta(slot.canonical, canonical::DeltaType::kToolInputJson,
                                         std::move(part)));
      }
    } else if (delta == "thinking_delta") {
      out.push_back(StreamEvent::delta(slot.canonical, canonical::DeltaType::kReasoningText,
                                       detail::str(d, "thinking")));
    } else if (delta == "signature_delta") {
      out.push_back(StreamEvent::delta(slot.canonical, canonical::DeltaType::kSignature,
                                       detail::str(d, "signature")));
    }  // citations_delta and newer kinds: not modelled
    return {};
  }
  if (type == "message_delta") {
    if (const json::value* dv = o.if_contains("delta"); dv && dv->is_object()) {
      const json::object& d = dv->get_object();
      if (const json::value* s = d.if_contains("stop_reason"); s && s->is_string()) {
        stop_reason_ = stopReasonFromWord(s->get_string());
      }
      stop_sequence_ = detail::str(d, "stop_sequence");
    }
    if (const json::value* u = o.if_contains("usage"); u && u->is_object()) {
      readUsage(u->get_object(), true);
    }
    return {};
  }
  if (type == "message_stop") {
    emitStop(out);
    return {};
  }
  return {};  // unknown event names are ignored, as the SDK does
}

void StreamDecoder::finish(std::vector<StreamEvent>& out) {
  if (stopped_ || !started_) return;
  emitStop(out);
}

}  // namespace basalt::api::anthropic
