#include "basalt/api/bedrock/converse_codec.h"

#include <gtest/gtest.h>

namespace basalt::api::bedrock {
namespace {

TEST(BedrockPath, PlainModelIds) {
  auto r = parseBedrockPath("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->operation, BedrockOperation::kConverse);
  EXPECT_EQ(r->model_id, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(r->model, "anthropic.claude-3-haiku-20240307-v1:0");

  r = parseBedrockPath("/model/gpt-5.5/converse-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->operation, BedrockOperation::kConverseStream);
  EXPECT_EQ(r->model, "gpt-5.5");
  EXPECT_EQ(parseBedrockPath("/model/m/invoke")->operation, BedrockOperation::kInvoke);
  EXPECT_EQ(parseBedrockPath("/model/m/invoke-with-response-stream")->operation,
            BedrockOperation::kInvokeWithResponseStream);
}

TEST(BedrockPath, UrlEncodedArns) {
  auto r = parseBedrockPath(
      "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fanthropic.claude-3-haiku-"
      "20240307-v1%3A0/converse");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->model_id,
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(r->model, "anthropic.claude-3-haiku-20240307-v1:0");

  // Lower-case hex, an inference profile with an account, an unencoded ARN with a slash.
  r = parseBedrockPath(
      "/model/arn%3aaws%3abedrock%3aeu-west-1%3a123456789012%3ainference-profile%2feu.gpt-5.5/"
      "converse-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->model, "eu.gpt-5.5");
  r = parseBedrockPath("/model/arn:aws:bedrock:us-east-1::foundation-model/gpt-5.5/converse");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->model, "gpt-5.5");
  EXPECT_EQ(r->model_id, "arn:aws:bedrock:us-east-1::foundation-model/gpt-5.5");
}

TEST(BedrockPath, Rejects) {
  EXPECT_FALSE(parseBedrockPath("/v1/chat/completions"));
  EXPECT_FALSE(parseBedrockPath("/model/"));
  EXPECT_FALSE(parseBedrockPath("/model/converse"));
  EXPECT_FALSE(parseBedrockPath("/model//converse"));
  EXPECT_FALSE(parseBedrockPath("/model/m/count-tokens"));
  EXPECT_FALSE(parseBedrockPath("/model/m/converse/"));
  EXPECT_FALSE(parseBedrockPath("/model/m%2/converse"));
  EXPECT_FALSE(parseBedrockPath("/model/m%zz/converse"));
  EXPECT_FALSE(parseBedrockPath("/model/m%00x/converse"));
  EXPECT_FALSE(parseBedrockPath("/model/" + std::string(2049, 'a') + "/converse"));
  EXPECT_TRUE(parseBedrockPath("/model/" + std::string(2048, 'a') + "/converse"));
}

TEST(BedrockPath, ModelNameAndIamAction) {
  EXPECT_EQ(modelName("claude"), "claude");
  EXPECT_EQ(modelName("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc123"),
            "abc123");
  EXPECT_EQ(modelName("arn:broken"), "arn:broken");
  EXPECT_STREQ(iamAction(BedrockOperation::kConverse), "bedrock:InvokeModel");
  EXPECT_STREQ(iamAction(BedrockOperation::kConverseStream),
               "bedrock:InvokeModelWithResponseStream");
}

}  // namespace
}  // namespace basalt::api::bedrock
