// canonical::StreamEvent -> Responses SSE (wire.md §2.5). Codex reads only
// `response.output_item.done` items and `response.completed` (id + strict usage), and treats a
// stream without `response.completed` as failed; SDKs also follow the part/delta events, so
// the full sequence is produced.

#include "stream_encoder.h"

#include <boost/json/serialize.hpp>

namespace basalt::api::openai_responses {

namespace json = boost::json;
using canonical::StreamEvent;
using detail::CallShape;

namespace {

std::string failedCode(const Error& error) {
  if (error.kind == ErrorKind::kRateLimited) return "rate_limit_exceeded";
  if (error.code.find("context_length") != std::string::npos ||
      error.code.find("context_window") != std::string::npos) {
    return "context_length_exceeded";
  }
  if (error.kind == ErrorKind::kUpstreamUnavailable) return "server_is_overloaded";
  if (error.kind == ErrorKind::kInvalidRequest) {
    const std::string& m = error.message;
    if (m.find("context length") != std::string::npos ||
        m.find("context window") != std::string::npos ||
        m.find("prompt is too long") != std::string::npos) {
      return "context_length_exceeded";
    }
    return "invalid_prompt";
  }
  return "server_error";
}

std::string failedMessage(const Error& error) {
  std::string message =
      error.message.empty() ? std::string("The model failed to respond.") : error.message;
  // Codex retries a failed stream after the delay it finds in "try again in Ns".
  if (error.kind == ErrorKind::kRateLimited && error.retry_after_s > 0) {
    if (!message.ends_with('.')) message += '.';
    message += " Please try again in " + std::to_string(error.retry_after_s) + "s.";
  }
  return message;
}

}  // namespace

ResponsesStreamEncoder::ResponsesStreamEncoder(const canonical::ChatRequest& request)
    : request_(request),
      id_(responseId(request.request_id)),
      hex_(id_.substr(5)),
      created_at_(detail::unixNow()) {
  // The history is not needed to answer: only tools and the echoed parameters.
  request_.messages.clear();
  request_.messages.shrink_to_fit();
}

Headers ResponsesStreamEncoder::headers() const {
  return {{"content-type", "text/event-stream; charset=utf-8"}, {"cache-control", "no-cache"}};
}

void ResponsesStreamEncoder::emit(std::string_view type, json::object event, std::string& out) {
  json::object e;
  e.reserve(event.size() + 2);
  e["type"] = type;
  for (auto& kv : event) e[kv.key()] = std::move(kv.value());
  e["sequence_number"] = sequence_++;
  out += "event: ";
  out += type;
  out += "\ndata: ";
  out += json::serialize(e);
  out += "\n\n";
}

void ResponsesStreamEncoder::start(std::string& out) {
  started_ = true;
  json::object r = detail::responseObject(request_, id_, created_at_, "in_progress", {}, nullptr);
  emit("response.created", json::object{{"response", r}}, out);
  emit("response.in_progress", json::object{{"response", std::move(r)}}, out);
}

ResponsesStreamEncoder::Block* ResponsesStreamEncoder::block(int index) {
  if (index < 0 || static_cast<std::size_t>(index) >= blocks_.size()) return nullptr;
  Block& b = blocks_[index];
  return b.open ? &b : nullptr;
}

void ResponsesStreamEncoder::closeMessage(std::string& out) {
  if (!message_open_) return;
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    if (blocks_[i].open && blocks_[i].kind == Block::Kind::kText)
      stopBlock(static_cast<int>(i), out);
  }
  message_open_ = false;
  json::object item = detail::messageItem(message_id_, std::move(message_parts_), true);
  message_parts_ = json::array();
  if (output_.size() <= message_index_) output_.resize(message_index_ + 1);
  output_[message_index_] = item;
  emit("response.output_item.done",
       json::object{{"output_index", message_index_}, {"item", std::move(item)}}, out);
}

