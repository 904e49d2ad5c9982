#include "basalt/policy/request_context.h"

#include <gtest/gtest.h>

namespace basalt::policy {
namespace {

TEST(RequestContext, KeysAreCaseInsensitive) {
  RequestContext ctx;
  ctx.set("AWS:SourceIp", "10.0.0.1");
  ctx.add("aws:TagKeys", "a");
  ctx.add("AWS:TAGKEYS", "b");
  ASSERT_NE(ctx.find("aws:sourceip"), nullptr);
  EXPECT_EQ(ctx.find("aws:sourceip")->front(), "10.0.0.1");
  ASSERT_NE(ctx.find("aws:tagkeys"), nullptr);
  EXPECT_EQ(ctx.find("Aws:TagKeys")->size(), 2U);
  EXPECT_EQ(ctx.find("aws:username"), nullptr);
  EXPECT_TRUE(ctx.erase("AWS:sourceIP"));
  EXPECT_EQ(ctx.find("aws:sourceip"), nullptr);
  EXPECT_FALSE(ctx.erase("aws:sourceip"));
}

TEST(RequestContext, SetCurrentTimeFillsTimeKeys) {
  RequestContext ctx;
  ctx.setCurrentTime(std::chrono::system_clock::time_point(std::chrono::seconds(1795676400)));
  ASSERT_NE(ctx.find("aws:CurrentTime"), nullptr);
  EXPECT_EQ(ctx.find("aws:CurrentTime")->front(), "2026-11-26T07:00:00Z");
  EXPECT_EQ(ctx.find("aws:EpochTime")->front(), "1795676400");
}

TEST(RequestContext, ValuesAndPresence) {
  RequestContext ctx("bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/m");
  EXPECT_EQ(ctx.action(), "bedrock:InvokeModel");
  EXPECT_EQ(ctx.resource(), "arn:aws:bedrock:us-east-1::foundation-model/m");
  ctx.setValues("aws:TagKeys", {});
  ASSERT_NE(ctx.find("aws:TagKeys"), nullptr);  // present but empty
  EXPECT_TRUE(ctx.find("aws:TagKeys")->empty());
  ctx.set("aws:username", "a");
  ctx.set("aws:username", "b");  // set replaces
  EXPECT_EQ(ctx.find("aws:username")->size(), 1U);
  EXPECT_EQ(ctx.find("aws:username")->front(), "b");
  EXPECT_EQ(ctx.findLowercase("aws:username"), ctx.find("AWS:USERNAME"));
  EXPECT_EQ(ctx.findLowercase("aws:tagkeys"), ctx.find("aws:TagKeys"));
  // Many keys keep their order: lookups after out-of-order inserts still work.
  for (char c = 'z'; c >= 'a'; --c) ctx.set(std::string("k:") + c, std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) {
    const auto* v = ctx.find(std::string("K:") + c);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->front(), std::string(1, c));
  }
}

}  // namespace
}  // namespace basalt::policy
