// Checks the module's internal detector helpers directly (detector.h is not public).
#include "detector.h"

#include <gtest/gtest.h>

namespace basalt::guardrails::detail {
namespace {

TEST(MayMatchWhitespace, OnlyPatternsThatCannotMatchWhitespaceAreTokenShaped) {
  for (const char* p : {"TKT-[0-9]+", R"(\d{3}-\d{4})", R"([A-Za-z_]\w*)", R"(\S+@corp)",
                        R"((?i)acme-[a-f0-9]{8}\b)", R"(\.internal)"}) {
    EXPECT_FALSE(mayMatchWhitespace(p)) << p;
  }
  for (const char* p : {"a b", ".*", R"(\s)", "[^x]", "[[:space:]]", R"(\x20)", R"(\t)",
                        R"([\a-z])", R"(\pZ)", R"(\Q \E)", "(?x)a\tb", R"(\W)", R"(\D)", "\\"}) {
    EXPECT_TRUE(mayMatchWhitespace(p)) << p;
  }
}

TEST(Detectors, RegexShapeFollowsThePattern) {
  auto token = makeRegexDetector("TKT-[0-9]+", 0);
  ASSERT_TRUE(token);
  EXPECT_EQ((*token)->shape(), Shape::kToken);
  auto window = makeRegexDetector("operation [a-z]+", 0);
  ASSERT_TRUE(window);
  EXPECT_EQ((*window)->shape(), Shape::kWindow);
  EXPECT_EQ((*window)->maxLen(), kRegexWindow);
  EXPECT_FALSE(makeRegexDetector("(", 0));
}

TEST(Detectors, FindReportsOnlyMatchesAfterTheContext) {
  auto email = makePiiDetector("EMAIL", 3);
  ASSERT_NE(email, nullptr);
  std::vector<Candidate> out;
  const std::string_view text = "a@b.io then c@d.io";
  email->find(text, 7, out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(text.substr(out[0].begin, out[0].end - out[0].begin), "c@d.io");
  EXPECT_EQ(out[0].rule, 3U);
  EXPECT_EQ(makePiiDetector("NAME", 0), nullptr);
}

}  // namespace
}  // namespace basalt::guardrails::detail
