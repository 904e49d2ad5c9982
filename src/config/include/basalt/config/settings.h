#pragma once
/// Typed, validated, immutable settings (STYLE.md rule 6). Built once by config::load from
/// basalt.toml, environment overrides and command-line flags; modules receive the plain structs.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace basalt::config {

struct ServerSettings {
  std::string listen = "127.0.0.1:8080";  ///< HOST:PORT; port 0 picks a free port
  std::string region = "us-east-1";
  std::string tls_cert;                   ///< PEM paths; TLS when both are set
  std::string tls_key;
  std::string client_ca;                  ///< mTLS when set
  int threads = 0;                        ///< 0 = one per core
  std::size_t max_body_bytes = 32U << 20U;      ///< larger bodies get 413
  std::size_t max_header_bytes = 16U << 10U;    ///< larger header blocks get 431
  int header_timeout_ms = 10000;          ///< a request's headers must arrive within this
  int body_timeout_ms = 60000;            ///< and its body within this
  int idle_timeout_ms = 75000;            ///< keep-alive connection idle limit
  int shutdown_grace_ms = 30000;          ///< how long SIGTERM waits for in-flight streams
  std::string log_level = "info";
};

struct StorageSettings {
  std::string url;  ///< "sqlite:PATH" or "postgresql://..."; default sqlite under data dir
};

struct ProviderSettings {
  std::string name;
  std::string type;        ///< openai | azure-openai | anthropic | bedrock
  std::string api = "chat";  ///< openai: chat | responses
  std::string base_url;
  std::string api_key;     ///< resolved from api_key_env at load; never logged
  std::string api_key_env;
  std::string region;      ///< bedrock
  std::string access_key;  ///< bedrock, from access_key_env
  std::string secret_key;  ///< bedrock, from secret_key_env
  std::string session_token;  ///< bedrock, from session_token_env
  std::string bearer_token;   ///< bedrock, from bearer_token_env
  std::string api_version;    ///< azure-openai api-version, anthropic-version
  int connect_timeout_ms = 10000;
  int max_idle_connections = 64;  ///< per thread, per provider
};

struct RouteSettings {
  std::string provider;
  std::string model;              ///< the provider's own model id
  double weight = 1.0;
  bool fallback = false;          ///< only tried after every non-fallback route failed
  int timeout_ms = 600000;
  std::optional<std::int64_t> max_tokens_default;
};

struct ModelSettings {
  std::string name;
  std::vector<RouteSettings> routes;
  std::string guardrail;  ///< name of a [[guardrails]] entry, or empty
};

struct RoutingSettings {
  int retries = 1;                 ///< extra attempts on one route for retryable errors
  int retry_backoff_ms = 50;       ///< base of the jittered exponential backoff
  int breaker_failures = 5;        ///< consecutive failures that open a route's breaker
  int breaker_cooldown_ms = 30000; ///< open -> half-open after this long
};

struct Settings {
  ServerSettings server;
  StorageSettings storage;
  std::vector<ProviderSettings> providers;
  std::vector<ModelSettings> models;
  RoutingSettings routing;
  std::string data_dir = "basalt-data";
  std::string source;  ///< the file these settings came from, or "<defaults>"

  const ProviderSettings* provider(const std::string& name) const;
  const ModelSettings* model(const std::string& name) const;
};

using SettingsPtr = std::shared_ptr<const Settings>;

}  // namespace basalt::config
