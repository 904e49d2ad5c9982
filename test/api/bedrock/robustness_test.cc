// Hostile input never crashes the codec: truncations and byte flips of valid requests, bodies
// and event streams either decode or return an error value.

#include "basalt/api/bedrock/converse_codec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace basalt::api::bedrock {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> mutations(const std::string& seed, std::mt19937& rng) {
  std::vector<std::string> out;
  for (std::size_t cut = 0; cut < seed.size(); cut += 1 + seed.size() / 40) {
    out.push_back(seed.substr(0, cut));
  }
  std::uniform_int_distribution<std::size_t> pos(0, seed.empty() ? 0 : seed.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 200 && !seed.empty(); ++i) {
    std::string m = seed;
    for (int k = 0; k < 1 + i % 3; ++k) m[pos(rng)] = static_cast<char>(byte(rng));
    out.push_back(std::move(m));
  }
  return out;
}

TEST(Robustness, RequestsAndUpstreamBodies) {
  std::mt19937 rng(4242);  // fixed seed: a failure reproduces
  const fs::path dir = fs::path(BASALT_SOURCE_DIR) / "test/golden/bedrock";
  int decoded = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (!e.path().string().ends_with(".request.json")) continue;
    for (const std::string& m : mutations(readFile(e.path()), rng)) {
      Result<canonical::ChatRequest> r = decodeRequest(m, "m", true);
      if (r) {
        ++decoded;
        Result<std::string> up = encodeUpstreamRequest(*r, {});
        (void)up;
      }
      Result<canonical::ChatResponse> resp = decodeUpstreamResponse(m);
      if (resp) (void)encodeResponseBody(*resp);
    }
  }
  EXPECT_GT(decoded, 0);
}

TEST(Robustness, EventStreams) {
  std::mt19937 rng(7);
  std::string body = encodeBedrockEvent("messageStart", R"({"role":"assistant"})") +
                     encodeBedrockEvent("contentBlockStart",
                                        R"({"contentBlockIndex":1,"start":{"toolUse":{}}})") +
                     encodeBedrockEvent("contentBlockDelta",
                                        R"({"contentBlockIndex":1,"delta":{"toolUse":{}}})") +
                     encodeBedrockEvent("contentBlockStop", R"({"contentBlockIndex":-5})") +
                     encodeBedrockEvent("messageStop", R"({"stopReason":7})") +
                     encodeBedrockEvent("metadata", R"({"usage":{"inputTokens":-3}})");
  for (const std::string& m : mutations(body, rng)) {
    StreamDecoder decoder;
    std::vector<canonical::StreamEvent> events;
    if (decoder.feedBytes(m, events)) decoder.finish(events);
    canonical::StreamAccumulator acc;
    for (const canonical::StreamEvent& e : events) acc.add(e);
  }
}

}  // namespace
}  // namespace basalt::api::bedrock