void ResponsesStreamEncoder::startBlock(const StreamEvent& event, std::string& out) {
  if (event.index < 0 || event.index > 100000) return;  // not a canonical index
  if (static_cast<std::size_t>(event.index) >= blocks_.size()) blocks_.resize(event.index + 1);
  if (blocks_[event.index].open) stopBlock(event.index, out);
  Block b;
  b.open = true;
  switch (event.block_type) {
    case canonical::BlockType::kText: {
      b.kind = Block::Kind::kText;
      if (!message_open_) {
        message_open_ = true;
        message_index_ = next_output_++;
        message_id_ = detail::itemId("msg", hex_, message_index_);
        emit("response.output_item.added",
             json::object{{"output_index", message_index_},
                          {"item", detail::messageItem(message_id_, {}, false)}},
             out);
      }
      b.output_index = message_index_;
      b.item_id = message_id_;
      b.content_index = static_cast<int>(message_parts_.size());
      message_parts_.push_back(detail::outputText(""));
      emit("response.content_part.added",
           json::object{{"item_id", b.item_id},
                        {"output_index", b.output_index},
                        {"content_index", b.content_index},
                        {"part", detail::outputText("")}},
           out);
      break;
    }
    case canonical::BlockType::kReasoning: {
      closeMessage(out);
      b.kind = Block::Kind::kReasoning;
      b.output_index = next_output_++;
      b.call_id = event.id;  // the upstream's reasoning id, if any (tells whose signature)
      b.item_id =
          event.id.starts_with("rs_") ? event.id : detail::itemId("rs", hex_, b.output_index);
      emit("response.output_item.added",
           json::object{{"output_index", b.output_index},
                        {"item", detail::reasoningItem(b.item_id, "", "", false)}},
           out);
      break;
    }
    case canonical::BlockType::kToolUse: {
      closeMessage(out);
      b.kind = Block::Kind::kCall;
      b.output_index = next_output_++;
      b.call_id = event.id;
      b.name = event.name;
      canonical::ToolUseBlock probe;
      probe.id = event.id;
      probe.name = event.name;
      b.shape = detail::callShape(probe, request_);
      const char* prefix = b.shape == CallShape::kCustom       ? "ctc"
                           : b.shape == CallShape::kLocalShell ? "lsh"
                                                               : "fc";
      b.item_id = detail::itemId(prefix, hex_, b.output_index);
      emit("response.output_item.added",
           json::object{
               {"output_index", b.output_index},
               {"item", detail::callItem(b.shape, b.item_id, b.call_id, b.name, "", false)}},
           out);
      break;
    }
  }
  blocks_[event.index] = std::move(b);
}

void ResponsesStreamEncoder::delta(const StreamEvent& event, std::string& out) {
  Block* b = block(event.index);
  if (b == nullptr || event.text.empty()) return;
  switch (b->kind) {
    case Block::Kind::kText:
      if (event.delta_type == canonical::DeltaType::kSignature) return;
      b->text += event.text;
      emit("response.output_text.delta",
           json::object{{"item_id", b->item_id},
                        {"output_index", b->output_index},
                        {"content_index", b->content_index},
                        {"delta", event.text},
                        {"logprobs", json::array()}},
           out);
      return;
    case Block::Kind::kReasoning:
      if (event.delta_type == canonical::DeltaType::kSignature) {
        b->signature += event.text;
        return;
      }
      if (!b->summary_open) {
        b->summary_open = true;
        emit("response.reasoning_summary_part.added",
             json::object{{"item_id", b->item_id},
                          {"output_index", b->output_index},
                          {"summary_index", 0},
                          {"part", json::object{{"type", "summary_text"}, {"text", ""}}}},
             out);
      }
      b->text += event.text;
      emit("response.reasoning_summary_text.delta",
           json::object{{"item_id", b->item_id},
                        {"output_index", b->output_index},
                        {"summary_index", 0},
                        {"delta", event.text}},
           out);
      return;
    case Block::Kind::kCall:
      b->text += event.text;
      // Custom-tool input arrives wrapped as {"content": ...}: it is unwrapped at the end.
      if (b->shape == CallShape::kFunction) {
        emit("response.function_call_arguments.delta",
             json::object{
                 {"item_id", b->item_id}, {"output_index", b->output_index}, {"delta", event.text}},
             out);
      }
      return;
    case Block::Kind::kNone:
      return;
  }
}

