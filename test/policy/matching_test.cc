// The module's internal matchers and value parsers, tested directly.
#include "glob.h"
#include "pattern.h"
#include "values.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace basalt::policy::detail {
namespace {

bool glob(std::string_view pattern, std::string_view text, bool fold = false) {
  auto p = Pattern::compile(pattern, {.wildcards = true, .variables = false});
  EXPECT_TRUE(p);
  ResolvedPieces pieces;
  EXPECT_TRUE(p->resolve(RequestContext{}, pieces));
  return globMatch(pieces, text, fold);
}

bool arn(std::string_view pattern, std::string_view text) {
  auto p = Pattern::compile(pattern, {.wildcards = true, .variables = false});
  EXPECT_TRUE(p);
  ResolvedPieces pieces;
  EXPECT_TRUE(p->resolve(RequestContext{}, pieces));
  return arnMatch(pieces, text);
}

TEST(Glob, Wildcards) {
  EXPECT_TRUE(glob("*", ""));
  EXPECT_TRUE(glob("*", "anything"));
  EXPECT_TRUE(glob("", ""));
  EXPECT_FALSE(glob("", "x"));
  EXPECT_TRUE(glob("abc", "abc"));
  EXPECT_FALSE(glob("abc", "abcd"));
  EXPECT_FALSE(glob("abcd", "abc"));
  EXPECT_TRUE(glob("a*c", "ac"));
  EXPECT_TRUE(glob("a*c", "abbbc"));
  EXPECT_FALSE(glob("a*c", "abbbd"));
  EXPECT_TRUE(glob("a?c", "abc"));
  EXPECT_FALSE(glob("a?c", "ac"));
  EXPECT_TRUE(glob("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(glob("*a*b*c*", "xxcxxbxxaxx"));
  EXPECT_TRUE(glob("a*b*", "ab"));
  EXPECT_TRUE(glob("*ab", "aab"));  // needs the star to re-try
  EXPECT_TRUE(glob("*aab", "aaab"));
  EXPECT_TRUE(glob("a**?", "ab"));
  EXPECT_FALSE(glob("a**??", "ab"));
  EXPECT_TRUE(glob("Bedrock:Invoke*", "bedrock:invokemodel", /*fold=*/true));
  EXPECT_FALSE(glob("Bedrock:Invoke*", "bedrock:invokemodel", /*fold=*/false));
}

TEST(Glob, PathologicalPatternStaysFast) {
  // Exponential for a backtracking regex engine; quadratic at worst here.
  const std::string text(5000, 'a');
  std::string pattern;
  for (int i = 0; i < 50; ++i) pattern += "a*";
  pattern += "b";
  EXPECT_FALSE(glob(pattern, text));
}

TEST(Glob, LiteralPiecesKeepWildcardCharacters) {
  const GlobPiece pieces[] = {{GlobPiece::Kind::kLiteral, "a*"}, {GlobPiece::Kind::kAnyRun, {}}};
  EXPECT_TRUE(globMatch(pieces, "a*xyz", false));
  EXPECT_FALSE(globMatch(pieces, "abxyz", false));
  const GlobPiece with_empty[] = {{GlobPiece::Kind::kLiteral, "a"},
                                  {GlobPiece::Kind::kLiteral, ""},
                                  {GlobPiece::Kind::kLiteral, "b"}};
  EXPECT_TRUE(globMatch(with_empty, "ab", false));
}

TEST(ArnMatch, SegmentRules) {
  const std::string model = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1";
  EXPECT_TRUE(arn("*", model));
  EXPECT_TRUE(arn(model, model));
  EXPECT_TRUE(arn("arn:aws:bedrock:*::foundation-model/*", model));
  EXPECT_TRUE(arn("arn:aws:bedrock:us-*::foundation-model/anthropic.*", model));
  EXPECT_TRUE(arn("arn:aws:bedrock:us-east-?::foundation-model/anthropic.claude-v2:?", model));
  EXPECT_TRUE(arn("arn:aws:bedrock:*", model));  // trailing '*' crosses the remaining ':'
  EXPECT_TRUE(arn("arn:aws:*:*:*:*", model));
  EXPECT_FALSE(arn("arn:aws:bedrock:eu-*::foundation-model/*", model));
  EXPECT_FALSE(arn("arn:aws:bedrock:us-east-1:123:foundation-model/*", model));
  // A '*' inside a segment (not its last character) never absorbs a ':'.
  EXPECT_FALSE(arn("arn:aws:bedrock:us*1::foundation-model/*",
                   "arn:aws:bedrock:us:x:1::foundation-model/m"));
  EXPECT_FALSE(arn("arn:aws:bedrock:u?east-1::foundation-model/*", model));
  EXPECT_FALSE(arn("arn:aws:bedrock:us-east-1::foundation-model/anthropic.*-v2", model));
  EXPECT_TRUE(arn("arn:aws:bedrock:us-east-1::foundation-model/anthropic.*-v2:1", model));
  // '?' stays within a segment.
  EXPECT_FALSE(arn("arn:aws:bedrock:us-east-1?:foundation-model/*", model));
  EXPECT_FALSE(arn("arn:aws:bedrock", model));
  EXPECT_FALSE(
      arn("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1:extra", model));
  // A '*' at a segment end may absorb several whole segments, and still be followed by more.
  EXPECT_TRUE(arn("arn:*:prompt/p:3", "arn:aws:bedrock:us-east-1:1:prompt/p:3"));
  EXPECT_FALSE(arn("arn:*:prompt/p:3", "arn:aws:bedrock:us-east-1:1:prompt/p:4"));
  EXPECT_TRUE(arn("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b/c"));
}

// Reference semantics, written as directly as possible (exponential, fine for tiny inputs).
bool refGlob(std::string_view p, std::string_view s) {
  if (p.empty()) return s.empty();
  if (p[0] == '*') return refGlob(p.substr(1), s) || (!s.empty() && refGlob(p, s.substr(1)));
  if (s.empty()) return false;
  return (p[0] == '?' || p[0] == s[0]) && refGlob(p.substr(1), s.substr(1));
}

/// ARN rule at character level: a `*` followed by ':' or the end may absorb anything; other
/// wildcards never absorb ':'.
bool refArn(std::string_view p, std::string_view s) {
  if (p.empty()) return s.empty();
  if (p[0] == '*') {
    const bool crossing = p.size() == 1 || p[1] == ':';
    if (refArn(p.substr(1), s)) return true;
    return !s.empty() && (crossing || s[0] != ':') && refArn(p, s.substr(1));
  }
  if (s.empty()) return false;
  if (p[0] == '?') return s[0] != ':' && refArn(p.substr(1), s.substr(1));
  return p[0] == s[0] && refArn(p.substr(1), s.substr(1));
}

TEST(Glob, AgreesWithReferenceOnRandomInputs) {
  std::mt19937 rng(20261126);
  auto random_string = [&](std::string_view alphabet, std::size_t max_len) {
    std::string out(rng() % (max_len + 1), ' ');
    for (char& c : out) c = alphabet[rng() % alphabet.size()];
    return out;
  };
  for (int i = 0; i < 20000; ++i) {
    const std::string pattern = random_string("ab:*?", 7);
    const std::string text = random_string("ab:", 8);
    ASSERT_EQ(glob(pattern, text), refGlob(pattern, text)) << pattern << " vs " << text;
    if (pattern == "*") continue;  // a lone '*' is special-cased (matches all) in both
    ASSERT_EQ(arn(pattern, text), refArn(pattern, text)) << pattern << " vs " << text;
  }
}

TEST(ArnMatch, ManySegmentsStillMatch) {
  // Model names are chosen by clients; an ARN with very many ':' must still be matched (a
  // silent non-match would let the request slip past a Deny).
  std::string resource = "arn:aws:bedrock:us-east-1::foundation-model/meta.llama";
  for (int i = 0; i < 5000; ++i) resource += ":1";
  EXPECT_TRUE(arn("arn:aws:bedrock:us-east-?::foundation-model/meta.*", resource));
  EXPECT_TRUE(arn("arn:aws:bedrock:*:*:foundation-model/meta.llama:*", resource));
  EXPECT_FALSE(arn("arn:aws:bedrock:us-east-?::foundation-model/meta.*:2", resource));
}

TEST(Pattern, VariableSyntax) {
  RequestContext ctx;
  ctx.set("aws:username", "alice");
  auto p = Pattern::compile("home/${aws:UserName}/${missing:key, 'none'}/${*}",
                            {.wildcards = true, .variables = true});
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->hasVariables());
  ResolvedPieces pieces;
  ASSERT_TRUE(p->resolve(ctx, pieces));
  EXPECT_TRUE(globMatch(pieces, "home/alice/none/*", false));
  EXPECT_FALSE(globMatch(pieces, "home/alice/none/x", false));

  EXPECT_FALSE(Pattern::compile("${aws:username", {.wildcards = true, .variables = true}));
  EXPECT_FALSE(Pattern::compile("${}", {.wildcards = true, .variables = true}));
  EXPECT_FALSE(Pattern::compile("${a:b, nobody}", {.wildcards = true, .variables = true}));
  EXPECT_TRUE(Pattern::compile("${a:b, 'x}y'}", {.wildcards = true, .variables = true}));
  auto literal = Pattern::compile("${aws:username}", {.wildcards = true, .variables = false});
  ASSERT_TRUE(literal);
  EXPECT_FALSE(literal->hasVariables());
  auto dollars = Pattern::compile("cost$5", {.wildcards = false, .variables = true});
  ASSERT_TRUE(dollars);
  ASSERT_TRUE(dollars->resolve(ctx, pieces));
  EXPECT_TRUE(globMatch(pieces, "cost$5", false));
}

TEST(Values, Numbers) {
  EXPECT_EQ(parseNumber("42"), 42.0);
  EXPECT_EQ(parseNumber("-1.5"), -1.5);
  EXPECT_EQ(parseNumber("+7"), 7.0);
  EXPECT_EQ(parseNumber("1e3"), 1000.0);
  EXPECT_FALSE(parseNumber(""));
  EXPECT_FALSE(parseNumber("12abc"));
  EXPECT_FALSE(parseNumber("inf"));
  EXPECT_FALSE(parseNumber("nan"));
}

TEST(Values, Dates) {
  EXPECT_EQ(parseDate("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseDate("2026-11-26T07:00:00Z"), 1795676400000);
  EXPECT_EQ(parseDate("1795676400"), 1795676400000);
  EXPECT_EQ(parseDate("2026-11-26"), 1795651200000);
  EXPECT_EQ(parseDate("2026-11-26T07:00Z"), 1795676400000);
  EXPECT_EQ(parseDate("2026-11-26T08:30:00+01:30"), 1795676400000);
  EXPECT_EQ(parseDate("2026-11-26T05:00:00-0200"), 1795676400000);
  EXPECT_EQ(parseDate("2026-11-26T07:00:00.25Z"), 1795676400250);
  EXPECT_EQ(parseDate("2024-02-29"), parseDate("2024-03-01").value() - 86400000);
  EXPECT_FALSE(parseDate("2025-02-29"));
  EXPECT_FALSE(parseDate("2026-11-31"));
  EXPECT_FALSE(parseDate("2026-11-26T24:00:00Z"));
  EXPECT_FALSE(parseDate("2026-11-26 07:00:00"));
  EXPECT_FALSE(parseDate("2026-11-26T07:00:00Q"));
  EXPECT_FALSE(parseDate("26-11-2026"));
  EXPECT_FALSE(parseDate(""));
}

TEST(Values, Booleans) {
  EXPECT_EQ(parseBool("true"), true);
  EXPECT_EQ(parseBool("FALSE"), false);
  EXPECT_FALSE(parseBool("1"));
  EXPECT_FALSE(parseBool("truex"));
}

TEST(Values, IpNetworks) {
  auto net = parseIpNetwork("192.168.0.0/16");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains(*parseIpNetwork("192.168.255.1")));
  EXPECT_FALSE(net->contains(*parseIpNetwork("192.169.0.1")));
  EXPECT_FALSE(net->contains(*parseIpNetwork("::1")));
  auto v6 = parseIpNetwork("2001:db8::/33");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*parseIpNetwork("2001:db8:7fff::1")));
  EXPECT_FALSE(v6->contains(*parseIpNetwork("2001:db8:8000::1")));
  EXPECT_FALSE(v6->contains(*parseIpNetwork("10.0.0.1")));
  auto all = parseIpNetwork("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains(*parseIpNetwork("8.8.8.8")));
  EXPECT_TRUE(parseIpNetwork("10.0.0.1/0")->contains(*parseIpNetwork("11.1.1.1")));
  EXPECT_TRUE(parseIpNetwork("10.1.2.3/8")->contains(*parseIpNetwork("10.200.0.0")));
  EXPECT_FALSE(parseIpNetwork("10.0.0.0/33"));
  EXPECT_FALSE(parseIpNetwork("::/129"));
  EXPECT_FALSE(parseIpNetwork("10.0.0/8"));
  EXPECT_FALSE(parseIpNetwork("10.0.0.0/"));
  EXPECT_FALSE(parseIpNetwork("10.0.0.0/-1"));
  EXPECT_FALSE(parseIpNetwork("300.0.0.1"));
  EXPECT_FALSE(parseIpNetwork(""));
  EXPECT_FALSE(parseIpNetwork(std::string(100, '1')));
}

}  // namespace
}  // namespace basalt::policy::detail
