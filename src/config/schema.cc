#include "schema.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>

namespace basalt::config::detail {
namespace {

constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

bool isRegionName(std::string_view region) {
  return !region.empty() && std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

/// A POSIX-portable variable name. Anything else is most likely the secret itself pasted into
/// the *_env key, which is why messages about it never echo the value.
bool isEnvName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

/// http(s)://HOST[...] with a non-empty host; the trailing '/' is dropped so that callers can
/// append "/chat/completions" without doubling it.
bool normalizeBaseUrl(std::string& url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = std::string_view(url).substr(8);
  } else if (url.starts_with("http://")) {
    rest = std::string_view(url).substr(7);
  } else {
    return false;
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == ':') return false;
  if (rest.find_first_of(" \t\r\n?#") != std::string_view::npos) return false;
  while (url.ends_with('/')) url.pop_back();
  return true;
}

void readListen(TableReader& r, std::string& out) {
  std::string listen;
  if (!r.getString("listen", listen)) return;
  auto parsed = parseListen(listen);
  if (!parsed) {
    r.error("listen", inQuotes(r.pathOf("listen")) + " must be HOST:PORT (e.g. 127.0.0.1:8080 or " +
                          "[::1]:8080): " + parsed.error().message);
    return;
  }
  out = std::move(listen);
}

void readServer(TableReader& r, ServerSettings& s) {
  readListen(r, s.listen);
  std::string region;
  if (r.getString("region", region)) {
    if (isRegionName(region)) {
      s.region = std::move(region);
    } else {
      r.error("region", inQuotes(r.pathOf("region")) +
                            " must be a region name like us-east-1 (a-z, 0-9, '-'), got " +
                            inQuotes(region));
    }
  }
  for (auto [key, field] : {std::pair{"tls_cert", &s.tls_cert}, std::pair{"tls_key", &s.tls_key},
                            std::pair{"client_ca", &s.client_ca}}) {
    std::string path;
    if (!r.getString(key, path)) continue;
    if (path.empty()) {
      r.error(key, inQuotes(r.pathOf(key)) + " must not be empty (leave it out to disable)");
    } else {
      *field = std::move(path);
    }
  }
  if (s.tls_cert.empty() != s.tls_key.empty()) {
    const char* present = s.tls_cert.empty() ? "tls_key" : "tls_cert";
    const char* missing = s.tls_cert.empty() ? "tls_cert" : "tls_key";
    r.error(present, inQuotes(r.pathOf(present)) + " is set but " + inQuotes(r.pathOf(missing)) +
                         " is not; TLS needs both or neither");
  }
  if (!s.client_ca.empty() && (s.tls_cert.empty() || s.tls_key.empty())) {
    r.error("client_ca", inQuotes(r.pathOf("client_ca")) +
                             " needs 'server.tls_cert' and 'server.tls_key' (mTLS runs over TLS)");
  }
  r.getIntIn("threads", s.threads, 0, 1024);
  r.getSizeIn("max_body_bytes", s.max_body_bytes, 1, std::int64_t{1} << 40);
  r.getSizeIn("max_header_bytes", s.max_header_bytes, 1, std::int64_t{1} << 30);
  r.getIntIn("header_timeout_ms", s.header_timeout_ms, 1, kIntMax);
  r.getIntIn("body_timeout_ms", s.body_timeout_ms, 1, kIntMax);
  r.getIntIn("idle_timeout_ms", s.idle_timeout_ms, 1, kIntMax);
  r.getIntIn("shutdown_grace_ms", s.shutdown_grace_ms, 0, kIntMax);
  r.getOneOf("log_level", s.log_level,
             {"trace", "debug", "info", "warn", "error", "critical", "off"});
  r.getBool("perimeter", s.perimeter);
  r.finish();
}

void readStorage(TableReader& r, StorageSettings& s) {
  std::string url;
  if (r.getString("url", url)) {
    // The URL may carry a password (postgresql://user:pw@host), so it is never echoed.
    if (url.starts_with("sqlite:") && url.size() > 7) {
      s.url = std::move(url);
    } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
      s.url = std::move(url);
    } else {
      r.error("url", inQuotes(r.pathOf("url")) +
                         " must be \"sqlite:PATH\" or \"postgresql://...\" (leave it out for " +
                         "sqlite under data_dir)");
    }
  }
  r.finish();
}

void readRouting(TableReader& r, RoutingSettings& s) {
  r.getIntIn("retries", s.retries, 0, 100);
  r.getIntIn("retry_backoff_ms", s.retry_backoff_ms, 0, kIntMax);
  r.getIntIn("breaker_failures", s.breaker_failures, 1, kIntMax);
  r.getIntIn("breaker_cooldown_ms", s.breaker_cooldown_ms, 1, kIntMax);
  r.finish();
}

void readAgents(TableReader& r, AgentsSettings& s) {
  r.getIntIn("lease_ms", s.lease_ms, 100, kIntMax);
  r.getIntIn("reap_interval_ms", s.reap_interval_ms, 50, kIntMax);
  r.getInt64In("max_session_tokens", s.max_session_tokens, 0, INT64_MAX);
  r.getInt64In("context_token_budget", s.context_token_budget, 1000, INT64_MAX);
  r.getInt64In("compaction_summary_max_tokens", s.compaction_summary_max_tokens, 0, 1000000);
  r.getInt64In("max_tokens", s.max_tokens, 1, 1000000);
  r.getIntIn("tool_timeout_ms", s.tool_timeout_ms, 100, kIntMax);
  r.getIntIn("tool_threads", s.tool_threads, 1, 64);
  r.finish();
}

/// Reads the variable a *_env key names into `secret`. The message names the provider and the
/// variable, never a value.
void readSecret(TableReader& r, const EnvLookup& env, const std::string& provider,
                std::string_view key, std::string& name_out, std::string& secret) {
  std::string name;
  if (!r.getString(key, name)) return;
  if (!isEnvName(name)) {
    r.error(key, inQuotes(r.pathOf(key)) +
                     " must be the NAME of an environment variable (letters, digits, '_'), not the "
                     "secret itself");
    return;
  }
  name_out = name;
  std::optional<std::string> value = env ? env(name) : std::nullopt;
  if (!value || value->empty()) {
    r.error(key, "provider " + inQuotes(provider) + ": " + inQuotes(r.pathOf(key)) +
                     " names environment variable " + inQuotes(name) + ", which is " +
                     (value ? "empty" : "not set"));
    return;
  }
  secret = std::move(*value);
}

/// Keys valid only for some provider types; reported when used with another type.
void rejectForType(TableReader& r, std::string_view key, std::string_view type,
                   std::string_view applies_to) {
  if (!r.has(key)) return;
  r.error(key, inQuotes(r.pathOf(key)) + " does not apply to " + std::string(type) +
                   " providers (only " + std::string(applies_to) + ")");
}

class DocumentReader {
 public:
  DocumentReader(const EnvLookup& env, Settings& settings, Diagnostics& diags)
      : env_(env), settings_(settings), diags_(diags) {}

