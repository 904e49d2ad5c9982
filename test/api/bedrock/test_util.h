#pragma once
// Shared by the Converse codec tests: event-stream bodies and canonical events as JSON, so
// tests and golden files compare readable values rather than bytes.

#include "basalt/api/bedrock/converse_codec.h"

#include <gtest/gtest.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <string>
#include <vector>

namespace basalt::api::bedrock::testutil {

namespace json = boost::json;
using canonical::StreamEvent;

/// Decodes an event-stream body into [{"headers":{...},"payload":<json>}], with
/// metrics.latencyMs set to 0 (it is wall-clock).
inline json::array framesJson(const std::string& body) {
  json::array frames;
  auto decoded = decodeEventStream(body);
  EXPECT_TRUE(decoded) << (decoded ? "" : decoded.error().message);
  if (!decoded) return frames;
  for (const EventStreamMessage& m : *decoded) {
    json::object headers;
    for (const auto& [n, v] : m.headers) headers[n] = v;
    boost::system::error_code ec;
    json::value payload = json::parse(m.payload, ec);
    EXPECT_FALSE(ec) << m.payload;
    if (payload.is_object()) {
      if (json::value* metrics = payload.get_object().if_contains("metrics")) {
        if (metrics->is_object() && metrics->get_object().contains("latencyMs")) {
          metrics->get_object()["latencyMs"] = 0;
        }
      }
    }
    frames.push_back(json::object{{"headers", std::move(headers)}, {"payload", payload}});
  }
  return frames;
}

inline canonical::StopReason stopReason(std::string_view s) {
  using canonical::StopReason;
  for (StopReason r :
       {StopReason::kEndTurn, StopReason::kStopSequence, StopReason::kMaxTokens,
        StopReason::kToolUse, StopReason::kContentFilter, StopReason::kRefusal,
        StopReason::kPauseTurn, StopReason::kContextWindowExceeded, StopReason::kError}) {
    if (s == canonical::stopReasonName(r)) return r;
  }
  return StopReason::kUnset;
}

inline std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}

inline std::int64_t num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v && v->is_int64()) ? v->get_int64() : 0;
}

/// The .events.json vocabulary (shared with test/golden/openai_chat).
inline std::vector<StreamEvent> parseEvents(const json::value& v) {
  std::vector<StreamEvent> events;
  for (const json::value& item : v.as_array()) {
    const json::object& e = item.as_object();
    const std::string type = str(e, "type");
    const int index = static_cast<int>(num(e, "index"));
    if (type == "message_start") {
      events.push_back(StreamEvent::messageStart(str(e, "id"), str(e, "model")));
    } else if (type == "block_start") {
      const std::string block = str(e, "block");
      canonical::BlockType bt = block == "tool_use"    ? canonical::BlockType::kToolUse
                                : block == "reasoning" ? canonical::BlockType::kReasoning
                                                       : canonical::BlockType::kText;
      events.push_back(StreamEvent::blockStart(index, bt, str(e, "id"), str(e, "name")));
    } else if (type == "delta") {
      const std::string delta = str(e, "delta");
      canonical::DeltaType dt = delta == "tool_input_json"  ? canonical::DeltaType::kToolInputJson
                                : delta == "reasoning_text" ? canonical::DeltaType::kReasoningText
                                : delta == "signature"      ? canonical::DeltaType::kSignature
                                                            : canonical::DeltaType::kText;
      events.push_back(StreamEvent::delta(index, dt, str(e, "text")));
    } else if (type == "block_stop") {
      events.push_back(StreamEvent::blockStop(index));
    } else if (type == "usage") {
      canonical::Usage u;
      u.input_tokens = num(e, "input_tokens");
      u.output_tokens = num(e, "output_tokens");
      u.cache_read_tokens = num(e, "cache_read_tokens");
      u.cache_write_tokens = num(e, "cache_write_tokens");
      events.push_back(StreamEvent::usageEvent(u));
    } else if (type == "message_stop") {
      events.push_back(StreamEvent::messageStop(stopReason(str(e, "stop_reason"))));
    } else if (type == "error") {
      Error err;
      const std::string kind = str(e, "kind");
      err.kind = kind == "rate_limited"  ? ErrorKind::kRateLimited
                 : kind == "unavailable" ? ErrorKind::kUpstreamUnavailable
                 : kind == "invalid"     ? ErrorKind::kInvalidRequest
                                         : ErrorKind::kUpstreamError;
      err.message = str(e, "message");
      events.push_back(StreamEvent::errorEvent(err));
    } else {
      ADD_FAILURE() << "unknown event type " << type;
    }
  }
  return events;
}

/// Canonical events back into the same vocabulary.
inline json::array eventsJson(const std::vector<StreamEvent>& events) {
  json::array out;
  for (const StreamEvent& e : events) {
    json::object o;
    switch (e.type) {
      case StreamEvent::Type::kMessageStart:
        o["type"] = "message_start";
        o["id"] = e.id;
        o["model"] = e.name;
        break;
      case StreamEvent::Type::kBlockStart:
        o["type"] = "block_start";
        o["index"] = e.index;
        o["block"] = e.block_type == canonical::BlockType::kToolUse     ? "tool_use"
                     : e.block_type == canonical::BlockType::kReasoning ? "reasoning"
                                                                        : "text";
        if (!e.id.empty()) o["id"] = e.id;
        if (!e.name.empty()) o["name"] = e.name;
        break;
      case StreamEvent::Type::kBlockDelta:
        o["type"] = "delta";
        o["index"] = e.index;
        o["delta"] = e.delta_type == canonical::DeltaType::kToolInputJson   ? "tool_input_json"
                     : e.delta_type == canonical::DeltaType::kReasoningText ? "reasoning_text"
                     : e.delta_type == canonical::DeltaType::kSignature     ? "signature"
                                                                            : "text";
        o["text"] = e.text;
        break;
      case StreamEvent::Type::kBlockStop:
        o["type"] = "block_stop";
        o["index"] = e.index;
        break;
      case StreamEvent::Type::kUsage:
        o["type"] = "usage";
        o["input_tokens"] = e.usage.input_tokens;
        o["output_tokens"] = e.usage.output_tokens;
        o["cache_read_tokens"] = e.usage.cache_read_tokens;
        o["cache_write_tokens"] = e.usage.cache_write_tokens;
        break;
      case StreamEvent::Type::kMessageStop:
        o["type"] = "message_stop";
        o["stop_reason"] = canonical::stopReasonName(e.stop_reason);
        break;
      case StreamEvent::Type::kError:
        o["type"] = "error";
        o["kind"] = e.error.kind == ErrorKind::kRateLimited ? "rate_limited" : "other";
        o["message"] = e.error.message;
        break;
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace basalt::api::bedrock::testutil
