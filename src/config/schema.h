#pragma once
/// Internal: the basalt.toml schema. Reads a parsed document into Settings, checking shape,
/// types, values and cross-references, and resolving secrets from the environment.

#include "basalt/config/loader.h"
#include "basalt/config/settings.h"
#include "toml_reader.h"

#include <toml++/toml.h>

namespace basalt::config::detail {

/// Fills `settings` from `root`. Every problem goes to `diags`; `settings` is only meaningful
/// when diags stays empty. Does not apply environment/command-line overrides or the storage
/// default (the loader does, after this).
void readDocument(const toml::table& root, const EnvLookup& env, Settings& settings,
                  Diagnostics& diags);

/// The default provider endpoints, shared with tests and the example file.
inline constexpr std::string_view kAnthropicBaseUrl = "https://api.anthropic.com";
inline constexpr std::string_view kAnthropicApiVersion = "2023-06-01";
inline constexpr std::string_view kAzureApiVersion = "2024-10-21";

/// https://bedrock-runtime.REGION.amazonaws.com
std::string bedrockBaseUrl(std::string_view region);

}  // namespace basalt::config::detail
