// Policies written for AWS Bedrock (reference/bedrock.md §5.5) evaluated unchanged.
#include "basalt/policy/evaluator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace basalt::policy {
namespace {

constexpr std::string_view kClaude = "anthropic.claude-3-5-sonnet-20240620-v1:0";

std::string modelArn(std::string_view region, std::string_view model) {
  return "arn:aws:bedrock:" + std::string(region) + "::foundation-model/" + std::string(model);
}

class BedrockPolicy : public ::testing::Test {
 protected:
  void add(std::string name, std::string_view doc) {
    auto r = CompiledPolicy::compile(std::move(name), doc);
    ASSERT_TRUE(r) << r.error().message;
    policies_.push_back(std::make_unique<CompiledPolicy>(std::move(*r)));
  }
  Decision decide(const RequestContext& ctx) const {
    std::vector<const CompiledPolicy*> ptrs;
    for (const auto& p : policies_) ptrs.push_back(p.get());
    return evaluate(ptrs, ctx);
  }
  Effect effect(std::string action, std::string resource) const {
    return decide(RequestContext(std::move(action), std::move(resource))).effect;
  }

  std::vector<std::unique_ptr<CompiledPolicy>> policies_;
};

TEST_F(BedrockPolicy, InvokeAnthropicModelsInOneRegion) {
  add("invoke-anthropic", R"({
    "Version": "2012-10-17",
    "Statement": [{
      "Sid": "AllowInference",
      "Effect": "Allow",
      "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
      "Resource": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.*"
    }, {
      "Sid": "AllowListing",
      "Effect": "Allow",
      "Action": "bedrock:ListFoundationModels",
      "Resource": "*"
    }]})");
  EXPECT_EQ(effect("bedrock:InvokeModel", modelArn("us-east-1", kClaude)), Effect::kAllow);
  EXPECT_EQ(effect("bedrock:InvokeModelWithResponseStream", modelArn("us-east-1", kClaude)),
            Effect::kAllow);
  EXPECT_EQ(effect("bedrock:InvokeModel", modelArn("us-west-2", kClaude)), Effect::kImplicitDeny);
  EXPECT_EQ(effect("bedrock:InvokeModel", modelArn("us-east-1", "meta.llama3-70b-instruct-v1:0")),
            Effect::kImplicitDeny);
  EXPECT_EQ(effect("bedrock:ListFoundationModels", "*"), Effect::kAllow);
  EXPECT_EQ(effect("bedrock:CountTokens", modelArn("us-east-1", kClaude)), Effect::kImplicitDeny);
  const Decision d = decide(RequestContext("bedrock:ListFoundationModels", "*"));
  EXPECT_EQ(d.policy_name, "invoke-anthropic");
  EXPECT_EQ(d.sid, "AllowListing");
}

TEST_F(BedrockPolicy, CrossRegionInferenceProfile) {
  // The pattern AWS documents: InvokeModel on the profile, and on the foundation model in every
  // destination region only when reached through that profile.
  add("cris", R"({
    "Version": "2012-10-17",
    "Statement": [
      {"Sid": "Profile", "Effect": "Allow", "Action": "bedrock:InvokeModel*",
       "Resource": "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.*"},
      {"Sid": "ModelsViaProfile", "Effect": "Allow", "Action": "bedrock:InvokeModel*",
       "Resource": "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
       "Condition": {"StringLike": {"bedrock:InferenceProfileArn":
         "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.*"}}}]})");
  const std::string profile =
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + std::string(kClaude);
  EXPECT_EQ(effect("bedrock:InvokeModel", profile), Effect::kAllow);

  RequestContext direct("bedrock:InvokeModel", modelArn("us-west-2", kClaude));
  EXPECT_EQ(decide(direct).effect, Effect::kImplicitDeny);  // key absent on direct calls

  RequestContext routed("bedrock:InvokeModel", modelArn("us-west-2", kClaude));
  routed.set("bedrock:InferenceProfileArn", profile);
  const Decision d = decide(routed);
  EXPECT_EQ(d.effect, Effect::kAllow);
  EXPECT_EQ(d.sid, "ModelsViaProfile");
}

TEST_F(BedrockPolicy, EnforceAGuardrail) {
  // Allow only with the guardrail, and deny anything else (StringNotEquals on an absent key
  // holds, so calls without a guardrail are explicitly denied).
  add("guardrail", R"({
    "Version": "2012-10-17",
    "Statement": [
      {"Sid": "InvokeWithGuardrail", "Effect": "Allow",
       "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
       "Resource": "arn:aws:bedrock:*::foundation-model/*",
       "Condition": {"StringEquals": {"bedrock:GuardrailIdentifier":
          "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-abc:1"}}},
      {"Sid": "DenyWithoutGuardrail", "Effect": "Deny",
       "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
       "Resource": "*",
       "Condition": {"StringNotEquals": {"bedrock:GuardrailIdentifier":
          "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-abc:1"}}}]})");
  RequestContext ctx("bedrock:InvokeModel", modelArn("us-east-1", kClaude));
  Decision d = decide(ctx);
  EXPECT_EQ(d.effect, Effect::kExplicitDeny);
  EXPECT_EQ(d.sid, "DenyWithoutGuardrail");
  EXPECT_EQ(d.statement_index, 1);
  ctx.set("bedrock:GuardrailIdentifier",
          "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-abc:2");
  EXPECT_EQ(decide(ctx).effect, Effect::kExplicitDeny);
  ctx.set("bedrock:GuardrailIdentifier",
          "arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-abc:1");
  EXPECT_EQ(decide(ctx).effect, Effect::kAllow);
}

