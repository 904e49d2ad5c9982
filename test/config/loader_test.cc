#include "basalt/config/loader.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace basalt::config {
namespace {

using Vars = std::map<std::string, std::string>;

/// An EnvLookup over a fixed map, so tests never touch the real environment.
EnvLookup envOf(Vars vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<SettingsPtr> parse(std::string_view text, const Vars& vars = {},
                          const Overrides& overrides = {}) {
  return parseText(text, "basalt.toml", overrides, envOf(vars));
}

/// The error message of a load that must fail.
std::string errorOf(std::string_view text, const Vars& vars = {}, const Overrides& overrides = {}) {
  auto result = parse(text, vars, overrides);
  if (result) {
    ADD_FAILURE() << "expected an error for:\n" << text;
    return {};
  }
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidRequest);
  return result.error().message;
}

/// The settings of a load that must succeed; returns the owning pointer so that callers never
/// hold a reference into a temporary Result.
SettingsPtr ok(const Result<SettingsPtr>& result) {
  if (!result) {
    ADD_FAILURE() << result.error().message;
    return std::make_shared<const Settings>();
  }
  return *result;
}

constexpr std::string_view kFullFile = R"(data_dir = "/var/lib/basalt"

[server]
listen = "[::1]:9443"
region = "eu-west-1"
tls_cert = "cert.pem"
tls_key = "key.pem"
client_ca = "ca.pem"
threads = 4
max_body_bytes = 1048576
max_header_bytes = 8192
header_timeout_ms = 5000
body_timeout_ms = 30000
idle_timeout_ms = 60000
shutdown_grace_ms = 10000
log_level = "debug"

[storage]
url = "postgresql://basalt@db/basalt"

[routing]
retries = 2
retry_backoff_ms = 100
breaker_failures = 3
breaker_cooldown_ms = 15000

[[providers]]
name = "openai"
type = "openai"
api = "responses"
base_url = "https://api.openai.com/v1/"
api_key_env = "OPENAI_API_KEY"
connect_timeout_ms = 2000
max_idle_connections = 8

[[providers]]
name = "azure"
type = "azure-openai"
base_url = "https://example.openai.azure.com/openai"
api_key_env = "AZURE_KEY"
api_version = "2025-01-01"

[[providers]]
name = "claude"
type = "anthropic"
api_key_env = "ANTHROPIC_API_KEY"

[[providers]]
name = "aws"
type = "bedrock"
region = "us-west-2"
access_key_env = "AWS_ACCESS_KEY_ID"
secret_key_env = "AWS_SECRET_ACCESS_KEY"
session_token_env = "AWS_SESSION_TOKEN"

[[providers]]
name = "aws-bearer"
type = "bedrock"
region = "us-east-1"
base_url = "http://127.0.0.1:9999"
bearer_token_env = "AWS_BEARER_TOKEN_BEDROCK"

[[guardrails]]
name = "pii"
apply_to = ["input"]
pii = { EMAIL = "anonymize", CREDIT_DEBIT_CARD_NUMBER = "block" }
words = ["project-falcon", "zebra"]
regexes = [{ name = "ticket", pattern = "TKT-[0-9]+", action = "anonymize" }]
blocked_message = "No."

[[models]]
name = "gpt-5.5"
guardrail = "pii"
[[models.routes]]
provider = "openai"
model = "gpt-5.5-2026"
weight = 3
timeout_ms = 1000
max_tokens_default = 4096
[[models.routes]]
provider = "azure"
model = "gpt-5.5"
weight = 0.5
fallback = true

[[models]]
name = "claude-opus"
routes = [
  { provider = "claude", model = "claude-opus-4" },
  { provider = "aws", model = "anthropic.claude" },
]
)";

const Vars kFullEnv = {{"OPENAI_API_KEY", "sk-openai"},
                       {"AZURE_KEY", "az-key"},
                       {"ANTHROPIC_API_KEY", "sk-ant"},
                       {"AWS_ACCESS_KEY_ID", "AKIA"},
                       {"AWS_SECRET_ACCESS_KEY", "aws-secret"},
                       {"AWS_SESSION_TOKEN", "aws-session"},
                       {"AWS_BEARER_TOKEN_BEDROCK", "bedrock-bearer"}};

