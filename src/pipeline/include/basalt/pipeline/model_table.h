#pragma once
/// The immutable model -> routes table built from settings, and the attempt order for a call.

#include "basalt/config/settings.h"
#include "basalt/core/error.h"
#include "basalt/pipeline/circuit_breaker.h"
#include "basalt/providers/provider.h"

#include <boost/container/small_vector.hpp>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace basalt::pipeline {

/// Providers by name; the table owns them for the process lifetime.
using ProviderMap = std::map<std::string, std::unique_ptr<providers::Provider>, std::less<>>;

struct Route {
  providers::Provider* provider = nullptr;
  config::RouteSettings settings;
  std::unique_ptr<CircuitBreaker> breaker;
};

struct ModelEntry {
  std::string name;
  std::vector<Route> routes;
  std::string guardrail;
};

/// Indexes into ModelEntry::routes, in the order they should be tried.
using AttemptPlan = boost::container::small_vector<int, 8>;

class ModelTable {
 public:
  /// Fails when a route names a provider that is not in `providers`.
  static Result<std::unique_ptr<ModelTable>> build(const config::Settings& settings,
                                                   const ProviderMap& providers);

  /// The model `name` designates: a configured name, else an alias (see ModelSettings).
  const ModelEntry* find(std::string_view name) const;
  /// Model names in configuration order.
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::unordered_map<std::string, ModelEntry> models_;
  std::unordered_map<std::string, const ModelEntry*> exact_aliases_;
  /// (prefix, model), longest prefix first.
  std::vector<std::pair<std::string, const ModelEntry*>> prefix_aliases_;
  std::vector<std::string> names_;
};

/// The order in which to try a model's routes: non-fallback routes first, the first one drawn
/// by weight and the rest in weighted-random order after it, then fallback routes in
/// configuration order. `uniform01` returns a number in [0, 1).
template <class Uniform01>
AttemptPlan planAttempts(const ModelEntry& model, Uniform01&& uniform01) {
  AttemptPlan primaries;
  AttemptPlan plan;
  for (int i = 0; i < static_cast<int>(model.routes.size()); ++i) {
    if (!model.routes[i].settings.fallback) primaries.push_back(i);
  }
  while (!primaries.empty()) {
    double total = 0;
    for (int i : primaries) total += model.routes[i].settings.weight;
    double pick = uniform01() * total;
    std::size_t chosen = primaries.size() - 1;
    for (std::size_t k = 0; k < primaries.size(); ++k) {
      pick -= model.routes[primaries[k]].settings.weight;
      if (pick < 0) {
        chosen = k;
        break;
      }
    }
    plan.push_back(primaries[chosen]);
    primaries.erase(primaries.begin() + static_cast<std::ptrdiff_t>(chosen));
  }
  for (int i = 0; i < static_cast<int>(model.routes.size()); ++i) {
    if (model.routes[i].settings.fallback) plan.push_back(i);
  }
  return plan;
}

}  // namespace basalt::pipeline