  void read(const toml::table& root) {
    TableReader r(diags_, root, "");
    std::string data_dir;
    if (r.getString("data_dir", data_dir)) {
      if (data_dir.empty()) {
        r.error("data_dir", "'data_dir' must not be empty");
      } else {
        settings_.data_dir = std::move(data_dir);
      }
    }
    if (const toml::table* t = r.getTable("server")) {
      TableReader sr(diags_, *t, "server");
      readServer(sr, settings_.server);
    }
    if (const toml::table* t = r.getTable("storage")) {
      TableReader sr(diags_, *t, "storage");
      readStorage(sr, settings_.storage);
    }
    if (const toml::table* t = r.getTable("agents")) {
      TableReader ar(diags_, *t, "agents");
      readAgents(ar, settings_.agents);
    }
    if (const toml::table* t = r.getTable("routing")) {
      TableReader sr(diags_, *t, "routing");
      readRouting(sr, settings_.routing);
    }
    // Providers and guardrails first: models refer to them by name.
    if (const toml::array* a = r.getArray("providers")) {
      forEachTable(diags_, *a, "providers",
                   [&](TableReader& pr, std::size_t) { readProvider(pr); });
    }
    if (const toml::array* a = r.getArray("guardrails")) {
      forEachTable(diags_, *a, "guardrails",
                   [&](TableReader& gr, std::size_t) { readGuardrail(gr); });
    }
    if (const toml::array* a = r.getArray("models")) {
      forEachTable(diags_, *a, "models", [&](TableReader& mr, std::size_t) { readModel(mr); });
    }
    r.finish();
  }

 private:
  /// Records `name` under `kind`; reports a second use at `key` of reader `r`.
  bool claimName(std::map<std::string, std::string, std::less<>>& names, TableReader& r,
                 std::string_view kind, const std::string& name) {
    const auto [it, inserted] = names.emplace(name, r.path());
    if (!inserted) {
      r.error("name", inQuotes(r.pathOf("name")) + ": " + std::string(kind) + " name " +
                          inQuotes(name) + " is already used by " + inQuotes(it->second));
    }
    return inserted;
  }