TEST(ConfigLoader, ReadsEveryKeyOfAFullFile) {
  auto result = parse(kFullFile, kFullEnv);
  const SettingsPtr s_ptr = ok(result);
  const Settings& s = *s_ptr;
  ASSERT_TRUE(result);
  EXPECT_EQ(s.source, "basalt.toml");
  EXPECT_EQ(s.data_dir, "/var/lib/basalt");
  EXPECT_EQ(s.server.listen, "[::1]:9443");
  EXPECT_EQ(s.server.region, "eu-west-1");
  EXPECT_EQ(s.server.tls_cert, "cert.pem");
  EXPECT_EQ(s.server.tls_key, "key.pem");
  EXPECT_EQ(s.server.client_ca, "ca.pem");
  EXPECT_EQ(s.server.threads, 4);
  EXPECT_EQ(s.server.max_body_bytes, 1048576U);
  EXPECT_EQ(s.server.max_header_bytes, 8192U);
  EXPECT_EQ(s.server.header_timeout_ms, 5000);
  EXPECT_EQ(s.server.body_timeout_ms, 30000);
  EXPECT_EQ(s.server.idle_timeout_ms, 60000);
  EXPECT_EQ(s.server.shutdown_grace_ms, 10000);
  EXPECT_EQ(s.server.log_level, "debug");
  EXPECT_EQ(s.storage.url, "postgresql://basalt@db/basalt");
  EXPECT_EQ(s.routing.retries, 2);
  EXPECT_EQ(s.routing.retry_backoff_ms, 100);
  EXPECT_EQ(s.routing.breaker_failures, 3);
  EXPECT_EQ(s.routing.breaker_cooldown_ms, 15000);

  ASSERT_EQ(s.providers.size(), 5U);
  const ProviderSettings* openai = s.provider("openai");
  ASSERT_NE(openai, nullptr);
  EXPECT_EQ(openai->type, "openai");
  EXPECT_EQ(openai->api, "responses");
  EXPECT_EQ(openai->base_url, "https://api.openai.com/v1");  // trailing '/' dropped
  EXPECT_EQ(openai->api_key_env, "OPENAI_API_KEY");
  EXPECT_EQ(openai->api_key, "sk-openai");
  EXPECT_EQ(openai->connect_timeout_ms, 2000);
  EXPECT_EQ(openai->max_idle_connections, 8);

  const ProviderSettings* azure = s.provider("azure");
  ASSERT_NE(azure, nullptr);
  EXPECT_EQ(azure->api, "chat");
  EXPECT_EQ(azure->api_version, "2025-01-01");
  EXPECT_EQ(azure->api_key, "az-key");

  const ProviderSettings* claude = s.provider("claude");
  ASSERT_NE(claude, nullptr);
  EXPECT_EQ(claude->base_url, "https://api.anthropic.com");
  EXPECT_EQ(claude->api_version, "2023-06-01");
  EXPECT_EQ(claude->api_key, "sk-ant");
  EXPECT_EQ(claude->connect_timeout_ms, 10000);
  EXPECT_EQ(claude->max_idle_connections, 64);

  const ProviderSettings* aws = s.provider("aws");
  ASSERT_NE(aws, nullptr);
  EXPECT_EQ(aws->region, "us-west-2");
  EXPECT_EQ(aws->base_url, "https://bedrock-runtime.us-west-2.amazonaws.com");
  EXPECT_EQ(aws->access_key, "AKIA");
  EXPECT_EQ(aws->secret_key, "aws-secret");
  EXPECT_EQ(aws->session_token, "aws-session");
  EXPECT_TRUE(aws->bearer_token.empty());

  const ProviderSettings* bearer = s.provider("aws-bearer");
  ASSERT_NE(bearer, nullptr);
  EXPECT_EQ(bearer->base_url, "http://127.0.0.1:9999");
  EXPECT_EQ(bearer->bearer_token, "bedrock-bearer");
  EXPECT_TRUE(bearer->access_key.empty());

  EXPECT_EQ(s.provider("nope"), nullptr);

  ASSERT_EQ(s.guardrails.size(), 1U);
  const GuardrailSettings* g = s.guardrail("pii");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->apply_input);
  EXPECT_FALSE(g->apply_output);
  ASSERT_EQ(g->pii.size(), 2U);
  // toml++ keeps table keys sorted.
  EXPECT_EQ(g->pii[0].entity, "CREDIT_DEBIT_CARD_NUMBER");
  EXPECT_EQ(g->pii[0].action, GuardrailAction::kBlock);
  EXPECT_EQ(g->pii[1].entity, "EMAIL");
  EXPECT_EQ(g->pii[1].action, GuardrailAction::kAnonymize);
  EXPECT_EQ(g->words, (std::vector<std::string>{"project-falcon", "zebra"}));
  ASSERT_EQ(g->regexes.size(), 1U);
  EXPECT_EQ(g->regexes[0].name, "ticket");
  EXPECT_EQ(g->regexes[0].pattern, "TKT-[0-9]+");
  EXPECT_EQ(g->regexes[0].action, GuardrailAction::kAnonymize);
  EXPECT_EQ(g->blocked_message, "No.");
  EXPECT_EQ(s.guardrail("other"), nullptr);

  ASSERT_EQ(s.models.size(), 2U);
  const ModelSettings* gpt = s.model("gpt-5.5");
  ASSERT_NE(gpt, nullptr);
  EXPECT_EQ(gpt->guardrail, "pii");
  ASSERT_EQ(gpt->routes.size(), 2U);
  EXPECT_EQ(gpt->routes[0].provider, "openai");
  EXPECT_EQ(gpt->routes[0].model, "gpt-5.5-2026");
  EXPECT_DOUBLE_EQ(gpt->routes[0].weight, 3.0);
  EXPECT_FALSE(gpt->routes[0].fallback);
  EXPECT_EQ(gpt->routes[0].timeout_ms, 1000);
  EXPECT_EQ(gpt->routes[0].max_tokens_default, 4096);
  EXPECT_DOUBLE_EQ(gpt->routes[1].weight, 0.5);
  EXPECT_TRUE(gpt->routes[1].fallback);
  EXPECT_EQ(gpt->routes[1].timeout_ms, 600000);
  EXPECT_FALSE(gpt->routes[1].max_tokens_default.has_value());

  const ModelSettings* opus = s.model("claude-opus");
  ASSERT_NE(opus, nullptr);
  EXPECT_TRUE(opus->guardrail.empty());
  ASSERT_EQ(opus->routes.size(), 2U);
  EXPECT_EQ(opus->routes[1].provider, "aws");
  EXPECT_EQ(s.model("gpt-4"), nullptr);
}

