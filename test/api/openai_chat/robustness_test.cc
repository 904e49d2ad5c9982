// Input can never crash the codec: every prefix and many byte flips of the golden inputs go
// through the decoders (and, when they decode, the encoders) without throwing or aborting.

#include "basalt/api/openai_chat/chat_codec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace basalt::api::openai_chat {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> goldenFiles(std::string_view suffix) {
  std::vector<std::string> bodies;
  for (const auto& e :
       fs::directory_iterator(fs::path(BASALT_SOURCE_DIR) / "test/golden/openai_chat")) {
    if (e.path().string().ends_with(suffix)) bodies.push_back(readFile(e.path()));
  }
  return bodies;
}

void exercise(const std::string& body) {
  Result<canonical::ChatRequest> r = decodeRequest(body);
  if (!r) {
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
    EXPECT_FALSE(r.error().message.empty());
    return;
  }
  (void)encodeUpstreamRequest(*r, {"m", 100, true});
  auto encoder = makeDoorCodec()->newStreamEncoder(*r);
  std::string out;
  encoder->encode(canonical::StreamEvent::messageStart("x", "m"), out);
}

TEST(Robustness, TruncatedAndCorruptedRequests) {
  const std::vector<std::string> bodies = goldenFiles(".request.json");
  ASSERT_FALSE(bodies.empty());
  std::size_t runs = 0;
  for (const std::string& body : bodies) {
    for (std::size_t cut = 0; cut <= body.size(); ++cut) {
      exercise(body.substr(0, cut));
      ++runs;
    }
    for (std::size_t i = 0; i < body.size(); i += 3) {
      for (char c : {'"', '}', '[', '0', 'x', '\0', '\xff'}) {
        std::string mutated = body;
        mutated[i] = c;
        exercise(mutated);
        ++runs;
      }
    }
  }
  EXPECT_GT(runs, 1000u);
}

TEST(Robustness, TruncatedUpstreamChunksAndBodies) {
  for (const std::string& sse : goldenFiles(".upstream.sse")) {
    std::istringstream lines(sse);
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.starts_with("data: ")) continue;
      const std::string data = line.substr(6);
      for (std::size_t cut = 0; cut <= data.size(); cut += 2) {
        ChunkDecoder decoder;
        std::vector<canonical::StreamEvent> events;
        (void)decoder.feed(data.substr(0, cut), events);
        decoder.finish(events);
        EXPECT_FALSE(events.empty());
        EXPECT_EQ(events.back().type, canonical::StreamEvent::Type::kMessageStop);
      }
    }
  }
  for (const std::string& body : goldenFiles(".upstream.json")) {
    for (std::size_t cut = 0; cut <= body.size(); ++cut) {
      Result<canonical::ChatResponse> r = decodeUpstreamResponse(body.substr(0, cut));
      if (!r) {
        EXPECT_EQ(r.error().kind, ErrorKind::kUpstreamError);
      }
      (void)upstreamErrorMessage(body.substr(0, cut));
    }
  }
}

TEST(Robustness, DeeplyNestedToolSchemaIsAccepted) {
  // 60 levels of nested objects in a tool schema: real schemas exceed Boost.JSON's default 32.
  std::string schema = R"({"type":"string"})";
  for (int i = 0; i < 60; ++i) {
    schema = R"({"type":"object","properties":{"a":)" + schema + "}}";
  }
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"x"}],)"
                           R"("tools":[{"type":"function","function":{"name":"f","parameters":)" +
                           schema + "}}]}";
  Result<canonical::ChatRequest> r = decodeRequest(body);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->tools.at(0).parameters_json, schema);
  EXPECT_NE(encodeUpstreamRequest(*r, {"m", std::nullopt, false}).find(schema), std::string::npos);
}

}  // namespace
}  // namespace basalt::api::openai_chat
