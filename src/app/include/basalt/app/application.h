#pragma once
/// The composition root: builds every adapter from settings by hand, wires the ports and owns
/// their lifetimes (STYLE.md rule 13). `basalt serve` is Application::build + start + run.

#include "basalt/config/settings.h"
#include "basalt/core/error.h"
#include "basalt/core/exchange.h"

#include <memory>
#include <string>

namespace basalt::app {

class Application {
 public:
  /// Builds providers, the model table, the pipeline, the HTTP routes and the server.
  /// Fails with a message naming what is wrong (unknown provider type, bad URL ...).
  static Result<std::unique_ptr<Application>> build(config::SettingsPtr settings);
  ~Application();

  /// Binds the listeners and starts serving.
  Result<void> start();
  std::string boundAddress() const;
  /// Blocks until SIGINT/SIGTERM, then drains and stops.
  void runUntilSignal();
  void stop();

 private:
  Application();
  struct Parts;
  /// Opens the store and audit log, loads the secrets and builds identity, quota and
  /// guardrails (the perimeter every request passes).
  static Result<void> buildPerimeter(Parts& parts);
  /// The managed-agents runtime: model calls through the gateway, tools in the sandbox.
  static void buildAgentRuntime(Parts& parts);
  /// Registers the HTTP surface of `basalt serve` on parts.router.
  static void registerRoutes(Parts& parts);
  /// POST /model/{modelId}/converse[-stream] and /invoke[-with-response-stream] (Bedrock Runtime).
  static Task<void> serveBedrock(Parts& parts, HttpRequest& request, Responder& responder);
  /// POST /v1/messages/count_tokens (bedrock:CountTokens on the model).
  static Task<void> countTokens(Parts& parts, HttpRequest& request, Responder& responder);
  /// GET /v1/models (bedrock:ListFoundationModels).
  static Task<void> listModels(Parts& parts, HttpRequest& request, Responder& responder);
  std::unique_ptr<Parts> parts_;
};

}  // namespace basalt::app