TEST(ConfigLoader, DefaultsWithoutAFile) {
  auto result = defaults({}, envOf({}));
  const SettingsPtr s_ptr = ok(result);
  const Settings& s = *s_ptr;
  ASSERT_TRUE(result);
  EXPECT_EQ(s.source, "<defaults>");
  EXPECT_EQ(s.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(s.server.region, "us-east-1");
  EXPECT_EQ(s.server.threads, 0);
  EXPECT_EQ(s.server.log_level, "info");
  EXPECT_EQ(s.data_dir, "basalt-data");
  EXPECT_EQ(s.storage.url, "sqlite:basalt-data/basalt.db");
  EXPECT_EQ(s.routing.retries, 1);
  EXPECT_TRUE(s.providers.empty());
  EXPECT_TRUE(s.models.empty());
  EXPECT_TRUE(s.guardrails.empty());
}

TEST(ConfigLoader, EmptyFileGivesDefaults) {
  auto result = parse("# nothing here\n");
  const SettingsPtr s_ptr = ok(result);
  const Settings& s = *s_ptr;
  ASSERT_TRUE(result);
  EXPECT_EQ(s.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(s.storage.url, "sqlite:basalt-data/basalt.db");
  EXPECT_EQ(s.source, "basalt.toml");
}

TEST(ConfigLoader, StorageDefaultFollowsTheFinalDataDir) {
  EXPECT_EQ(ok(parse("data_dir = \"/srv/b\"\n"))->storage.url, "sqlite:/srv/b/basalt.db");
  EXPECT_EQ(ok(parse("data_dir = \"/srv/b\"\n", {{"BASALT_DATA", "/env"}}))->storage.url,
            "sqlite:/env/basalt.db");
  Overrides cli;
  cli.data_dir = "/cli";
  EXPECT_EQ(ok(parse("data_dir = \"/srv/b\"\n", {{"BASALT_DATA", "/env"}}, cli))->storage.url,
            "sqlite:/cli/basalt.db");
  // An explicit url is kept whatever data_dir becomes.
  EXPECT_EQ(ok(parse("[storage]\nurl = \"sqlite:x.db\"\n", {{"BASALT_DATA", "/env"}}))->storage.url,
            "sqlite:x.db");
}

TEST(ConfigLoader, PrecedenceIsDefaultsFileEnvironmentCommandLine) {
  constexpr std::string_view kFile = "data_dir = \"file-data\"\n[server]\nlisten = \"0.0.0.0:1\"\n";
  const SettingsPtr file_only_ptr = ok(parse(kFile));
  const Settings& file_only = *file_only_ptr;
  EXPECT_EQ(file_only.server.listen, "0.0.0.0:1");
  EXPECT_EQ(file_only.data_dir, "file-data");

  const Vars env = {{"BASALT_LISTEN", "127.0.0.1:2"}, {"BASALT_DATA", "env-data"}};
  const SettingsPtr with_env_ptr = ok(parse(kFile, env));
  const Settings& with_env = *with_env_ptr;
  EXPECT_EQ(with_env.server.listen, "127.0.0.1:2");
  EXPECT_EQ(with_env.data_dir, "env-data");

  Overrides cli;
  cli.listen = "[::1]:3";
  cli.data_dir = "cli-data";
  const SettingsPtr with_cli_ptr = ok(parse(kFile, env, cli));
  const Settings& with_cli = *with_cli_ptr;
  EXPECT_EQ(with_cli.server.listen, "[::1]:3");
  EXPECT_EQ(with_cli.data_dir, "cli-data");

  // Overrides also apply without a file.
  const SettingsPtr no_file_ptr = ok(defaults(cli, envOf(env)));
  const Settings& no_file = *no_file_ptr;
  EXPECT_EQ(no_file.server.listen, "[::1]:3");
  EXPECT_EQ(no_file.data_dir, "cli-data");
  const SettingsPtr env_only_ptr = ok(defaults({}, envOf(env)));
  const Settings& env_only = *env_only_ptr;
  EXPECT_EQ(env_only.server.listen, "127.0.0.1:2");

  // An empty variable counts as unset.
  EXPECT_EQ(ok(parse(kFile, {{"BASALT_LISTEN", ""}}))->server.listen, "0.0.0.0:1");
}

TEST(ConfigLoader, BadOverridesNameTheirOrigin) {
  EXPECT_EQ(errorOf("", {{"BASALT_LISTEN", "localhost"}}),
            "environment variable BASALT_LISTEN: 'localhost' is not HOST:PORT (e.g. "
            "127.0.0.1:8080 or [::1]:8080): missing ':PORT'");
  Overrides cli;
  cli.listen = "::1:80";
  EXPECT_EQ(errorOf("", {}, cli),
            "command line --listen: '::1:80' is not HOST:PORT (e.g. 127.0.0.1:8080 or "
            "[::1]:8080): an IPv6 host needs brackets, e.g. [::1]:8080");
  Overrides empty_dir;
  empty_dir.data_dir = "";
  EXPECT_EQ(errorOf("", {}, empty_dir), "command line --data: must not be empty");
  EXPECT_FALSE(defaults(cli, envOf({})));
}

TEST(ConfigLoader, ProcessEnvReadsTheRealEnvironment) {
  ASSERT_EQ(::setenv("BASALT_CONFIG_TEST_VAR", "value-1", 1), 0);
  const EnvLookup env = processEnv();
  EXPECT_EQ(env("BASALT_CONFIG_TEST_VAR"), "value-1");
  ::unsetenv("BASALT_CONFIG_TEST_VAR");
  EXPECT_EQ(env("BASALT_CONFIG_TEST_VAR"), std::nullopt);
}

// ---- errors: each names file:line:column, the key path and the reason ----

TEST(ConfigErrors, UnknownKeys) {
  EXPECT_EQ(errorOf("[[providers]]\n"
                    "name = \"p\"\n"
                    "type = \"anthropic\"\n"
                    "apikey = \"x\"\n"),
            "basalt.toml:4:1: unknown key 'providers[0].apikey'");
  EXPECT_EQ(errorOf("[server]\nlisten = \"127.0.0.1:1\"\n  treads = 2\n"),
            "basalt.toml:3:3: unknown key 'server.treads' (did you mean 'threads'?)");
  EXPECT_EQ(errorOf("colour = 1\n"), "basalt.toml:1:1: unknown key 'colour'");
  EXPECT_EQ(errorOf("[logging]\nlevel = \"x\"\n"), "basalt.toml:1:2: unknown key 'logging'");
  EXPECT_EQ(errorOf("[[models]]\nname = \"m\"\n[[models.routes]]\nprovider = \"p\"\n"
                    "model = \"x\"\nwieght = 2\n"
                    "[[providers]]\nname = \"p\"\ntype = \"anthropic\"\n"),
            "basalt.toml:6:1: unknown key 'models[0].routes[0].wieght' (did you mean 'weight'?)");
  EXPECT_EQ(
      errorOf("[[guardrails]]\nname = \"g\"\nwords = [\"w\"]\n"
              "regexes = [{ name = \"t\", pattern = \"x\", action = \"block\", flags = 1 }]\n"),
      "basalt.toml:4:59: unknown key 'guardrails[0].regexes[0].flags'");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(errorOf("[server]\n\n\n\n\n\nthreads = \"4\"\n"),
            "basalt.toml:7:11: 'server.threads' must be an integer, got string");
  EXPECT_EQ(errorOf("[server]\nlisten = 8080\n"),
            "basalt.toml:2:10: 'server.listen' must be a string, got integer");
  EXPECT_EQ(errorOf("server = 1\n"), "basalt.toml:1:10: 'server' must be a table, got integer");
  EXPECT_EQ(errorOf("[providers]\nname = \"x\"\n"),
            "basalt.toml:1:1: 'providers' must be an array, got table");
  EXPECT_EQ(errorOf("providers = [1]\n"),
            "basalt.toml:1:14: 'providers[0]' must be a table, got integer");
  EXPECT_EQ(errorOf("[server]\nidle_timeout_ms = 1.5\n"),
            "basalt.toml:2:19: 'server.idle_timeout_ms' must be an integer, got float");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"p\"\ntype = \"anthropic\"\n"
                    "[[models]]\nname = \"m\"\n[[models.routes]]\nprovider = \"p\"\nmodel = \"x\"\n"
                    "fallback = \"yes\"\n"),
            "basalt.toml:9:12: 'models[0].routes[0].fallback' must be a boolean, got string");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"p\"\ntype = \"anthropic\"\n"
                    "[[models]]\nname = \"m\"\n[[models.routes]]\nprovider = \"p\"\nmodel = \"x\"\n"
                    "weight = \"heavy\"\n"),
            "basalt.toml:9:10: 'models[0].routes[0].weight' must be a number, got string");
  EXPECT_EQ(errorOf("data_dir = 2026-01-01\n"),
            "basalt.toml:1:12: 'data_dir' must be a string, got date");
}