  void readProvider(TableReader& r) {
    ProviderSettings p;
    const bool named = r.requireString("name", p.name);
    if (named) claimName(provider_names_, r, "provider", p.name);

    bool typed = false;
    if (!r.has("type")) {
      r.getString("type", p.type);  // marks the key known for suggestions
      r.tableError("missing required key " + inQuotes(r.pathOf("type")));
    } else {
      typed = r.getOneOf("type", p.type, {"openai", "azure-openai", "anthropic", "bedrock"});
    }
    const bool has_api = r.getOneOf("api", p.api, {"chat", "responses"});
    const bool has_base_url = r.getString("base_url", p.base_url);
    if (has_base_url && !normalizeBaseUrl(p.base_url)) {
      r.error("base_url", inQuotes(r.pathOf("base_url")) +
                              " must be an http:// or https:// URL with a host, got " +
                              inQuotes(p.base_url));
    }
    const bool has_region = r.getString("region", p.region);
    if (has_region && !isRegionName(p.region)) {
      r.error("region", inQuotes(r.pathOf("region")) +
                            " must be a region name like us-east-1 (a-z, 0-9, '-'), got " +
                            inQuotes(p.region));
    }
    const bool has_version = r.getString("api_version", p.api_version);
    if (has_version && p.api_version.empty()) {
      r.error("api_version", inQuotes(r.pathOf("api_version")) + " must not be empty");
    }
    r.getIntIn("connect_timeout_ms", p.connect_timeout_ms, 1, kIntMax);
    r.getIntIn("max_idle_connections", p.max_idle_connections, 0, kIntMax);

    // Secrets live only in the environment; a literal in the file is refused by name.
    for (std::string_view secret :
         {"api_key", "access_key", "secret_key", "session_token", "bearer_token"}) {
      r.forbid(secret, inQuotes(r.pathOf(secret)) +
                           " must not hold a secret in the file; put it in an environment "
                           "variable and name that variable with " +
                           std::string(secret) + "_env");
    }
    const std::string& who = named ? p.name : r.path();
    readSecret(r, env_, who, "api_key_env", p.api_key_env, p.api_key);
    std::string access_env, secret_env, session_env, bearer_env;
    readSecret(r, env_, who, "access_key_env", access_env, p.access_key);
    readSecret(r, env_, who, "secret_key_env", secret_env, p.secret_key);
    readSecret(r, env_, who, "session_token_env", session_env, p.session_token);
    readSecret(r, env_, who, "bearer_token_env", bearer_env, p.bearer_token);

    if (typed) checkProviderType(r, p, has_api, has_base_url, has_version);
    r.finish();
    settings_.providers.push_back(std::move(p));
  }

  void checkProviderType(TableReader& r, ProviderSettings& p, bool has_api, bool has_base_url,
                         bool has_version) {
    const bool bedrock = p.type == "bedrock";
    const bool openai_like = p.type == "openai" || p.type == "azure-openai";
    if (has_api && !openai_like) {
      rejectForType(r, "api", p.type, "openai and azure-openai");
    }
    if (!bedrock) {
      for (std::string_view key : {"region", "access_key_env", "secret_key_env",
                                   "session_token_env", "bearer_token_env"}) {
        rejectForType(r, key, p.type, "bedrock");
      }
    } else {
      rejectForType(r, "api_key_env", p.type,
                    "openai, azure-openai and anthropic; bedrock uses access_key_env and "
                    "secret_key_env, or bearer_token_env");
    }
    if (has_version && p.type != "azure-openai" && p.type != "anthropic") {
      rejectForType(r, "api_version", p.type, "azure-openai and anthropic");
    }

    if (openai_like && !has_base_url) {
      r.tableError("missing required key " + inQuotes(r.pathOf("base_url")) + " (" + p.type +
                   " providers have no default endpoint)");
    }
    if (p.type == "anthropic") {
      if (!has_base_url) p.base_url = kAnthropicBaseUrl;
      if (!has_version) p.api_version = kAnthropicApiVersion;
    }
    if (p.type == "azure-openai" && !has_version) p.api_version = kAzureApiVersion;
    if (bedrock) {
      if (!r.has("region")) {
        r.tableError("missing required key " + inQuotes(r.pathOf("region")) +
                     " (bedrock requests are signed for a region)");
      } else if (!has_base_url && !p.region.empty()) {
        p.base_url = bedrockBaseUrl(p.region);
      }
      const bool access = r.has("access_key_env");
      const bool secret = r.has("secret_key_env");
      if (access != secret) {
        const char* present = access ? "access_key_env" : "secret_key_env";
        r.error(present, inQuotes(r.pathOf(present)) +
                             " needs its partner: set both access_key_env and secret_key_env");
      }
      if (r.has("session_token_env") && !(access && secret)) {
        r.error("session_token_env", inQuotes(r.pathOf("session_token_env")) +
                                         " needs access_key_env and secret_key_env");
      }
      if (r.has("bearer_token_env") && (access || secret)) {
        r.error("bearer_token_env",
                inQuotes(r.pathOf("bearer_token_env")) +
                    " cannot be combined with access_key_env/secret_key_env; choose one");
      }
    }
  }

