#include "basalt/providers/http/base_url.h"

#include <gtest/gtest.h>

namespace basalt::providers::http {
namespace {

TEST(BaseUrl, HttpsWithPath) {
  Result<BaseUrl> u = parseBaseUrl("https://api.openai.com/v1/");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.openai.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/v1");
  EXPECT_EQ(u->hostHeader(), "api.openai.com");
  EXPECT_EQ(u->hostPort(), "api.openai.com:443");
  EXPECT_EQ(u->origin(), "https://api.openai.com:443");
}

TEST(BaseUrl, HttpWithPortAndNoPath) {
  Result<BaseUrl> u = parseBaseUrl("http://127.0.0.1:11434");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 11434);
  EXPECT_EQ(u->path, "");
  EXPECT_EQ(u->hostHeader(), "127.0.0.1:11434");
}

TEST(BaseUrl, Ipv6Literal) {
  Result<BaseUrl> u = parseBaseUrl("http://[::1]:8000/v1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->hostPort(), "[::1]:8000");
}

TEST(BaseUrl, Rejections) {
  EXPECT_FALSE(parseBaseUrl(""));
  EXPECT_FALSE(parseBaseUrl("api.openai.com/v1"));
  EXPECT_FALSE(parseBaseUrl("ftp://example.com/"));
  EXPECT_FALSE(parseBaseUrl("http:///v1"));
  EXPECT_FALSE(parseBaseUrl("https://user:pw@example.com/v1"));
  EXPECT_FALSE(parseBaseUrl("https://example.com/v1?x=1"));
  EXPECT_FALSE(parseBaseUrl("https://example.com:0/v1"));
  Result<BaseUrl> bad = parseBaseUrl("not a url");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("not a url"), std::string::npos);
}

}  // namespace
}  // namespace basalt::providers::http