TEST(ConfigErrors, SyntaxErrorsAreValuesWithAPosition) {
  const std::string message = errorOf("[server]\nthreads = \n");
  EXPECT_EQ(message.rfind("basalt.toml:2:", 0), 0U) << message;
  EXPECT_NE(message.find("invalid TOML"), std::string::npos) << message;
  const std::string dup = errorOf("[server]\nthreads = 1\nthreads = 2\n");
  EXPECT_EQ(dup.rfind("basalt.toml:3:", 0), 0U) << dup;
}

TEST(ConfigErrors, ValueRanges) {
  EXPECT_EQ(errorOf("[server]\nthreads = -1\n"),
            "basalt.toml:2:1: 'server.threads' must be between 0 and 1024, got -1");
  EXPECT_EQ(errorOf("[server]\nheader_timeout_ms = 0\n"),
            "basalt.toml:2:1: 'server.header_timeout_ms' must be greater than 0, got 0");
  EXPECT_EQ(errorOf("[server]\nbody_timeout_ms = 3000000000\n"),
            "basalt.toml:2:1: 'server.body_timeout_ms' must be greater than 0, got 3000000000");
  EXPECT_EQ(errorOf("[routing]\nbreaker_failures = 0\n"),
            "basalt.toml:2:1: 'routing.breaker_failures' must be greater than 0, got 0");
  EXPECT_EQ(errorOf("[server]\nlog_level = \"loud\"\n"),
            "basalt.toml:2:1: 'server.log_level' must be one of trace, debug, info, warn, error, "
            "critical, off, got 'loud'");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"p\"\ntype = \"anthropic\"\n"
                    "[[models]]\nname = \"m\"\n[[models.routes]]\nprovider = \"p\"\nmodel = \"x\"\n"
                    "weight = 0\ntimeout_ms = 0\n"),
            "basalt.toml:9:1: 'models[0].routes[0].weight' must be greater than 0\n"
            "basalt.toml:10:1: 'models[0].routes[0].timeout_ms' must be greater than 0, got 0");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"p\"\ntype = \"anthropic\"\nconnect_timeout_ms = 0\n"),
            "basalt.toml:4:1: 'providers[0].connect_timeout_ms' must be greater than 0, got 0");
}

