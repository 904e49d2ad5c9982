#include "basalt/policy/evaluator.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace basalt::policy {
namespace {

using Keys = std::vector<std::pair<std::string, std::vector<std::string>>>;

RequestContext makeContext(std::string action, std::string resource, const Keys& keys = {}) {
  RequestContext ctx(std::move(action), std::move(resource));
  for (const auto& [key, values] : keys) ctx.setValues(key, values);
  return ctx;
}

CompiledPolicy mustCompile(std::string name, std::string_view doc) {
  auto r = CompiledPolicy::compile(std::move(name), doc);
  EXPECT_TRUE(r) << (r ? "" : r.error().message) << "\n" << doc;
  if (!r)
    return *CompiledPolicy::compile("empty", R"({"Statement":{"Effect":"Deny",
      "Action":"none:none","Resource":"*"}})");
  return *r;
}

Decision decide(const std::vector<CompiledPolicy>& policies, const RequestContext& ctx) {
  std::vector<const CompiledPolicy*> ptrs;
  for (const CompiledPolicy& p : policies) ptrs.push_back(&p);
  return evaluate(ptrs, ctx);
}

Effect effectOf(std::string_view doc, const RequestContext& ctx) {
  return decide({mustCompile("p", doc)}, ctx).effect;
}

// ---- Condition operators: one row per (operator block, request keys) -> does it hold? -------

struct ConditionRow {
  const char* condition;  ///< the JSON object under "Condition"
  Keys keys;
  bool holds;
};

void PrintTo(const ConditionRow& row, std::ostream* os) {
  *os << row.condition << " with";
  for (const auto& [k, vs] : row.keys) {
    *os << ' ' << k << "=[";
    for (const auto& v : vs) *os << v << ',';
    *os << ']';
  }
}

class ConditionTable : public ::testing::TestWithParam<ConditionRow> {};

TEST_P(ConditionTable, Holds) {
  const ConditionRow& row = GetParam();
  const std::string doc = std::string(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"bedrock:InvokeModel","Resource":"*","Condition":)") +
                          row.condition + "}}";
  const RequestContext ctx = makeContext("bedrock:InvokeModel", "arn:aws:bedrock:x", row.keys);
  EXPECT_EQ(effectOf(doc, ctx), row.holds ? Effect::kAllow : Effect::kImplicitDeny);
}

const Keys kNoKeys;
Keys one(std::string k, std::string v) {
  return {{std::move(k), {std::move(v)}}};
}

INSTANTIATE_TEST_SUITE_P(
    String, ConditionTable,
    ::testing::Values(
        ConditionRow{R"({"StringEquals":{"aws:username":"alice"}})", one("aws:username", "alice"),
                     true},
        ConditionRow{R"({"StringEquals":{"aws:username":"alice"}})", one("aws:username", "bob"),
                     false},
        ConditionRow{R"({"StringEquals":{"aws:username":"alice"}})", one("aws:username", "ALICE"),
                     false},
        ConditionRow{R"({"StringEquals":{"aws:username":"alice"}})", kNoKeys, false},
        ConditionRow{R"({"StringEquals":{"aws:username":["bob","alice"]}})",
                     one("aws:username", "alice"), true},
        ConditionRow{R"({"StringEquals":{"AWS:UserName":"alice"}})", one("aws:USERNAME", "alice"),
                     true},
        ConditionRow{R"({"StringEquals":{"aws:username":"a*"}})", one("aws:username", "abc"),
                     false},
        ConditionRow{R"({"StringEquals":{"aws:username":"a*"}})", one("aws:username", "a*"), true},
        ConditionRow{R"({"StringNotEquals":{"aws:username":"alice"}})",
                     one("aws:username", "alice"), false},
        ConditionRow{R"({"StringNotEquals":{"aws:username":"alice"}})", one("aws:username", "bob"),
                     true},
        ConditionRow{R"({"StringNotEquals":{"aws:username":"alice"}})", kNoKeys, true},
        ConditionRow{R"({"StringNotEquals":{"aws:username":["a","b"]}})", one("aws:username", "b"),
                     false},
        ConditionRow{R"({"StringEqualsIgnoreCase":{"aws:username":"ALICE"}})",
                     one("aws:username", "alice"), true},
        ConditionRow{R"({"StringEqualsIgnoreCase":{"aws:username":"ALICE"}})",
                     one("aws:username", "alic"), false},
        ConditionRow{R"({"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}})",
                     one("aws:username", "Alice"), false},
        ConditionRow{R"({"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}})",
                     one("aws:username", "bob"), true},
        ConditionRow{R"({"StringLike":{"aws:username":"al*"}})", one("aws:username", "alice"),
                     true},
        ConditionRow{R"({"StringLike":{"aws:username":"al*"}})", one("aws:username", "Alice"),
                     false},
        ConditionRow{R"({"StringLike":{"aws:username":"a?ice"}})", one("aws:username", "alice"),
                     true},
        ConditionRow{R"({"StringLike":{"aws:username":"a?ice"}})", one("aws:username", "aice"),
                     false},
        ConditionRow{R"({"StringLike":{"aws:username":"al*"}})", kNoKeys, false},
        ConditionRow{R"({"StringNotLike":{"aws:username":"al*"}})", one("aws:username", "alice"),
                     false},
        ConditionRow{R"({"StringNotLike":{"aws:username":"al*"}})", one("aws:username", "bob"),
                     true},
        ConditionRow{R"({"StringNotLike":{"aws:username":"al*"}})", kNoKeys, true}));

