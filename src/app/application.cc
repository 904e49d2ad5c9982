#include "basalt/app/application.h"

#include "basalt/admin/admin_api.h"
#include "basalt/agent_runtime/model_caller.h"
#include "basalt/agent_runtime/runtime.h"
#include "basalt/agents/agent_store.h"
#include "basalt/agents/agents_api.h"
#include "basalt/agents/event_hub.h"
#include "basalt/api/anthropic/messages_codec.h"
#include "basalt/api/bedrock/converse_codec.h"
#include "basalt/api/bedrock_invoke/invoke_codec.h"
#include "basalt/api/openai_chat/chat_codec.h"
#include "basalt/api/openai_responses/responses_codec.h"
#include "basalt/app/bootstrap.h"
#include "basalt/audit/signing_key.h"
#include "basalt/config/loader.h"
#include "basalt/core/log.h"
#include "basalt/core/metrics.h"
#include "basalt/guardrails/guardrail.h"
#include "basalt/perimeter/perimeter.h"
#include "basalt/pipeline/gateway.h"
#include "basalt/pipeline/router.h"
#include "basalt/providers/factory.h"
#include "basalt/quota/in_memory_quota_ledger.h"
#include "basalt/server/server.h"
#include "basalt/storage/response_store.h"
#include "basalt/storage/sqlite_audit_sink.h"
#include "basalt/storage/store.h"
#include "stored_responses.h"

#include <cstdlib>

