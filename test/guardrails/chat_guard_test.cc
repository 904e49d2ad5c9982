#include "basalt/guardrails/chat_guard.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace basalt::guardrails {
namespace {

using canonical::BlockType;
using canonical::ChatRequest;
using canonical::ChatResponse;
using canonical::DeltaType;
using canonical::StreamEvent;
using canonical::TextBlock;
using config::GuardrailAction;

std::unique_ptr<const Guardrail> guardrail(bool input = true, bool output = true) {
  config::GuardrailSettings s;
  s.name = "pii";
  s.apply_input = input;
  s.apply_output = output;
  s.pii = {{"CREDIT_DEBIT_CARD_NUMBER", GuardrailAction::kBlock},
           {"EMAIL", GuardrailAction::kAnonymize}};
  s.blocked_message = "Blocked by policy.";
  auto g = Guardrail::compile(s);
  EXPECT_TRUE(g);
  return std::move(*g);
}

const std::string& textOf(const canonical::ContentBlock& b) {
  return std::get<TextBlock>(b).text;
}

ChatRequest request(std::string user_text) {
  ChatRequest r;
  r.system.emplace_back(TextBlock{"Reply to ops@example.com."});
  canonical::Message m;
  m.content.emplace_back(TextBlock{std::move(user_text)});
  canonical::ToolResultBlock tr;
  tr.content.emplace_back(TextBlock{"tool saw bob@example.com"});
  m.content.emplace_back(std::move(tr));
  r.messages.push_back(std::move(m));
  return r;
}

TEST(ChatGuard, RequestTextsAreAnonymizedInPlace) {
  auto g = guardrail();
  ChatRequest r = request("I am alice@example.com and carol@example.org");
  Verdict v = guardRequest(*g, r);
  EXPECT_EQ(v.action, Action::kAnonymized);
  EXPECT_EQ(v.interventions,
            (std::vector<Intervention>{{PolicyType::kPii, "EMAIL", Action::kAnonymized, 3}}));
  EXPECT_EQ(textOf(r.system[0]), "Reply to {EMAIL}.");
  EXPECT_EQ(textOf(r.messages[0].content[0]), "I am {EMAIL} and {EMAIL}");
  // Tool results are not evaluated (Bedrock semantics).
  const auto& tr = std::get<canonical::ToolResultBlock>(r.messages[0].content[1]);
  EXPECT_EQ(std::get<TextBlock>(tr.content[0]).text, "tool saw bob@example.com");
}

TEST(ChatGuard, BlockedRequestIsLeftUntouched) {
  auto g = guardrail();
  ChatRequest r = request("card 4111 1111 1111 1111");
  Verdict v = guardRequest(*g, r);
  EXPECT_TRUE(v.blocked());
  EXPECT_EQ(textOf(r.system[0]), "Reply to ops@example.com.");
  EXPECT_EQ(textOf(r.messages[0].content[0]), "card 4111 1111 1111 1111");
  // Output-only guardrails ignore requests.
  auto out_only = guardrail(false, true);
  EXPECT_EQ(guardRequest(*out_only, r).action, Action::kNone);
}

TEST(ChatGuard, ResponseBlockReplacesContent) {
  auto g = guardrail();
  ChatResponse resp;
  resp.content.emplace_back(TextBlock{"Mail me at x@example.com"});
  resp.stop_reason = canonical::StopReason::kEndTurn;
  EXPECT_EQ(guardResponse(*g, resp).action, Action::kAnonymized);
  EXPECT_EQ(textOf(resp.content[0]), "Mail me at {EMAIL}");

  resp.content.emplace_back(TextBlock{"and the card is 4111-1111-1111-1111"});
  resp.usage.output_tokens = 12;
  EXPECT_TRUE(guardResponse(*g, resp).blocked());
  ASSERT_EQ(resp.content.size(), 1U);
  EXPECT_EQ(textOf(resp.content[0]), "Blocked by policy.");
  EXPECT_EQ(resp.stop_reason, canonical::StopReason::kContentFilter);
  EXPECT_EQ(resp.usage.output_tokens, 12);
}

std::vector<StreamEvent> upstream(const std::vector<std::string>& text_deltas) {
  std::vector<StreamEvent> ev;
  ev.push_back(StreamEvent::messageStart("msg_1", "m"));
  ev.push_back(StreamEvent::blockStart(0, BlockType::kReasoning));
  ev.push_back(StreamEvent::delta(0, DeltaType::kReasoningText, "thinking about a@b.io"));
  ev.push_back(StreamEvent::blockStop(0));
  ev.push_back(StreamEvent::blockStart(1, BlockType::kText));
  for (const auto& d : text_deltas) ev.push_back(StreamEvent::delta(1, DeltaType::kText, d));
  ev.push_back(StreamEvent::blockStop(1));
  ev.push_back(StreamEvent::usageEvent(canonical::Usage{10, 20}));
  ev.push_back(StreamEvent::messageStop(canonical::StopReason::kEndTurn));
  return ev;
}

ChatResponse runStream(const Guardrail& g, const std::vector<std::string>& deltas,
                       GuardedStream& gs) {
  canonical::StreamAccumulator acc;
  std::vector<StreamEvent> out;
  for (auto& e : upstream(deltas)) {
    if (gs.blocked()) break;
    gs.process(std::move(e), out);
  }
  for (const auto& e : out) acc.add(e);
  EXPECT_TRUE(acc.finished());
  return acc.take();
}

TEST(GuardedStream, StreamedTextMatchesTheNonStreamResult) {
  auto g = guardrail();
  const std::string text = "Reach me at alice@example.com or bob@example.org, thanks.";
  ChatResponse whole;
  whole.content.emplace_back(TextBlock{text});
  Verdict v = guardResponse(*g, whole);
  for (std::size_t i = 0; i <= text.size(); ++i) {
    for (std::size_t j = i; j <= text.size(); j += 7) {
      GuardedStream gs(*g);
      ChatResponse r =
          runStream(*g, {text.substr(0, i), text.substr(i, j - i), text.substr(j)}, gs);
      ASSERT_EQ(r.content.size(), 2U);
      // Reasoning passes unchanged; the text block is masked exactly like the whole response.
      EXPECT_EQ(std::get<canonical::ReasoningBlock>(r.content[0]).text, "thinking about a@b.io");
      ASSERT_EQ(textOf(r.content[1]), textOf(whole.content[0])) << i << "," << j;
      EXPECT_EQ(r.stop_reason, canonical::StopReason::kEndTurn);
      EXPECT_EQ(gs.interventions(), v.interventions);
      EXPECT_FALSE(gs.blocked());
    }
  }
}

TEST(GuardedStream, BlockEndsTheStreamWithContentFilter) {
  auto g = guardrail();
  GuardedStream gs(*g);
  ChatResponse r = runStream(*g, {"Sure, the number is 4111 ", "1111 1111 1111", " as asked."}, gs);
  EXPECT_TRUE(gs.blocked());
  EXPECT_EQ(r.stop_reason, canonical::StopReason::kContentFilter);
  const std::string& t = textOf(r.content[1]);
  EXPECT_EQ(t.find("4111"), std::string::npos) << t;
  EXPECT_TRUE(t.ends_with("Blocked by policy.")) << t;
  ASSERT_EQ(gs.interventions().size(), 1U);
  EXPECT_EQ(gs.interventions()[0].action, Action::kBlocked);
}

TEST(GuardedStream, InactiveGuardrailPassesEverything) {
  auto g = guardrail(true, false);
  GuardedStream gs(*g);
  ChatResponse r = runStream(*g, {"card 4111 1111 1111 1111 mail a@b.io"}, gs);
  EXPECT_EQ(textOf(r.content[1]), "card 4111 1111 1111 1111 mail a@b.io");
  EXPECT_FALSE(gs.blocked());
}

}  // namespace
}  // namespace basalt::guardrails
