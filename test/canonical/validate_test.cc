#include "basalt/canonical/validate.h"

#include <gtest/gtest.h>

namespace basalt::canonical {
namespace {

Message assistantCalling(std::string id) {
  Message m;
  m.role = Role::kAssistant;
  m.content.emplace_back(ToolUseBlock{std::move(id), "get_weather", "{}"});
  return m;
}

Message resultFor(std::string id) {
  Message m;
  m.role = Role::kTool;
  ToolResultBlock result;
  result.tool_use_id = std::move(id);
  result.content.emplace_back(TextBlock{"sunny"});
  m.content.emplace_back(std::move(result));
  return m;
}

TEST(ValidateConversation, AToolResultMustAnswerAnEarlierCall) {
  ChatRequest ok;
  ok.messages.push_back(assistantCalling("call_1"));
  ok.messages.push_back(resultFor("call_1"));
  EXPECT_TRUE(validateConversation(ok));

  ChatRequest orphan;
  orphan.messages.push_back(assistantCalling("call_1"));
  orphan.messages.push_back(resultFor("call_2"));
  Result<void> r = validateConversation(orphan);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(r.error().param, "messages[1].content[0]");
  EXPECT_NE(r.error().message.find("'call_2'"), std::string::npos) << r.error().message;

  ChatRequest before_call;  // the result comes first: it answers nothing yet
  before_call.messages.push_back(resultFor("call_1"));
  before_call.messages.push_back(assistantCalling("call_1"));
  EXPECT_FALSE(validateConversation(before_call));
}

TEST(ValidateConversation, OversizedInlineImagesAreRefused) {
  ChatRequest request;
  Message user;
  ImageBlock small;
  small.media_type = "image/png";
  small.data = std::string(4000, 'A');
  user.content.emplace_back(small);
  request.messages.push_back(user);
  EXPECT_TRUE(validateConversation(request));

  ImageBlock big = small;
  big.data.assign((kMaxImageBytes / 3 + 2) * 4, 'A');
  request.messages[0].content.emplace_back(big);
  Result<void> r = validateConversation(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().param, "messages[0].content[1]");
  EXPECT_NE(r.error().message.find("larger than 20 MB"), std::string::npos);
}

}  // namespace
}  // namespace basalt::canonical