INSTANTIATE_TEST_SUITE_P(
    Numeric, ConditionTable,
    ::testing::Values(
        ConditionRow{R"({"NumericLessThan":{"bedrock:MaxTokens":100}})",
                     one("bedrock:MaxTokens", "99"), true},
        ConditionRow{R"({"NumericLessThan":{"bedrock:MaxTokens":"100"}})",
                     one("bedrock:MaxTokens", "100"), false},
        ConditionRow{R"({"NumericLessThan":{"bedrock:MaxTokens":100}})",
                     one("bedrock:MaxTokens", "many"), false},
        ConditionRow{R"({"NumericLessThan":{"bedrock:MaxTokens":100}})", kNoKeys, false},
        ConditionRow{R"({"NumericLessThanEquals":{"bedrock:MaxTokens":100}})",
                     one("bedrock:MaxTokens", "100"), true},
        ConditionRow{R"({"NumericLessThanEquals":{"bedrock:MaxTokens":100}})",
                     one("bedrock:MaxTokens", "100.5"), false},
        ConditionRow{R"({"NumericGreaterThan":{"bedrock:MaxTokens":10}})",
                     one("bedrock:MaxTokens", "11"), true},
        ConditionRow{R"({"NumericGreaterThan":{"bedrock:MaxTokens":10}})",
                     one("bedrock:MaxTokens", "10"), false},
        ConditionRow{R"({"NumericGreaterThanEquals":{"bedrock:MaxTokens":10}})",
                     one("bedrock:MaxTokens", "10"), true},
        ConditionRow{R"({"NumericGreaterThanEquals":{"bedrock:MaxTokens":10}})",
                     one("bedrock:MaxTokens", "-3"), false},
        ConditionRow{R"({"NumericEquals":{"bedrock:MaxTokens":10}})",
                     one("bedrock:MaxTokens", "10.0"), true},
        ConditionRow{R"({"NumericEquals":{"bedrock:MaxTokens":[5, 10]}})",
                     one("bedrock:MaxTokens", "1e1"), true},
        ConditionRow{R"({"NumericEquals":{"bedrock:MaxTokens":10}})",
                     one("bedrock:MaxTokens", "11"), false},
        ConditionRow{R"({"NumericNotEquals":{"bedrock:MaxTokens":10}})",
                     one("bedrock:MaxTokens", "11"), true},
        ConditionRow{R"({"NumericNotEquals":{"bedrock:MaxTokens":10}})",
                     one("bedrock:MaxTokens", "10"), false},
        ConditionRow{R"({"NumericNotEquals":{"bedrock:MaxTokens":10}})", kNoKeys, true},
        // A value that is not a number never satisfies a numeric operator, negated or not.
        ConditionRow{R"({"NumericNotEquals":{"bedrock:MaxTokens":10}})",
                     one("bedrock:MaxTokens", "ten"), false}));