TEST_F(BedrockPolicy, BearerTokensShortTermOnly) {
  add("bedrock-full", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"bedrock:*","Resource":"*"},
      {"Sid":"NoLongTermKeys","Effect":"Deny","Action":"bedrock:CallWithBearerToken",
       "Resource":"*","Condition":{"StringEquals":{"bedrock:bearerTokenType":"LONG_TERM"}}}]})");
  RequestContext ctx("bedrock:CallWithBearerToken", "*");
  ctx.set("bedrock:BearerTokenType", "SHORT_TERM");
  EXPECT_EQ(decide(ctx).effect, Effect::kAllow);
  ctx.set("bedrock:BearerTokenType", "LONG_TERM");
  EXPECT_EQ(decide(ctx).effect, Effect::kExplicitDeny);
}

TEST_F(BedrockPolicy, NetworkTransportAndTimeFence) {
  add("invoke", R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"bedrock:InvokeModel*","Resource":"arn:aws:bedrock:*::foundation-model/*"}})");
  add("fence", R"({"Version":"2012-10-17","Statement":[
      {"Sid":"CorpNetworkOnly","Effect":"Deny","Action":"*","Resource":"*",
       "Condition":{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}},
      {"Sid":"TlsOnly","Effect":"Deny","Action":"*","Resource":"*",
       "Condition":{"Bool":{"aws:SecureTransport":"false"}}},
      {"Sid":"UntilEndOfYear","Effect":"Deny","Action":"*","Resource":"*",
       "Condition":{"DateGreaterThan":{"aws:CurrentTime":"2026-12-31T23:59:59Z"}}}]})");
  RequestContext ctx("bedrock:InvokeModel", modelArn("eu-central-1", kClaude));
  ctx.set("aws:SourceIp", "203.0.113.10");
  ctx.set("aws:SecureTransport", "true");
  ctx.setCurrentTime(std::chrono::system_clock::time_point(std::chrono::seconds(1795676400)));
  EXPECT_EQ(decide(ctx).effect, Effect::kAllow);

  ctx.set("aws:SourceIp", "198.51.100.1");
  EXPECT_EQ(decide(ctx).sid, "CorpNetworkOnly");
  ctx.set("aws:SourceIp", "2001:db8::42");
  EXPECT_EQ(decide(ctx).effect, Effect::kAllow);

  ctx.set("aws:SecureTransport", "false");
  EXPECT_EQ(decide(ctx).sid, "TlsOnly");
  ctx.set("aws:SecureTransport", "true");

  ctx.set("aws:CurrentTime", "2027-01-01T00:00:00Z");
  EXPECT_EQ(decide(ctx).sid, "UntilEndOfYear");
}

TEST_F(BedrockPolicy, PerUserTagScopedModels) {
  // Teams are allowed the model families listed in their principal tag; a user without the tag
  // gets nothing.
  add("by-team", R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"bedrock:InvokeModel*",
      "Resource":"arn:aws:bedrock:*::foundation-model/${aws:PrincipalTag/model-family}.*"}})");
  RequestContext ctx("bedrock:InvokeModelWithResponseStream", modelArn("us-east-1", kClaude));
  EXPECT_EQ(decide(ctx).effect, Effect::kImplicitDeny);
  ctx.set("aws:PrincipalTag/Model-Family", "anthropic");
  EXPECT_EQ(decide(ctx).effect, Effect::kAllow);
  ctx.set("aws:PrincipalTag/Model-Family", "meta");
  EXPECT_EQ(decide(ctx).effect, Effect::kImplicitDeny);
}

TEST_F(BedrockPolicy, AccountScopedVariablesAsInManagedPolicies) {
  // Shapes used by AWS managed policies: a variable inside an S3-style ARN and a condition that
  // compares one context key with another through a variable.
  add("studio", R"({"Version" : "2012-10-17", "Statement" : [
      {"Sid" : "Buckets", "Effect" : "Allow", "Action" : ["s3:GetObject", "s3:PutObject"],
       "Resource" : "arn:aws:s3:::studio-${aws:PrincipalAccount}-*",
       "Condition" : {"StringEquals" : {"aws:ResourceAccount" : "${aws:PrincipalAccount}"}}}]})");
  RequestContext ctx("s3:GetObject", "arn:aws:s3:::studio-111122223333-data/file.txt");
  ctx.set("aws:PrincipalAccount", "111122223333");
  ctx.set("aws:ResourceAccount", "111122223333");
  EXPECT_EQ(decide(ctx).effect, Effect::kAllow);
  ctx.set("aws:ResourceAccount", "444455556666");
  EXPECT_EQ(decide(ctx).effect, Effect::kImplicitDeny);
  ctx.set("aws:ResourceAccount", "111122223333");
  ctx.setResource("arn:aws:s3:::studio-444455556666-data/file.txt");
  EXPECT_EQ(decide(ctx).effect, Effect::kImplicitDeny);
}

TEST_F(BedrockPolicy, AdminActionsAreSeparate) {
  add("ops", R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":["basalt:Get*","basalt:List*"],"Resource":"*"},
      {"Effect":"Allow","Action":"agents:*","Resource":"*"}]})");
  EXPECT_EQ(effect("basalt:ListPrincipals", "*"), Effect::kAllow);
  EXPECT_EQ(effect("basalt:CreateKey", "*"), Effect::kImplicitDeny);
  EXPECT_EQ(effect("agents:CreateSession", "*"), Effect::kAllow);
  EXPECT_EQ(effect("bedrock:InvokeModel", modelArn("us-east-1", kClaude)), Effect::kImplicitDeny);
}

}  // namespace
}  // namespace basalt::policy