TEST(ConfigErrors, ListenMustBeHostPort) {
  EXPECT_EQ(errorOf("[server]\nlisten = \"8080\"\n"),
            "basalt.toml:2:1: 'server.listen' must be HOST:PORT (e.g. 127.0.0.1:8080 or "
            "[::1]:8080): missing ':PORT'");
  EXPECT_NE(errorOf("[server]\nlisten = \"127.0.0.1:65536\"\n").find("from 0 to 65535"),
            std::string::npos);
  EXPECT_NE(errorOf("[server]\nlisten = \"[::1:80\"\n").find("missing ']'"), std::string::npos);
  EXPECT_NE(errorOf("[server]\nlisten = \":80\"\n").find("missing host"), std::string::npos);
  EXPECT_TRUE(parse("[server]\nlisten = \"[::]:0\"\n"));
  EXPECT_TRUE(parse("[server]\nlisten = \"localhost:0\"\n"));
}

TEST(ConfigErrors, TlsNeedsBothFiles) {
  EXPECT_EQ(errorOf("[server]\ntls_cert = \"c.pem\"\n"),
            "basalt.toml:2:1: 'server.tls_cert' is set but 'server.tls_key' is not; TLS needs "
            "both or neither");
  EXPECT_EQ(errorOf("[server]\n\ntls_key = \"k.pem\"\n"),
            "basalt.toml:3:1: 'server.tls_key' is set but 'server.tls_cert' is not; TLS needs "
            "both or neither");
  EXPECT_EQ(errorOf("[server]\nclient_ca = \"ca.pem\"\n"),
            "basalt.toml:2:1: 'server.client_ca' needs 'server.tls_cert' and 'server.tls_key' "
            "(mTLS runs over TLS)");
}

TEST(ConfigErrors, ProviderShape) {
  EXPECT_EQ(errorOf("[[providers]]\nname = \"a\"\ntype = \"anthropic\"\n"
                    "[[providers]]\nname = \"a\"\ntype = \"anthropic\"\n"),
            "basalt.toml:5:1: 'providers[1].name': provider name 'a' is already used by "
            "'providers[0]'");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"a\"\ntype = \"gemini\"\n"),
            "basalt.toml:3:1: 'providers[0].type' must be one of openai, azure-openai, anthropic, "
            "bedrock, got 'gemini'");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"a\"\n"),
            "basalt.toml:1:1: missing required key 'providers[0].type'");
  EXPECT_EQ(errorOf("[[providers]]\ntype = \"anthropic\"\n"),
            "basalt.toml:1:1: missing required key 'providers[0].name'");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"\"\ntype = \"anthropic\"\n"),
            "basalt.toml:2:1: 'providers[0].name' must not be empty");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"o\"\ntype = \"openai\"\n"),
            "basalt.toml:1:1: missing required key 'providers[0].base_url' (openai providers have "
            "no default endpoint)");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"o\"\ntype = \"azure-openai\"\n"),
            "basalt.toml:1:1: missing required key 'providers[0].base_url' (azure-openai "
            "providers have no default endpoint)");
  EXPECT_EQ(
      errorOf("[[providers]]\nname = \"o\"\ntype = \"openai\"\nbase_url = \"api.openai.com\"\n"),
      "basalt.toml:4:1: 'providers[0].base_url' must be an http:// or https:// URL with a "
      "host, got 'api.openai.com'");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"o\"\ntype = \"openai\"\nbase_url = \"http://x\"\n"
                    "api = \"completions\"\n"),
            "basalt.toml:5:1: 'providers[0].api' must be one of chat, responses, got "
            "'completions'");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"c\"\ntype = \"anthropic\"\napi = \"responses\"\n"),
            "basalt.toml:4:1: 'providers[0].api' does not apply to anthropic providers (only "
            "openai and azure-openai)");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"c\"\ntype = \"anthropic\"\nregion = \"us-east-1\"\n"),
            "basalt.toml:4:1: 'providers[0].region' does not apply to anthropic providers (only "
            "bedrock)");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"o\"\ntype = \"openai\"\nbase_url = \"http://x\"\n"
                    "api_version = \"v1\"\n"),
            "basalt.toml:5:1: 'providers[0].api_version' does not apply to openai providers (only "
            "azure-openai and anthropic)");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"b\"\ntype = \"bedrock\"\n"),
            "basalt.toml:1:1: missing required key 'providers[0].region' (bedrock requests are "
            "signed for a region)");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"b\"\ntype = \"bedrock\"\nregion = \"us-east-1\"\n"
                    "access_key_env = \"AK\"\n",
                    {{"AK", "x"}}),
            "basalt.toml:5:1: 'providers[0].access_key_env' needs its partner: set both "
            "access_key_env and secret_key_env");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"b\"\ntype = \"bedrock\"\nregion = \"us-east-1\"\n"
                    "bearer_token_env = \"BT\"\naccess_key_env = \"AK\"\nsecret_key_env = \"SK\"\n",
                    {{"AK", "x"}, {"SK", "y"}, {"BT", "z"}}),
            "basalt.toml:5:1: 'providers[0].bearer_token_env' cannot be combined with "
            "access_key_env/secret_key_env; choose one");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"b\"\ntype = \"bedrock\"\nregion = \"us-east-1\"\n"
                    "api_key_env = \"K\"\n",
                    {{"K", "x"}}),
            "basalt.toml:5:1: 'providers[0].api_key_env' does not apply to bedrock providers "
            "(only openai, azure-openai and anthropic; bedrock uses access_key_env and "
            "secret_key_env, or bearer_token_env)");
}