INSTANTIATE_TEST_SUITE_P(
    Date, ConditionTable,
    ::testing::Values(
        ConditionRow{R"({"DateLessThan":{"aws:CurrentTime":"2026-12-01T00:00:00Z"}})",
                     one("aws:CurrentTime", "2026-11-26T07:00:00Z"), true},
        ConditionRow{R"({"DateLessThan":{"aws:CurrentTime":"2026-12-01T00:00:00Z"}})",
                     one("aws:CurrentTime", "2027-01-01T00:00:00Z"), false},
        ConditionRow{R"({"DateLessThan":{"aws:CurrentTime":"2026-12-01"}})",
                     one("aws:CurrentTime", "1795676400"), true},
        ConditionRow{R"({"DateLessThan":{"aws:CurrentTime":"2026-12-01T00:00:00Z"}})",
                     one("aws:CurrentTime", "yesterday"), false},
        ConditionRow{R"({"DateLessThanEquals":{"aws:CurrentTime":"2026-11-26T07:00:00Z"}})",
                     one("aws:CurrentTime", "2026-11-26T07:00:00Z"), true},
        ConditionRow{R"({"DateGreaterThan":{"aws:CurrentTime":"2026-11-26T07:00:00Z"}})",
                     one("aws:CurrentTime", "2026-11-26T07:00:01Z"), true},
        ConditionRow{R"({"DateGreaterThan":{"aws:CurrentTime":"2026-11-26T07:00:00Z"}})",
                     one("aws:CurrentTime", "2026-11-26T07:00:00Z"), false},
        ConditionRow{R"({"DateGreaterThanEquals":{"aws:CurrentTime":1795676400}})",
                     one("aws:CurrentTime", "2026-11-26T07:00:00Z"), true},
        ConditionRow{R"({"DateEquals":{"aws:CurrentTime":"2026-11-26T07:00:00Z"}})",
                     one("aws:CurrentTime", "2026-11-26T08:00:00+01:00"), true},
        ConditionRow{R"({"DateEquals":{"aws:CurrentTime":"2026-11-26T07:00:00Z"}})",
                     one("aws:CurrentTime", "2026-11-26T07:00:00.500Z"), false},
        ConditionRow{R"({"DateNotEquals":{"aws:CurrentTime":"2026-11-26T07:00:00Z"}})",
                     one("aws:CurrentTime", "2026-11-26T07:00:01Z"), true},
        ConditionRow{R"({"DateNotEquals":{"aws:CurrentTime":"2026-11-26T07:00:00Z"}})", kNoKeys,
                     true}));

