// Upstream Converse body and ConverseStream events -> canonical (provider side).

#include "basalt/api/bedrock/converse_codec.h"

#include "json_util.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::bedrock {

namespace json = boost::json;
using canonical::StreamEvent;

namespace {

Error upstreamError(std::string message) {
  Error e = Error::invalid(std::move(message));
  e.kind = ErrorKind::kUpstreamError;
  return e;
}

/// Kind for an in-stream exception member (`throttlingException` ...).
ErrorKind exceptionKind(std::string_view type) {
  if (type == "throttlingException" || type == "serviceQuotaExceededException") {
    return ErrorKind::kRateLimited;
  }
  if (type == "validationException") return ErrorKind::kInvalidRequest;
  if (type == "serviceUnavailableException") return ErrorKind::kUpstreamUnavailable;
  if (type == "modelTimeoutException") return ErrorKind::kUpstreamTimeout;
  return ErrorKind::kUpstreamError;
}

}  // namespace

Result<canonical::ChatResponse> decodeUpstreamResponse(std::string_view body,
                                                       std::string_view model) {
  std::optional<json::value> parsed = detail::parseJson(body);
  if (!parsed || !parsed->is_object()) {
    return upstreamError("Bedrock returned a response body that is not a JSON object.");
  }
  const json::object& o = parsed->get_object();
  const json::value* output = o.if_contains("output");
  const json::value* message =
      (output && output->is_object()) ? output->get_object().if_contains("message") : nullptr;
  if (message == nullptr || !message->is_object()) {
    // HTTP 200 without output happens with guardrail or framework errors (wire.md §6.11).
    return upstreamError("Bedrock returned a response without output.message.");
  }
  canonical::ChatResponse response;
  response.model = std::string(model);
  if (const json::value* content = message->get_object().if_contains("content")) {
    Result<void> r = detail::decodeContent(*content, "output.message.content", response.content);
    if (!r) return upstreamError("Bedrock returned malformed content: " + r.error().message);
  }
  response.stop_reason = stopReasonFromWord(detail::str(o, "stopReason"));
  if (const json::value* usage = o.if_contains("usage"); usage && usage->is_object()) {
    response.usage = detail::usageFromJson(usage->get_object());
  }
  json::object rest;
  for (const auto& [k, v] : o) {
    if (k != "output" && k != "stopReason" && k != "usage" && k != "metrics") rest[k] = v;
  }
  if (!rest.empty()) response.extras = {canonical::Vendor::kBedrock, json::serialize(rest)};
  return response;
}

StreamDecoder::StreamDecoder(std::string model, std::string id)
    : model_(std::move(model)), id_(std::move(id)) {}

void StreamDecoder::ensureStarted(std::vector<StreamEvent>& out) {
  if (started_) return;
  started_ = true;
  out.push_back(StreamEvent::messageStart(id_, model_));
}

int StreamDecoder::openBlock(int index, canonical::BlockType type, std::vector<StreamEvent>& out,
                             std::string id, std::string name) {
  for (Slot& s : slots_) {
    if (s.upstream == index && s.open) return s.canonical;
  }
  ensureStarted(out);
  Slot slot{index, next_index_++, true};
  if (type == canonical::BlockType::kToolUse) saw_tool_ = true;
  out.push_back(StreamEvent::blockStart(slot.canonical, type, std::move(id), std::move(name)));
  slots_.push_back(slot);
  return slot.canonical;
}

void StreamDecoder::closeBlock(int index, std::vector<StreamEvent>& out) {
  for (Slot& s : slots_) {
    if (s.upstream == index && s.open) {
      s.open = false;
      out.push_back(StreamEvent::blockStop(s.canonical));
    }
  }
}

void StreamDecoder::emitStop(std::vector<StreamEvent>& out) {
  if (stopped_) return;
  ensureStarted(out);
  for (Slot& s : slots_) {
    if (s.open) {
      s.open = false;
      out.push_back(StreamEvent::blockStop(s.canonical));
    }
  }
  canonical::StopReason reason = pending_stop_;
  if (reason == canonical::StopReason::kUnset) {
    reason = saw_tool_ ? canonical::StopReason::kToolUse : canonical::StopReason::kEndTurn;
  }
  out.push_back(StreamEvent::messageStop(reason));
  stopped_ = true;
}

Result<void> StreamDecoder::feedBytes(std::string_view bytes, std::vector<StreamEvent>& out) {
  scratch_.clear();
  Result<void> r = reader_.feed(bytes, scratch_);
  // Messages decoded before a corrupt frame still count.
  for (const EventStreamMessage& m : scratch_) {
    if (Result<void> f = feed(m, out); !f) return f;
  }
  return r;
}

