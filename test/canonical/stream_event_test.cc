#include "basalt/canonical/stream_event.h"

#include <gtest/gtest.h>

namespace basalt::canonical {
namespace {

TEST(StreamAccumulator, FoldsTextToolAndUsage) {
  StreamAccumulator acc;
  acc.add(StreamEvent::messageStart("id1", "m"));
  acc.add(StreamEvent::blockStart(0, BlockType::kText));
  acc.add(StreamEvent::delta(0, DeltaType::kText, "Hel"));
  acc.add(StreamEvent::delta(0, DeltaType::kText, "lo"));
  acc.add(StreamEvent::blockStop(0));
  acc.add(StreamEvent::blockStart(1, BlockType::kToolUse, "call_1", "get"));
  acc.add(StreamEvent::delta(1, DeltaType::kToolInputJson, "{\"a\""));
  acc.add(StreamEvent::delta(1, DeltaType::kToolInputJson, ":1}"));
  acc.add(StreamEvent::blockStop(1));
  acc.add(StreamEvent::blockStart(2, BlockType::kToolUse, "call_2", "noargs"));
  acc.add(StreamEvent::blockStop(2));
  Usage u;
  u.input_tokens = 5;
  u.output_tokens = 7;
  acc.add(StreamEvent::usageEvent(u));
  EXPECT_FALSE(acc.finished());
  acc.add(StreamEvent::messageStop(StopReason::kToolUse));
  ASSERT_TRUE(acc.finished());
  const ChatResponse& r = acc.response();
  EXPECT_EQ(r.id, "id1");
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.content.size(), 3U);
  EXPECT_EQ(std::get<TextBlock>(r.content[0]).text, "Hello");
  EXPECT_EQ(std::get<ToolUseBlock>(r.content[1]).input_json, "{\"a\":1}");
  EXPECT_EQ(std::get<ToolUseBlock>(r.content[1]).name, "get");
  EXPECT_EQ(std::get<ToolUseBlock>(r.content[2]).input_json, "{}");
  EXPECT_EQ(r.usage.total(), 12);
  EXPECT_EQ(r.stop_reason, StopReason::kToolUse);
}

TEST(StreamAccumulator, DeltaForUnknownBlockIsIgnored) {
  StreamAccumulator acc;
  acc.add(StreamEvent::messageStart("id", "m"));
  acc.add(StreamEvent::delta(3, DeltaType::kText, "x"));
  EXPECT_TRUE(acc.response().content.empty());
}

TEST(StreamAccumulator, ErrorMarksFailed) {
  StreamAccumulator acc;
  acc.add(StreamEvent::errorEvent(Error{ErrorKind::kUpstreamError, "boom"}));
  EXPECT_TRUE(acc.failed());
  EXPECT_EQ(acc.error().message, "boom");
}

}  // namespace
}  // namespace basalt::canonical
