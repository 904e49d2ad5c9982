#include "basalt/cli/cli.h"

#include "admin_commands.h"

#include "basalt/app/application.h"
#include "basalt/config/loader.h"
#include "basalt/core/log.h"
#include "basalt/mock/mock_upstream.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

namespace basalt::cli {
namespace {

struct ServeArgs {
  std::string config_path;
  std::string listen;
  std::string data_dir;
};

/// Settings for `serve`: --config FILE, else ./basalt.toml if present, else built-in defaults.
Result<config::SettingsPtr> loadSettings(const ServeArgs& args) {
  config::Overrides overrides;
  if (!args.listen.empty()) overrides.listen = args.listen;
  if (!args.data_dir.empty()) overrides.data_dir = args.data_dir;
  const config::EnvLookup env = config::processEnv();
  if (!args.config_path.empty()) return config::loadFile(args.config_path, overrides, env);
  std::error_code ec;
  if (std::filesystem::exists("basalt.toml", ec)) {
    return config::loadFile("basalt.toml", overrides, env);
  }
  return config::defaults(overrides, env);
}

int serve(const ServeArgs& args) {
  Result<config::SettingsPtr> settings = loadSettings(args);
  if (!settings) {
    std::cerr << "basalt: " << settings.error().message << "\n";
    return 2;
  }
  log::init((*settings)->server.log_level);
  std::error_code ec;
  std::filesystem::create_directories((*settings)->data_dir, ec);
  if (ec) {
    std::cerr << "basalt: cannot create data dir '" << (*settings)->data_dir
              << "': " << ec.message() << "\n";
    return 2;
  }
  Result<std::unique_ptr<app::Application>> application = app::Application::build(*settings);
  if (!application) {
    std::cerr << "basalt: " << application.error().message << "\n";
    return 2;
  }
  if (Result<void> started = (*application)->start(); !started) {
    std::cerr << "basalt: " << started.error().message << "\n";
    return 2;
  }
  // Tests and scripts read the bound address (port 0 picks a free one) from this line.
  std::cout << "basalt listening on " << (*application)->boundAddress() << std::endl;
  log::info("serving {} model(s) from {}", (*settings)->models.size(), (*settings)->source);
  (*application)->runUntilSignal();
  log::info("stopped");
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App cli{"Basalt: a self-hosted model gateway and managed-agents runtime"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", "basalt 0.1.0");

  ServeArgs serve_args;
  CLI::App* serve_cmd = cli.add_subcommand("serve", "Run the gateway");
  serve_cmd->add_option("--config", serve_args.config_path, "basalt.toml to read");
  serve_cmd->add_option("--listen", serve_args.listen, "HOST:PORT to listen on (port 0: any)");
  serve_cmd->add_option("--data", serve_args.data_dir, "data directory (SQLite, admin.key)");
  int exit_code = 0;
  serve_cmd->callback([&] { exit_code = serve(serve_args); });

  mock::registerMockUpstreamCommand(cli);
  registerAdminCommands(cli);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  return exit_code;
}

}  // namespace basalt::cli
