#include "basalt/core/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace basalt::metrics {
namespace {

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

TEST(Metrics, RendersMergedShardsInPrometheusText) {
  recordRequest("openai_chat", "m-test", 200, 0.0004);
  recordRequest("openai_chat", "m-test", 200, 0.003);
  std::thread other([] {
    recordRequest("openai_chat", "m-test", 200, 2.0);
    recordRequest("openai_chat", "m-test", 429, 0.01);
    recordUpstreamError("prov-test", "timeout");
  });
  other.join();
  recordUpstreamError("prov-test", "timeout");

  const std::string text = renderPrometheus();
  EXPECT_TRUE(contains(text, "# TYPE basalt_requests_total counter\n"));
  EXPECT_TRUE(contains(
      text, "basalt_requests_total{door=\"openai_chat\",model=\"m-test\",status=\"200\"} 3\n"));
  EXPECT_TRUE(contains(
      text, "basalt_requests_total{door=\"openai_chat\",model=\"m-test\",status=\"429\"} 1\n"));
  EXPECT_TRUE(contains(text, "# TYPE basalt_request_duration_seconds histogram\n"));
  EXPECT_TRUE(contains(
      text, "basalt_request_duration_seconds_bucket{door=\"openai_chat\",le=\"0.0005\"} 1\n"));
  EXPECT_TRUE(contains(
      text, "basalt_request_duration_seconds_bucket{door=\"openai_chat\",le=\"0.005\"} 2\n"));
  EXPECT_TRUE(contains(
      text, "basalt_request_duration_seconds_bucket{door=\"openai_chat\",le=\"2.5\"} 4\n"));
  EXPECT_TRUE(contains(
      text, "basalt_request_duration_seconds_bucket{door=\"openai_chat\",le=\"+Inf\"} 4\n"));
  EXPECT_TRUE(contains(text, "basalt_request_duration_seconds_count{door=\"openai_chat\"} 4\n"));
  EXPECT_TRUE(
      contains(text, "basalt_upstream_errors_total{provider=\"prov-test\",kind=\"timeout\"} 2\n"));
  EXPECT_TRUE(contains(text, "# TYPE basalt_open_streams gauge\n"));
  EXPECT_TRUE(contains(text, "# TYPE basalt_bugs_total counter\nbasalt_bugs_total "));
}

TEST(Metrics, EscapesLabelValues) {
  recordRequest("door-esc", "we\"ird\\mo\ndel", 200, 0.1);
  const std::string text = renderPrometheus();
  EXPECT_TRUE(contains(text, R"(model="we\"ird\\mo\ndel")"));
}

TEST(Metrics, GaugesSumAcrossThreads) {
  const auto value = [](const std::string& name) {
    const std::string text = renderPrometheus();
    const auto pos = text.find("\n" + name + " ");
    return std::stoll(text.substr(pos + name.size() + 2));
  };
  const long long before = value("basalt_open_streams");
  streamOpened();
  streamOpened();
  std::thread([] { streamClosed(); }).join();  // closed on another thread than opened
  EXPECT_EQ(value("basalt_open_streams"), before + 1);
  streamClosed();
  EXPECT_EQ(value("basalt_open_streams"), before);
}

}  // namespace
}  // namespace basalt::metrics

namespace basalt::metrics {
namespace {

TEST(Metrics, AgentEventsAndTokensPerAgentWithBoundedLabels) {
  recordAgentEvent("agent_metrics_a", "model_call", 30);
  std::thread other([] { recordAgentEvent("agent_metrics_a", "model_call", 12); });
  other.join();
  recordAgentEvent("agent_metrics_a", "tool_denied");
  const std::string text = renderPrometheus();
  EXPECT_NE(
      text.find("basalt_agent_events_total{agent=\"agent_metrics_a\",event=\"model_call\"} 2\n"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find("basalt_agent_events_total{agent=\"agent_metrics_a\",event=\"tool_denied\"} 1\n"),
      std::string::npos);
  EXPECT_NE(text.find("basalt_agent_tokens_total{agent=\"agent_metrics_a\"} 42\n"),
            std::string::npos);

  // Client-created ids cannot grow the label set without bound.
  for (std::size_t i = 0; i < kMaxAgentLabels + 10; ++i) {
    recordAgentEvent("agent_flood_" + std::to_string(i), "turn");
  }
  const std::string after = renderPrometheus();
  EXPECT_NE(after.find("basalt_agent_events_total{agent=\"other\",event=\"turn\"}"),
            std::string::npos);
  EXPECT_EQ(after.find("agent_flood_" + std::to_string(kMaxAgentLabels + 5) + "\""),
            std::string::npos);
}

}  // namespace
}  // namespace basalt::metrics
