// Golden files for the Responses codec (test/golden/openai_responses/). Every case is a file
// set, so a new wire quirk is a new file, not new code:
//   <case>.roundtrip.json
//       a client request that must re-encode upstream unchanged (compared as parsed JSON).
//   <case>.request.json + <case>.expected.json
//       Responses request -> decodeRequest -> encodeUpstreamRequest.
//   <case>.chat_request.json + <case>.expected.json
//       Chat Completions request (another door) -> canonical -> Responses upstream body.
//   <case>.request.json + <case>.events.json + <case>.expected.sse
//       canonical events -> the door's SSE (request_id "req-golden", created_at normalized).
//   <case>.upstream.sse + <case>.expected_events.json
//       upstream Responses SSE -> StreamDecoder -> canonical events.
//   <case>.request.json + <case>.upstream.json + <case>.expected_response.json
//       upstream Response body -> decodeUpstreamResponse -> the door's Response body.
// BASALT_GOLDEN_UPDATE=1 rewrites the expected files from the current output (review the diff).

#include "basalt/api/openai_responses/responses_codec.h"

#include "basalt/api/openai_chat/chat_codec.h"

#include "fakes/golden.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace basalt::api::openai_responses {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using canonical::StreamEvent;

const fs::path kDir = fs::path(BASALT_SOURCE_DIR) / "test/golden/openai_responses";

using testing::golden::parseOrFail;
using testing::golden::readFile;
using testing::golden::updating;
using testing::golden::writeFile;

std::vector<std::string> cases(std::string_view suffix) {
  return testing::golden::cases(kDir, suffix);
}

canonical::ChatRequest decodeFile(const fs::path& p) {
  Result<canonical::ChatRequest> r = decodeRequest(readFile(p));
  EXPECT_TRUE(r.has_value()) << p << ": " << (r ? "" : r.error().message);
  if (!r) return {};
  r->request_id = "req-golden";
  return std::move(*r);
}

void compareJson(const json::value& got, const fs::path& expected_path) {
  if (updating()) {
    writeFile(expected_path, json::serialize(got) + "\n");
    return;
  }
  ASSERT_TRUE(fs::exists(expected_path)) << expected_path;
  json::value want = parseOrFail(readFile(expected_path), expected_path);
  EXPECT_EQ(got, want) << expected_path << "\n got: " << json::serialize(got)
                       << "\nwant: " << json::serialize(want);
}

std::string upstreamBody(const canonical::ChatRequest& req) {
  UpstreamRequestOptions options;
  options.model = req.model;
  options.stream = req.stream;
  return encodeUpstreamRequest(req, options);
}

// ---- canonical events as JSON ----

canonical::StopReason stopReason(std::string_view s) {
  using canonical::StopReason;
  for (StopReason r :
       {StopReason::kEndTurn, StopReason::kStopSequence, StopReason::kMaxTokens,
        StopReason::kToolUse, StopReason::kContentFilter, StopReason::kRefusal,
        StopReason::kPauseTurn, StopReason::kContextWindowExceeded, StopReason::kError}) {
    if (s == canonical::stopReasonName(r)) return r;
  }
  return StopReason::kUnset;
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
}

std::int64_t num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v && v->is_int64()) ? v->get_int64() : 0;
}

const char* blockName(canonical::BlockType t) {
  switch (t) {
    case canonical::BlockType::kToolUse:
      return "tool_use";
    case canonical::BlockType::kReasoning:
      return "reasoning";
    case canonical::BlockType::kText:
      break;
  }
  return "text";
}

const char* deltaName(canonical::DeltaType t) {
  switch (t) {
    case canonical::DeltaType::kToolInputJson:
      return "tool_input_json";
    case canonical::DeltaType::kReasoningText:
      return "reasoning_text";
    case canonical::DeltaType::kSignature:
      return "signature";
    case canonical::DeltaType::kText:
      break;
  }
  return "text";
}

std::vector<StreamEvent> parseEvents(const json::value& v) {
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
      u.reasoning_tokens = num(e, "reasoning_tokens");
      events.push_back(StreamEvent::usageEvent(u));
    } else if (type == "message_stop") {
      events.push_back(StreamEvent::messageStop(stopReason(str(e, "stop_reason"))));
    } else if (type == "error") {
      Error err;
      const std::string kind = str(e, "kind");
      err.kind = kind == "rate_limited"      ? ErrorKind::kRateLimited
                 : kind == "invalid_request" ? ErrorKind::kInvalidRequest
                                             : ErrorKind::kUpstreamError;
      err.message = str(e, "message");
      err.code = str(e, "code");
      err.retry_after_s = static_cast<int>(num(e, "retry_after_s"));
      events.push_back(StreamEvent::errorEvent(err));
    } else {
      ADD_FAILURE() << "unknown event type " << type;
    }
  }
  return events;
}

