// Golden files for the Converse codec (test/golden/bedrock/). Every case is a file set, so a
// new wire quirk is a new file, not new code:
//   <case>.request.json + <case>.expected.json
//       Converse request -> decodeRequest -> encodeUpstreamRequest (Bedrock door -> Bedrock
//       provider), compared as parsed JSON.
//   <case>.chat.json + <case>.expected.json
//       Chat Completions request -> openai_chat::decodeRequest -> encodeUpstreamRequest: the
//       Converse pitfalls (hoisting, alternation, tool pairing ...) from another door.
//   <case>.events.json + <case>.expected_stream.json
//       canonical events -> the door's event-stream bytes -> decoded frames as JSON
//       (metrics.latencyMs normalized to 0).
//   <case>.upstream_stream.json + <case>.expected_events.json
//       upstream frames ({"headers","payload"} list) -> bytes -> StreamDecoder -> events.
// BASALT_GOLDEN_UPDATE=1 rewrites the expected files from the current output (review the diff).

#include "basalt/api/bedrock/converse_codec.h"

#include "basalt/api/openai_chat/chat_codec.h"
#include "test_util.h"

#include "fakes/golden.h"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace basalt::api::bedrock {
namespace {

namespace fs = std::filesystem;
using namespace testutil;  // NOLINT

const fs::path kDir = fs::path(BASALT_SOURCE_DIR) / "test/golden/bedrock";

using testing::golden::parseOrFail;
using testing::golden::readFile;
using testing::golden::updating;
using testing::golden::writeFile;

std::vector<std::string> cases(std::string_view suffix) {
  return testing::golden::cases(kDir, suffix);
}

void compareJson(const json::value& got, const fs::path& expected_path) {
  if (updating()) {
    std::ofstream(expected_path, std::ios::binary | std::ios::trunc)
        << json::serialize(got) << "\n";
    return;
  }
  ASSERT_TRUE(fs::exists(expected_path)) << expected_path;
  json::value want = parseOrFail(readFile(expected_path), expected_path);
  EXPECT_EQ(got, want) << expected_path << "\n got: " << json::serialize(got)
                       << "\nwant: " << json::serialize(want);
}

void upstreamCase(const std::string& name, const canonical::ChatRequest& req) {
  UpstreamRequestOptions options;
  options.model = req.model;
  Result<std::string> body = encodeUpstreamRequest(req, options);
  ASSERT_TRUE(body) << body.error().message;
  compareJson(parseOrFail(*body, name), kDir / (name + ".expected.json"));
}

TEST(Golden, ConverseToConverse) {
  const std::vector<std::string> names = cases(".request.json");
  ASSERT_GE(names.size(), 4u) << "golden directory " << kDir;
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    Result<canonical::ChatRequest> req =
        decodeRequest(readFile(kDir / (name + ".request.json")), "model", false);
    ASSERT_TRUE(req) << req.error().message << " (" << req.error().param << ")";
    upstreamCase(name, *req);
  }
}

TEST(Golden, ChatToConverse) {
  const std::vector<std::string> names = cases(".chat.json");
  ASSERT_GE(names.size(), 4u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    Result<canonical::ChatRequest> req =
        openai_chat::decodeRequest(readFile(kDir / (name + ".chat.json")));
    ASSERT_TRUE(req) << req.error().message;
    upstreamCase(name, *req);
  }
}

TEST(Golden, DoorStreams) {
  const std::vector<std::string> names = cases(".events.json");
  ASSERT_GE(names.size(), 3u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const fs::path p = kDir / (name + ".events.json");
    auto encoder = makeDoorCodec()->newStreamEncoder(canonical::ChatRequest{});
    std::string bytes;
    for (const StreamEvent& e : parseEvents(parseOrFail(readFile(p), p))) encoder->encode(e, bytes);
    compareJson(framesJson(bytes), kDir / (name + ".expected_stream.json"));
  }
}

TEST(Golden, UpstreamStreams) {
  const std::vector<std::string> names = cases(".upstream_stream.json");
  ASSERT_GE(names.size(), 2u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const fs::path p = kDir / (name + ".upstream_stream.json");
    std::string bytes;
    const json::value frames = parseOrFail(readFile(p), p);
    for (const json::value& f : frames.as_array()) {
      std::vector<EventStreamHeader> headers;
      for (const auto& [k, v] : f.at("headers").as_object()) {
        headers.emplace_back(std::string(k), std::string(v.as_string()));
      }
      bytes += encodeEventStreamMessage(headers, json::serialize(f.at("payload")));
    }
    StreamDecoder decoder("model", "id");
    std::vector<StreamEvent> events;
    bool failed = false;
    // Uneven pieces, as TCP delivers them.
    for (std::size_t i = 0, n = 7; i < bytes.size() && !failed; i += n, n = n * 3 % 61 + 1) {
      if (Result<void> r = decoder.feedBytes(std::string_view(bytes).substr(i, n), events); !r) {
        events.push_back(StreamEvent::errorEvent(r.error()));
        failed = true;
      }
    }
    if (!failed) decoder.finish(events);
    compareJson(eventsJson(events), kDir / (name + ".expected_events.json"));
  }
}

}  // namespace
}  // namespace basalt::api::bedrock