  void readGuardrail(TableReader& r) {
    GuardrailSettings g;
    if (r.requireString("name", g.name)) claimName(guardrail_names_, r, "guardrail", g.name);

    if (const toml::array* apply_to = r.getArray("apply_to")) {
      g.apply_input = false;
      g.apply_output = false;
      const std::string path = r.pathOf("apply_to");
      if (apply_to->empty()) {
        r.error("apply_to", inQuotes(path) + " must name \"input\", \"output\" or both");
      }
      for (std::size_t i = 0; i < apply_to->size(); ++i) {
        const toml::node& node = *apply_to->get(i);
        const std::string element = path + "[" + std::to_string(i) + "]";
        const auto* value = node.as_string();
        if (value != nullptr && value->get() == "input") {
          g.apply_input = true;
        } else if (value != nullptr && value->get() == "output") {
          g.apply_output = true;
        } else {
          diags_.add(positionOf(node.source()), element,
                     inQuotes(element) + " must be \"input\" or \"output\"" +
                         (value ? ", got " + inQuotes(value->get())
                                : ", got " + std::string(typeName(node))));
        }
      }
    }

    if (const toml::table* pii = r.getTable("pii")) {
      TableReader pr(diags_, *pii, r.pathOf("pii"));
      for (const auto& [key, node] : *pii) {
        const std::string_view entity = key.str();
        std::string action;
        if (!pr.getOneOf(entity, action, {"anonymize", "block"})) continue;
        if (std::find(kPiiEntityTypes.begin(), kPiiEntityTypes.end(), entity) ==
            kPiiEntityTypes.end()) {
          pr.error(entity, inQuotes(pr.pathOf(entity)) +
                               ": not a Bedrock PII entity type (e.g. EMAIL, PHONE, NAME, "
                               "ADDRESS, CREDIT_DEBIT_CARD_NUMBER, US_SOCIAL_SECURITY_NUMBER)");
          continue;
        }
        g.pii.push_back(PiiRule{std::string(entity), action == "block"
                                                         ? GuardrailAction::kBlock
                                                         : GuardrailAction::kAnonymize});
      }
      pr.finish();
    }

    if (const toml::array* words = r.getArray("words")) {
      const std::string path = r.pathOf("words");
      for (std::size_t i = 0; i < words->size(); ++i) {
        const toml::node& node = *words->get(i);
        const std::string element = path + "[" + std::to_string(i) + "]";
        const auto* value = node.as_string();
        if (value == nullptr) {
          diags_.add(positionOf(node.source()), element,
                     inQuotes(element) + " must be a string, got " + std::string(typeName(node)));
        } else if (value->get().find_first_not_of(" \t") == std::string::npos) {
          diags_.add(positionOf(node.source()), element, inQuotes(element) + " must not be blank");
        } else {
          g.words.push_back(value->get());
        }
      }
    }

    if (const toml::array* regexes = r.getArray("regexes")) {
      forEachTable(diags_, *regexes, r.pathOf("regexes"), [&](TableReader& xr, std::size_t) {
        RegexRule rule;
        xr.requireString("name", rule.name);
        xr.requireString("pattern", rule.pattern);
        std::string action;
        if (!xr.has("action")) {
          xr.getString("action", action);
          xr.tableError("missing required key " + inQuotes(xr.pathOf("action")) +
                        " (\"anonymize\" or \"block\")");
        } else if (xr.getOneOf("action", action, {"anonymize", "block"})) {
          rule.action = action == "block" ? GuardrailAction::kBlock : GuardrailAction::kAnonymize;
        }
        xr.finish();
        g.regexes.push_back(std::move(rule));
      });
    }

    std::string blocked;
    if (r.getString("blocked_message", blocked)) {
      if (blocked.empty()) {
        r.error("blocked_message", inQuotes(r.pathOf("blocked_message")) + " must not be empty");
      } else {
        g.blocked_message = std::move(blocked);
      }
    }
    if (!r.has("pii") && !r.has("words") && !r.has("regexes")) {
      r.tableError("guardrail " + inQuotes(g.name.empty() ? r.path() : g.name) +
                   " checks nothing: set pii, words or regexes");
    }
    r.finish();
    settings_.guardrails.push_back(std::move(g));
  }