TEST(ConfigErrors, ModelShapeAndReferences) {
  constexpr std::string_view kProvider = "[[providers]]\nname = \"p\"\ntype = \"anthropic\"\n";
  EXPECT_EQ(errorOf(std::string(kProvider) +
                    "[[models]]\nname = \"a\"\n[[models.routes]]\nprovider = \"p\"\nmodel = \"x\"\n"
                    "[[models]]\nname = \"b\"\n[[models.routes]]\nprovider = \"x\"\n"
                    "model = \"y\"\n"),
            "basalt.toml:12:1: 'models[1].routes[0].provider' names provider 'x', which is not "
            "defined");
  EXPECT_EQ(errorOf(std::string(kProvider) + "[[models]]\nname = \"a\"\n"),
            "basalt.toml:4:1: model 'a' has no routes: add at least one [[models.routes]]");
  EXPECT_EQ(errorOf(std::string(kProvider) + "[[models]]\nname = \"a\"\nroutes = []\n"),
            "basalt.toml:6:1: model 'a' has no routes: add at least one [[models.routes]]");
  EXPECT_EQ(errorOf(std::string(kProvider) +
                    "[[models]]\nname = \"a\"\nroutes = [{ provider = \"p\", model = \"x\" }]\n"
                    "[[models]]\nname = \"a\"\nroutes = [{ provider = \"p\", model = \"x\" }]\n"),
            "basalt.toml:8:1: 'models[1].name': model name 'a' is already used by 'models[0]'");
  EXPECT_EQ(errorOf(std::string(kProvider) + "[[models]]\nname = \"a\"\nguardrail = \"pii\"\n"
                                             "routes = [{ provider = \"p\", model = \"x\" }]\n"),
            "basalt.toml:6:1: 'models[0].guardrail' names guardrail 'pii', which is not defined");
  EXPECT_EQ(errorOf(std::string(kProvider) +
                    "[[models]]\nname = \"a\"\nroutes = [{ provider = \"p\" }]\n"),
            "basalt.toml:6:11: missing required key 'models[0].routes[0].model'");
}

TEST(ConfigErrors, GuardrailShape) {
  EXPECT_EQ(errorOf("[[guardrails]]\nname = \"g\"\napply_to = [\"input\", \"inptu\"]\n"
                    "words = [\"w\"]\n"),
            "basalt.toml:3:22: 'guardrails[0].apply_to[1]' must be \"input\" or \"output\", got "
            "'inptu'");
  EXPECT_EQ(errorOf("[[guardrails]]\nname = \"g\"\npii = { EMAIL = \"redact\" }\n"),
            "basalt.toml:3:9: 'guardrails[0].pii.EMAIL' must be one of anonymize, block, got "
            "'redact'");
  EXPECT_EQ(errorOf("[[guardrails]]\nname = \"g\"\npii = { EMIAL = \"block\" }\n"),
            "basalt.toml:3:9: 'guardrails[0].pii.EMIAL': not a Bedrock PII entity type (e.g. "
            "EMAIL, PHONE, NAME, ADDRESS, CREDIT_DEBIT_CARD_NUMBER, US_SOCIAL_SECURITY_NUMBER)");
  EXPECT_EQ(errorOf("[[guardrails]]\nname = \"g\"\nwords = [\"ok\", 3]\n"),
            "basalt.toml:3:16: 'guardrails[0].words[1]' must be a string, got integer");
  EXPECT_EQ(
      errorOf("[[guardrails]]\nname = \"g\"\nregexes = [{ name = \"t\", pattern = \"x\" }]\n"),
      "basalt.toml:3:12: missing required key 'guardrails[0].regexes[0].action' "
      "(\"anonymize\" or \"block\")");
  EXPECT_EQ(errorOf("[[guardrails]]\nname = \"g\"\n"),
            "basalt.toml:1:1: guardrail 'g' checks nothing: set pii, words or regexes");
  EXPECT_EQ(errorOf("[[guardrails]]\nname = \"g\"\nwords = [\"a\"]\n"
                    "[[guardrails]]\nname = \"g\"\nwords = [\"b\"]\n"),
            "basalt.toml:5:1: 'guardrails[1].name': guardrail name 'g' is already used by "
            "'guardrails[0]'");
  // apply_to defaults to both directions.
  const SettingsPtr s_ptr = ok(parse("[[guardrails]]\nname = \"g\"\nwords = [\"a\"]\n"));
  const Settings& s = *s_ptr;
  ASSERT_EQ(s.guardrails.size(), 1U);
  EXPECT_TRUE(s.guardrails[0].apply_input);
  EXPECT_TRUE(s.guardrails[0].apply_output);
  EXPECT_EQ(s.guardrails[0].blocked_message, "Sorry, this request was blocked by policy.");
}