INSTANTIATE_TEST_SUITE_P(
    BoolBinaryIpArnNull, ConditionTable,
    ::testing::Values(
        ConditionRow{R"({"Bool":{"aws:SecureTransport":"true"}})",
                     one("aws:SecureTransport", "true"), true},
        ConditionRow{R"({"Bool":{"aws:SecureTransport":"true"}})",
                     one("aws:SecureTransport", "false"), false},
        ConditionRow{R"({"Bool":{"aws:SecureTransport":true}})", one("aws:SecureTransport", "TRUE"),
                     true},
        ConditionRow{R"({"Bool":{"aws:SecureTransport":false}})",
                     one("aws:SecureTransport", "false"), true},
        ConditionRow{R"({"Bool":{"aws:SecureTransport":"true"}})", kNoKeys, false},
        ConditionRow{R"({"Bool":{"aws:SecureTransport":"true"}})", one("aws:SecureTransport", "1"),
                     false},
        ConditionRow{R"({"BinaryEquals":{"aws:Blob":"QmluYXJ5"}})", one("aws:Blob", "QmluYXJ5"),
                     true},
        ConditionRow{R"({"BinaryEquals":{"aws:Blob":"QmluYXJ5"}})", one("aws:Blob", "qmluyxj5"),
                     false},
        ConditionRow{R"({"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}})",
                     one("aws:SourceIp", "10.1.2.3"), true},
        ConditionRow{R"({"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}})",
                     one("aws:SourceIp", "11.0.0.1"), false},
        ConditionRow{R"({"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}})",
                     one("aws:SourceIp", "2001:db8:ffff::1"), true},
        ConditionRow{R"({"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}})",
                     one("aws:SourceIp", "2001:db9::1"), false},
        ConditionRow{R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}})",
                     one("aws:SourceIp", "::ffff:10.9.9.9"), true},
        ConditionRow{R"({"IpAddress":{"aws:SourceIp":"203.0.113.7"}})",
                     one("aws:SourceIp", "203.0.113.7"), true},
        ConditionRow{R"({"IpAddress":{"aws:SourceIp":"203.0.113.7"}})",
                     one("aws:SourceIp", "203.0.113.8"), false},
        ConditionRow{R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}})",
                     one("aws:SourceIp", "not-an-ip"), false},
        ConditionRow{R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}})", kNoKeys, false},
        ConditionRow{R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})",
                     one("aws:SourceIp", "192.168.0.1"), true},
        ConditionRow{R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})",
                     one("aws:SourceIp", "10.0.0.1"), false},
        ConditionRow{R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})", kNoKeys, true},
        ConditionRow{
            R"({"ArnLike":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:us-*:123456789012:inference-profile/*"}})",
            one("bedrock:InferenceProfileArn",
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                "us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
            true},
        ConditionRow{
            R"({"ArnLike":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:us-*:123456789012:inference-profile/*"}})",
            one("bedrock:InferenceProfileArn",
                "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.x"),
            false},
        ConditionRow{
            R"({"ArnEquals":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:us-east-1:1:inference-profile/p"}})",
            one("bedrock:InferenceProfileArn", "arn:aws:bedrock:us-east-1:1:inference-profile/p"),
            true},
        ConditionRow{
            R"({"ArnEquals":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:us-east-1:1:inference-profile/p"}})",
            one("bedrock:InferenceProfileArn", "arn:aws:bedrock:us-east-1:1:inference-profile/P"),
            false},
        ConditionRow{
            R"({"ArnNotEquals":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:us-east-1:1:inference-profile/p"}})",
            one("bedrock:InferenceProfileArn", "arn:aws:bedrock:us-east-1:1:inference-profile/q"),
            true},
        ConditionRow{
            R"({"ArnNotLike":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:*:1:*"}})",
            one("bedrock:InferenceProfileArn", "arn:aws:bedrock:us-east-1:1:inference-profile/q"),
            false},
        ConditionRow{R"({"ArnNotLike":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:*:1:*"}})",
                     kNoKeys, true},
        ConditionRow{R"({"Null":{"aws:username":"true"}})", kNoKeys, true},
        ConditionRow{R"({"Null":{"aws:username":"true"}})", one("aws:username", "alice"), false},
        ConditionRow{R"({"Null":{"aws:username":false}})", one("aws:username", "alice"), true},
        ConditionRow{R"({"Null":{"aws:TagKeys":"true"}})", Keys{{"aws:TagKeys", {}}}, true}));

INSTANTIATE_TEST_SUITE_P(
    IfExistsAndSets, ConditionTable,
    ::testing::Values(
        ConditionRow{R"({"StringEqualsIfExists":{"aws:username":"alice"}})", kNoKeys, true},
        ConditionRow{R"({"StringEqualsIfExists":{"aws:username":"alice"}})",
                     one("aws:username", "bob"), false},
        ConditionRow{R"({"StringEqualsIfExists":{"aws:username":"alice"}})",
                     one("aws:username", "alice"), true},
        ConditionRow{R"({"NumericLessThanIfExists":{"bedrock:MaxTokens":100}})", kNoKeys, true},
        ConditionRow{R"({"NumericLessThanIfExists":{"bedrock:MaxTokens":100}})",
                     one("bedrock:MaxTokens", "500"), false},
        ConditionRow{R"({"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}})", kNoKeys, true},
        ConditionRow{R"({"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}})",
                     one("aws:SourceIp", "8.8.8.8"), false},
        ConditionRow{R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}})",
                     Keys{{"aws:TagKeys", {"c", "a"}}}, true},
        ConditionRow{R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}})",
                     Keys{{"aws:TagKeys", {"c"}}}, false},
        ConditionRow{R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}})", kNoKeys, false},
        ConditionRow{R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}})",
                     Keys{{"aws:TagKeys", {}}}, false},
        ConditionRow{R"({"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["a"]}})", kNoKeys,
                     true},
        ConditionRow{R"({"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}})",
                     Keys{{"aws:TagKeys", {"a", "b"}}}, true},
        ConditionRow{R"({"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}})",
                     Keys{{"aws:TagKeys", {"a", "c"}}}, false},
        ConditionRow{R"({"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}})", kNoKeys, true},
        ConditionRow{R"({"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}})",
                     Keys{{"aws:TagKeys", {}}}, true},
        ConditionRow{R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}})",
                     Keys{{"aws:TagKeys", {"a", "b"}}}, true},
        ConditionRow{R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":"a"}})",
                     Keys{{"aws:TagKeys", {"a"}}}, false},
        ConditionRow{R"({"ForAllValues:StringNotLike":{"aws:TagKeys":"sec*"}})",
                     Keys{{"aws:TagKeys", {"a", "b"}}}, true},
        ConditionRow{R"({"ForAllValues:StringNotLike":{"aws:TagKeys":"sec*"}})",
                     Keys{{"aws:TagKeys", {"a", "secret"}}}, false},
        ConditionRow{R"({"ForAnyValue:StringLike":{"aws:TagKeys":"team-*"}})",
                     Keys{{"aws:TagKeys", {"x", "team-ml"}}}, true},
        // Unqualified operators on a multi-valued key: positive = some value, negated = none.
        ConditionRow{R"({"StringEquals":{"aws:TagKeys":"a"}})", Keys{{"aws:TagKeys", {"b", "a"}}},
                     true},
        ConditionRow{R"({"StringNotEquals":{"aws:TagKeys":"a"}})",
                     Keys{{"aws:TagKeys", {"b", "a"}}}, false}));

