#include "basalt/config/settings.h"

#include <algorithm>

namespace basalt::config {
namespace {

template <class T>
const T* findByName(const std::vector<T>& items, const std::string& name) {
  const auto it =
      std::find_if(items.begin(), items.end(), [&](const T& item) { return item.name == name; });
  return it == items.end() ? nullptr : &*it;
}

}  // namespace

const ProviderSettings* Settings::provider(const std::string& name) const {
  return findByName(providers, name);
}

const ModelSettings* Settings::model(const std::string& name) const {
  return findByName(models, name);
}

const GuardrailSettings* Settings::guardrail(const std::string& name) const {
  return findByName(guardrails, name);
}

}  // namespace basalt::config
