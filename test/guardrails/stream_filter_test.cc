#include "basalt/guardrails/stream_filter.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace basalt::guardrails {
namespace {

using config::GuardrailAction;
using config::GuardrailSettings;

std::unique_ptr<const Guardrail> everything(GuardrailAction card = GuardrailAction::kAnonymize) {
  GuardrailSettings s;
  s.name = "all";
  for (const char* e : {"AWS_ACCESS_KEY", "AWS_SECRET_KEY", "EMAIL", "IP_ADDRESS", "MAC_ADDRESS",
                        "PHONE", "URL", "US_SOCIAL_SECURITY_NUMBER"}) {
    s.pii.push_back({e, GuardrailAction::kAnonymize});
  }
  s.pii.push_back({"CREDIT_DEBIT_CARD_NUMBER", card});
  s.regexes = {{"ticket", "TKT-[0-9]+", GuardrailAction::kAnonymize},
               {"codename", "(?i)operation [a-z]+", GuardrailAction::kAnonymize}};
  s.words = {"project-falcon", "top secret"};
  auto g = Guardrail::compile(s);
  EXPECT_TRUE(g) << (g ? "" : g.error().message);
  return std::move(*g);
}

// The usual PII guardrail: every rule is token-shaped or numeric, none can span words.
std::unique_ptr<const Guardrail> piiOnly(GuardrailAction card = GuardrailAction::kAnonymize) {
  GuardrailSettings s;
  s.name = "pii";
  for (const char* e : {"AWS_ACCESS_KEY", "AWS_SECRET_KEY", "EMAIL", "IP_ADDRESS", "MAC_ADDRESS",
                        "PHONE", "URL", "US_SOCIAL_SECURITY_NUMBER"}) {
    s.pii.push_back({e, GuardrailAction::kAnonymize});
  }
  s.pii.push_back({"CREDIT_DEBIT_CARD_NUMBER", card});
  s.regexes = {{"ticket", "TKT-[0-9]+", GuardrailAction::kAnonymize}};
  s.words = {"project-falcon"};
  auto g = Guardrail::compile(s);
  EXPECT_TRUE(g);
  return std::move(*g);
}

struct Streamed {
  std::string text;
  bool blocked = false;
  std::vector<Intervention> interventions;
};

Streamed run(const Guardrail& g, const std::vector<std::string_view>& deltas) {
  StreamFilter f = g.stream(Direction::kOutput);
  Streamed out;
  for (auto d : deltas) {
    StreamChunk c = f.push(d);
    out.text += c.text;
    if (c.blocked) {
      out.blocked = true;
      break;
    }
  }
  if (!out.blocked) {
    StreamChunk c = f.finish();
    out.text += c.text;
    out.blocked = c.blocked;
  }
  out.interventions = f.interventions();
  return out;
}

const char* const kTexts[] = {
    "Contact john.doe@example.com or (415) 555-2671; card 4111 1111 1111 1111, ssn 123-45-6789.",
    "Server 10.0.0.1:8080 and 2001:db8::1, mac 00:1A:2B:3C:4D:5E, see https://ex.com/a?b=1).",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and AKIAIOSFODNN7EXAMPLE",
    "Ticket TKT-42 about Operation Sunrise, version 1.2.3.4.5 and 4111 1111 1111 1112 stay.",
    "Call +44 20 7946 0958 or +1 415 555 2671 then 415.555.2671 and 1234 5678 9012",
    "Plain prose with nothing to hide, just words and numbers like 42 and 3.14.\n\nDone.",
    "Unicode: café ☕ naïve — mail ü@example.de or x@exämple.com; "
    "電話 415-555-2671 終わり",
    "Phones +1 415 555 2671 +1 415 555 2672 +1 415 555 2673 +1 415 555 2674 +1 415 555 2675",
};

TEST(StreamFilter, EverySplitGivesTheNonStreamResult) {
  auto g = everything();
  for (std::string_view text : kTexts) {
    const Outcome whole = g->apply(text, Direction::kOutput);
    ASSERT_NE(whole.action, Action::kBlocked) << text;
    // One split point anywhere.
    for (std::size_t i = 0; i <= text.size(); ++i) {
      Streamed s = run(*g, {text.substr(0, i), text.substr(i)});
      ASSERT_EQ(s.text, whole.text) << "split at " << i << " of: " << text;
      ASSERT_EQ(s.interventions, whole.interventions) << "split at " << i;
    }
    // Every byte its own delta.
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < text.size(); ++i) bytes.push_back(text.substr(i, 1));
    Streamed s = run(*g, bytes);
    EXPECT_EQ(s.text, whole.text) << text;
    EXPECT_EQ(s.interventions, whole.interventions);
    // Two split points everywhere (a match split into three pieces).
    for (std::size_t i = 0; i <= text.size(); i += 3) {
      for (std::size_t j = i; j <= text.size(); j += 2) {
        Streamed t = run(*g, {text.substr(0, i), text.substr(i, j - i), text.substr(j)});
        ASSERT_EQ(t.text, whole.text) << "splits " << i << "," << j << " of: " << text;
      }
    }
  }
}