INSTANTIATE_TEST_SUITE_P(
    KeysAndOperatorsAreAnded, ConditionTable,
    ::testing::Values(
        ConditionRow{R"({"StringEquals":{"aws:username":"alice","aws:PrincipalTag/team":"ml"}})",
                     Keys{{"aws:username", {"alice"}}, {"aws:PrincipalTag/Team", {"ml"}}}, true},
        ConditionRow{R"({"StringEquals":{"aws:username":"alice","aws:PrincipalTag/team":"ml"}})",
                     Keys{{"aws:username", {"alice"}}, {"aws:PrincipalTag/team", {"web"}}}, false},
        ConditionRow{
            R"({"StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"}})",
            Keys{{"aws:username", {"alice"}}, {"aws:SecureTransport", {"true"}}}, true},
        ConditionRow{
            R"({"StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"}})",
            Keys{{"aws:username", {"alice"}}, {"aws:SecureTransport", {"false"}}}, false},
        ConditionRow{R"({})", kNoKeys, true}));

// ---- Effects, NotAction / NotResource, case rules -------------------------------------------

TEST(Evaluate, NoPoliciesIsImplicitDeny) {
  const Decision d = evaluate({}, makeContext("bedrock:InvokeModel", "arn:aws:bedrock:x"));
  EXPECT_EQ(d.effect, Effect::kImplicitDeny);
  EXPECT_EQ(d.policy, nullptr);
  EXPECT_EQ(d.statement_index, -1);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(effectName(d.effect), "ImplicitDeny");
}

