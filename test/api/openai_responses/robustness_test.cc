// Hostile and malformed input never crashes the codec: every truncation of a real Codex request
// and of an upstream stream is either decoded or rejected with an error value.

#include "basalt/api/openai_responses/responses_codec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace basalt::api::openai_responses {
namespace {

namespace fs = std::filesystem;

std::string readGolden(const std::string& name) {
  std::ifstream in(fs::path(BASALT_SOURCE_DIR) / "test/golden/openai_responses" / name,
                   std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Robustness, TruncatedRequestsAreErrorsNotCrashes) {
  const std::string body = readGolden("codex_tool_turn.roundtrip.json");
  ASSERT_GT(body.size(), 100u);
  for (std::size_t n = 0; n + 1 < body.size(); n += 7) {
    Result<canonical::ChatRequest> r = decodeRequest(std::string_view(body).substr(0, n));
    EXPECT_FALSE(r) << n;
  }
  EXPECT_TRUE(decodeRequest(body));
}

TEST(Robustness, WrongTypesEverywhereAreRejectedOrKept) {
  const char* values[] = {"null", "1", "\"s\"", "[]", "{}", "true", "[1]", "[{}]", "{\"type\":7}"};
  const char* keys[] = {"input",
                        "tools",
                        "tool_choice",
                        "reasoning",
                        "text",
                        "include",
                        "metadata",
                        "instructions",
                        "max_output_tokens",
                        "temperature",
                        "store",
                        "parallel_tool_calls",
                        "previous_response_id"};
  for (const char* key : keys) {
    for (const char* value : values) {
      const std::string body =
          std::string(R"({"model":"m","input":"x",")") + key + "\":" + value + "}";
      Result<canonical::ChatRequest> r = decodeRequest(body);
      if (!r) {
        EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest) << body;
      } else {
        // Whatever was accepted must re-encode without trouble.
        UpstreamRequestOptions options;
        options.model = "m";
        EXPECT_FALSE(encodeUpstreamRequest(*r, options).empty()) << body;
      }
    }
  }
}

TEST(Robustness, MangledUpstreamStreamsNeverCrash) {
  const std::string sse = readGolden("upstream_reasoning_custom.upstream.sse");
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string mangled = sse;
    for (int k = 0; k < 5; ++k) {
      mangled[rng() % mangled.size()] = "{}[]\":,0a\n"[rng() % 10];
    }
    StreamDecoder decoder;
    std::vector<canonical::StreamEvent> events;
    std::istringstream lines(mangled);
    std::string line;
    std::string event;
    while (std::getline(lines, line)) {
      if (line.starts_with("event: ")) event = line.substr(7);
      if (!line.starts_with("data: ")) continue;
      if (!decoder.feed(event, line.substr(6), events)) break;
    }
    canonical::StreamAccumulator acc;
    for (const canonical::StreamEvent& e : events) acc.add(e);
  }
}

}  // namespace
}  // namespace basalt::api::openai_responses
