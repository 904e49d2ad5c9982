// Golden files for the Chat codec (test/golden/openai_chat/). Every case is a file set, so a new
// wire quirk is a new file, not new code:
//   <case>.request.json + <case>.expected.json
//       client request -> decodeRequest -> encodeUpstreamRequest, compared as parsed JSON.
//   <case>.request.json + (<case>.events.json | <case>.upstream.sse) + <case>.expected.sse
//       canonical events (or an upstream SSE capture through ChunkDecoder) -> the door's SSE
//       bytes, with the random id and `created` normalized.
//   <case>.request.json + <case>.upstream.json + <case>.expected_response.json
//       upstream body -> decodeUpstreamResponse -> the door's response, parsed JSON compared.
// BASALT_GOLDEN_UPDATE=1 rewrites the expected files from the current output (review the diff).

#include "basalt/api/openai_chat/chat_codec.h"

#include "fakes/golden.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace basalt::api::openai_chat {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using canonical::StreamEvent;

const fs::path kDir = fs::path(BASALT_SOURCE_DIR) / "test/golden/openai_chat";

using testing::golden::parseOrFail;
using testing::golden::readFile;
using testing::golden::updating;
using testing::golden::writeFile;

std::vector<std::string> cases(std::string_view suffix) {
  return testing::golden::cases(kDir, suffix);
}

std::string normalizeSse(const std::string& sse) {
  static const std::regex kId("\"id\":\"chatcmpl-[A-Za-z0-9]+\"");
  static const std::regex kCreated("\"created\":[0-9]+");
  return std::regex_replace(std::regex_replace(sse, kId, "\"id\":\"chatcmpl-ID\""), kCreated,
                            "\"created\":0");
}

canonical::ChatRequest decodeCase(const std::string& name) {
  const fs::path p = kDir / (name + ".request.json");
  Result<canonical::ChatRequest> r = decodeRequest(readFile(p));
  EXPECT_TRUE(r.has_value()) << p << ": " << (r ? "" : r.error().message);
  return r ? std::move(*r) : canonical::ChatRequest{};
}

// ---- canonical events as JSON (the .events.json vocabulary) ----

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
      err.kind =
          str(e, "kind") == "rate_limited" ? ErrorKind::kRateLimited : ErrorKind::kUpstreamError;
      err.message = str(e, "message");
      err.code = str(e, "code");
      events.push_back(StreamEvent::errorEvent(err));
    } else {
      ADD_FAILURE() << "unknown event type " << type;
    }
  }
  return events;
}

/// Feeds an upstream SSE capture through ChunkDecoder, exactly as a provider adapter would.
std::vector<StreamEvent> eventsFromUpstreamSse(const std::string& sse) {
  std::vector<StreamEvent> events;
  ChunkDecoder decoder;
  std::istringstream lines(sse);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.starts_with("data:")) continue;
    std::string data = line.substr(5);
    if (!data.empty() && data.front() == ' ') data.erase(0, 1);
    if (data == "[DONE]") break;
    if (Result<void> r = decoder.feed(data, events); !r) {
      events.push_back(StreamEvent::errorEvent(r.error()));
      return events;
    }
  }
  decoder.finish(events);
  return events;
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

TEST(Golden, UpstreamRequests) {
  const std::vector<std::string> names = cases(".expected.json");
  ASSERT_GE(names.size(), 9u) << "golden directory " << kDir;
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    canonical::ChatRequest req = decodeCase(name);
    UpstreamRequestOptions options;
    options.model = req.model;
    options.stream = req.stream;
    std::string body = encodeUpstreamRequest(req, options);
    compareJson(parseOrFail(body, name), kDir / (name + ".expected.json"));
  }
}

TEST(Golden, Streams) {
  const std::vector<std::string> names = cases(".expected.sse");
  ASSERT_GE(names.size(), 4u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    canonical::ChatRequest req = decodeCase(name);
    std::vector<StreamEvent> events;
    if (fs::exists(kDir / (name + ".events.json"))) {
      events = parseEvents(parseOrFail(readFile(kDir / (name + ".events.json")), name));
    } else {
      ASSERT_TRUE(fs::exists(kDir / (name + ".upstream.sse"))) << name;
      events = eventsFromUpstreamSse(readFile(kDir / (name + ".upstream.sse")));
    }
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

TEST(Golden, Responses) {
  const std::vector<std::string> names = cases(".expected_response.json");
  ASSERT_GE(names.size(), 1u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    canonical::ChatRequest req = decodeCase(name);
    Result<canonical::ChatResponse> resp =
        decodeUpstreamResponse(readFile(kDir / (name + ".upstream.json")));
    ASSERT_TRUE(resp.has_value()) << resp.error().message;
    json::value got = parseOrFail(encodeResponseBody(*resp, req), name);
    got.as_object()["id"] = "chatcmpl-ID";
    compareJson(got, kDir / (name + ".expected_response.json"));
  }
}

}  // namespace
}  // namespace basalt::api::openai_chat
