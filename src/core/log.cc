#include "basalt/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace basalt::log {

void init(std::string_view level) {
  spdlog::drop("basalt");  // init may run more than once per process (tests, subcommands)
  auto logger = spdlog::stderr_color_mt("basalt");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(logger);
}

}  // namespace basalt::log
