#pragma once
/// Typed, validated, immutable settings (STYLE.md rule 6). Built once by config::loadFile (see
/// loader.h) from basalt.toml, environment overrides and command-line flags; modules receive the
/// plain structs and never see TOML.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::config {

struct ServerSettings {
  std::string listen = "127.0.0.1:8080";  ///< HOST:PORT; port 0 picks a free port
  std::string region = "us-east-1";
  std::string tls_cert;  ///< PEM paths; TLS when both are set
  std::string tls_key;
  std::string client_ca;                      ///< mTLS when set
  int threads = 0;                            ///< 0 = one per core
  std::size_t max_body_bytes = 32U << 20U;    ///< larger bodies get 413
  std::size_t max_header_bytes = 16U << 10U;  ///< larger header blocks get 431
  int header_timeout_ms = 10000;              ///< a request's headers must arrive within this
  int body_timeout_ms = 60000;                ///< and its body within this
  int idle_timeout_ms = 75000;                ///< keep-alive connection idle limit
  int shutdown_grace_ms = 30000;              ///< how long SIGTERM waits for in-flight streams
  std::string log_level = "info";
  /// false turns authentication, authorization, quotas and audit off (benchmarks and local
  /// demos only). Refused at start-up unless the server listens on a loopback address.
  bool perimeter = true;
};

struct StorageSettings {
  std::string url;  ///< "sqlite:PATH" or "postgresql://..."; default sqlite under data dir
};

struct ProviderSettings {
  std::string name;
  std::string type;          ///< openai | azure-openai | anthropic | bedrock
  std::string api = "chat";  ///< openai: chat | responses
  std::string base_url;      ///< no trailing '/'; anthropic and bedrock get a default at load
  std::string api_key;       ///< resolved from api_key_env at load; never logged
  std::string api_key_env;
  std::string region;         ///< bedrock
  std::string access_key;     ///< bedrock, from access_key_env
  std::string secret_key;     ///< bedrock, from secret_key_env
  std::string session_token;  ///< bedrock, from session_token_env
  std::string bearer_token;   ///< bedrock, from bearer_token_env
  std::string api_version;    ///< azure-openai api-version, anthropic-version (defaulted at load)
  int connect_timeout_ms = 10000;
  int max_idle_connections = 64;  ///< per thread, per provider
};

struct RouteSettings {
  std::string provider;
  std::string model;  ///< the provider's own model id
  double weight = 1.0;
  bool fallback = false;  ///< only tried after every non-fallback route failed
  int timeout_ms = 600000;
  std::optional<std::int64_t> max_tokens_default;
};

struct ModelSettings {
  std::string name;
  std::vector<RouteSettings> routes;
  std::string guardrail;  ///< name of a [[guardrails]] entry, or empty
  /// Other names clients may send for this model: exact names, or prefixes ending in `*`
  /// ("claude-haiku-*" routes Claude Code's background model). An exact model name wins over
  /// an alias, an exact alias over a prefix, a longer prefix over a shorter one.
  std::vector<std::string> aliases;
};

/// What a guardrail does with a match.
enum class GuardrailAction : std::uint8_t {
  kAnonymize,  ///< replace the match with `{ENTITY}` / `{regex name}`, in streams too
  kBlock,      ///< answer with blocked_message instead; a blocked input never reaches a provider
};

/// Bedrock's PII entity type names, the only keys `pii = { ... }` accepts.
inline constexpr std::array<std::string_view, 31> kPiiEntityTypes = {
    "ADDRESS",
    "AGE",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "CA_HEALTH_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV",
    "CREDIT_DEBIT_CARD_EXPIRY",
    "CREDIT_DEBIT_CARD_NUMBER",
    "DRIVER_ID",
    "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "IP_ADDRESS",
    "LICENSE_PLATE",
    "MAC_ADDRESS",
    "NAME",
    "PASSWORD",
    "PHONE",
    "PIN",
    "SWIFT_CODE",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
    "URL",
    "USERNAME",
    "US_BANK_ACCOUNT_NUMBER",
    "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "US_PASSPORT_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER",
    "VEHICLE_IDENTIFICATION_NUMBER"};

/// One `pii = { ENTITY = "action" }` entry; entity is a Bedrock PII entity type name.
struct PiiRule {
  std::string entity;  ///< EMAIL, PHONE, CREDIT_DEBIT_CARD_NUMBER, ... (validated at load)
  GuardrailAction action = GuardrailAction::kAnonymize;
};

/// One `regexes = [{ name, pattern, action }]` entry. The pattern is not compiled at load; the
/// guardrail engine compiles it at startup and must fail fast on a bad one.
struct RegexRule {
  std::string name;  ///< the `{name}` placeholder an anonymized match becomes
  std::string pattern;
  GuardrailAction action = GuardrailAction::kBlock;
};

/// A `[[guardrails]]` entry (Bedrock Guardrails semantics); models attach one by name.
struct GuardrailSettings {
  std::string name;
  bool apply_input = true;         ///< apply_to contains "input" (default: both)
  bool apply_output = true;        ///< apply_to contains "output"
  std::vector<PiiRule> pii;        ///< sorted by entity name
  std::vector<std::string> words;  ///< blocked, case-insensitive whole words
  std::vector<RegexRule> regexes;
  std::string blocked_message = "Sorry, this request was blocked by policy.";
};

struct RoutingSettings {
  int retries = 1;                  ///< extra attempts on one route for retryable errors
  int retry_backoff_ms = 50;        ///< base of the jittered exponential backoff
  int breaker_failures = 5;         ///< consecutive failures that open a route's breaker
  int breaker_cooldown_ms = 30000;  ///< open -> half-open after this long
};

/// `[agents]`: the managed-agents runtime (docs/adr/0010-managed-agents.md).
struct AgentsSettings {
  int lease_ms = 30000;  ///< a worker's session lease; a dead worker's sessions resume after it
  int reap_interval_ms = 15000;                ///< how often expired leases are looked for
  std::int64_t max_session_tokens = 0;         ///< per session, input + output; 0 = unlimited
  std::int64_t context_token_budget = 150000;  ///< older turns are compacted beyond this
  /// max_tokens of the summary written when turns are compacted; 0 = drop them unsummarized
  std::int64_t compaction_summary_max_tokens = 2048;
  std::int64_t max_tokens = 8192;  ///< max_tokens of each agent model call
  int tool_timeout_ms = 120000;    ///< wall-clock limit of one built-in tool run
  int tool_threads = 4;            ///< threads that run sandboxed tools
};

struct Settings {
  ServerSettings server;
  StorageSettings storage;
  std::vector<ProviderSettings> providers;
  std::vector<ModelSettings> models;
  RoutingSettings routing;
  std::vector<GuardrailSettings> guardrails;
  AgentsSettings agents;
  std::string data_dir = "basalt-data";
  std::string source;  ///< the file these settings came from, or "<defaults>"

  /// The provider with this name, or nullptr. Linear scan: called at startup, not per request.
  const ProviderSettings* provider(const std::string& name) const;
  /// The model with this name (the id clients send), or nullptr.
  const ModelSettings* model(const std::string& name) const;
  /// The guardrail with this name, or nullptr.
  const GuardrailSettings* guardrail(const std::string& name) const;
};

using SettingsPtr = std::shared_ptr<const Settings>;

}  // namespace basalt::config