TEST(ConfigErrors, EveryProblemIsReportedInDocumentOrder) {
  const std::string message = errorOf(
      "[server]\nthreads = \"x\"\nfoo = 1\n"
      "[routing]\nretries = -1\n");
  EXPECT_EQ(message,
            "basalt.toml:2:11: 'server.threads' must be an integer, got string\n"
            "basalt.toml:3:1: unknown key 'server.foo'\n"
            "basalt.toml:5:1: 'routing.retries' must be between 0 and 100, got -1");
  auto result = parse("[server]\nthreads = \"x\"\n");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().param, "server.threads");
  EXPECT_EQ(result.error().code, "config_invalid");
}

// ---- secrets ----

TEST(ConfigSecrets, ResolvedFromTheNamedVariables) {
  const SettingsPtr s_ptr =
      ok(parse("[[providers]]\nname = \"c\"\ntype = \"anthropic\"\n"
               "api_key_env = \"MY_KEY\"\n",
               {{"MY_KEY", "sk-secret-1"}}));
  const Settings& s = *s_ptr;
  ASSERT_EQ(s.providers.size(), 1U);
  EXPECT_EQ(s.providers[0].api_key, "sk-secret-1");
  EXPECT_EQ(s.providers[0].api_key_env, "MY_KEY");
}

TEST(ConfigSecrets, NoKeyEnvMeansNoCredential) {
  const SettingsPtr s_ptr = ok(parse("[[providers]]\nname = \"c\"\ntype = \"anthropic\"\n"));
  const Settings& s = *s_ptr;
  ASSERT_EQ(s.providers.size(), 1U);
  EXPECT_TRUE(s.providers[0].api_key.empty());
}

TEST(ConfigSecrets, UnsetVariableNamesProviderAndVariable) {
  EXPECT_EQ(errorOf("[[providers]]\nname = \"claude\"\ntype = \"anthropic\"\n"
                    "api_key_env = \"ANTHROPIC_API_KEY\"\n"),
            "basalt.toml:4:1: provider 'claude': 'providers[0].api_key_env' names environment "
            "variable 'ANTHROPIC_API_KEY', which is not set");
  EXPECT_EQ(errorOf("[[providers]]\nname = \"aws\"\ntype = \"bedrock\"\nregion = \"us-east-1\"\n"
                    "access_key_env = \"AK\"\nsecret_key_env = \"SK\"\n",
                    {{"AK", "AKIA"}, {"SK", ""}}),
            "basalt.toml:6:1: provider 'aws': 'providers[0].secret_key_env' names environment "
            "variable 'SK', which is empty");
}

TEST(ConfigSecrets, LiteralSecretsAreRefusedWithoutEchoingThem) {
  const std::string message = errorOf(
      "[[providers]]\nname = \"claude\"\ntype = \"anthropic\"\n"
      "api_key = \"sk-ant-very-secret\"\n");
  EXPECT_EQ(message,
            "basalt.toml:4:1: 'providers[0].api_key' must not hold a secret in the file; put it "
            "in an environment variable and name that variable with api_key_env");
  EXPECT_EQ(message.find("very-secret"), std::string::npos);

  const std::string bedrock = errorOf(
      "[[providers]]\nname = \"aws\"\ntype = \"bedrock\"\n"
      "region = \"us-east-1\"\nsecret_key = \"wJalr\"\n");
  EXPECT_NE(bedrock.find("'providers[0].secret_key' must not hold a secret"), std::string::npos);
  EXPECT_NE(bedrock.find("secret_key_env"), std::string::npos);
  EXPECT_EQ(bedrock.find("wJalr"), std::string::npos);
}

TEST(ConfigSecrets, ASecretPastedIntoAnEnvKeyIsNotEchoed) {
  const std::string message = errorOf(
      "[[providers]]\nname = \"o\"\ntype = \"openai\"\n"
      "base_url = \"https://x\"\n"
      "api_key_env = \"sk-proj-abc123\"\n");
  EXPECT_EQ(message,
            "basalt.toml:5:1: 'providers[0].api_key_env' must be the NAME of an environment "
            "variable (letters, digits, '_'), not the secret itself");
}

TEST(ConfigSecrets, SecretValuesNeverAppearInErrors) {
  // A file with a resolved secret and an unrelated error: the message carries no secret.
  const std::string message = errorOf(
      "[[providers]]\nname = \"c\"\ntype = \"anthropic\"\n"
      "api_key_env = \"K\"\ntimeout = 3\n",
      {{"K", "sk-hidden-value"}});
  EXPECT_EQ(message.find("sk-hidden-value"), std::string::npos);
  EXPECT_NE(message.find("unknown key 'providers[0].timeout'"), std::string::npos);
}

// ---- files ----

class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    path_ = std::filesystem::temp_directory_path() /
            ("basalt-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) +
             ".toml");
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(ConfigFiles, LoadFileNamesThePathInErrors) {
  TempFile file("[server]\nthreads = \"4\"\n");
  auto result = loadFile(file.path(), {}, envOf({}));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message,
            file.path() + ":2:11: 'server.threads' must be an integer, got string");
}

