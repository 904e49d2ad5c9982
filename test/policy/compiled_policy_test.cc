#include "basalt/policy/compiled_policy.h"

#include "basalt/policy/evaluator.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace basalt::policy {
namespace {

/// The error message for `doc`, or "" when it compiles.
std::string errorOf(std::string_view doc, const CompileLimits& limits = {}) {
  auto r = CompiledPolicy::compile("p", doc, limits);
  if (r) return "";
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  return r.error().message;
}

constexpr std::string_view kGood = R"({
  "Version": "2012-10-17",
  "Id": "bedrock-users",
  "Statement": [
    {"Sid": "Invoke", "Effect": "Allow",
     "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
     "Resource": "arn:aws:bedrock:*::foundation-model/*"},
    {"Effect": "Deny", "NotAction": "bedrock:*", "NotResource": ["arn:aws:bedrock:*"],
     "Condition": {"StringEquals": {"aws:username": ["a", "b"]},
                   "NumericLessThan": {"bedrock:MaxTokens": 100},
                   "Bool": {"aws:SecureTransport": false}}}
  ]})";

TEST(CompiledPolicy, CompilesAValidDocument) {
  auto r = CompiledPolicy::compile("team-policy", kGood);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name(), "team-policy");
  EXPECT_EQ(r->id(), "bedrock-users");
  EXPECT_EQ(r->version(), PolicyVersion::k2012_10_17);
  ASSERT_EQ(r->statementCount(), 2U);
  EXPECT_EQ(r->statementSid(0), "Invoke");
  EXPECT_EQ(r->statementSid(1), "");
}

TEST(CompiledPolicy, StatementMayBeASingleObjectAndVersionIsOptional) {
  auto r = CompiledPolicy::compile(
      "p", R"({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->version(), PolicyVersion::k2008_10_17);
  EXPECT_EQ(r->statementCount(), 1U);
}

TEST(CompiledPolicy, ErrorsNameTheStatementAndReason) {
  const std::string ok = R"({"Effect":"Allow","Action":"a:b","Resource":"*"})";
  auto doc = [&](const std::string& third) {
    return R"({"Version":"2012-10-17","Statement":[)" + ok + "," + ok + "," + third + "]}";
  };
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","Action":"a:b","Resource":"*",
                           "Condition":{"StringEqualz":{"aws:username":"x"}}})")),
            "Statement[2]: unknown condition operator 'StringEqualz'");
  EXPECT_EQ(errorOf(doc(R"({"Action":"a:b","Resource":"*"})")), "Statement[2]: missing Effect");
  EXPECT_EQ(errorOf(doc(R"({"Effect":"allow","Action":"a:b","Resource":"*"})")),
            "Statement[2]: Effect must be \"Allow\" or \"Deny\"");
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","Action":"a:b","NotAction":"a:c","Resource":"*"})")),
            "Statement[2]: has both Action and NotAction");
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","Resource":"*"})")),
            "Statement[2]: missing Action or NotAction");
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","Action":"a:b"})")),
            "Statement[2]: missing Resource or NotResource");
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","Action":"a:b","Resource":"*","NotResource":"*"})")),
            "Statement[2]: has both Resource and NotResource");
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","Principal":"*","Action":"a:b","Resource":"*"})")),
            "Statement[2]: Principal is not allowed in an identity policy (it names who is "
            "allowed by a resource policy; attach this policy to the principal instead)");
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","NotPrincipal":{"AWS":"1"},"Action":"a:b",
                           "Resource":"*"})"))
                .rfind("Statement[2]: NotPrincipal is not allowed in an identity policy", 0),
            0U);
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","Action":"InvokeModel","Resource":"*"})")),
            "Statement[2]: Action 'InvokeModel' must be prefixed by a service, e.g. "
            "bedrock:InvokeModel");
  EXPECT_EQ(
      errorOf(doc(R"({"Effect":"Allow","Action":"a:b","Resource":"my-model"})")),
      "Statement[2]: Resource 'my-model' must be \"*\" or an ARN (arn:partition:service:...)");
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","Action":[],"Resource":"*"})")),
            "Statement[2]: Action must not be empty");
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","Action":["a:b",3],"Resource":"*"})")),
            "Statement[2]: Action entries must be strings");
  EXPECT_EQ(errorOf(doc(R"({"Effect":"Allow","Action":"a:b","Resource":"*","Extra":1})")),
            "Statement[2]: unknown element 'Extra'");
  EXPECT_EQ(errorOf(doc("7")), "Statement[2]: must be an object");
  EXPECT_EQ(errorOf(doc(R"({"Sid":"A","Effect":"Allow","Action":"a:b","Resource":"*"})")), "");
}

