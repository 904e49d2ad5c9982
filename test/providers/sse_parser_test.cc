#include "basalt/providers/http/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace basalt::providers::http {
namespace {

std::vector<SseEvent> parseAll(std::string_view text, SseParser parser = SseParser()) {
  std::vector<SseEvent> out;
  EXPECT_TRUE(parser.feed(text, out));
  parser.finish(out);
  return out;
}

/// Feeds `text` split at every position in {a, b}, plus byte by byte.
void expectSameForEverySplit(std::string_view text, const std::vector<SseEvent>& expected) {
  auto same = [&](const std::vector<SseEvent>& got, const std::string& how) {
    ASSERT_EQ(got.size(), expected.size()) << how;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].event, expected[i].event) << how << " event " << i;
      EXPECT_EQ(got[i].data, expected[i].data) << how << " event " << i;
      EXPECT_EQ(got[i].id, expected[i].id) << how << " event " << i;
    }
  };
  for (std::size_t a = 0; a <= text.size(); ++a) {
    for (std::size_t b = a; b <= text.size(); ++b) {
      SseParser parser;
      std::vector<SseEvent> out;
      ASSERT_TRUE(parser.feed(text.substr(0, a), out));
      ASSERT_TRUE(parser.feed(text.substr(a, b - a), out));
      ASSERT_TRUE(parser.feed(text.substr(b), out));
      parser.finish(out);
      same(out, "split at " + std::to_string(a) + "," + std::to_string(b));
    }
  }
  SseParser parser;
  std::vector<SseEvent> out;
  for (char c : text) ASSERT_TRUE(parser.feed(std::string_view(&c, 1), out));
  parser.finish(out);
  same(out, "byte by byte");
}

TEST(SseParser, OpenAiStyleDataOnlyEvents) {
  const auto events = parseAll("data: {\"a\":1}\n\ndata: [DONE]\n\n");
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].event, "");
  EXPECT_EQ(events[0].data, "{\"a\":1}");
  EXPECT_EQ(events[1].data, "[DONE]");
}

TEST(SseParser, NamedEventsAndMultiLineData) {
  const auto events =
      parseAll("event: message_start\ndata: line one\ndata: line two\n\nevent: ping\ndata:\n\n");
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].event, "message_start");
  EXPECT_EQ(events[0].data, "line one\nline two");
  EXPECT_EQ(events[1].event, "ping");
  EXPECT_EQ(events[1].data, "");
}

TEST(SseParser, CrLfAndBareCrLineEnds) {
  const auto crlf = parseAll("event: a\r\ndata: x\r\n\r\ndata: y\r\n\r\n");
  ASSERT_EQ(crlf.size(), 2U);
  EXPECT_EQ(crlf[0].event, "a");
  EXPECT_EQ(crlf[0].data, "x");
  EXPECT_EQ(crlf[1].data, "y");
  const auto cr = parseAll("data: x\rdata: z\r\rdata: y\r\r");
  ASSERT_EQ(cr.size(), 2U);
  EXPECT_EQ(cr[0].data, "x\nz");
  EXPECT_EQ(cr[1].data, "y");
}

TEST(SseParser, CommentsAreIgnored) {
  const auto events = parseAll(": keep-alive\n\n: another\ndata: x\n: inside\n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParser, NoSpaceAfterColonAndOnlyOneSpaceStripped) {
  const auto events = parseAll("data:x\n\ndata:  two spaces\n\nevent:e\ndata\n\n");
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].data, "x");
  EXPECT_EQ(events[1].data, " two spaces");
  EXPECT_EQ(events[2].event, "e");
  EXPECT_EQ(events[2].data, "");  // a field name alone is a field with an empty value
}

TEST(SseParser, ColonInsideValueIsKept) {
  const auto events = parseAll("data: {\"k\": \"a:b\"}\n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "{\"k\": \"a:b\"}");
}

TEST(SseParser, EventWithoutDataIsNotDispatched) {
  const auto events = parseAll("event: lonely\n\ndata: y\n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].event, "");  // the event name does not leak into the next event
  EXPECT_EQ(events[0].data, "y");
}

TEST(SseParser, IdPersistsAndUnknownFieldsAreIgnored) {
  const auto events = parseAll("id: 7\nretry: 100\nfoo: bar\ndata: a\n\ndata: b\n\nid\ndata: c\n\n");
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[1].id, "7");
  EXPECT_EQ(events[2].id, "");
}

TEST(SseParser, FinalEventWithoutBlankLineIsDispatchedAtEof) {
  auto events = parseAll("data: first\n\ndata: last");
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[1].data, "last");
  events = parseAll("data: last\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "last");
}

TEST(SseParser, LeadingBomIsStripped) {
  const auto events = parseAll("\xEF\xBB\xBF" "data: x\n\n");
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "x");
  // Only at the very start.
  const auto later = parseAll("data: \xEF\xBB\xBFx\n\n");
  ASSERT_EQ(later.size(), 1U);
  EXPECT_EQ(later[0].data, "\xEF\xBB\xBFx");
}

TEST(SseParser, ShortStreamThatLooksLikeBomStart) {
  const auto events = parseAll("d");
  EXPECT_TRUE(events.empty());
  const auto one = parseAll("da");  // field "da" is unknown, nothing to dispatch
  EXPECT_TRUE(one.empty());
}

TEST(SseParser, EverySplitGivesTheSameEvents) {
  const std::string text =
      "\xEF\xBB\xBF: hi\r\nevent: a\r\ndata: x\r\ndata:y\r\n\r\nid: 3\rdata: z\r\r"
      "data: {\"finish_reason\":\"stop\"}\n\ndata: tail";
  const std::vector<SseEvent> expected = {
      {"a", "x\ny", ""}, {"", "z", "3"}, {"", "{\"finish_reason\":\"stop\"}", "3"},
      {"", "tail", "3"}};
  expectSameForEverySplit(text, expected);
}

TEST(SseParser, CrAtChunkEndFollowedByLfIsOneLineEnd) {
  SseParser parser;
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.feed("data: a\r", out));
  ASSERT_TRUE(parser.feed("\n", out));   // same line end, not an empty line
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(parser.feed("\r\n", out));  // the blank line
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].data, "a");
}

TEST(SseParser, OverlongLineIsAnError) {
  SseParser parser(16);
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.feed("data: 0123456789", out));  // exactly 16 bytes, still partial
  Result<void> r = parser.feed("x", out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUpstreamError);

  SseParser whole(16);
  EXPECT_FALSE(whole.feed("data: 0123456789abc\n", out));
}

TEST(SseParser, OverlongEventDataIsAnError) {
  SseParser parser(16);
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.feed("data: 01234567\n", out));
  EXPECT_FALSE(parser.feed("data: 01234567\n", out));
}

TEST(SseParser, ManyEventsInOneChunk) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "data: " + std::to_string(i) + "\n\n";
  const auto events = parseAll(text);
  ASSERT_EQ(events.size(), 1000U);
  EXPECT_EQ(events[999].data, "999");
}

}  // namespace
}  // namespace basalt::providers::http
