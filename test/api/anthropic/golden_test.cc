// Golden files for the Messages codec (test/golden/anthropic/). Every case is a file set, so a
// new wire quirk is a new file, not new code:
//   <case>.request.json + <case>.expected.json (no upstream capture beside them)
//       Messages request -> decodeRequest -> encodeUpstreamRequest, compared as parsed JSON.
//   <case>.chat_request.json + <case>.expected.json
//       the same from an OpenAI Chat Completions request (another door's canonical request).
//   <case>.request.json + <case>.upstream.sse + <case>.expected.sse
//       an upstream Messages SSE capture -> StreamDecoder -> the door's SSE bytes.
//   <case>.request.json + <case>.upstream.json + <case>.expected_response.json
//       upstream body -> decodeUpstreamResponse -> the door's response, parsed JSON compared.
// BASALT_GOLDEN_UPDATE=1 rewrites the expected files from the current output (review the diff).

#include "basalt/api/anthropic/messages_codec.h"

#include "basalt/api/openai_chat/chat_codec.h"

#include "fakes/golden.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace basalt::api::anthropic {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using canonical::StreamEvent;

const fs::path kDir = fs::path(BASALT_SOURCE_DIR) / "test/golden/anthropic";

using testing::golden::parseOrFail;
using testing::golden::readFile;
using testing::golden::updating;
using testing::golden::writeFile;

std::vector<std::string> cases(std::string_view suffix) {
  return testing::golden::cases(kDir, suffix);
}

canonical::ChatRequest decodeCase(const std::string& name) {
  const fs::path p = kDir / (name + ".request.json");
  Result<canonical::ChatRequest> r = decodeRequest(readFile(p));
  EXPECT_TRUE(r.has_value()) << p << ": " << (r ? "" : r.error().message);
  if (!r) return {};
  r->request_id = "req0001";  // the door derives its message id from it
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

void compareText(const std::string& got, const fs::path& expected_path) {
  if (updating()) {
    writeFile(expected_path, got);
    return;
  }
  ASSERT_TRUE(fs::exists(expected_path)) << expected_path;
  EXPECT_EQ(got, readFile(expected_path)) << expected_path;
}

/// Feeds an upstream SSE capture through StreamDecoder, exactly as the provider does.
std::vector<StreamEvent> eventsFromUpstreamSse(const std::string& sse) {
  std::vector<StreamEvent> events;
  StreamDecoder decoder;
  std::istringstream lines(sse);
  std::string line;
  std::string event;
  std::string data;
  const auto dispatch = [&]() -> bool {
    if (data.empty() && event.empty()) return true;
    Result<void> r = decoder.feed(event, data, events);
    event.clear();
    data.clear();
    if (!r) {
      events.push_back(StreamEvent::errorEvent(r.error()));
      return false;
    }
    return true;
  };
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (!dispatch()) return events;
    } else if (line.starts_with("event:")) {
      event = line.substr(line.size() > 6 && line[6] == ' ' ? 7 : 6);
    } else if (line.starts_with("data:")) {
      data = line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
    }
  }
  if (!dispatch()) return events;
  decoder.finish(events);
  return events;
}

TEST(Golden, UpstreamRequests) {
  const std::vector<std::string> names = cases(".request.json");
  int compared = 0;
  for (const std::string& name : names) {
    // Cases with an upstream capture are response/stream cases.
    if (fs::exists(kDir / (name + ".upstream.sse")) ||
        fs::exists(kDir / (name + ".upstream.json"))) {
      continue;
    }
    SCOPED_TRACE(name);
    canonical::ChatRequest req = decodeCase(name);
    UpstreamRequestOptions options;
    options.model = "claude-upstream";
    options.stream = req.stream;
    compareJson(parseOrFail(encodeUpstreamRequest(req, options), name),
                kDir / (name + ".expected.json"));
    ++compared;
  }
  EXPECT_GE(compared, 5) << "golden directory " << kDir;
}

TEST(Golden, UpstreamRequestsFromChat) {
  const std::vector<std::string> names = cases(".chat_request.json");
  ASSERT_GE(names.size(), 2u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const fs::path p = kDir / (name + ".chat_request.json");
    Result<canonical::ChatRequest> req = openai_chat::decodeRequest(readFile(p));
    ASSERT_TRUE(req.has_value()) << req.error().message;
    UpstreamRequestOptions options;
    options.model = "claude-upstream";
    options.max_tokens_default = 2048;
    options.stream = req->stream;
    compareJson(parseOrFail(encodeUpstreamRequest(*req, options), name),
                kDir / (name + ".expected.json"));
  }
}

TEST(Golden, Streams) {
  const std::vector<std::string> names = cases(".upstream.sse");
  ASSERT_GE(names.size(), 3u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    canonical::ChatRequest req = decodeCase(name);
    std::vector<StreamEvent> events =
        eventsFromUpstreamSse(readFile(kDir / (name + ".upstream.sse")));
    std::unique_ptr<canonical::StreamEncoder> encoder = makeDoorCodec()->newStreamEncoder(req);
    std::string out;
    for (const StreamEvent& e : events) encoder->encode(e, out);
    compareText(out, kDir / (name + ".expected.sse"));
    // The door's own output is a valid upstream stream: decoding it again yields the same
    // canonical events (ids and usage included).
    std::vector<StreamEvent> again = eventsFromUpstreamSse(out);
    ASSERT_EQ(again.size(), events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(again[i].type, events[i].type) << i;
      EXPECT_EQ(again[i].text, events[i].text) << i;
      EXPECT_EQ(again[i].index, events[i].index) << i;
      EXPECT_EQ(again[i].usage.input_tokens, events[i].usage.input_tokens) << i;
      EXPECT_EQ(again[i].usage.output_tokens, events[i].usage.output_tokens) << i;
      EXPECT_EQ(again[i].usage.cache_read_tokens, events[i].usage.cache_read_tokens) << i;
    }
  }
}

TEST(Golden, Responses) {
  const std::vector<std::string> names = cases(".upstream.json");
  ASSERT_GE(names.size(), 2u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    canonical::ChatRequest req = decodeCase(name);
    Result<canonical::ChatResponse> resp =
        decodeUpstreamResponse(readFile(kDir / (name + ".upstream.json")));
    ASSERT_TRUE(resp.has_value()) << resp.error().message;
    compareJson(parseOrFail(encodeResponseBody(*resp, req), name),
                kDir / (name + ".expected_response.json"));
  }
}

}  // namespace
}  // namespace basalt::api::anthropic
