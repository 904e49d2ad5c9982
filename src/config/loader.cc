#include "basalt/config/loader.h"

#include "schema.h"
#include "toml_reader.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace basalt::config {
namespace {

using detail::Diagnostics;
using detail::inQuotes;
using detail::Position;

/// Config files are small; anything bigger is a mistake (a log file passed by accident).
constexpr std::size_t kMaxFileBytes = 4U << 20U;

/// Environment, then command line, then the storage default that depends on the final data_dir.
void applyOverrides(Settings& settings, bool storage_from_file, const Overrides& overrides,
                    const EnvLookup& env, Diagnostics& diags) {
  const auto from_env = [&](const char* name) -> std::optional<std::string> {
    if (!env) return std::nullopt;
    std::optional<std::string> value = env(name);
    if (value && value->empty()) return std::nullopt;  // an empty variable counts as unset
    return value;
  };
  const auto set_listen = [&](std::string value, const std::string& origin) {
    auto parsed = parseListen(value);
    if (!parsed) {
      diags.add(Position{}, "server.listen",
                origin + " " + inQuotes(value) + " is not HOST:PORT (e.g. 127.0.0.1:8080 or " +
                    "[::1]:8080): " + parsed.error().message);
      return;
    }
    settings.server.listen = std::move(value);
  };

  if (auto listen = from_env("BASALT_LISTEN")) {
    set_listen(std::move(*listen), "environment variable BASALT_LISTEN:");
  }
  if (auto data = from_env("BASALT_DATA")) settings.data_dir = std::move(*data);
  if (overrides.listen) set_listen(*overrides.listen, "command line --listen:");
  if (overrides.data_dir) {
    if (overrides.data_dir->empty()) {
      diags.add(Position{}, "data_dir", "command line --data: must not be empty");
    } else {
      settings.data_dir = *overrides.data_dir;
    }
  }
  if (!storage_from_file) settings.storage.url = "sqlite:" + settings.data_dir + "/basalt.db";
}

Result<SettingsPtr> finish(Settings settings, bool storage_from_file, const Overrides& overrides,
                           const EnvLookup& env, Diagnostics& diags) {
  applyOverrides(settings, storage_from_file, overrides, env, diags);
  if (!diags.empty()) return diags.toError();
  return std::make_shared<const Settings>(std::move(settings));
}

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool isIpv6Char(char c) {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' ||
         c == '.';
}

}  // namespace

EnvLookup processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<ListenAddress> parseListen(std::string_view listen) {
  if (listen.empty()) return Error::invalid("it is empty");
  std::string_view host;
  std::string_view port;
  if (listen.front() == '[') {
    const std::size_t close = listen.find(']');
    if (close == std::string_view::npos) return Error::invalid("missing ']' after the IPv6 host");
    host = listen.substr(1, close - 1);
    if (host.empty() || host.find(':') == std::string_view::npos ||
        !std::all_of(host.begin(), host.end(), isIpv6Char)) {
      return Error::invalid("the bracketed host is not an IPv6 address");
    }
    if (close + 1 >= listen.size() || listen[close + 1] != ':') {
      return Error::invalid("missing ':PORT' after ']'");
    }
    port = listen.substr(close + 2);
  } else {
    const std::size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) return Error::invalid("missing ':PORT'");
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Error::invalid("an IPv6 host needs brackets, e.g. [::1]:8080");
    }
    if (host.empty()) return Error::invalid("missing host (0.0.0.0 listens on every interface)");
    if (!std::all_of(host.begin(), host.end(), isHostChar)) {
      return Error::invalid("the host has characters a host name cannot have");
    }
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error::invalid("the port must be a number from 0 to 65535");
  }
  unsigned value = 0;
  for (char c : port) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value > 65535) return Error::invalid("the port must be a number from 0 to 65535");
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(value)};
}

Result<SettingsPtr> parseText(std::string_view toml, std::string_view source_name,
                              const Overrides& overrides, const EnvLookup& env) {
  Diagnostics diags{std::string(source_name)};
  Settings settings;
  settings.source = std::string(source_name);
  toml::table root;
  // toml++ reports syntax errors by exception; none may escape the loader.
  try {
    root = toml::parse(toml, source_name);
  } catch (const toml::parse_error& e) {
    diags.add(detail::positionOf(e.source()), "", "invalid TOML: " + std::string(e.description()));
    return diags.toError();
  }
  detail::readDocument(root, env, settings, diags);
  const bool storage_from_file = !settings.storage.url.empty();
  return finish(std::move(settings), storage_from_file, overrides, env, diags);
}

Result<SettingsPtr> loadFile(const std::string& path, const Overrides& overrides,
                             const EnvLookup& env) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Error::invalid(path + ": is a directory, not a TOML file", "", "config_invalid");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return Error::invalid(path + ": cannot read: " + std::strerror(error), "", "config_invalid");
  }
  std::string text;
  char buffer[16384];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) {
      return Error::invalid(path + ": larger than " + std::to_string(kMaxFileBytes >> 20U) +
                                " MiB; is this really a basalt.toml?",
                            "", "config_invalid");
    }
  }
  if (in.bad()) return Error::invalid(path + ": read failed", "", "config_invalid");
  return parseText(text, path, overrides, env);
}

Result<SettingsPtr> defaults(const Overrides& overrides, const EnvLookup& env) {
  Diagnostics diags{"<defaults>"};
  Settings settings;
  settings.source = "<defaults>";
  return finish(std::move(settings), false, overrides, env, diags);
}

}  // namespace basalt::config