TEST(CompiledPolicy, RejectsBadConditions) {
  auto with = [](const std::string& cond) {
    return errorOf(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"a:b",
        "Resource":"*","Condition":)" +
                   cond + "}}");
  };
  EXPECT_EQ(with(R"({"NumericLessThan":{"s3:max-keys":"ten"}})"),
            "Statement[0]: invalid value 'ten' for condition operator NumericLessThan on key "
            "'s3:max-keys'");
  EXPECT_EQ(with(R"({"DateGreaterThan":{"aws:CurrentTime":"2026-13-01T00:00:00Z"}})"),
            "Statement[0]: invalid value '2026-13-01T00:00:00Z' for condition operator "
            "DateGreaterThan on key 'aws:CurrentTime'");
  EXPECT_EQ(with(R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}})"),
            "Statement[0]: invalid value '10.0.0.0/33' for condition operator IpAddress on key "
            "'aws:SourceIp'");
  EXPECT_EQ(with(R"({"Bool":{"aws:SecureTransport":"yes"}})"),
            "Statement[0]: invalid value 'yes' for condition operator Bool on key "
            "'aws:SecureTransport'");
  EXPECT_EQ(with(R"({"Null":{"aws:username":"maybe"}})"),
            "Statement[0]: invalid value 'maybe' for condition operator Null on key "
            "'aws:username'");
  EXPECT_EQ(with(R"({"NullIfExists":{"aws:username":"true"}})"),
            "Statement[0]: condition operator 'NullIfExists' is not allowed: Null takes no "
            "IfExists or set qualifier");
  EXPECT_EQ(with(R"({"StringEquals":{"username":"x"}})"),
            "Statement[0]: condition key 'username' must be prefixed by a service, e.g. "
            "aws:SourceIp");
  EXPECT_EQ(with(R"({"StringEquals":{"aws:username":[]}})"),
            "Statement[0]: condition StringEquals has no values for key 'aws:username'");
  EXPECT_EQ(with(R"({"StringEquals":{"aws:username":{"a":1}}})"),
            "Statement[0]: condition values for key 'aws:username' must be strings, numbers or "
            "booleans");
  EXPECT_EQ(with(R"({"StringEquals":"x"})"),
            "Statement[0]: condition operator 'StringEquals' must map condition keys to values");
  EXPECT_EQ(with(R"({"StringLike":{"aws:username":"${aws:username"}})"),
            "Statement[0]: unterminated policy variable in '${aws:username'");
  EXPECT_EQ(with(R"({"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":"a*"}})"), "");
  EXPECT_EQ(with(R"({"forallvalues:stringequals":{"aws:TagKeys":"a"}})"), "");
}

TEST(CompiledPolicy, RejectsBadDocuments) {
  EXPECT_EQ(errorOf("{"), "policy document is not valid JSON: incomplete JSON");
  EXPECT_EQ(errorOf("{Statement}"), "policy document is not valid JSON: syntax error");
  EXPECT_EQ(errorOf("[]"), "policy document must be a JSON object");
  EXPECT_EQ(errorOf(R"({"Version":"2012-10-17"})"), "missing Statement");
  EXPECT_EQ(errorOf(R"({"Version":"2012-10-17","Statement":[]})"), "Statement must not be empty");
  EXPECT_EQ(errorOf(R"({"Version":"2020-01-01","Statement":[]})"),
            "Version must be \"2012-10-17\" or \"2008-10-17\"");
  EXPECT_EQ(errorOf(R"({"Statement":[],"Foo":1})"), "unknown top-level element 'Foo'");
  EXPECT_EQ(errorOf(R"({"Statement":[
      {"Sid":"A","Effect":"Allow","Action":"a:b","Resource":"*"},
      {"Sid":"A","Effect":"Deny","Action":"a:b","Resource":"*"}]})"),
            "Statement[1]: duplicate Sid 'A'");
  // Duplicate keys would otherwise keep only the last one, silently dropping a condition.
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"a:b","Resource":"*",
      "Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"},
                   "StringEquals":{"aws:username":"alice"}}}})"),
            "policy document repeats the key 'StringEquals' within one object");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Deny","Effect":"Allow","Action":"a:b",
      "Resource":"*"}})"),
            "policy document repeats the key 'Effect' within one object");
  EXPECT_EQ(errorOf(R"({"Statement":[{"Effect":"Allow","Action":"a:b","Resource":"*"},
      {"Effect":"Allow","Action":"a:b","Resource":"*"}]})"),
            "");  // the same keys in sibling objects are fine
  auto r = CompiledPolicy::compile("p", R"({"Statement":{"Effect":"Maybe"}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "MalformedPolicyDocument");
  EXPECT_EQ(r.error().param, "Statement[0]");
}

