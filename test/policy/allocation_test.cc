// Evaluation must not touch the heap: this file replaces the global allocation functions for the
// whole policy_test binary and counts calls made while evaluate() runs.
#include "basalt/policy/evaluator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace basalt::policy {
namespace {

constexpr std::string_view kPolicy = R"({"Version":"2012-10-17","Statement":[
  {"Sid":"Fence","Effect":"Deny","Action":"*","Resource":"*",
   "Condition":{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]},
                "DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}},
  {"Sid":"NoTls","Effect":"Deny","Action":"*","Resource":"*",
   "Condition":{"BoolIfExists":{"aws:SecureTransport":"false"}}},
  {"Sid":"Team","Effect":"Allow","Action":["bedrock:InvokeModel*","bedrock:Converse*"],
   "Resource":["arn:aws:bedrock:us-?ast-1::foundation-model/${aws:PrincipalTag/family}.*"],
   "Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["team-*","cost-*"]},
                "StringEqualsIgnoreCase":{"aws:PrincipalTag/owner":"${aws:username}"},
                "NumericLessThanEquals":{"bedrock:MaxTokens":4096},
                "ArnLike":{"bedrock:GuardrailIdentifier":"arn:aws:bedrock:*:*:guardrail/*"}}}]})";

RequestContext makeContext() {
  RequestContext ctx("bedrock:InvokeModelWithResponseStream",
                     "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2:1");
  ctx.set("aws:SourceIp", "203.0.113.9");
  ctx.set("aws:CurrentTime", "2026-11-26T07:00:00Z");
  ctx.set("aws:SecureTransport", "true");
  ctx.set("aws:PrincipalTag/family", "anthropic");
  ctx.set("aws:PrincipalTag/owner", "Alice");
  ctx.set("aws:username", "alice");
  ctx.set("bedrock:MaxTokens", "1024");
  ctx.set("bedrock:GuardrailIdentifier", "arn:aws:bedrock:us-east-1:1:guardrail/g:1");
  ctx.setValues("aws:TagKeys", {"team-ml", "cost-center"});
  return ctx;
}

TEST(Evaluate, DoesNotAllocate) {
  const long before_compile = g_allocations.load();
  auto policy = CompiledPolicy::compile("p", kPolicy);
  EXPECT_GT(g_allocations.load() - before_compile, 0);  // the counter does see allocations
  ASSERT_TRUE(policy) << policy.error().message;
  const std::vector<const CompiledPolicy*> policies = {&*policy};
  RequestContext ctx = makeContext();

  const long before = g_allocations.load();
  const Decision allow = evaluate(policies, ctx);
  const long after = g_allocations.load();
  EXPECT_EQ(allow.sid, "Team");
  EXPECT_EQ(after - before, 0);

  ctx.set("aws:SourceIp", "198.51.100.1");
  ctx.set("aws:CurrentTime", "2031-01-01T00:00:00Z");
  const long before_deny = g_allocations.load();
  const Decision deny = evaluate(policies, ctx);
  const long after_deny = g_allocations.load();
  EXPECT_EQ(deny.sid, "Fence");
  EXPECT_EQ(after_deny - before_deny, 0);
}

TEST(Evaluate, ConcurrentReadersAgree) {
  auto policy = CompiledPolicy::compile("p", kPolicy);
  ASSERT_TRUE(policy);
  const std::vector<const CompiledPolicy*> policies = {&*policy};
  const RequestContext allowed = makeContext();
  RequestContext denied = makeContext();
  denied.set("aws:SecureTransport", "false");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (!evaluate(policies, allowed).allowed()) wrong.fetch_add(1);
        if (evaluate(policies, denied).sid != "NoTls") wrong.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace basalt::policy
