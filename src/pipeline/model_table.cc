#include "basalt/pipeline/model_table.h"

#include <algorithm>

namespace basalt::pipeline {

Result<std::unique_ptr<ModelTable>> ModelTable::build(const config::Settings& settings,
                                                      const ProviderMap& providers) {
  auto table = std::make_unique<ModelTable>();
  for (const config::ModelSettings& m : settings.models) {
    ModelEntry entry;
    entry.name = m.name;
    entry.guardrail = m.guardrail;
    for (const config::RouteSettings& r : m.routes) {
      auto it = providers.find(r.provider);
      if (it == providers.end()) {
        return Error::internal("model '" + m.name + "' routes to unknown provider '" + r.provider +
                               "'");
      }
      Route route;
      route.provider = it->second.get();
      route.settings = r;
      route.breaker = std::make_unique<CircuitBreaker>(
          settings.routing.breaker_failures,
          std::chrono::milliseconds(settings.routing.breaker_cooldown_ms));
      entry.routes.push_back(std::move(route));
    }
    table->names_.push_back(m.name);
    table->models_.emplace(m.name, std::move(entry));
  }
  // Entries are in place now (unordered_map nodes are stable): point the aliases at them.
  for (const config::ModelSettings& m : settings.models) {
    const ModelEntry* entry = &table->models_.at(m.name);
    for (const std::string& alias : m.aliases) {
      if (alias.ends_with('*')) {
        table->prefix_aliases_.emplace_back(alias.substr(0, alias.size() - 1), entry);
      } else {
        table->exact_aliases_.emplace(alias, entry);
      }
    }
  }
  std::stable_sort(table->prefix_aliases_.begin(), table->prefix_aliases_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return table;
}

const ModelEntry* ModelTable::find(std::string_view name) const {
  // Heterogeneous lookup needs C++20 transparent hashing; model names are short, so one
  // std::string construction per request is cheaper than the indirection.
  const std::string key(name);
  if (auto it = models_.find(key); it != models_.end()) return &it->second;
  if (auto it = exact_aliases_.find(key); it != exact_aliases_.end()) return it->second;
  for (const auto& [prefix, entry] : prefix_aliases_) {
    if (name.starts_with(prefix)) return entry;
  }
  return nullptr;
}

}  // namespace basalt::pipeline