TEST(CompiledPolicy, EnforcesSizeLimits) {
  std::string many = R"({"Statement":[)";
  for (int i = 0; i < 129; ++i) {
    if (i > 0) many += ',';
    many += R"({"Effect":"Allow","Action":"a:b","Resource":"*"})";
  }
  many += "]}";
  CompileLimits roomy;
  roomy.max_policy_chars = 1 << 20;
  EXPECT_EQ(errorOf(many, roomy), "policy has 129 statements; the limit is 128");

  // Whitespace does not count towards the character limit, but does towards the byte limit.
  const std::string padded = R"({"Statement":)" + std::string(20000, ' ') +
                             R"({"Effect":"Allow","Action":"a:b","Resource":"*"}})";
  EXPECT_EQ(errorOf(padded), "");
  CompileLimits tight;
  tight.max_document_bytes = 1000;
  EXPECT_EQ(errorOf(padded, tight),
            "policy document is " + std::to_string(padded.size()) + " bytes; the limit is 1000");

  const std::string big = R"({"Statement":{"Effect":"Allow","Action":"a:b","Resource":[")" +
                          std::string(9000, 'x') + R"(", "arn:)" + std::string(2000, 'y') +
                          R"("]}})";
  EXPECT_NE(errorOf(big).find("characters (whitespace excluded); the limit is 10240"),
            std::string::npos);
  const std::string long_value =
      R"({"Statement":{"Effect":"Allow","Action":"a:b","Resource":"arn:)" + std::string(2100, 'y') +
      R"("}})";
  EXPECT_EQ(errorOf(long_value), "Statement[0]: Resource entry longer than 2048 bytes");
}

TEST(CompiledPolicy, MutatedDocumentsCompileOrFailCleanly) {
  // Hostile or corrupted input never crashes the compiler or the evaluator: each mutation of a
  // rich document either compiles (and then evaluates) or yields an error value.
  const std::string base = R"({"Version":"2012-10-17","Statement":[
    {"Sid":"A","Effect":"Allow","Action":["bedrock:Invoke*","s3:Get?bject"],
     "Resource":["arn:aws:bedrock:*::foundation-model/${aws:PrincipalTag/f, 'x'}.*","*"],
     "Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["t-*"]},
                  "IpAddressIfExists":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},
                  "DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},
                  "NumericLessThan":{"bedrock:MaxTokens":4096},"Null":{"aws:username":false},
                  "ArnLike":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:us-?:*:*"}}},
    {"Effect":"Deny","NotAction":"bedrock:*","NotResource":"arn:${*}:${?}:${$}"}]})";
  const std::string alphabet = R"({}[]":,*?$\/ aA0:-'T)";
  std::mt19937 rng(7);
  RequestContext ctx("bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/x.y");
  ctx.set("aws:SourceIp", "10.1.1.1");
  ctx.set("aws:CurrentTime", "2026-11-26T07:00:00Z");
  ctx.set("aws:PrincipalTag/f", "x");
  ctx.set("aws:username", "u");
  ctx.set("bedrock:MaxTokens", "12");
  int compiled = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string doc = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % doc.size();
      switch (rng() % 3) {
        case 0:
          doc[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          doc.erase(at, 1 + rng() % 4);
          break;
        default:
          doc.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
      }
    }
    auto r = CompiledPolicy::compile("fuzz", doc);
    if (!r) {
      EXPECT_FALSE(r.error().message.empty());
      continue;
    }
    ++compiled;
    const CompiledPolicy* one[] = {&*r};
    (void)evaluate(one, ctx);
  }
  EXPECT_GT(compiled, 0);  // some mutations (inside string values) stay valid
}

TEST(CompiledPolicy, CopiesShareTheCompiledBody) {
  auto r = CompiledPolicy::compile("p", kGood);
  ASSERT_TRUE(r);
  const CompiledPolicy copy = *r;
  EXPECT_EQ(copy.name(), "p");
  EXPECT_EQ(copy.statementCount(), 2U);
}

}  // namespace
}  // namespace basalt::policy
