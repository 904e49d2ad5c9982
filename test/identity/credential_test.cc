#include "basalt/identity/credential.h"

#include <gtest/gtest.h>

#include <vector>

namespace basalt::identity {
namespace {

Credential parse(std::vector<Header> headers, std::string_view target = "/v1/chat/completions") {
  // parseCredential returns views into the headers; keep them alive for the caller.
  static thread_local std::vector<Header> keep;
  keep = std::move(headers);
  return parseCredential(keep, target);
}

TEST(Credential, BearerKey) {
  const Credential c = parse({{"authorization", "Bearer bsk-abc-def"}});
  ASSERT_TRUE(std::holds_alternative<ApiKeyCredential>(c));
  EXPECT_EQ(std::get<ApiKeyCredential>(c).key, "bsk-abc-def");
  EXPECT_EQ(std::get<ApiKeyCredential>(c).source, ApiKeySource::kAuthorizationBearer);
  // Scheme is case-insensitive; surrounding whitespace is ignored.
  const Credential lower = parse({{"authorization", "  bearer   tok  "}});
  ASSERT_TRUE(std::holds_alternative<ApiKeyCredential>(lower));
  EXPECT_EQ(std::get<ApiKeyCredential>(lower).key, "tok");
}

TEST(Credential, XApiKey) {
  const Credential c = parse({{"x-api-key", "bsk-abc-def"}}, "/v1/messages");
  ASSERT_TRUE(std::holds_alternative<ApiKeyCredential>(c));
  EXPECT_EQ(std::get<ApiKeyCredential>(c).source, ApiKeySource::kXApiKey);
}

TEST(Credential, SameKeyInBothHeadersIsFineDifferentIsNot) {
  EXPECT_TRUE(std::holds_alternative<ApiKeyCredential>(
      parse({{"authorization", "Bearer k1"}, {"x-api-key", "k1"}})));
  EXPECT_TRUE(std::holds_alternative<MalformedCredential>(
      parse({{"authorization", "Bearer k1"}, {"x-api-key", "k2"}})));
}

TEST(Credential, Sigv4HeaderAndPresigned) {
  const Credential h = parse({{"authorization", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e"}});
  ASSERT_TRUE(std::holds_alternative<Sigv4Credential>(h));
  EXPECT_FALSE(std::get<Sigv4Credential>(h).presigned);
  const Credential p =
      parse({}, "/model/m/converse?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00");
  ASSERT_TRUE(std::holds_alternative<Sigv4Credential>(p));
  EXPECT_TRUE(std::get<Sigv4Credential>(p).presigned);
  // Encoded parameter names are still recognised.
  EXPECT_TRUE(
      std::holds_alternative<Sigv4Credential>(parse({}, "/?X%2DAmz-Credential=AKID%2F20150830")));
}

TEST(Credential, AmbiguousOrUnusable) {
  EXPECT_TRUE(std::holds_alternative<MalformedCredential>(
      parse({{"authorization", "Bearer k"}}, "/?X-Amz-Signature=00")));
  EXPECT_TRUE(std::holds_alternative<MalformedCredential>(
      parse({{"authorization", "AWS4-HMAC-SHA256 Credential=x"}, {"x-api-key", "k"}})));
  EXPECT_TRUE(std::holds_alternative<MalformedCredential>(
      parse({{"authorization", "Bearer a"}, {"authorization", "Bearer b"}})));
  EXPECT_TRUE(
      std::holds_alternative<MalformedCredential>(parse({{"x-api-key", "a"}, {"x-api-key", "b"}})));
  EXPECT_TRUE(std::holds_alternative<MalformedCredential>(parse({{"authorization", "Bearer"}})));
  EXPECT_TRUE(
      std::holds_alternative<MalformedCredential>(parse({{"authorization", "Bearer    "}})));
  EXPECT_TRUE(std::holds_alternative<MalformedCredential>(
      parse({{"authorization", "Basic dXNlcjpwYXNz"}})));
  EXPECT_TRUE(std::holds_alternative<MalformedCredential>(parse({{"x-api-key", "  "}})));
}

TEST(Credential, NoneAtAll) {
  EXPECT_TRUE(std::holds_alternative<NoCredential>(parse({{"content-type", "application/json"}})));
  EXPECT_TRUE(std::holds_alternative<NoCredential>(parse({}, "/?foo=bar")));
}

}  // namespace
}  // namespace basalt::identity
