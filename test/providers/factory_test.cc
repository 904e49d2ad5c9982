#include "basalt/providers/factory.h"

#include <gtest/gtest.h>

namespace basalt::providers {
namespace {

config::ProviderSettings settings(std::string type, std::string api = "chat") {
  config::ProviderSettings s;
  s.name = "p1";
  s.type = std::move(type);
  s.api = std::move(api);
  s.base_url = "https://api.example.com/v1";
  return s;
}

TEST(Factory, OpenAiChatIsSupported) {
  Result<std::unique_ptr<Provider>> p = makeProvider(settings("openai"));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ((*p)->name(), "p1");
  EXPECT_EQ((*p)->vendor(), canonical::Vendor::kOpenAI);
}

TEST(Factory, EveryProviderTypeIsBuiltWithItsVendor) {
  struct Case {
    const char* type;
    const char* api;
    canonical::Vendor vendor;
  };
  for (const Case& c : {Case{"openai", "responses", canonical::Vendor::kOpenAI},
                        Case{"azure-openai", "chat", canonical::Vendor::kOpenAI},
                        Case{"anthropic", "chat", canonical::Vendor::kAnthropic},
                        Case{"bedrock", "chat", canonical::Vendor::kBedrock}}) {
    config::ProviderSettings s = settings(c.type, c.api);
    s.region = "us-east-1";
    s.api_key = "k";
    s.api_version = c.type == std::string("azure-openai") ? "2024-10-21" : "";
    s.bearer_token = "b";
    Result<std::unique_ptr<Provider>> p = makeProvider(s);
    ASSERT_TRUE(p) << c.type << ": " << p.error().message;
    EXPECT_EQ((*p)->name(), "p1");
    EXPECT_EQ((*p)->vendor(), c.vendor) << c.type;
  }
}

TEST(Factory, UnknownTypesAndApisFailClearly) {
  Result<std::unique_ptr<Provider>> api = makeProvider(settings("openai", "assistants"));
  ASSERT_FALSE(api);
  EXPECT_NE(api.error().message.find("unknown api \"assistants\""), std::string::npos)
      << api.error().message;
  Result<std::unique_ptr<Provider>> unknown = makeProvider(settings("mystery"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("mystery"), std::string::npos);
  EXPECT_NE(unknown.error().message.find("p1"), std::string::npos);
}

TEST(Factory, BadBaseUrlNamesTheProvider) {
  config::ProviderSettings s = settings("openai");
  s.base_url = "ftp://example.com";
  Result<std::unique_ptr<Provider>> p = makeProvider(s);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("p1"), std::string::npos);
}

TEST(Factory, ClientOptionsFollowTheSettings) {
  config::ProviderSettings s = settings("openai");
  s.connect_timeout_ms = 1234;
  s.max_idle_connections = 5;
  http::ClientOptions o = clientOptions(s);
  EXPECT_EQ(o.connect_timeout.count(), 1234);
  EXPECT_EQ(o.max_idle_connections, 5);
}

}  // namespace
}  // namespace basalt::providers
