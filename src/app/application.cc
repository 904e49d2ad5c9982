#include "basalt/app/application.h"

#include "basalt/api/openai_chat/chat_codec.h"
#include "basalt/core/metrics.h"
#include "basalt/pipeline/gateway.h"
#include "basalt/pipeline/router.h"
#include "basalt/providers/factory.h"
#include "basalt/server/server.h"

namespace basalt::app {

struct Application::Parts {
  config::SettingsPtr settings;
  std::unique_ptr<canonical::DoorCodec> chat_codec;
  std::unique_ptr<pipeline::Gateway> gateway;
  pipeline::Router router;
  std::unique_ptr<server::Server> server;
};

Application::Application() : parts_(std::make_unique<Parts>()) {}
Application::~Application() = default;

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
Headers contentType(std::string value) { return Headers{{"content-type", std::move(value)}}; }

Task<void> sendJson(Responder& responder, int status, std::string body) {
  co_await responder.send(status, contentType("application/json"), std::move(body));
}

}  // namespace

Result<std::unique_ptr<Application>> Application::build(config::SettingsPtr settings) {
  std::unique_ptr<Application> app(new Application());
  Parts& p = *app->parts_;
  p.settings = settings;

  pipeline::ProviderMap providers;
  for (const config::ProviderSettings& ps : settings->providers) {
    Result<std::unique_ptr<providers::Provider>> provider = providers::makeProvider(ps);
    if (!provider) return provider.error();
    providers.emplace(ps.name, std::move(*provider));
  }
  Result<std::unique_ptr<pipeline::ModelTable>> models =
      pipeline::ModelTable::build(*settings, providers);
  if (!models) return models.error();

  p.chat_codec = api::openai_chat::makeDoorCodec();
  p.gateway = std::make_unique<pipeline::Gateway>(settings, std::move(providers),
                                                  std::move(*models));
  registerRoutes(p);
  p.server = std::make_unique<server::Server>(settings->server, p.router);
  return app;
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
    co_await res.send(200, contentType("text/plain; version=0.0.4"),
                      metrics::renderPrometheus());
  });
  pipeline::Gateway& gateway = *p.gateway;
  r.add("GET", "/v1/models", [&gateway](HttpRequest& req, Responder& res) -> Task<void> {
    const bool codex = hasQueryKey(req.query(), "client_version");
    co_await sendJson(res, 200,
                      api::openai_chat::encodeModelList(gateway.models().names(), codex));
  });
  const canonical::DoorCodec& chat = *p.chat_codec;
  r.add("POST", "/v1/chat/completions",
        [&gateway, &chat](HttpRequest& req, Responder& res) -> Task<void> {
          co_await gateway.serveModelCall(chat, req, res);
        });
  r.setFallback([&chat](HttpRequest& req, Responder& res, int status) -> Task<void> {
    Error error = status == 405
                      ? Error{ErrorKind::kMethodNotAllowed,
                              "Method " + req.method + " is not allowed for " +
                                  std::string(req.path())}
                      : Error::notFound("Unknown request URL: " + req.method + " " +
                                            std::string(req.path()) +
                                            ". Please check the URL for typos.",
                                        "unknown_url");
    canonical::EncodedReply reply = chat.encodeError(error);
    co_await res.send(reply.status, std::move(reply.headers), std::move(reply.body));
  });
}

Result<void> Application::start() { return parts_->server->start(); }

std::string Application::boundAddress() const { return parts_->server->boundAddress(); }

void Application::runUntilSignal() { parts_->server->runUntilSignal(); }

void Application::stop() {
  parts_->server->stop();
  parts_->server->wait();
}

}  // namespace basalt::app