  void readModel(TableReader& r) {
    ModelSettings m;
    if (r.requireString("name", m.name)) claimName(model_names_, r, "model", m.name);
    if (r.getString("guardrail", m.guardrail) && !guardrail_names_.contains(m.guardrail)) {
      r.error("guardrail", inQuotes(r.pathOf("guardrail")) + " names guardrail " +
                               inQuotes(m.guardrail) + ", which is not defined");
    }
    if (const toml::array* aliases = r.getArray("aliases")) {
      const std::string path = r.pathOf("aliases");
      for (std::size_t i = 0; i < aliases->size(); ++i) {
        const toml::node& node = *aliases->get(i);
        const std::string element = path + "[" + std::to_string(i) + "]";
        const auto* value = node.as_string();
        if (value == nullptr) {
          diags_.add(positionOf(node.source()), element,
                     inQuotes(element) + " must be a string, got " + std::string(typeName(node)));
          continue;
        }
        const std::string& alias = value->get();
        const std::size_t star = alias.find('*');
        if (alias.empty() || alias == "*" ||
            (star != std::string::npos && star != alias.size() - 1)) {
          diags_.add(positionOf(node.source()), element,
                     inQuotes(element) +
                         " must be a model name or a prefix ending in one '*', got " +
                         inQuotes(alias));
        } else if (!alias_names_.emplace(alias, element).second) {
          diags_.add(positionOf(node.source()), element,
                     inQuotes(element) + ": alias " + inQuotes(alias) + " is already used by " +
                         inQuotes(alias_names_[alias]));
        } else {
          m.aliases.push_back(alias);
        }
      }
    }
    const toml::array* routes = r.getArray("routes");
    if (routes == nullptr && !r.has("routes")) {
      r.tableError("model " + inQuotes(m.name.empty() ? r.path() : m.name) +
                   " has no routes: add at least one [[models.routes]]");
    } else if (routes != nullptr && routes->empty()) {
      r.error("routes", "model " + inQuotes(m.name.empty() ? r.path() : m.name) +
                            " has no routes: add at least one [[models.routes]]");
    }
    if (routes != nullptr) {
      forEachTable(diags_, *routes, r.pathOf("routes"),
                   [&](TableReader& rr, std::size_t) { m.routes.push_back(readRoute(rr)); });
    }
    r.finish();
    settings_.models.push_back(std::move(m));
  }

  RouteSettings readRoute(TableReader& r) {
    RouteSettings route;
    if (r.requireString("provider", route.provider) && !provider_names_.contains(route.provider)) {
      r.error("provider", inQuotes(r.pathOf("provider")) + " names provider " +
                              inQuotes(route.provider) + ", which is not defined");
    }
    r.requireString("model", route.model);
    double weight = route.weight;
    if (r.getNumber("weight", weight)) {
      if (weight > 0) {
        route.weight = weight;
      } else {
        r.error("weight", inQuotes(r.pathOf("weight")) + " must be greater than 0");
      }
    }
    r.getBool("fallback", route.fallback);
    r.getIntIn("timeout_ms", route.timeout_ms, 1, kIntMax);
    std::int64_t max_tokens = 0;
    if (r.getInt64In("max_tokens_default", max_tokens, 1, kInt64Max)) {
      route.max_tokens_default = max_tokens;
    }
    r.finish();
    return route;
  }

  const EnvLookup& env_;
  Settings& settings_;
  Diagnostics& diags_;
  // name -> key path of its first definition
  std::map<std::string, std::string, std::less<>> provider_names_;
  std::map<std::string, std::string, std::less<>> guardrail_names_;
  std::map<std::string, std::string, std::less<>> alias_names_;  ///< alias -> where it is set
  std::map<std::string, std::string, std::less<>> model_names_;
};

}  // namespace

std::string bedrockBaseUrl(std::string_view region) {
  return "https://bedrock-runtime." + std::string(region) + ".amazonaws.com";
}

void readDocument(const toml::table& root, const EnvLookup& env, Settings& settings,
                  Diagnostics& diags) {
  DocumentReader(env, settings, diags).read(root);
}

}  // namespace basalt::config::detail