TEST(ConfigFiles, LoadFileReadsAValidFile) {
  TempFile file("[server]\nlisten = \"127.0.0.1:0\"\n");
  auto result = loadFile(file.path(), {}, envOf({}));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ((*result)->server.listen, "127.0.0.1:0");
  EXPECT_EQ((*result)->source, file.path());
}

TEST(ConfigFiles, MissingFileAndDirectoryAreErrors) {
  auto missing = loadFile("/nonexistent/basalt.toml", {}, envOf({}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message,
            "/nonexistent/basalt.toml: cannot read: No such file or directory");
  auto directory = loadFile(std::filesystem::temp_directory_path().string(), {}, envOf({}));
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().message.find("is a directory"), std::string::npos);
}

TEST(ConfigFiles, TheExampleFileLoads) {
  const Vars env = {{"OPENAI_API_KEY", "a"},        {"AZURE_OPENAI_API_KEY", "b"},
                    {"ANTHROPIC_API_KEY", "c"},     {"AWS_ACCESS_KEY_ID", "d"},
                    {"AWS_SECRET_ACCESS_KEY", "e"}, {"AWS_SESSION_TOKEN", "f"}};
  auto result = loadFile(BASALT_SOURCE_DIR "/basalt.example.toml", {}, envOf(env));
  ASSERT_TRUE(result) << result.error().message;
  const Settings& s = **result;
  EXPECT_FALSE(s.providers.empty());
  EXPECT_FALSE(s.models.empty());
  EXPECT_FALSE(s.guardrails.empty());
}

// ---- listen parsing ----

TEST(ParseListen, SplitsHostAndPort) {
  auto v4 = parseListen("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  auto v6 = parseListen("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  auto name = parseListen("localhost:65535");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->host, "localhost");
  EXPECT_EQ(name->port, 65535);
  for (std::string_view bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:-1", "[::1]", "[::1]80", "[]:80",
        "[abc]:80", "a b:80", "::1:80", "127.0.0.1:123456"}) {
    EXPECT_FALSE(parseListen(bad)) << bad;
  }
}

}  // namespace
}  // namespace basalt::config

namespace basalt::config {
namespace {

constexpr std::string_view kAliasBase = R"(
[[providers]]
name = "p"
type = "openai"
base_url = "http://127.0.0.1:1/v1"
)";

TEST(ConfigLoader, ModelAliasesAreNamesOrTrailingStarPrefixes) {
  const SettingsPtr s = ok(parse(std::string(kAliasBase) + R"(
[[models]]
name = "haiku"
aliases = ["claude-haiku-*", "claude-3-5-haiku-20241022"]
[[models.routes]]
provider = "p"
model = "m"
)"));
  ASSERT_EQ(s->models.size(), 1U);
  EXPECT_EQ(s->models[0].aliases,
            (std::vector<std::string>{"claude-haiku-*", "claude-3-5-haiku-20241022"}));
}

TEST(ConfigLoader, BadOrDuplicateAliasesNameTheKey) {
  const std::string route = "\n[[models.routes]]\nprovider = \"p\"\nmodel = \"m\"\n";
  std::string message =
      errorOf(std::string(kAliasBase) + "[[models]]\nname = \"a\"\naliases = [\"x*y\"]" + route);
  EXPECT_NE(message.find("models[0].aliases[0]"), std::string::npos) << message;
  message =
      errorOf(std::string(kAliasBase) + "[[models]]\nname = \"a\"\naliases = [\"*\"]" + route);
  EXPECT_NE(message.find("prefix ending in one '*'"), std::string::npos) << message;
  message = errorOf(std::string(kAliasBase) + "[[models]]\nname = \"a\"\naliases = [\"c-*\"]" +
                    route + "[[models]]\nname = \"b\"\naliases = [\"c-*\"]" + route);
  EXPECT_NE(message.find("already used by 'models[0].aliases[0]'"), std::string::npos) << message;
  message = errorOf(std::string(kAliasBase) + "[[models]]\nname = \"a\"\naliases = [3]" + route);
  EXPECT_NE(message.find("must be a string"), std::string::npos) << message;
}

}  // namespace
}  // namespace basalt::config

namespace basalt::config {
namespace {

TEST(ConfigLoader, AgentsSectionTunesTheRuntime) {
  const SettingsPtr s =
      ok(parse("[agents]\nlease_ms = 1500\nreap_interval_ms = 200\n"
               "max_session_tokens = 5000\ntool_timeout_ms = 9000\n"
               "compaction_summary_max_tokens = 0\n"));
  EXPECT_EQ(s->agents.lease_ms, 1500);
  EXPECT_EQ(s->agents.reap_interval_ms, 200);
  EXPECT_EQ(s->agents.max_session_tokens, 5000);
  EXPECT_EQ(s->agents.tool_timeout_ms, 9000);
  EXPECT_EQ(s->agents.max_tokens, 8192);  // default kept
  EXPECT_EQ(s->agents.compaction_summary_max_tokens, 0);
  EXPECT_EQ(ok(parse(""))->agents.compaction_summary_max_tokens, 2048);
  std::string message = errorOf("[agents]\nlease_ms = 5\n");
  EXPECT_NE(message.find("agents.lease_ms"), std::string::npos) << message;
  message = errorOf("[agents]\nleases = 5\n");
  EXPECT_NE(message.find("unknown key 'agents.leases'"), std::string::npos) << message;
}

}  // namespace
}  // namespace basalt::config