Result<void> StreamDecoder::feed(const EventStreamMessage& message, std::vector<StreamEvent>& out) {
  const std::string_view message_type = message.header(":message-type");
  if (message_type == "exception") {
    const std::string_view type = message.header(":exception-type");
    Error e;
    e.kind = exceptionKind(type);
    e.code = std::string(type);
    if (auto v = detail::parseJson(message.payload); v && v->is_object()) {
      e.message = detail::str(v->get_object(), "message");
      if (const json::value* status = v->get_object().if_contains("originalStatusCode")) {
        if (auto n = detail::asInt(*status)) e.upstream_status = static_cast<int>(*n);
      }
    }
    if (e.message.empty()) e.message = "Bedrock stream failed: " + std::string(type);
    if (e.kind == ErrorKind::kRateLimited) e.retry_after_s = 1;
    return e;
  }
  if (message_type == "error") {
    Error e;
    e.kind = ErrorKind::kUpstreamError;
    e.code = std::string(message.header(":error-code"));
    e.message = std::string(message.header(":error-message"));
    if (e.message.empty()) e.message = "Bedrock stream failed: " + e.code;
    return e;
  }
  if (message_type != "event" || stopped_) return {};
  const std::string_view type = message.header(":event-type");
  std::optional<json::value> parsed = detail::parseJson(message.payload);
  if (!parsed || !parsed->is_object()) {
    return upstreamError("Bedrock sent a " + std::string(type) + " event that is not JSON.");
  }
  const json::object& p = parsed->get_object();
  int index = 0;
  if (const json::value* i = p.if_contains("contentBlockIndex")) {
    index = static_cast<int>(detail::asInt(*i).value_or(0));
  }
  if (type == "messageStart") {
    ensureStarted(out);
  } else if (type == "contentBlockStart") {
    const json::value* start = p.if_contains("start");
    const json::value* use =
        (start && start->is_object()) ? start->get_object().if_contains("toolUse") : nullptr;
    if (use != nullptr && use->is_object()) {
      openBlock(index, canonical::BlockType::kToolUse, out,
                detail::str(use->get_object(), "toolUseId"),
                detail::str(use->get_object(), "name"));
    }
  } else if (type == "contentBlockDelta") {
    const json::value* delta = p.if_contains("delta");
    if (delta == nullptr || !delta->is_object()) return {};
    const json::object& d = delta->get_object();
    if (const json::value* text = d.if_contains("text"); text && text->is_string()) {
      const int c = openBlock(index, canonical::BlockType::kText, out);
      if (!text->get_string().empty()) {
        out.push_back(
            StreamEvent::delta(c, canonical::DeltaType::kText, std::string(text->get_string())));
      }
    } else if (const json::value* use = d.if_contains("toolUse"); use && use->is_object()) {
      const int c = openBlock(index, canonical::BlockType::kToolUse, out);
      const std::string input = detail::str(use->get_object(), "input");
      if (!input.empty()) {
        out.push_back(StreamEvent::delta(c, canonical::DeltaType::kToolInputJson, input));
      }
    } else if (const json::value* r = d.if_contains("reasoningContent"); r && r->is_object()) {
      const json::object& ro = r->get_object();
      const int c = openBlock(index, canonical::BlockType::kReasoning, out);
      if (std::string t = detail::str(ro, "text"); !t.empty()) {
        out.push_back(StreamEvent::delta(c, canonical::DeltaType::kReasoningText, std::move(t)));
      } else if (std::string sig = detail::str(ro, "signature"); !sig.empty()) {
        out.push_back(StreamEvent::delta(c, canonical::DeltaType::kSignature, std::move(sig)));
      }
      // redactedContent has no canonical delta; the block still opens and closes.
    }
  } else if (type == "contentBlockStop") {
    closeBlock(index, out);
  } else if (type == "messageStop") {
    pending_stop_ = stopReasonFromWord(detail::str(p, "stopReason"));
  } else if (type == "metadata") {
    if (const json::value* usage = p.if_contains("usage"); usage && usage->is_object()) {
      ensureStarted(out);
      out.push_back(StreamEvent::usageEvent(detail::usageFromJson(usage->get_object())));
    }
    if (pending_stop_ != canonical::StopReason::kUnset) emitStop(out);
  }
  // Unknown event types are skipped, as the SDKs do.
  return {};
}

void StreamDecoder::finish(std::vector<StreamEvent>& out) {
  if (!started_ || stopped_) return;
  emitStop(out);
}

}  // namespace basalt::api::bedrock
