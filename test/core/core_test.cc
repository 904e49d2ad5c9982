#include "basalt/core/error.h"
#include "basalt/core/exchange.h"
#include "basalt/core/ids.h"
#include "basalt/core/percent.h"

#include <gtest/gtest.h>

#include <set>

namespace basalt {
namespace {

TEST(Ids, RandomIdHasPrefixLengthAndAlphabet) {
  const std::string id = randomId("chatcmpl-", 24);
  EXPECT_EQ(id.rfind("chatcmpl-", 0), 0U);
  EXPECT_EQ(id.size(), 9U + 24U);
  for (char c : id.substr(9)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
}

TEST(Ids, IdsDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(newRequestId());
  EXPECT_EQ(seen.size(), 10000U);
  EXPECT_EQ(newRequestId().size(), 32U);
}

TEST(Ids, SecureRandomBytesAndHex) {
  EXPECT_EQ(secureRandomBytes(32).size(), 32U);
  EXPECT_NE(secureRandomBytes(16), secureRandomBytes(16));
  EXPECT_EQ(hexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
}

TEST(HttpRequest, PathQueryAndHeaders) {
  HttpRequest r;
  r.target = "/v1/models?client_version=1.2&x=y";
  r.headers = {{"content-type", "application/json"}, {"x-api-key", "k"}};
  EXPECT_EQ(r.path(), "/v1/models");
  EXPECT_EQ(r.query(), "client_version=1.2&x=y");
  ASSERT_NE(r.header("x-api-key"), nullptr);
  EXPECT_EQ(*r.header("x-api-key"), "k");
  EXPECT_EQ(r.header("authorization"), nullptr);
  r.target = "/healthz";
  EXPECT_EQ(r.query(), "");
}

TEST(Error, StatusMapping) {
  EXPECT_EQ(httpStatus(ErrorKind::kInvalidRequest), 400);
  EXPECT_EQ(httpStatus(ErrorKind::kRateLimited), 429);
  EXPECT_EQ(httpStatus(ErrorKind::kUpstreamTimeout), 504);
  Result<int> r = Error::notFound("nope", "model_not_found");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "model_not_found");
  EXPECT_THROW((void)r.value(), std::runtime_error);
}

TEST(Percent, DecodesPathSegments) {
  EXPECT_EQ(percentDecodePath("arn%3Aaws%3Abedrock"), "arn:aws:bedrock");
  EXPECT_EQ(percentDecodePath("a+b%2Fc"), "a+b/c");
  EXPECT_EQ(percentDecodePath("%41"), "A");
  EXPECT_EQ(percentDecodePath("%4"), std::nullopt);
  EXPECT_EQ(percentDecodePath("%zz"), std::nullopt);
  EXPECT_EQ(percentDecodePath("end%"), std::nullopt);
}

}  // namespace
}  // namespace basalt
