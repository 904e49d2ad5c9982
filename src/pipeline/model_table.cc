#include "basalt/pipeline/model_table.h"

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
        return Error::internal("model '" + m.name + "' routes to unknown provider '" +
                               r.provider + "'");
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
  return table;
}

const ModelEntry* ModelTable::find(std::string_view name) const {
  // Heterogeneous lookup needs C++20 transparent hashing; model names are short, so one
  // std::string construction per request is cheaper than the indirection.
  auto it = models_.find(std::string(name));
  return it == models_.end() ? nullptr : &it->second;
}

}  // namespace basalt::pipeline