namespace basalt::app {

struct Application::Parts {
  config::SettingsPtr settings;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<storage::SqliteAuditSink> audit_sink;
  std::unique_ptr<perimeter::Perimeter> perimeter;
  quota::InMemoryQuotaLedger quota_ledger;
  std::unique_ptr<guardrails::GuardrailSet> guardrails;
  std::unique_ptr<admin::AdminContext> admin;
  std::unique_ptr<agents::AgentStore> agent_store;
  agents::EventHub event_hub;
  std::unique_ptr<agents::AgentsContext> agents;
  std::unique_ptr<storage::ResponseStore> response_store;
  std::unique_ptr<StoredResponses> stored_responses;
  std::unique_ptr<canonical::DoorCodec> chat_codec;
  std::unique_ptr<canonical::DoorCodec> responses_codec;
  std::unique_ptr<canonical::DoorCodec> messages_codec;
  std::unique_ptr<canonical::DoorCodec> converse_codec;
  std::unique_ptr<canonical::DoorCodec> invoke_codec;
  std::unique_ptr<pipeline::Gateway> gateway;
  // After the gateway: the runtime calls models through it, so it stops (is destroyed) first.
  std::unique_ptr<agent_runtime::GatewayModelCaller> agent_models;
  std::unique_ptr<agent_runtime::Runtime> agent_runtime;
  pipeline::Router router;
  std::unique_ptr<server::Server> server;
};

Application::Application() : parts_(std::make_unique<Parts>()) {}

namespace {

bool hasQueryKey(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.substr(0, pair.find('=')) == key) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

/// Built outside the coroutines: GCC 12 rejects braced string-literal lists in co_await operands.
Headers contentType(std::string value) {
  return Headers{{"content-type", std::move(value)}};
}

Task<void> sendJson(Responder& responder, int status, std::string body) {
  co_await responder.send(status, contentType("application/json"), std::move(body));
}

}  // namespace

namespace {

/// Quota rules from the store's quotas (subject = principal id or group name).
std::vector<quota::QuotaRule> quotaRules(const storage::Snapshot& snapshot) {
  std::vector<quota::QuotaRule> rules;
  for (const storage::Quota& q : snapshot.quotas) {
    quota::QuotaRule rule;
    rule.subject = q.subject.id;
    rule.model = q.model;
    rule.limits.requests_per_minute = q.rpm.value_or(0);
    rule.limits.tokens_per_minute = q.tpm.value_or(0);
    rule.limits.concurrent_requests = q.concurrency.value_or(0);
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::optional<std::string> envVar(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
}

}  // namespace

Result<void> Application::buildPerimeter(Parts& p) {
  const config::Settings& settings = *p.settings;
  Result<guardrails::GuardrailSet> guardrails =
      guardrails::GuardrailSet::compile(settings.guardrails);
  if (!guardrails) return guardrails.error();
  p.guardrails = std::make_unique<guardrails::GuardrailSet>(std::move(*guardrails));

  if (!settings.server.perimeter) {
    // An open gateway is for benchmarks and demos on one machine, never for a network.
    Result<config::ListenAddress> listen = config::parseListen(settings.server.listen);
    const bool loopback = listen && (listen->host == "localhost" || listen->host == "::1" ||
                                     listen->host.starts_with("127."));
    if (!loopback) {
      return Error::invalid(
          "server.perimeter = false is only allowed on a loopback listen "
          "address, not '" +
          settings.server.listen + "'");
    }
    log::warn("server.perimeter = false: no authentication, authorization, quotas or audit");
    return {};
  }

  Result<std::string> db_path = storage::sqlitePathFromUrl(settings.storage.url, settings.data_dir);
  if (!db_path) return db_path.error();
  Result<std::unique_ptr<storage::Store>> store = storage::Store::open(*db_path);
  if (!store) return store.error();
  p.store = std::move(*store);

  Result<audit::SigningKey> key =
      audit::SigningKey::loadOrCreate(settings.data_dir + "/audit-ed25519.pem");
  if (!key) return key.error();
  storage::AuditSinkOptions sink_options;
  sink_options.db_path = *db_path;
  Result<std::unique_ptr<storage::SqliteAuditSink>> sink =
      storage::SqliteAuditSink::open(sink_options, std::move(*key));
  if (!sink) return sink.error();
  p.audit_sink = std::move(*sink);

  Result<Secrets> secrets = loadOrCreateSecrets(settings.data_dir, envVar("BASALT_ADMIN_KEY"));
  if (!secrets) return secrets.error();
  p.perimeter = std::make_unique<perimeter::Perimeter>(
      *p.store, secrets->pepper, secrets->root_key_digest, settings.server.region);
  quota::InMemoryQuotaLedger& ledger = p.quota_ledger;
  p.perimeter->setRefreshListener([&ledger](const storage::Snapshot& snapshot) {
    if (Result<void> r = ledger.configure(quotaRules(snapshot)); !r) {
      log::error("quota rules not applied: {}", r.error().message);
    }
  });
  if (Result<void> r = p.perimeter->refresh(); !r) return r.error();

  p.admin = std::make_unique<admin::AdminContext>(
      admin::AdminContext{*p.store,
                          {},
                          {},
                          {},
                          secrets->pepper,
                          settings.data_dir,
                          *db_path,
                          settings.data_dir + "/audit-ed25519.pem",
                          p.audit_sink.get(),
                          settings.server.region});
  admin::bindPerimeter(*p.admin, *p.perimeter);
  admin::registerAdminRoutes(p.router, *p.admin);

  // Managed agents live inside the perimeter: every call is authenticated and authorized.
  Result<std::unique_ptr<agents::AgentStore>> agent_store =
      agents::AgentStore::open(*db_path, settings.data_dir + "/agents-vault.key");
  if (!agent_store) return agent_store.error();
  p.agent_store = std::move(*agent_store);
  agents::EventHub& hub = p.event_hub;
  p.agent_store->setAppendListener(
      [&hub](const std::string& session_id, std::int64_t seq) { hub.publish(session_id, seq); });
  p.agents = std::make_unique<agents::AgentsContext>(agents::AgentsContext{*p.agent_store, hub});
  p.agents->audit_sink = p.audit_sink.get();
  agents::bindPerimeter(*p.agents, *p.perimeter);
  agents::registerAgentRoutes(p.router, *p.agents);
  return {};
}

Result<std::unique_ptr<Application>> Application::build(config::SettingsPtr settings) {
  std::unique_ptr<Application> app(new Application());
  Parts& p = *app->parts_;
  p.settings = settings;
  if (Result<void> perimeter = buildPerimeter(p); !perimeter) return perimeter.error();

  pipeline::ProviderMap providers;
  for (const config::ProviderSettings& ps : settings->providers) {
    Result<std::unique_ptr<providers::Provider>> provider = providers::makeProvider(ps);
    if (!provider) return provider.error();
    providers.emplace(ps.name, std::move(*provider));
  }
  Result<std::unique_ptr<pipeline::ModelTable>> models =
      pipeline::ModelTable::build(*settings, providers);
  if (!models) return models.error();

  Result<std::string> db_path =
      storage::sqlitePathFromUrl(settings->storage.url, settings->data_dir);
  if (!db_path) return db_path.error();
  Result<std::unique_ptr<storage::ResponseStore>> response_store =
      storage::ResponseStore::open(*db_path);
  if (!response_store) return response_store.error();
  p.response_store = std::move(*response_store);
  p.stored_responses = std::make_unique<StoredResponses>(*p.response_store, p.perimeter.get());

  p.chat_codec = api::openai_chat::makeDoorCodec();
  p.responses_codec = api::openai_responses::makeDoorCodec();
  p.messages_codec = api::anthropic::makeDoorCodec();
  p.converse_codec = api::bedrock::makeDoorCodec();
  p.invoke_codec = api::bedrock_invoke::makeDoorCodec();
  pipeline::Governance governance;
  governance.perimeter = p.perimeter.get();
  governance.quota = p.perimeter ? &p.quota_ledger : nullptr;
  governance.guardrails = p.guardrails.get();
  governance.audit = p.audit_sink.get();
  p.gateway = std::make_unique<pipeline::Gateway>(settings, std::move(providers),
                                                  std::move(*models), governance);
  if (p.agents) buildAgentRuntime(p);
  registerRoutes(p);
  p.server = std::make_unique<server::Server>(settings->server, p.router);
  return app;
}

void Application::buildAgentRuntime(Parts& p) {
  const config::AgentsSettings& settings = p.settings->agents;
  agent_runtime::GatewayModelCallerOptions caller_options;
  caller_options.max_tokens_default = settings.max_tokens;
  p.agent_models = std::make_unique<agent_runtime::GatewayModelCaller>(*p.gateway, caller_options);

  agent_runtime::RuntimeOptions options;
  options.sandbox_root = p.settings->data_dir + "/sandboxes";
  options.lease_ttl = std::chrono::milliseconds(settings.lease_ms);
  options.reap_interval = std::chrono::milliseconds(settings.reap_interval_ms);
  options.max_session_tokens = settings.max_session_tokens;
  options.context_token_budget = settings.context_token_budget;
  options.compaction_summary_max_tokens = settings.compaction_summary_max_tokens;
  options.max_tokens = settings.max_tokens;
  options.tool_threads = settings.tool_threads;
  options.region = p.settings->server.region;
  options.sandbox_limits.wall_timeout = std::chrono::milliseconds(settings.tool_timeout_ms);

  agent_runtime::RuntimePorts ports;
  ports.store = p.agent_store.get();
  ports.models = p.agent_models.get();
  ports.audit = p.audit_sink.get();
  const perimeter::Perimeter& perimeter = *p.perimeter;
  ports.authorize_tool = [&perimeter](const perimeter::Caller& caller, std::string_view action,
                                      std::string_view resource) {
    // A tool call has no HTTP request of its own: conditions see the server's loopback origin.
    HttpRequest origin;
    origin.remote_ip = "127.0.0.1";
    return perimeter.authorize(caller, action, resource, origin);
  };
  ports.resolve_caller = [&perimeter](const std::string& principal_id) {
    return perimeter.callerFor(principal_id);
  };
  p.agent_runtime = std::make_unique<agent_runtime::Runtime>(std::move(ports), options);
  p.agents->driver = p.agent_runtime.get();
}

void Application::registerRoutes(Parts& p) {
  pipeline::Router& r = p.router;
  r.add("GET", "/healthz", [](HttpRequest&, Responder& res) -> Task<void> {
    co_await res.send(200, contentType("text/plain"), "ok\n");
  });
  r.add("GET", "/readyz", [](HttpRequest&, Responder& res) -> Task<void> {
    co_await res.send(200, contentType("text/plain"), "ready\n");
  });
  r.add("GET", "/metrics", [](HttpRequest&, Responder& res) -> Task<void> {
    co_await res.send(200, contentType("text/plain; version=0.0.4"), metrics::renderPrometheus());
  });
  pipeline::Gateway& gateway = *p.gateway;
  r.add("GET", "/v1/models",
        [&p](HttpRequest& req, Responder& res) -> Task<void> { co_await listModels(p, req, res); });
  const canonical::DoorCodec& chat = *p.chat_codec;
  r.add("POST", "/v1/chat/completions",
        [&gateway, &chat](HttpRequest& req, Responder& res) -> Task<void> {
          co_await gateway.serveModelCall(chat, req, res);
        });
  const canonical::DoorCodec& responses = *p.responses_codec;
  StoredResponses& stored = *p.stored_responses;
  r.add("POST", "/v1/responses",
        [&gateway, &responses, &stored](HttpRequest& req, Responder& res) -> Task<void> {
          co_await gateway.serveModelCall(responses, req, res, &stored);
        });
  for (const char* method : {"GET", "DELETE"}) {
    r.addPrefix(method, "/v1/responses/",
                [&stored](HttpRequest& req, Responder& res) -> Task<void> {
                  co_await stored.serve(req, res);
                });
  }
  const canonical::DoorCodec& messages = *p.messages_codec;
  r.add("POST", "/v1/messages",
        [&gateway, &messages](HttpRequest& req, Responder& res) -> Task<void> {
          co_await gateway.serveModelCall(messages, req, res);
        });
  r.add("POST", "/v1/messages/count_tokens", [&p](HttpRequest& req, Responder& res) -> Task<void> {
    co_await countTokens(p, req, res);
  });
  r.addPrefix("POST", "/model/", [&p](HttpRequest& req, Responder& res) -> Task<void> {
    co_await serveBedrock(p, req, res);
  });
  r.setFallback([&chat](HttpRequest& req, Responder& res, int status) -> Task<void> {
    Error error =
        status == 405
            ? Error{ErrorKind::kMethodNotAllowed,
                    "Method " + req.method + " is not allowed for " + std::string(req.path())}
            : Error::notFound("Unknown request URL: " + req.method + " " + std::string(req.path()) +
                                  ". Please check the URL for typos.",
                              "unknown_url");
    canonical::EncodedReply reply = chat.encodeError(error);
    co_await res.send(reply.status, std::move(reply.headers), std::move(reply.body));
  });
}

Task<void> Application::serveBedrock(Parts& p, HttpRequest& req, Responder& res) {
  using api::bedrock::BedrockOperation;
  const std::optional<api::bedrock::BedrockRoute> route =
      api::bedrock::parseBedrockPath(req.path());
  if (route) {
    const bool converse = route->operation == BedrockOperation::kConverse ||
                          route->operation == BedrockOperation::kConverseStream;
    co_await p.gateway->serveModelCall(converse ? *p.converse_codec : *p.invoke_codec, req, res);
    co_return;
  }
  canonical::EncodedReply reply =
      api::bedrock::encodeError(Error::notFound("Unknown operation", "UnknownOperationException"));
  reply.headers.push_back({"x-amzn-requestid", req.request_id});
  co_await res.send(reply.status, std::move(reply.headers), std::move(reply.body));
}

Task<void> Application::listModels(Parts& p, HttpRequest& req, Responder& res) {
  const canonical::DoorCodec& chat = *p.chat_codec;
  Result<perimeter::Caller> caller = perimeter::Caller{};
  if (p.perimeter) caller = p.perimeter->authenticate(req);
  if (caller && p.perimeter) {
    const perimeter::AuthzResult authz =
        p.perimeter->authorize(*caller, "bedrock:ListFoundationModels", "*", req);
    if (!authz.allowed) {
      caller = Error{
          ErrorKind::kPermissionDenied,
          "User: " + caller->name + " is not authorized to perform: bedrock:ListFoundationModels",
          {},
          "access_denied"};
    }
  }
  if (!caller) {
    canonical::EncodedReply reply = chat.encodeError(caller.error());
    co_await res.send(reply.status, std::move(reply.headers), std::move(reply.body));
    co_return;
  }
  const bool codex = hasQueryKey(req.query(), "client_version");
  // Claude Code and the Anthropic SDK send anthropic-version and read Anthropic's list shape.
  std::string body = !codex && req.header("anthropic-version") != nullptr
                         ? api::anthropic::encodeModelList(p.gateway->models().names())
                         : api::openai_chat::encodeModelList(p.gateway->models().names(), codex);
  co_await sendJson(res, 200, std::move(body));
}

Task<void> Application::countTokens(Parts& p, HttpRequest& req, Responder& res) {
  Result<perimeter::Caller> caller = perimeter::Caller{};
  if (p.perimeter) caller = p.perimeter->authenticate(req);
  api::anthropic::DecodeOptions options;
  options.count_tokens = true;
  Result<canonical::ChatRequest> chat = Error::internal("unset");
  if (caller) chat = api::anthropic::decodeRequest(req.body, options);
  if (caller && chat && p.perimeter) {
    const std::string resource = p.perimeter->modelArn(chat->model);
    const perimeter::AuthzResult authz =
        p.perimeter->authorize(*caller, "bedrock:CountTokens", resource, req);
    if (!authz.allowed) {
      chat =
          Error{ErrorKind::kPermissionDenied,
                "User: " + caller->name +
                    " is not authorized to perform: bedrock:CountTokens on resource: " + resource,
                {},
                "access_denied"};
    }
  }
  if (!caller || !chat) {
    canonical::EncodedReply reply =
        api::anthropic::encodeError(caller ? chat.error() : caller.error());
    co_await res.send(reply.status, std::move(reply.headers), std::move(reply.body));
    co_return;
  }
  co_await sendJson(res, 200, api::anthropic::encodeCountTokens(*chat));
}

Result<void> Application::start() {
  Result<void> started = parts_->server->start();
  // Sessions left running by a previous process resume once the server can serve their events.
  if (started && parts_->agent_runtime) parts_->agent_runtime->start();
  return started;
}

std::string Application::boundAddress() const {
  return parts_->server->boundAddress();
}

void Application::runUntilSignal() {
  parts_->server->runUntilSignal();
}

void Application::stop() {
  parts_->server->stop();
  parts_->server->wait();
  if (parts_->agent_runtime) parts_->agent_runtime->stop();
}

Application::~Application() {
  // The agent runtime stops first (its sessions keep their leases and resume in the next
  // process); in-flight calls were drained by the server; then the audit writer seals the head.
  if (parts_ && parts_->agent_runtime) parts_->agent_runtime->stop();
  if (parts_ && parts_->audit_sink) parts_->audit_sink->close();
}

}  // namespace basalt::app
