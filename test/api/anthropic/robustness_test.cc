// Hostile input never crashes the codec: every prefix and byte-flip of real requests and
// upstream streams decodes to a value or an error.

#include "basalt/api/anthropic/messages_codec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace basalt::api::anthropic {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(BASALT_SOURCE_DIR) / "test/golden/anthropic";

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Decoding and re-encoding must not crash, whatever the outcome.
void exercise(std::string_view body) {
  Result<canonical::ChatRequest> r = decodeRequest(body);
  if (r) {
    UpstreamRequestOptions options;
    options.model = "m";
    (void)encodeUpstreamRequest(*r, options);
    (void)encodeCountTokens(*r);
  }
  (void)decodeUpstreamResponse(body);
}

TEST(Robustness, PrefixesAndFlipsOfRequests) {
  std::mt19937 rng(1234);
  for (const fs::directory_entry& e : fs::directory_iterator(kDir)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(".json")) continue;
    const std::string text = readFile(e.path());
    for (std::size_t n = 0; n < text.size(); n += 7) exercise(std::string_view(text).substr(0, n));
    for (int i = 0; i < 200; ++i) {
      std::string mutated = text;
      mutated[rng() % mutated.size()] = static_cast<char>(rng() % 256);
      exercise(mutated);
    }
  }
}

TEST(Robustness, ShuffledAndCorruptStreamEvents) {
  std::mt19937 rng(99);
  const char* names[] = {"message_start",
                         "content_block_start",
                         "content_block_delta",
                         "content_block_stop",
                         "message_delta",
                         "message_stop",
                         "ping",
                         "error",
                         ""};
  const char* payloads[] = {
      R"({"type":"message_start","message":{"id":"m","usage":{"input_tokens":"x"}}})",
      R"({"type":"content_block_start","index":-1,"content_block":{"type":"text"}})",
      R"({"type":"content_block_start","index":99999999999,"content_block":{}})",
      R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use"}})",
      R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta"}})",
      R"({"type":"content_block_delta","index":0,"delta":null})",
      R"({"type":"content_block_stop","index":2})",
      R"({"type":"message_delta","delta":{"stop_reason":5},"usage":{"output_tokens":1.5}})",
      R"({"type":"message_stop"})",
      R"({"type":"error","error":"nope"})",
      "[]",
      "",
      "{",
  };
  for (int round = 0; round < 500; ++round) {
    StreamDecoder decoder;
    EventEncoder encoder("m");
    std::vector<canonical::StreamEvent> events;
    std::vector<WireEvent> wire;
    for (int i = 0; i < 12; ++i) {
      const char* name = names[rng() % std::size(names)];
      const char* payload = payloads[rng() % std::size(payloads)];
      if (!decoder.feed(name, payload, events)) break;
    }
    decoder.finish(events);
    for (const canonical::StreamEvent& e : events) encoder.encode(e, wire);
  }
  SUCCEED();
}

}  // namespace
}  // namespace basalt::api::anthropic