void ResponsesStreamEncoder::stopBlock(int index, std::string& out) {
  Block* b = block(index);
  if (b == nullptr) return;
  b->open = false;
  switch (b->kind) {
    case Block::Kind::kText: {
      emit("response.output_text.done",
           json::object{{"item_id", b->item_id},
                        {"output_index", b->output_index},
                        {"content_index", b->content_index},
                        {"text", b->text},
                        {"logprobs", json::array()}},
           out);
      emit("response.content_part.done",
           json::object{{"item_id", b->item_id},
                        {"output_index", b->output_index},
                        {"content_index", b->content_index},
                        {"part", detail::outputText(b->text)}},
           out);
      if (static_cast<std::size_t>(b->content_index) < message_parts_.size()) {
        message_parts_[b->content_index] = detail::outputText(b->text);
      }
      return;
    }
    case Block::Kind::kReasoning: {
      if (b->summary_open) {
        emit("response.reasoning_summary_text.done",
             json::object{{"item_id", b->item_id},
                          {"output_index", b->output_index},
                          {"summary_index", 0},
                          {"text", b->text}},
             out);
        emit("response.reasoning_summary_part.done",
             json::object{{"item_id", b->item_id},
                          {"output_index", b->output_index},
                          {"summary_index", 0},
                          {"part", json::object{{"type", "summary_text"}, {"text", b->text}}}},
             out);
      }
      canonical::ReasoningBlock r;
      r.id = b->call_id;
      r.signature = b->signature;
      json::object item =
          detail::reasoningItem(b->item_id, b->text, detail::encryptedContentOf(r), true);
      if (output_.size() <= b->output_index) output_.resize(b->output_index + 1);
      output_[b->output_index] = item;
      emit("response.output_item.done",
           json::object{{"output_index", b->output_index}, {"item", std::move(item)}}, out);
      return;
    }
    case Block::Kind::kCall: {
      std::string input = b->text.empty() ? std::string("{}") : b->text;
      if (b->shape == CallShape::kFunction) {
        emit("response.function_call_arguments.done",
             json::object{
                 {"item_id", b->item_id}, {"output_index", b->output_index}, {"arguments", input}},
             out);
      } else if (b->shape == CallShape::kCustom) {
        input = detail::customInput(b->text);
        emit("response.custom_tool_call_input.delta",
             json::object{
                 {"item_id", b->item_id}, {"output_index", b->output_index}, {"delta", input}},
             out);
        emit("response.custom_tool_call_input.done",
             json::object{
                 {"item_id", b->item_id}, {"output_index", b->output_index}, {"input", input}},
             out);
      }
      json::object item = detail::callItem(b->shape, b->item_id, b->call_id, b->name, input, true);
      if (output_.size() <= b->output_index) output_.resize(b->output_index + 1);
      output_[b->output_index] = item;
      emit("response.output_item.done",
           json::object{{"output_index", b->output_index}, {"item", std::move(item)}}, out);
      return;
    }
    case Block::Kind::kNone:
      return;
  }
}

void ResponsesStreamEncoder::finish(canonical::StopReason reason, std::string& out) {
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    if (blocks_[i].open && blocks_[i].kind != Block::Kind::kText) {
      stopBlock(static_cast<int>(i), out);
    }
  }
  closeMessage(out);
  const std::string_view incomplete = detail::incompleteReason(reason);
  // Always `response.completed`: Codex and the SDKs only finish on it (Codex retries a whole
  // turn on `response.incomplete`); a truncated answer says so in status/incomplete_details.
  json::array output;
  for (json::value& item : output_) {
    if (!item.is_null()) output.push_back(std::move(item));
  }
  json::object r = detail::responseObject(request_, id_, created_at_,
                                          incomplete.empty() ? "completed" : "incomplete",
                                          std::move(output), detail::usageJson(usage_));
  if (!incomplete.empty()) r["incomplete_details"] = json::object{{"reason", incomplete}};
  emit("response.completed", json::object{{"response", std::move(r)}}, out);
  done_ = true;
}

void ResponsesStreamEncoder::fail(const Error& error, std::string& out) {
  json::array output;
  for (json::value& item : output_) {
    if (!item.is_null()) output.push_back(std::move(item));
  }
  json::object r =
      detail::responseObject(request_, id_, created_at_, "failed", std::move(output), nullptr);
  r["error"] = json::object{{"code", failedCode(error)}, {"message", failedMessage(error)}};
  emit("response.failed", json::object{{"response", std::move(r)}}, out);
  done_ = true;
}

void ResponsesStreamEncoder::encode(const StreamEvent& event, std::string& out) {
  if (done_) return;
  if (!started_) start(out);
  switch (event.type) {
    case StreamEvent::Type::kMessageStart:
      break;
    case StreamEvent::Type::kBlockStart:
      startBlock(event, out);
      break;
    case StreamEvent::Type::kBlockDelta:
      delta(event, out);
      break;
    case StreamEvent::Type::kBlockStop:
      stopBlock(event.index, out);
      break;
    case StreamEvent::Type::kUsage:
      usage_ = event.usage;
      break;
    case StreamEvent::Type::kMessageStop:
      finish(event.stop_reason, out);
      break;
    case StreamEvent::Type::kError:
      fail(event.error, out);
      break;
  }
}

}  // namespace basalt::api::openai_responses
