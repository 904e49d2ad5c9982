#include "basalt/guardrails/guardrail.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace basalt::guardrails {
namespace {

using config::GuardrailAction;
using config::GuardrailSettings;

std::unique_ptr<const Guardrail> make(GuardrailSettings s) {
  auto g = Guardrail::compile(s);
  EXPECT_TRUE(g) << (g ? "" : g.error().message);
  return g ? std::move(*g) : nullptr;
}

std::unique_ptr<const Guardrail> pii(const std::string& entity,
                                     GuardrailAction action = GuardrailAction::kAnonymize) {
  GuardrailSettings s;
  s.name = "g";
  s.pii = {{entity, action}};
  return make(s);
}

std::string anonymize(const Guardrail& g, std::string_view text) {
  return g.apply(text, Direction::kInput).text;
}

struct EntityCase {
  const char* entity;
  std::vector<std::pair<std::string, std::string>> positives;  // text -> masked
  std::vector<std::string> negatives;                          // left unchanged
};

class EntityTest : public ::testing::TestWithParam<EntityCase> {};

TEST_P(EntityTest, PositivesAreMaskedAndNearMissesAreNot) {
  const EntityCase& c = GetParam();
  auto g = pii(c.entity);
  ASSERT_TRUE(g);
  for (const auto& [text, masked] : c.positives) {
    Outcome o = g->apply(text, Direction::kInput);
    EXPECT_EQ(o.text, masked) << text;
    EXPECT_EQ(o.action, Action::kAnonymized) << text;
    ASSERT_FALSE(o.interventions.empty()) << text;
    EXPECT_EQ(o.interventions[0].name, c.entity);
    EXPECT_EQ(o.interventions[0].action, Action::kAnonymized);
  }
  for (const auto& text : c.negatives) {
    Outcome o = g->apply(text, Direction::kInput);
    EXPECT_EQ(o.text, text) << text;
    EXPECT_EQ(o.action, Action::kNone) << text;
    EXPECT_TRUE(o.interventions.empty()) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Entities, EntityTest,
    ::testing::Values(
        EntityCase{"EMAIL",
                   {{"mail john.doe+tag@example.co.uk now", "mail {EMAIL} now"},
                    {"<a@b.io>.", "<{EMAIL}>."},
                    {"x: first.last@sub.example.com, y@z.org", "x: {EMAIL}, {EMAIL}"}},
                   {"no at sign here", "user@localhost", "@handle", "a@b", "a@b.c"}},
        EntityCase{"PHONE",
                   {{"call (415) 555-2671 today", "call {PHONE} today"},
                    {"415-555-2671", "{PHONE}"},
                    {"415.555.2671.", "{PHONE}."},
                    {"+1 415 555 2671", "{PHONE}"},
                    {"tel:+14155552671", "tel:{PHONE}"},
                    {"London +44 20 7946 0958", "London {PHONE}"}},
                   {"1234", "in 2024 we had 1500 users", "123-456-7890", "415-555-267",
                    "version 4.15.555.2671", "4155552671123", "+12 34", "12:30:45"}},
        EntityCase{"US_SOCIAL_SECURITY_NUMBER",
                   {{"SSN 123-45-6789.", "SSN {US_SOCIAL_SECURITY_NUMBER}."},
                    {"ssn: 078 05 1120", "ssn: {US_SOCIAL_SECURITY_NUMBER}"}},
                   {"000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000",
                    "1123-45-6789", "123-45-67890", "12-123-45-6789", "123456789"}},
        EntityCase{"CREDIT_DEBIT_CARD_NUMBER",
                   {{"card 4111 1111 1111 1111 exp", "card {CREDIT_DEBIT_CARD_NUMBER} exp"},
                    {"4111-1111-1111-1111", "{CREDIT_DEBIT_CARD_NUMBER}"},
                    {"amex 378282246310005.", "amex {CREDIT_DEBIT_CARD_NUMBER}."},
                    {"5555555555554444", "{CREDIT_DEBIT_CARD_NUMBER}"}},
                   {"4111 1111 1111 1112", "4111111111111112", "1234", "411111111111",
                    "41111111111111111111111", "4111 1111  1111 1111", "x4111111111111111",
                    "4111111111111111.5"}},
        EntityCase{"IP_ADDRESS",
                   {{"host 10.0.0.1 up", "host {IP_ADDRESS} up"},
                    {"ip:192.168.1.254:8080", "ip:{IP_ADDRESS}:8080"},
                    {"v6 2001:db8::8a2e:370:7334.", "v6 {IP_ADDRESS}."},
                    {"[::1]:443", "[{IP_ADDRESS}]:443"},
                    {"::ffff:192.0.2.1", "{IP_ADDRESS}"}},
                   {"version 1.2.3.4.5", "v1.2.3.4", "256.1.1.1", "1.2.3", "12:30:45",
                    "std::vector", "dead::beef", "1.2.3.4a"}},
        EntityCase{"AWS_ACCESS_KEY",
                   {{"key AKIAIOSFODNN7EXAMPLE here", "key {AWS_ACCESS_KEY} here"},
                    {"ASIAY34FZKBOKMUTVV7A", "{AWS_ACCESS_KEY}"}},
                   {"AKIAIOSFODNN7EXAMPL", "XAKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLEX",
                    "akiaiosfodnn7example"}},
        EntityCase{"AWS_SECRET_KEY",
                   {{"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                     "aws_secret_access_key = {AWS_SECRET_KEY}"},
                    {R"({"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})",
                     R"({"SecretAccessKey": "{AWS_SECRET_KEY}"})"}},
                   {"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    "secret = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE",
                    "secret = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX"}},
        EntityCase{"URL",
                   {{"see https://example.com/a?b=c.", "see {URL}."},
                    {"(www.example.org)", "({URL})"},
                    {"HTTP://EXAMPLE.COM/x", "{URL}"},
                    {"wiki https://en.wikipedia.org/wiki/Foo_(bar) ok", "wiki {URL} ok"}},
                   {"example.com", "https://", "not a url: http//x"}},
        EntityCase{"MAC_ADDRESS",
                   {{"mac 00:1A:2B:3C:4D:5E.", "mac {MAC_ADDRESS}."},
                    {"00-1a-2b-3c-4d-5e", "{MAC_ADDRESS}"}},
                   {"00:1A:2B:3C:4D", "00:1A:2B:3C:4D:5E:6F", "00:1A-2B:3C:4D:5E", "12:30:45"}}),
    [](const auto& info) { return std::string(info.param.entity); });

TEST(Guardrail, BlockActionBlocksAndReportsIt) {
  auto g = pii("CREDIT_DEBIT_CARD_NUMBER", GuardrailAction::kBlock);
  Outcome o = g->apply("pay with 4111 1111 1111 1111 please", Direction::kInput);
  EXPECT_EQ(o.action, Action::kBlocked);
  EXPECT_EQ(o.text, "Sorry, this request was blocked by policy.");
  ASSERT_EQ(o.interventions.size(), 1U);
  EXPECT_EQ(o.interventions[0].action, Action::kBlocked);
  EXPECT_EQ(g->apply("pay with cash", Direction::kInput).action, Action::kNone);
}

TEST(Guardrail, WordsAreWholeWordsCaseInsensitive) {
  GuardrailSettings s;
  s.name = "w";
  s.words = {"project-falcon", "Secret Sauce", "kill"};
  s.blocked_message = "no";
  auto g = make(s);
  for (const char* text : {"Tell me about PROJECT-FALCON.", "project-falcon", "the secret sauce!",
                           "(Kill)", "about project-falcon's budget", "SECRET SAUCE"}) {
    Outcome o = g->apply(text, Direction::kInput);
    EXPECT_EQ(o.action, Action::kBlocked) << text;
    EXPECT_EQ(o.text, "no");
  }
  for (const char* text : {"project-falcons", "myproject-falcon", "skill", "killer", "secret-sauce",
                           "project falcon", "kill_switch", "killé"}) {
    EXPECT_EQ(g->apply(text, Direction::kInput).action, Action::kNone) << text;
  }
  Outcome o = g->apply("kill the project-falcon and kill", Direction::kInput);
  ASSERT_EQ(o.interventions.size(), 2U);
  EXPECT_EQ(o.interventions[0], (Intervention{PolicyType::kWord, "kill", Action::kBlocked, 2}));
  EXPECT_EQ(o.interventions[1],
            (Intervention{PolicyType::kWord, "project-falcon", Action::kBlocked, 1}));
}

TEST(Guardrail, UserRegexesAnonymizeOrBlock) {
  GuardrailSettings s;
  s.name = "r";
  s.regexes = {{"ticket", "TKT-[0-9]+", GuardrailAction::kAnonymize},
               {"codename", "(?i)operation [a-z]+", GuardrailAction::kBlock}};
  auto g = make(s);
  Outcome o = g->apply("see TKT-123 and TKT-9.", Direction::kOutput);
  EXPECT_EQ(o.action, Action::kAnonymized);
  EXPECT_EQ(o.text, "see {ticket} and {ticket}.");
  EXPECT_EQ(o.interventions,
            (std::vector<Intervention>{{PolicyType::kRegex, "ticket", Action::kAnonymized, 2}}));
  EXPECT_EQ(g->apply("TKT-", Direction::kOutput).action, Action::kNone);
  Outcome b = g->apply("about Operation Sunrise today", Direction::kOutput);
  EXPECT_EQ(b.action, Action::kBlocked);
}

TEST(Guardrail, BadRegexFailsNamingGuardrailRegexAndPattern) {
  GuardrailSettings s;
  s.name = "strict";
  s.regexes = {{"broken", "TKT-[0-9", GuardrailAction::kBlock}};
  auto g = Guardrail::compile(s);
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("strict"), std::string::npos);
  EXPECT_NE(g.error().message.find("broken"), std::string::npos);
  EXPECT_NE(g.error().message.find("TKT-[0-9"), std::string::npos);
  EXPECT_EQ(g.error().param, "guardrails.strict.regexes.broken");