TEST(Evaluate, ExplicitDenyBeatsAllowAndReportsTheDecidingStatement) {
  const std::vector<CompiledPolicy> policies = {
      mustCompile("allow-all", R"({"Version":"2012-10-17","Statement":[
          {"Sid":"Everything","Effect":"Allow","Action":"*","Resource":"*"}]})"),
      mustCompile("no-opus", R"({"Version":"2012-10-17","Statement":[
          {"Sid":"Other","Effect":"Deny","Action":"bedrock:ListFoundationModels","Resource":"*"},
          {"Sid":"NoOpus","Effect":"Deny","Action":"bedrock:Invoke*",
           "Resource":"arn:aws:bedrock:*::foundation-model/anthropic.claude-opus*"}]})")};
  const Decision denied = decide(
      policies, makeContext("bedrock:InvokeModel",
                            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4"));
  EXPECT_EQ(denied.effect, Effect::kExplicitDeny);
  EXPECT_EQ(denied.policy, &policies[1]);
  EXPECT_EQ(denied.policy_name, "no-opus");
  EXPECT_EQ(denied.statement_index, 1);
  EXPECT_EQ(denied.sid, "NoOpus");
  EXPECT_EQ(effectName(denied.effect), "ExplicitDeny");

  const Decision allowed = decide(
      policies, makeContext("bedrock:InvokeModel",
                            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku"));
  EXPECT_TRUE(allowed.allowed());
  EXPECT_EQ(allowed.policy_name, "allow-all");
  EXPECT_EQ(allowed.statement_index, 0);
  EXPECT_EQ(allowed.sid, "Everything");
  EXPECT_EQ(effectName(allowed.effect), "Allow");
}

TEST(Evaluate, FirstMatchingAllowDecidesAndNullEntriesAreSkipped) {
  const CompiledPolicy a = mustCompile("a", R"({"Statement":[
      {"Effect":"Allow","Action":"s3:*","Resource":"*"},
      {"Sid":"Second","Effect":"Allow","Action":"bedrock:*","Resource":"*"},
      {"Sid":"Third","Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}]})");
  const std::vector<const CompiledPolicy*> ptrs = {nullptr, &a};
  const Decision d = evaluate(ptrs, makeContext("bedrock:InvokeModel", "arn:aws:bedrock:x"));
  EXPECT_EQ(d.effect, Effect::kAllow);
  EXPECT_EQ(d.policy, &a);
  EXPECT_EQ(d.statement_index, 1);
  EXPECT_EQ(d.sid, "Second");
}

TEST(Evaluate, DenyLaterInTheListStillWins) {
  const std::vector<CompiledPolicy> policies = {
      mustCompile("allow",
                  R"({"Statement":{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}})"),
      mustCompile("deny",
                  R"({"Statement":{"Effect":"Deny","Action":"bedrock:*","Resource":"*"}})")};
  EXPECT_EQ(decide(policies, makeContext("bedrock:InvokeModel", "arn:x")).effect,
            Effect::kExplicitDeny);
}

TEST(Evaluate, NotActionAllowsEverythingElse) {
  const auto doc = R"({"Statement":{"Effect":"Allow","NotAction":["basalt:*","iam:*"],
                      "Resource":"*"}})";
  EXPECT_EQ(effectOf(doc, makeContext("bedrock:InvokeModel", "arn:x")), Effect::kAllow);
  EXPECT_EQ(effectOf(doc, makeContext("basalt:CreateKey", "arn:x")), Effect::kImplicitDeny);
  EXPECT_EQ(effectOf(doc, makeContext("IAM:PassRole", "arn:x")), Effect::kImplicitDeny);
}

TEST(Evaluate, NotActionDenyDeniesEverythingElse) {
  const std::vector<CompiledPolicy> policies = {
      mustCompile("all", R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})"),
      mustCompile("only-invoke", R"({"Statement":{"Effect":"Deny",
          "NotAction":"bedrock:InvokeModel*","Resource":"*"}})")};
  EXPECT_EQ(decide(policies, makeContext("bedrock:InvokeModelWithResponseStream", "arn:x")).effect,
            Effect::kAllow);
  EXPECT_EQ(decide(policies, makeContext("bedrock:ListFoundationModels", "arn:x")).effect,
            Effect::kExplicitDeny);
}

TEST(Evaluate, NotResource) {
  const auto doc = R"({"Statement":{"Effect":"Allow","Action":"bedrock:InvokeModel",
      "NotResource":"arn:aws:bedrock:*::foundation-model/meta.*"}})";
  EXPECT_EQ(effectOf(doc, makeContext("bedrock:InvokeModel",
                                      "arn:aws:bedrock:us-east-1::foundation-model/anthropic.x")),
            Effect::kAllow);
  EXPECT_EQ(effectOf(doc, makeContext("bedrock:InvokeModel",
                                      "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3")),
            Effect::kImplicitDeny);
}

TEST(Evaluate, ActionsAreCaseInsensitiveResourcesAreNot) {
  const auto doc = R"({"Statement":{"Effect":"Allow","Action":"bedrock:invoke*",
      "Resource":"arn:aws:bedrock:us-east-1::foundation-model/Model-A"}})";
  const std::string arn = "arn:aws:bedrock:us-east-1::foundation-model/Model-A";
  EXPECT_EQ(effectOf(doc, makeContext("bedrock:InvokeModel", arn)), Effect::kAllow);
  EXPECT_EQ(effectOf(doc, makeContext("BEDROCK:INVOKEMODELWITHRESPONSESTREAM", arn)),
            Effect::kAllow);
  EXPECT_EQ(effectOf(doc, makeContext("bedrock:ListFoundationModels", arn)), Effect::kImplicitDeny);
  EXPECT_EQ(effectOf(doc, makeContext("bedrock:InvokeModel",
                                      "arn:aws:bedrock:us-east-1::foundation-model/model-a")),
            Effect::kImplicitDeny);
  const auto q =
      R"({"Statement":{"Effect":"Allow","Action":"bedrock:Invoke?odel","Resource":"*"}})";
  EXPECT_EQ(effectOf(q, makeContext("bedrock:InvokeModel", arn)), Effect::kAllow);
  EXPECT_EQ(effectOf(q, makeContext("bedrock:InvokeMModel", arn)), Effect::kImplicitDeny);
}

