#include "basalt/mock/script.h"

#include <gtest/gtest.h>

namespace basalt::mock {
namespace {

TEST(SplitDirective, RemovesTheDirectiveLineAndTrims) {
  SplitText s = splitDirective("hello there\n  #mock reply=\"x\" usage=1,2\nand more\n");
  ASSERT_TRUE(s.directive.has_value());
  EXPECT_EQ(*s.directive, "reply=\"x\" usage=1,2");
  EXPECT_EQ(s.text, "hello there\nand more");
}

TEST(SplitDirective, NoDirective) {
  SplitText s = splitDirective("  just text #mock not at line start\n");
  EXPECT_FALSE(s.directive.has_value());
  EXPECT_EQ(s.text, "just text #mock not at line start");
}

TEST(SplitDirective, DirectiveOnlyAndPrefixLookalike) {
  SplitText s = splitDirective("#mock");
  ASSERT_TRUE(s.directive.has_value());
  EXPECT_EQ(*s.directive, "");
  EXPECT_EQ(s.text, "");
  EXPECT_FALSE(splitDirective("#mockery reply=x").directive.has_value());
}

TEST(ParseDirective, AllKeys) {
  auto d = parseDirective(
      R"(reply="Hi \"you\"\nthere" tool=get_weather args={"city": "Paris Texas", "n": [1, 2]})"
      R"( tools=3 status=429 error_after=2 drop_after=4 latency_ms=15 tokens_per_s=12.5)"
      R"( chunk=3 usage=10,20 reasoning='think "hard"' echo)");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->reply, "Hi \"you\"\nthere");
  EXPECT_EQ(d->tool, "get_weather");
  EXPECT_EQ(d->args, R"({"city": "Paris Texas", "n": [1, 2]})");
  EXPECT_EQ(d->tools, 3);
  EXPECT_EQ(d->status, 429);
  EXPECT_EQ(d->error_after, 2);
  EXPECT_EQ(d->drop_after, 4);
  EXPECT_EQ(d->latency_ms, 15);
  EXPECT_DOUBLE_EQ(*d->tokens_per_s, 12.5);
  EXPECT_EQ(d->chunk, 3);
  EXPECT_EQ(d->usage_in, 10);
  EXPECT_EQ(d->usage_out, 20);
  EXPECT_EQ(d->reasoning, "think \"hard\"");
  EXPECT_TRUE(d->echo);
}

TEST(ParseDirective, EmptyIsDefaults) {
  auto d = parseDirective("   ");
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->reply.has_value());
  EXPECT_FALSE(d->tool.has_value());
  EXPECT_EQ(d->tools, 1);
  EXPECT_FALSE(d->echo);
}

TEST(ParseDirective, BareValue) {
  auto d = parseDirective("reply=single-word tool=t");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reply, "single-word");
}

TEST(ParseDirective, Errors) {
  const char* bad[] = {
      "colour=red",            // unknown key
      "status=abc",            // not a number
      "status=42",             // not an HTTP status
      "status=600",            // out of range
      "tools=0",               // out of range
      "usage=5",               // missing OUT
      "usage=5,x",             // bad OUT
      "reply=\"unterminated",  // quote
      "tool=t args={\"a\":1",  // unbalanced JSON
      "tool=t args=[1,2]",     // args must be an object
      "tool=t args={\"a\":}",  // invalid JSON
      "args={}",               // args without tool
      "tokens_per_s=0",        // must be positive
      "reply=\"x\"y",          // garbage after value
      "justaword",             // not key=value
      "latency_ms=-1",         // negative
  };
  for (const char* line : bad) {
    auto d = parseDirective(line);
    EXPECT_FALSE(d) << line;
    if (!d) {
      EXPECT_EQ(d.error().kind, ErrorKind::kInvalidRequest);
      EXPECT_NE(d.error().message.find("mock directive"), std::string::npos);
    }
  }
}

TEST(ScriptHelp, DocumentsEveryKey) {
  std::string help = kScriptHelp;
  for (const char* key :
       {"reply=", "echo", "tool=", "args=", "tools=", "status=", "error_after=", "drop_after=",
        "latency_ms=", "tokens_per_s=", "chunk=", "usage=", "reasoning="}) {
    EXPECT_NE(help.find(key), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace basalt::mock
