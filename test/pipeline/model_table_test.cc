#include "basalt/pipeline/model_table.h"

#include <gtest/gtest.h>

#include <map>

namespace basalt::pipeline {
namespace {

ModelEntry entry(std::vector<std::pair<double, bool>> weights_and_fallback) {
  ModelEntry m;
  m.name = "m";
  for (auto [w, fb] : weights_and_fallback) {
    Route r;
    r.settings.weight = w;
    r.settings.fallback = fb;
    m.routes.push_back(std::move(r));
  }
  return m;
}

TEST(PlanAttempts, PrimariesThenFallbacksInOrder) {
  ModelEntry m = entry({{1, true}, {1, false}, {1, true}, {1, false}});
  AttemptPlan plan = planAttempts(m, [] { return 0.0; });
  ASSERT_EQ(plan.size(), 4U);
  EXPECT_EQ(plan[0], 1);
  EXPECT_EQ(plan[1], 3);
  EXPECT_EQ(plan[2], 0);
  EXPECT_EQ(plan[3], 2);
}

TEST(PlanAttempts, FirstChoiceFollowsWeights) {
  ModelEntry m = entry({{3, false}, {1, false}});
  std::map<int, int> first;
  for (int i = 0; i < 1000; ++i) {
    const double u = (i + 0.5) / 1000.0;
    first[planAttempts(m, [u] { return u; })[0]]++;
  }
  EXPECT_EQ(first[0], 750);
  EXPECT_EQ(first[1], 250);
}

TEST(PlanAttempts, EveryRouteAppearsOnce) {
  ModelEntry m = entry({{1, false}, {2, false}, {5, false}, {1, true}});
  AttemptPlan plan = planAttempts(m, [] { return 0.99; });
  std::vector<int> sorted(plan.begin(), plan.end());
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(plan.back(), 3);
}

}  // namespace
}  // namespace basalt::pipeline

namespace basalt::pipeline {
namespace {

TEST(ModelTable, FindsNamesThenExactAliasesThenLongestPrefix) {
  config::Settings settings;
  auto model = [](std::string name, std::vector<std::string> aliases) {
    config::ModelSettings m;
    m.name = std::move(name);
    m.aliases = std::move(aliases);
    config::RouteSettings r;
    r.provider = "p";
    r.model = "upstream";
    m.routes.push_back(r);
    return m;
  };
  settings.models.push_back(model("haiku", {"claude-*", "claude-3-haiku"}));
  settings.models.push_back(model("sonnet", {"claude-sonnet-*"}));
  settings.models.push_back(model("claude-exact", {}));
  ProviderMap providers;
  providers.emplace("p", nullptr);
  auto table = ModelTable::build(settings, providers);
  ASSERT_TRUE(table.has_value()) << table.error().message;
  auto nameOf = [&](std::string_view n) {
    const ModelEntry* e = (*table)->find(n);
    return e == nullptr ? std::string("-") : e->name;
  };
  EXPECT_EQ(nameOf("claude-exact"), "claude-exact");       // a name beats the prefix "claude-"
  EXPECT_EQ(nameOf("claude-3-haiku"), "haiku");            // exact alias
  EXPECT_EQ(nameOf("claude-sonnet-4-5-20250929"), "sonnet");  // longest prefix
  EXPECT_EQ(nameOf("claude-haiku-4-5"), "haiku");
  EXPECT_EQ(nameOf("gpt-5"), "-");
  EXPECT_EQ((*table)->names(), (std::vector<std::string>{"haiku", "sonnet", "claude-exact"}));
}

}  // namespace
}  // namespace basalt::pipeline
