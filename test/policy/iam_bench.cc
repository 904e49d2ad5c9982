// Microbenchmark: evaluating a principal's policies (not a ctest test; run build-*/policy_bench).
#include "basalt/policy/evaluator.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace basalt::policy {
namespace {

/// Five policies of the shapes a real principal carries: a model allow-list, guardrail
/// enforcement, a network/TLS/time fence, a tag-scoped allow with a policy variable and
/// read-only admin rights. 11 statements, 8 of them with conditions.
const char* const kPolicies[] = {
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"AllowInference","Effect":"Allow",
       "Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],
       "Resource":["arn:aws:bedrock:us-east-1::foundation-model/anthropic.*",
                   "arn:aws:bedrock:us-east-1::foundation-model/meta.*"]},
      {"Sid":"AllowListing","Effect":"Allow","Action":"bedrock:ListFoundationModels",
       "Resource":"*"}]})",
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"InvokeWithGuardrail","Effect":"Allow","Action":"bedrock:InvokeModel*",
       "Resource":"arn:aws:bedrock:*::foundation-model/*",
       "Condition":{"StringEquals":{"bedrock:GuardrailIdentifier":
          "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-abc:1"}}},
      {"Sid":"DenyWithoutGuardrail","Effect":"Deny","Action":"bedrock:InvokeModel*",
       "Resource":"*","Condition":{"StringNotEquals":{"bedrock:GuardrailIdentifier":
          "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-abc:1"}}}]})",
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"CorpNetworkOnly","Effect":"Deny","Action":"*","Resource":"*",
       "Condition":{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}},
      {"Sid":"TlsOnly","Effect":"Deny","Action":"*","Resource":"*",
       "Condition":{"Bool":{"aws:SecureTransport":"false"}}},
      {"Sid":"UntilEndOfYear","Effect":"Deny","Action":"*","Resource":"*",
       "Condition":{"DateGreaterThan":{"aws:CurrentTime":"2026-12-31T23:59:59Z"}}}]})",
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"ByTeam","Effect":"Allow","Action":"bedrock:InvokeModel*",
       "Resource":"arn:aws:bedrock:*::foundation-model/${aws:PrincipalTag/model-family}.*",
       "Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["team-*","cost-*"]}}},
      {"Sid":"OwnAgents","Effect":"Allow","Action":"agents:*",
       "Resource":"arn:basalt:agents:*:*:agent/${aws:username}/*"}]})",
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"ReadOnlyAdmin","Effect":"Allow","Action":["basalt:Get*","basalt:List*"],
       "Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
      {"Sid":"NoKeyAdmin","Effect":"Deny","Action":"basalt:*Key*","Resource":"*"}]})",
};

std::vector<CompiledPolicy> compileAll() {
  std::vector<CompiledPolicy> out;
  int i = 0;
  for (const char* doc : kPolicies) {
    auto r = CompiledPolicy::compile("policy-" + std::to_string(i++), doc);
    if (!r) {
      std::fprintf(stderr, "bench policy does not compile: %s\n", r.error().message.c_str());
      std::abort();
    }
    out.push_back(std::move(*r));
  }
  return out;
}

RequestContext typicalContext(std::string action, std::string resource) {
  RequestContext ctx(std::move(action), std::move(resource));
  ctx.set("aws:username", "alice");
  ctx.set("aws:userid", "AIDAEXAMPLE");
  ctx.set("aws:PrincipalArn", "arn:basalt:iam::000000000000:user/alice");
  ctx.set("aws:PrincipalType", "User");
  ctx.set("aws:PrincipalTag/model-family", "anthropic");
  ctx.set("aws:PrincipalTag/team", "ml");
  ctx.setValues("aws:TagKeys", {"team-ml", "cost-center"});
  ctx.set("aws:SourceIp", "203.0.113.10");
  ctx.set("aws:SecureTransport", "true");
  ctx.set("aws:RequestedRegion", "us-east-1");
  ctx.set("aws:CurrentTime", "2026-11-26T07:00:00Z");
  ctx.set("aws:EpochTime", "1795676400");
  ctx.set("bedrock:GuardrailIdentifier",
          "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-abc:1");
  return ctx;
}

void runEvaluate(benchmark::State& state, const RequestContext& ctx, Effect expected) {
  const std::vector<CompiledPolicy> policies = compileAll();
  std::vector<const CompiledPolicy*> ptrs;
  for (const auto& p : policies) ptrs.push_back(&p);
  if (evaluate(ptrs, ctx).effect != expected) {
    state.SkipWithError("unexpected decision");
    return;
  }
  for (auto _ : state) {
    Decision d = evaluate(ptrs, ctx);
    benchmark::DoNotOptimize(d);
  }
}

void BM_EvaluateAllow(benchmark::State& state) {
  runEvaluate(state,
              typicalContext("bedrock:InvokeModelWithResponseStream",
                             "arn:aws:bedrock:us-east-1::foundation-model/"
                             "anthropic.claude-3-5-sonnet-20240620-v1:0"),
              Effect::kAllow);
}

void BM_EvaluateImplicitDeny(benchmark::State& state) {
  // Nothing matches: every statement of every policy is examined.
  runEvaluate(state,
              typicalContext("bedrock:InvokeModel",
                             "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/pm-1"),
              Effect::kImplicitDeny);
}

void BM_EvaluateExplicitDeny(benchmark::State& state) {
  RequestContext ctx = typicalContext(
      "bedrock:InvokeModel",
      "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0");
  ctx.set("aws:SourceIp", "198.51.100.1");
  runEvaluate(state, ctx, Effect::kExplicitDeny);
}

void BM_CompileFivePolicies(benchmark::State& state) {
  for (auto _ : state) {
    auto policies = compileAll();
    benchmark::DoNotOptimize(policies);
  }
}

BENCHMARK(BM_EvaluateAllow);
BENCHMARK(BM_EvaluateImplicitDeny);
BENCHMARK(BM_EvaluateExplicitDeny);
BENCHMARK(BM_CompileFivePolicies);

}  // namespace
}  // namespace basalt::policy

BENCHMARK_MAIN();