  // A pattern that needs more memory than the cap does not compile either.
  s.regexes = {{"huge", "(((a{100}){100}){100})", GuardrailAction::kBlock}};
  EXPECT_FALSE(Guardrail::compile(s));
  s.regexes = {{"empty", "", GuardrailAction::kBlock}};
  EXPECT_FALSE(Guardrail::compile(s));
}

TEST(Guardrail, DirectionsAndUndetectedEntities) {
  GuardrailSettings s;
  s.name = "in-only";
  s.apply_output = false;
  s.pii = {{"EMAIL", GuardrailAction::kAnonymize}, {"NAME", GuardrailAction::kAnonymize}};
  auto g = make(s);
  EXPECT_EQ(g->apply("a@b.io", Direction::kInput).text, "{EMAIL}");
  EXPECT_EQ(g->apply("a@b.io", Direction::kOutput).text, "a@b.io");
  EXPECT_EQ(g->undetectedEntities(), std::vector<std::string>{"NAME"});
  s.pii = {{"NOT_AN_ENTITY", GuardrailAction::kAnonymize}};
  EXPECT_FALSE(Guardrail::compile(s));
}

TEST(Guardrail, OverlapsPreferTheLeftmostLongestMatch) {
  GuardrailSettings s;
  s.name = "all";
  for (const char* e : {"EMAIL", "URL", "IP_ADDRESS", "PHONE", "CREDIT_DEBIT_CARD_NUMBER"}) {
    s.pii.push_back({e, GuardrailAction::kAnonymize});
  }
  auto g = make(s);
  EXPECT_EQ(anonymize(*g, "https://user@example.com/x and 10.0.0.1"), "{URL} and {IP_ADDRESS}");
  EXPECT_EQ(anonymize(*g, "http://10.0.0.1:8080/ mail a@b.io"), "{URL} mail {EMAIL}");
  EXPECT_EQ(anonymize(*g, "4111 1111 1111 1111"), "{CREDIT_DEBIT_CARD_NUMBER}");
}

TEST(GuardrailSet, CompilesAllAndFindsByName) {
  GuardrailSettings a;
  a.name = "a";
  GuardrailSettings b;
  b.name = "b";
  auto set = GuardrailSet::compile({a, b});
  ASSERT_TRUE(set);
  EXPECT_NE(set->find("b"), nullptr);
  EXPECT_EQ(set->find("c"), nullptr);
  EXPECT_FALSE(GuardrailSet::compile({a, a}));
}

}  // namespace
}  // namespace basalt::guardrails
