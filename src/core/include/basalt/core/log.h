#pragma once
/// Logging facade over spdlog. Never log secrets (keys, Authorization headers, bodies).

#include <spdlog/spdlog.h>

#include <string_view>

namespace basalt::log {

/// Configures the default logger: level name ("info", "debug", ...), to stderr.
void init(std::string_view level);

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace basalt::log