json::array eventsJson(const std::vector<StreamEvent>& events) {
  json::array out;
  for (const StreamEvent& e : events) {
    json::object o;
    switch (e.type) {
      case StreamEvent::Type::kMessageStart:
        o = {{"type", "message_start"}, {"id", e.id}, {"model", e.name}};
        break;
      case StreamEvent::Type::kBlockStart:
        o = {{"type", "block_start"}, {"index", e.index}, {"block", blockName(e.block_type)}};
        if (!e.id.empty()) o["id"] = e.id;
        if (!e.name.empty()) o["name"] = e.name;
        break;
      case StreamEvent::Type::kBlockDelta:
        o = {{"type", "delta"},
             {"index", e.index},
             {"delta", deltaName(e.delta_type)},
             {"text", e.text}};
        break;
      case StreamEvent::Type::kBlockStop:
        o = {{"type", "block_stop"}, {"index", e.index}};
        break;
      case StreamEvent::Type::kUsage:
        o = {{"type", "usage"},
             {"input_tokens", e.usage.input_tokens},
             {"output_tokens", e.usage.output_tokens},
             {"cache_read_tokens", e.usage.cache_read_tokens},
             {"reasoning_tokens", e.usage.reasoning_tokens}};
        break;
      case StreamEvent::Type::kMessageStop:
        o = {{"type", "message_stop"}, {"stop_reason", canonical::stopReasonName(e.stop_reason)}};
        break;
      case StreamEvent::Type::kError:
        o = {{"type", "error"},
             {"message", e.error.message},
             {"code", e.error.code},
             {"retry_after_s", e.error.retry_after_s}};
        break;
    }
    out.push_back(std::move(o));
  }
  return out;
}

/// Splits an SSE capture into (event, data) pairs the way SseParser does for well-formed input.
std::vector<std::pair<std::string, std::string>> sseEvents(const std::string& sse) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream lines(sse);
  std::string line;
  std::string event;
  std::string data;
  auto flush = [&] {
    if (!data.empty()) out.emplace_back(event, data);
    event.clear();
    data.clear();
  };
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      flush();
    } else if (line.starts_with("event:")) {
      event = line.substr(line.size() > 6 && line[6] == ' ' ? 7 : 6);
    } else if (line.starts_with("data:")) {
      if (!data.empty()) data += '\n';
      data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
    }
  }
  flush();
  return out;
}

std::string normalizeSse(const std::string& sse) {
  static const std::regex kCreated("\"created_at\":[0-9]+");
  return std::regex_replace(sse, kCreated, "\"created_at\":0");
}

TEST(Golden, FaithfulRoundTrips) {
  const std::vector<std::string> names = cases(".roundtrip.json");
  ASSERT_GE(names.size(), 2u) << "golden directory " << kDir;
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const fs::path p = kDir / (name + ".roundtrip.json");
    canonical::ChatRequest req = decodeFile(p);
    json::value got = parseOrFail(upstreamBody(req), p);
    json::value want = parseOrFail(readFile(p), p);
    EXPECT_EQ(got, want) << "\n got: " << json::serialize(got)
                         << "\nwant: " << json::serialize(want);
  }
}

TEST(Golden, UpstreamRequests) {
  std::vector<std::string> names = cases(".expected.json");
  ASSERT_GE(names.size(), 2u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    canonical::ChatRequest req;
    if (fs::exists(kDir / (name + ".chat_request.json"))) {
      Result<canonical::ChatRequest> r =
          openai_chat::decodeRequest(readFile(kDir / (name + ".chat_request.json")));
      ASSERT_TRUE(r) << r.error().message;
      req = std::move(*r);
    } else {
      req = decodeFile(kDir / (name + ".request.json"));
    }
    compareJson(parseOrFail(upstreamBody(req), name), kDir / (name + ".expected.json"));
  }
}

TEST(Golden, DoorStreams) {
  const std::vector<std::string> names = cases(".expected.sse");
  ASSERT_GE(names.size(), 2u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    canonical::ChatRequest req = decodeFile(kDir / (name + ".request.json"));
    std::vector<StreamEvent> events =
        parseEvents(parseOrFail(readFile(kDir / (name + ".events.json")), name));
    auto encoder = makeDoorCodec()->newStreamEncoder(req);
    std::string out;
    for (const StreamEvent& e : events) encoder->encode(e, out);
    const fs::path expected = kDir / (name + ".expected.sse");
    if (updating()) {
      writeFile(expected, normalizeSse(out));
      continue;
    }
    EXPECT_EQ(normalizeSse(out), readFile(expected)) << expected;
  }
}

TEST(Golden, UpstreamStreams) {
  const std::vector<std::string> names = cases(".upstream.sse");
  ASSERT_GE(names.size(), 1u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    StreamDecoder decoder;
    std::vector<StreamEvent> events;
    for (const auto& [event, data] : sseEvents(readFile(kDir / (name + ".upstream.sse")))) {
      if (Result<void> r = decoder.feed(event, data, events); !r) {
        events.push_back(StreamEvent::errorEvent(r.error()));
        break;
      }
    }
    compareJson(eventsJson(events), kDir / (name + ".expected_events.json"));
  }
}

TEST(Golden, Responses) {
  const std::vector<std::string> names = cases(".expected_response.json");
  ASSERT_GE(names.size(), 1u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    canonical::ChatRequest req = decodeFile(kDir / (name + ".request.json"));
    Result<canonical::ChatResponse> resp =
        decodeUpstreamResponse(readFile(kDir / (name + ".upstream.json")));
    ASSERT_TRUE(resp.has_value()) << resp.error().message;
    json::value got = parseOrFail(encodeResponseBody(*resp, req), name);
    compareJson(got, kDir / (name + ".expected_response.json"));
  }
}

}  // namespace
}  // namespace basalt::api::openai_responses
