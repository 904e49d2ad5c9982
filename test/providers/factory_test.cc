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

TEST(Factory, UnsupportedTypesFailClearly) {
  for (const char* type : {"azure-openai", "anthropic", "bedrock"}) {
    Result<std::unique_ptr<Provider>> p = makeProvider(settings(type));
    ASSERT_FALSE(p) << type;
    EXPECT_NE(p.error().message.find(std::string("provider type ") + type +
                                     " is not supported yet"),
              std::string::npos)
        << p.error().message;
    EXPECT_NE(p.error().message.find("p1"), std::string::npos);
  }
  Result<std::unique_ptr<Provider>> responses = makeProvider(settings("openai", "responses"));
  EXPECT_FALSE(responses);
  Result<std::unique_ptr<Provider>> unknown = makeProvider(settings("mystery"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("mystery"), std::string::npos);
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