// ---- Policy variables -----------------------------------------------------------------------

TEST(Evaluate, VariablesInResources) {
  const auto doc = R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"agents:*",
      "Resource":"arn:basalt:agents:*:*:agent/${aws:username}/*"}})";
  auto ctx = makeContext("agents:InvokeAgent", "arn:basalt:agents:eu:1:agent/alice/a1",
                         one("aws:username", "alice"));
  EXPECT_EQ(effectOf(doc, ctx), Effect::kAllow);
  ctx.set("aws:username", "bob");
  EXPECT_EQ(effectOf(doc, ctx), Effect::kImplicitDeny);
  ctx.erase("aws:username");  // unresolvable variable: the resource matches nothing
  EXPECT_EQ(effectOf(doc, ctx), Effect::kImplicitDeny);
  ctx.setValues("aws:username", {"alice", "bob"});  // multi-valued keys are not variables
  EXPECT_EQ(effectOf(doc, ctx), Effect::kImplicitDeny);
  // A substituted value is literal text: a '*' in a user name is not a wildcard.
  ctx.set("aws:username", "a*");
  EXPECT_EQ(effectOf(doc, ctx), Effect::kImplicitDeny);
  ctx.setResource("arn:basalt:agents:eu:1:agent/a*/a1");
  EXPECT_EQ(effectOf(doc, ctx), Effect::kAllow);
}

TEST(Evaluate, VariableDefaultsTagsAndEscapes) {
  const auto doc = R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"a:b",
      "Resource":["arn:x:y:::team/${aws:PrincipalTag/team, 'shared'}/*",
                  "arn:x:y:::literal/${*}${?}${$}"]}})";
  auto ctx = makeContext("a:b", "arn:x:y:::team/ml/doc", one("aws:PrincipalTag/Team", "ml"));
  EXPECT_EQ(effectOf(doc, ctx), Effect::kAllow);
  ctx.setResource("arn:x:y:::team/shared/doc");
  EXPECT_EQ(effectOf(doc, ctx), Effect::kImplicitDeny);
  ctx.erase("aws:PrincipalTag/team");
  EXPECT_EQ(effectOf(doc, ctx), Effect::kAllow);  // the default applies
  ctx.setResource("arn:x:y:::literal/*?$");
  EXPECT_EQ(effectOf(doc, ctx), Effect::kAllow);
  ctx.setResource("arn:x:y:::literal/ab$");  // escaped wildcards are not wildcards
  EXPECT_EQ(effectOf(doc, ctx), Effect::kImplicitDeny);
}

TEST(Evaluate, VariablesOnlyUnderVersion2012) {
  const auto old_doc = R"({"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"a:b",
      "Resource":"arn:x:y:::home/${aws:username}"}})";
  auto ctx = makeContext("a:b", "arn:x:y:::home/alice", one("aws:username", "alice"));
  EXPECT_EQ(effectOf(old_doc, ctx), Effect::kImplicitDeny);
  ctx.setResource("arn:x:y:::home/${aws:username}");
  EXPECT_EQ(effectOf(old_doc, ctx), Effect::kAllow);
}

TEST(Evaluate, VariablesInConditionValues) {
  const auto doc = R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"a:b",
      "Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/owner":"${aws:username}"},
                                  "StringLike":{"a:path":"home/${aws:username}/*"}}}})";
  auto ctx = makeContext("a:b", "arn:x",
                         Keys{{"aws:username", {"alice"}},
                              {"aws:PrincipalTag/owner", {"alice"}},
                              {"a:path", {"home/alice/notes"}}});
  EXPECT_EQ(effectOf(doc, ctx), Effect::kAllow);
  ctx.set("a:path", "home/bob/notes");
  EXPECT_EQ(effectOf(doc, ctx), Effect::kImplicitDeny);
  ctx.set("a:path", "home/alice/notes");
  ctx.set("aws:PrincipalTag/owner", "bob");
  EXPECT_EQ(effectOf(doc, ctx), Effect::kImplicitDeny);
}

}  // namespace
}  // namespace basalt::policy