// Random texts built from entities, near misses and separators, split at random points: the
// stream must always agree with apply() (text, interventions, and whether it blocks).
TEST(StreamFilter, RandomTextsAndSplitsAgreeWithApply) {
  const char* const fragments[] = {"john.doe@example.com",
                                   "a@b",
                                   "@",
                                   "(415) 555-2671",
                                   "415-555-2671",
                                   "+1 415 555 2671",
                                   "+44 20 7946 0958",
                                   "123-45-6789",
                                   "078 05 1120",
                                   "4111 1111 1111 1111",
                                   "4111-1111-1111",
                                   "1111",
                                   "378282246310005",
                                   "10.0.0.1",
                                   "1.2.3.4.5",
                                   "2001:db8::1",
                                   "::1",
                                   "12:30",
                                   "00:1A:2B:3C:4D:5E",
                                   "AKIAIOSFODNN7EXAMPLE",
                                   "aws_secret_access_key =",
                                   "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                   "https://ex.com/p?q=1",
                                   "www.example.org",
                                   "TKT-7",
                                   "TKT-",
                                   "Operation",
                                   "sunrise",
                                   "top",
                                   "secret",
                                   "project-falcon",
                                   "the",
                                   "café",
                                   "☕",
                                   "42",
                                   "3.14",
                                   "2024",
                                   "-",
                                   ".",
                                   ",",
                                   "(",
                                   ")",
                                   "+",
                                   ":",
                                   "x",
                                   "word"};
  const char* const separators[] = {" ", " ", " ", "", "\n", ", ", ". ", "-", ":", "  "};
  auto all = everything();
  auto pii = piiOnly();
  std::mt19937 rng(20261126);
  auto pick = [&rng](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  for (int round = 0; round < 400; ++round) {
    std::string text;
    const std::size_t parts = 3 + pick(20);
    for (std::size_t i = 0; i < parts; ++i) {
      text += fragments[pick(std::size(fragments))];
      text += separators[pick(std::size(separators))];
    }
    for (const Guardrail* g : {all.get(), pii.get()}) {
      const Outcome whole = g->apply(text, Direction::kOutput);
      for (int trial = 0; trial < 8; ++trial) {
        std::vector<std::size_t> cuts;
        const std::size_t ncuts = trial == 0 ? text.size() : 1 + pick(6);
        for (std::size_t i = 0; i < ncuts; ++i)
          cuts.push_back(trial == 0 ? i : pick(text.size() + 1));
        std::sort(cuts.begin(), cuts.end());
        std::vector<std::string_view> deltas;
        std::size_t prev = 0;
        for (std::size_t c : cuts) {
          deltas.push_back(std::string_view(text).substr(prev, c - prev));
          prev = c;
        }
        deltas.push_back(std::string_view(text).substr(prev));
        Streamed st = run(*g, deltas);
        ASSERT_EQ(st.blocked, whole.action == Action::kBlocked) << text;
        if (!st.blocked) {
          ASSERT_EQ(st.text, whole.text) << "trial " << trial << " of: " << text;
          ASSERT_EQ(st.interventions, whole.interventions) << text;
        }
      }
    }
  }
}

TEST(StreamFilter, BlockInTheStreamIsReportedAtAnySplit) {
  auto g = everything(GuardrailAction::kBlock);
  const std::string_view text = "Fine so far. Pay with 4111-1111-1111-1111 now, more text after.";
  ASSERT_EQ(g->apply(text, Direction::kOutput).action, Action::kBlocked);
  for (std::size_t i = 0; i <= text.size(); ++i) {
    Streamed s = run(*g, {text.substr(0, i), text.substr(i)});
    EXPECT_TRUE(s.blocked) << i;
    // Nothing of the card was ever released.
    EXPECT_EQ(s.text.find("4111"), std::string::npos) << i;
  }
  const std::string_view words = "This is top\nsecret? no: top secret stuff";
  ASSERT_EQ(g->apply(words, Direction::kOutput).action, Action::kBlocked);
  for (std::size_t i = 0; i <= words.size(); ++i) {
    EXPECT_TRUE(run(*g, {words.substr(0, i), words.substr(i)}).blocked) << i;
  }
  // After a block, further deltas produce nothing.
  auto p = piiOnly(GuardrailAction::kBlock);
  StreamFilter f = p->stream();
  // The run "4111 1111 1111 1111 " could still grow ("... 1111 2"), so the comma decides it.
  EXPECT_FALSE(f.push("card 4111 1111 1111 1111 ").blocked);
  EXPECT_TRUE(f.push(", ok").blocked);
  EXPECT_TRUE(f.blocked());
  EXPECT_EQ(f.push("more").text, "");
  EXPECT_EQ(f.finish().text, "");
}

TEST(StreamFilter, ProseIsReleasedPromptly) {
  auto g = piiOnly();
  StreamFilter f = g->stream();
  const std::string_view prose =
      "The quick brown fox jumps over the lazy dog, and then it rests for a while. "
      "Later, it runs 3 miles north toward the river. It was 2024 when it happened.";
  std::string released;
  std::size_t pos = 0;
  while (pos < prose.size()) {
    std::size_t next = prose.find(' ', pos);
    next = next == std::string_view::npos ? prose.size() : next + 1;
    // Feed one word with its trailing space, in two pieces.
    const std::size_t mid = pos + (next - pos) / 2;
    released += f.push(prose.substr(pos, mid - pos)).text;
    released += f.push(prose.substr(mid, next - mid)).text;
    pos = next;
    // Everything but at most the current word (and a number that could still grow into a
    // phone or card number) is out.
    std::string_view held = prose.substr(released.size(), pos - released.size());
    const bool number = held.find_first_not_of("0123456789 ") == std::string_view::npos;
    if (!number && held.ends_with(' ')) held.remove_suffix(1);
    EXPECT_TRUE(number || held.find(' ') == std::string_view::npos)
        << "held back \"" << held << "\"";
    EXPECT_LE(held.size(), 9U) << "held back \"" << held << "\"";
    if (pos < prose.size() && !number) {
      EXPECT_EQ(held, "") << "held back \"" << held << "\"";
    }
  }
  released += f.finish().text;
  EXPECT_EQ(released, prose);

  // Mid-word, only the partial word is held back.
  StreamFilter h = g->stream();
  EXPECT_EQ(h.push("hello wor").text, "hello ");
  EXPECT_EQ(h.heldBack(), 3U);
  EXPECT_EQ(h.push("ld, again").text, "world, ");
  EXPECT_EQ(h.finish().text, "again");
}

TEST(StreamFilter, MultiWordRulesHoldBackOnlyTheirWindow) {
  // "top secret" and "operation [a-z]+" can span a space, so a bounded tail is held back.
  auto g = everything();
  StreamFilter f = g->stream();
  std::string out;
  std::string text;
  for (int i = 0; i < 100; ++i) text += "word" + std::to_string(i) + " ";
  out += f.push(text).text;
  EXPECT_LE(f.heldBack(), g->maxWindow());
  EXPECT_GT(out.size(), text.size() - g->maxWindow() - 8);
  out += f.finish().text;
  EXPECT_EQ(out, text);
}

TEST(StreamFilter, PhrasesHoldBackOnlyAPossiblePrefix) {
  GuardrailSettings s;
  s.name = "phrases";
  s.words = {"top secret", "Project Falcon X"};
  auto g = Guardrail::compile(s);
  ASSERT_TRUE(g);
  StreamFilter f = (*g)->stream();
  EXPECT_EQ(f.push("it is not a secret, the ").text, "it is not a secret, the ");
  EXPECT_EQ(f.push("top").text, "");
  EXPECT_EQ(f.push(" of the list; project ").text, "top of the list; ");
  EXPECT_EQ(f.push("falcon").text, "");
  EXPECT_EQ(f.heldBack(), 14U);
  EXPECT_EQ(f.push(" y").text, "project falcon y");
  EXPECT_FALSE(f.blocked());
  EXPECT_TRUE(f.push("es TOP\nSECRET ").blocked == false);
  EXPECT_TRUE(f.push("TOP SECRET.").blocked);
}

TEST(StreamFilter, MatchSpanningChunksIsAnonymized) {
  auto g = everything();
  Streamed s = run(*g, {"write to jo", "hn@exam", "ple.com", " please"});
  EXPECT_EQ(s.text, "write to {EMAIL} please");
  s = run(*g, {"card 4111 11", "11 1111 11", "11 ok"});
  EXPECT_EQ(s.text, "card {CREDIT_DEBIT_CARD_NUMBER} ok");
}

TEST(StreamFilter, HoldBackIsCappedForEndlessTokens) {
  auto g = everything();
  StreamFilter f = g->stream();
  std::string out;
  const std::string chunk(100, 'a');
  for (int i = 0; i < 50; ++i) {
    out += f.push(chunk).text;
    EXPECT_LE(f.heldBack(), StreamFilter::kMaxHoldBack);
  }
  out += f.finish().text;
  EXPECT_EQ(out, std::string(5000, 'a'));

  // A URL longer than the cap is still masked, in pieces rather than leaked.
  StreamFilter u = g->stream();
  std::string url_out = u.push("see https://example.com/").text;
  for (int i = 0; i < 30; ++i) url_out += u.push(std::string(100, 'x')).text;
  url_out += u.push(" end").text;
  url_out += u.finish().text;
  EXPECT_EQ(url_out.find("example.com"), std::string::npos) << url_out;
  EXPECT_NE(url_out.find("{URL}"), std::string::npos);
}

TEST(StreamFilter, InactiveDirectionPassesThrough) {
  GuardrailSettings s;
  s.name = "in";
  s.apply_output = false;
  s.pii = {{"EMAIL", GuardrailAction::kAnonymize}};
  auto g = Guardrail::compile(s);
  ASSERT_TRUE(g);
  StreamFilter f = (*g)->stream(Direction::kOutput);
  EXPECT_EQ(f.push("a@b.io and mo").text, "a@b.io and mo");
  EXPECT_EQ(f.finish().text, "");
}

}  // namespace
}  // namespace basalt::guardrails
