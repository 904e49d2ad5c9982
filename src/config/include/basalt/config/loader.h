#pragma once
/// Builds the immutable Settings snapshot from basalt.toml, the environment and command-line
/// flags. Precedence, lowest first: built-in defaults < file < environment (BASALT_LISTEN,
/// BASALT_DATA) < command-line Overrides. Every failure is a value: the Error's message names
/// `FILE:LINE:COLUMN`, the full key path (`providers[0].api_key_env`) and the reason, one line per
/// problem; its `param` is the first problem's key path. Secrets are read from the environment
/// variables that the `*_env` keys name and are never part of any message.

#include "basalt/config/settings.h"
#include "basalt/core/error.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::config {

/// Values from the command line; they beat the file and the environment.
struct Overrides {
  std::optional<std::string> listen;    ///< --listen HOST:PORT
  std::optional<std::string> data_dir;  ///< --data DIR
};

/// Reads one environment variable; nullopt when it is unset. Injected so tests need no setenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// An EnvLookup over the real process environment (getenv).
EnvLookup processEnv();

/// Reads and validates the TOML file at `path`; messages name the file as `path` was spelled.
Result<SettingsPtr> loadFile(const std::string& path, const Overrides& overrides,
                             const EnvLookup& env);

/// Like loadFile, for a document already in memory; `source_name` stands for the file name in
/// messages and in Settings::source.
Result<SettingsPtr> parseText(std::string_view toml, std::string_view source_name,
                              const Overrides& overrides, const EnvLookup& env);

/// Built-in defaults (no providers, no models) with the environment and Overrides applied;
/// Settings::source is "<defaults>".
Result<SettingsPtr> defaults(const Overrides& overrides, const EnvLookup& env);

/// A `listen` value split into its parts.
struct ListenAddress {
  std::string host;  ///< without brackets: "127.0.0.1", "::1", "localhost"
  std::uint16_t port = 0;
};

/// Parses HOST:PORT (`127.0.0.1:8080`, `localhost:0`, `[::1]:8080`). The error message is the
/// bare reason; callers add where the value came from.
Result<ListenAddress> parseListen(std::string_view listen);

}  // namespace basalt::config
